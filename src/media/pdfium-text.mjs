/**
 * PDF text with PDFium compiled to WebAssembly (@hyzyla/pdfium), for the PDF text worker
 * (pdf-text-worker.mjs): about 2x faster than pdf.js on a 6-page paper, 1.8x on a 19-page
 * one (BENCHMARKS.md, "Listing: every paper read once"), and reading papers is what a cold
 * listing of hundreds of them waits on.
 *
 * It calls PDFium's C API through the module the package loads rather than the package's
 * page objects: they leave every page open until the document closes and free nothing
 * when a call throws, and a worker reads hundreds of papers.
 *
 * Plain JavaScript, like the worker: it runs as-is from src/ (tests) and dist/ (the CLI).
 *
 * The text is made to read as pdf.js's does, so that the cleanup (pdf-cleanup.ts) and the
 * cache see one form: PDFium ends lines with \r\n, and where a word is hyphenated at a line
 * end it joins the lines and marks the break with U+FFFE (`visual\uFFFEinertial`), where
 * pdf.js keeps `visual-` and the line break.
 */
import {PDFiumLibrary} from '@hyzyla/pdfium'

/** FPDF_GetLastError codes (fpdfview.h), by the name pdf.js gives the same failure. */
const LOAD_ERRORS = {
  1: {name: 'UnknownErrorException', message: 'PDFium could not read the file'},
  2: {name: 'InvalidPDFException', message: 'the file could not be opened'},
  3: {name: 'InvalidPDFException', message: 'Invalid PDF structure.'},
  4: {name: 'PasswordException', message: 'No password given'},
  5: {name: 'UnsupportedSecurityException', message: 'the file uses a security handler PDFium does not support'},
  6: {name: 'UnknownErrorException', message: 'the page could not be found or read'},
}

export class PdfiumError extends Error {
  constructor(name, message) {
    super(message)
    this.name = name
  }
}

let loading = null
/** A compiled WebAssembly.Module of PDFium handed over by the thread that made the worker (usePdfiumModule). */
let compiled = null

/**
 * Instantiates PDFium from `module` instead of compiling it here. Workers that share one
 * compiled module share its machine code too, including the optimised code V8 makes of
 * the hot functions as they run: the second worker does not compile them again
 * (measured: a worker's first paper 153 -> 32 ms of CPU, its next twenty 494 -> 310 ms).
 */
export function usePdfiumModule(module) {
  if (module instanceof WebAssembly.Module) compiled = module
}

/** The PDFium module of this thread, loaded once. */
function pdfium() {
  const module = compiled
  const options = module
    ? {
        instantiateWasm: (imports, done) => {
          // Emscripten's contract: hand over the instance when it is ready, return no exports now.
          WebAssembly.instantiate(module, imports).then((instance) => done(instance, module))
          return {}
        },
      }
    : undefined
  loading ??= PDFiumLibrary.init(options).then((library) => library.module)
  return loading
}

/**
 * Starts loading PDFium (instantiating its WebAssembly, compiling it first when no module
 * was handed over) without waiting for it: a worker calls it as it starts, so that the
 * loading overlaps the first file's transfer. A failure
 * surfaces on the first read, which then falls back to pdf.js.
 */
export function preloadPdfium() {
  pdfium().catch(() => {
    loading = null
  })
}

/** The page texts as pdf.js gives them: \n line ends, a line-end hyphen kept with its line break. */
export function asPdfjsText(text) {
  // PDFium also passes on control characters a font maps glyphs it cannot name to; pdf.js
  // drops them. Tabs and line breaks stay.
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\uFFFE/g, '-\n')
    .replace(/(?![\t\n])\p{Cc}/gu, '')
}

/**
 * Pages `from` to `to` (1-based, inclusive, clamped to the document) of a PDF, and its
 * page count; `to: 1` with more than `maxPages` pages reads page 1 alone. Throws a
 * PdfiumError named as pdf.js names the failure (PasswordException, InvalidPDFException).
 */
export async function pdfiumPages(data, options = {}) {
  const m = await pdfium()
  try {
    return readPages(m, data, options)
  } catch (error) {
    // Anything but a refusal (an abort, a memory fault in the WebAssembly) may leave the
    // module broken: the next file gets a fresh one.
    if (!(error instanceof PdfiumError)) loading = null
    throw error
  }
}

function readPages(m, data, {from = 1, to = Number.MAX_SAFE_INTEGER, maxPages}) {
  const bytes = m.wasmExports.malloc(data.length)
  if (!bytes) throw new PdfiumError('UnknownErrorException', `PDFium could not allocate ${data.length} bytes`)
  let doc = 0
  try {
    m.HEAPU8.set(data, bytes)
    doc = m._FPDF_LoadMemDocument(bytes, data.length, 0)
    if (!doc) {
      const known = LOAD_ERRORS[m._FPDF_GetLastError()] ?? LOAD_ERRORS[1]
      throw new PdfiumError(known.name, known.message)
    }
    const total = m._FPDF_GetPageCount(doc)
    const last = maxPages !== undefined && total > maxPages ? 1 : Math.min(to, total)
    const pages = []
    for (let index = from - 1; index < last; index++) pages.push(pageText(m, doc, index))
    return {total, pages}
  } finally {
    if (doc) m._FPDF_CloseDocument(doc)
    m.wasmExports.free(bytes)
  }
}

function pageText(m, doc, index) {
  const page = m._FPDF_LoadPage(doc, index)
  if (!page) throw new PdfiumError('UnknownErrorException', `PDFium could not read page ${index + 1}`)
  let textPage = 0
  let buffer = 0
  try {
    textPage = m._FPDFText_LoadPage(page)
    if (!textPage) throw new PdfiumError('UnknownErrorException', `PDFium could not read the text of page ${index + 1}`)
    const count = m._FPDFText_CountChars(textPage)
    if (count <= 0) return ''
    // UTF-16 code units and a terminating zero.
    buffer = m.wasmExports.malloc((count + 1) * 2)
    const written = m._FPDFText_GetText(textPage, 0, count, buffer)
    if (written <= 1) return ''
    return asPdfjsText(new TextDecoder('utf-16le').decode(m.HEAPU8.subarray(buffer, buffer + (written - 1) * 2)))
  } finally {
    if (buffer) m.wasmExports.free(buffer)
    if (textPage) m._FPDFText_ClosePage(textPage)
    m._FPDF_ClosePage(page)
  }
}

/**
 * Where PDFium's allocator would put a block of 64 KiB now (it is given back at once):
 * with every file's memory freed, the same place after each file. A test reads it to see
 * that reading frees what it takes.
 */
export async function pdfiumNextBlock() {
  const m = await pdfium()
  const block = m.wasmExports.malloc(64 * 1024)
  m.wasmExports.free(block)
  return block
}
