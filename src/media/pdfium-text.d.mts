/** Types of pdfium-text.mjs (plain JavaScript, run as-is by the PDF text worker). */
export declare class PdfiumError extends Error {
  constructor(name: string, message: string)
}
export declare function asPdfjsText(text: string): string
export declare function pdfiumPages(
  data: Uint8Array,
  options?: {from?: number; to?: number; maxPages?: number},
): Promise<{total: number; pages: string[]}>
export declare function pdfiumNextBlock(): Promise<number>
export declare function preloadPdfium(): void
export declare function usePdfiumModule(module: unknown): void
