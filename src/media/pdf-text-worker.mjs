/**
 * A PDF text worker (see pdf-text.ts): reads one page range at a time with PDFium
 * (pdfium-text.mjs), and with pdf.js when PDFium cannot read the file.
 *
 * PDFium is the faster of the two (BENCHMARKS.md, "Listing: every paper read once"); pdf.js, the
 * reader studio used before it, stays as the second opinion: a file PDFium refuses is
 * read again with pdf.js, whose text is then used, or whose error names the failure
 * (PasswordException, InvalidPDFException...) as studio always reported it. pdf.js is
 * loaded only then, so a worker that never meets such a file never loads it.
 *
 * Plain JavaScript on purpose: it runs as-is from src/ (tests) and from dist/ (the CLI),
 * without a TypeScript loader in the worker.
 *
 * In:  {pdfiumModule: WebAssembly.Module | null} once, from the pool (which may send it after
 *      the first jobs: they wait for it), then
 *      {id, range: 'first-page' | 'rest' | 'whole', data: Uint8Array, maxPages?: number}
 *      ('whole' reads every page, or page 1 alone when there are more than maxPages)
 * Out: {id, total, pages: string[], reader: 'pdfium' | 'pdf.js'}  or  {id, error: {name, message}}
 */
import {parentPort} from 'node:worker_threads'

import {pdfiumPages, preloadPdfium, usePdfiumModule} from './pdfium-text.mjs'

/** STUDIO_PDF_READER=pdf.js reads every file with pdf.js alone (TRAINING.md, "PDF readers"). */
const PDFJS_ONLY = process.env.STUDIO_PDF_READER === 'pdf.js'

/**
 * The pool compiles PDFium once and sends every worker the same module (pdf-text.ts), as
 * soon as it is compiled, which may be after the worker has started and been sent jobs.
 */
let pdfiumModuleArrived
const pdfiumReady = new Promise((resolve) => {
  pdfiumModuleArrived = resolve
})

/** The page span of a range, 1-based. */
function span(range, maxPages) {
  if (range === 'first-page') return {from: 1, to: 1}
  if (range === 'rest') return {from: 2}
  return maxPages === undefined ? {} : {maxPages}
}

let pdfjsLoading = null

/**
 * pdf-parse, loaded on first use. pdf.js's legacy build (the one for Node) installs core-js
 * polyfills as it loads, among them an Array.prototype.push written in JavaScript, about
 * 2.5x slower than V8's, that pdf.js then calls for every glyph. It replaces the native one
 * only to handle array-likes longer than 2^32 - 1, which text extraction never builds; this
 * thread runs nothing but PDF readers, so V8's push is put back once both pdf.js modules
 * have loaded. The worker module is loaded first so that pdf.js uses it in-thread
 * (globalThis.pdfjsWorker) instead of importing it later.
 */
function loadPdfParse() {
  pdfjsLoading ??= (async () => {
    const nativePush = Array.prototype.push
    await import('pdfjs-dist/legacy/build/pdf.worker.mjs')
    const {PDFParse} = await import('pdf-parse')
    Object.defineProperty(Array.prototype, 'push', {value: nativePush, writable: true, configurable: true, enumerable: false})
    return PDFParse
  })()
  return pdfjsLoading
}

async function withPdfjs(range, data, maxPages) {
  const PDFParse = await loadPdfParse()
  const parser = new PDFParse({data})
  try {
    let pages
    if (range === 'first-page') pages = {partial: [1]}
    else if (range === 'rest') pages = {first: 2, last: Number.MAX_SAFE_INTEGER}
    // load() keeps the document it parsed: getText below reuses it.
    else pages = maxPages !== undefined && (await parser.load()).numPages > maxPages ? {partial: [1]} : {}
    const result = await parser.getText({pageJoiner: '', ...pages})
    return {total: result.total, pages: result.pages.map((page) => page.text)}
  } finally {
    await parser.destroy().catch(() => {})
  }
}

function onPdfiumModule(module) {
  usePdfiumModule(module)
  if (!PDFJS_ONLY) preloadPdfium()
  pdfiumModuleArrived()
}

parentPort.on('message', async (message) => {
  if ('pdfiumModule' in message) return onPdfiumModule(message.pdfiumModule)
  const {id, range, data, maxPages} = message
  try {
    let read = null
    if (!PDFJS_ONLY) {
      await pdfiumReady
      // PDFium copies the bytes into its own memory: they are still whole for pdf.js, which detaches them.
      read = await pdfiumPages(data, span(range, maxPages)).then(
        (pages) => ({...pages, reader: 'pdfium'}),
        () => null,
      )
    }
    read ??= {...(await withPdfjs(range, data, maxPages)), reader: 'pdf.js'}
    parentPort.postMessage({id, ...read})
  } catch (error) {
    parentPort.postMessage({id, error: {name: error?.name ?? 'Error', message: error?.message ?? String(error)}})
  }
})
