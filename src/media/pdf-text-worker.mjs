/**
 * A PDF text worker (see pdf-text.ts): runs pdf.js on one page range at a time.
 *
 * Plain JavaScript on purpose: it runs as-is from src/ (tests) and from dist/ (the CLI),
 * without a TypeScript loader in the worker.
 *
 * In:  {id, range: 'first-page' | 'rest' | 'whole', data: Uint8Array, maxPages?: number}
 *      ('whole' reads every page, or page 1 alone when there are more than maxPages)
 * Out: {id, total, pages: string[]}  or  {id, error: {name, message}}
 */
import {parentPort} from 'node:worker_threads'

// pdf.js's legacy build (the one for Node) installs core-js polyfills as it loads, among
// them an Array.prototype.push written in JavaScript, about 2.5x slower than V8's, that
// pdf.js then calls for every glyph. It replaces the native one only to handle array-likes
// longer than 2^32 - 1, which text extraction never builds; this thread runs nothing but
// pdf.js, so V8's push is put back once both pdf.js modules have loaded (measured: text
// extraction about 15 % faster). The worker module is loaded first so that pdf.js uses it
// in-thread (globalThis.pdfjsWorker) instead of importing it later.
const nativePush = Array.prototype.push
await import('pdfjs-dist/legacy/build/pdf.worker.mjs')
const {PDFParse} = await import('pdf-parse')
Object.defineProperty(Array.prototype, 'push', {value: nativePush, writable: true, configurable: true, enumerable: false})

parentPort.on('message', async ({id, range, data, maxPages}) => {
  const parser = new PDFParse({data})
  try {
    let pages
    if (range === 'first-page') pages = {partial: [1]}
    else if (range === 'rest') pages = {first: 2, last: Number.MAX_SAFE_INTEGER}
    // load() keeps the document it parsed: getText below reuses it.
    else pages = maxPages !== undefined && (await parser.load()).numPages > maxPages ? {partial: [1]} : {}
    const result = await parser.getText({pageJoiner: '', ...pages})
    parentPort.postMessage({id, total: result.total, pages: result.pages.map((page) => page.text)})
  } catch (error) {
    parentPort.postMessage({id, error: {name: error?.name ?? 'Error', message: error?.message ?? String(error)}})
  } finally {
    await parser.destroy().catch(() => {})
  }
})
