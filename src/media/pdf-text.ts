/**
 * PDF text extraction on worker threads (pdf-text-worker.mjs: PDFium, and pdf.js for a file
 * PDFium refuses), for two reasons:
 *
 * - Reading a PDF is CPU-bound (about 2 ms a page with PDFium, 4 with pdf.js). On the main
 *   thread it held the event loop, so the answers of API calls in flight and the episode
 *   probes of other pairs waited behind it.
 * - pdf.js's legacy build (the one for Node) installs core-js polyfills when it loads,
 *   among them a JavaScript Array.prototype.push about 2.5x slower than V8's, which then
 *   slowed every other part of the process.
 *
 * The first page is extracted as a job of its own, ahead of all full extractions, so a
 * paper's title (the transcription's spelling hint) is known within milliseconds even
 * while long papers queue behind it; a caller that does not wait for the title (list-pairs,
 * generate) has the whole file read in one job instead, which loads the document once. A
 * pool of workers, one per core, serves the whole process; each starts when there is work
 * for it and an idle pool does not keep the process alive.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import {setFlagsFromString} from 'node:v8'
import {Worker} from 'node:worker_threads'

export interface PdfPages {
  /** Pages in the document. */
  total: number
  /** The text of each page extracted, in order. */
  pages: string[]
  /** What read it: PDFium, or pdf.js for a file PDFium refused (or with STUDIO_PDF_READER=pdf.js). */
  reader: PdfReader
}

export type PdfReader = 'pdfium' | 'pdf.js'

export interface PdfText {
  /** Page 1 (pages[0] is '' for a document without pages). */
  firstPage: Promise<PdfPages>
  /** Every page. */
  all: Promise<PdfPages>
}

/**
 * Why a PDF could not be read: what pdf.js threw, by name (PasswordException,
 * InvalidPDFException, FormatError...), WorkerCrash when the worker died reading it, or
 * Timeout when it took longer than the job time limit.
 */
export class PdfExtractionError extends Error {
  constructor(
    readonly pdfjsName: string,
    message: string,
  ) {
    super(message)
    this.name = 'PdfExtractionError'
  }
}

/** Page 1; pages 2 to the end; or the whole file (page 1 only when it has more than `maxPages`). */
type Range = 'first-page' | 'rest' | 'whole'
type Reply = {id: number; total: number; pages: string[]; reader: PdfReader} | {id: number; error: {name: string; message: string}}
interface Job {
  id: number
  range: Range
  data: Uint8Array
  maxPages?: number
  resolve(pages: PdfPages): void
  reject(error: Error): void
  /** Set while a worker runs it. */
  timer?: NodeJS.Timeout
}

/**
 * How long one job (a first page, or the rest of a paper) may take before its worker is
 * stopped and the file fails: pdf.js reads a page in milliseconds, so only a file that
 * sends it into a loop comes near this, and without it that file would hold up every
 * paper queued behind it for good.
 */
export const PDF_JOB_TIMEOUT_MS = 120_000
let jobTimeoutMs = PDF_JOB_TIMEOUT_MS

/** Changes the job timeout (tests); returns the previous one. */
export function setPdfJobTimeout(ms: number): number {
  const previous = jobTimeoutMs
  jobTimeoutMs = ms
  return previous
}

/**
 * The worker file, next to this module: in src/ beside this file, in dist/ beside the
 * chunk this module is bundled into (scripts/bundle.mjs copies it to dist/chunks/).
 */
function workerFile(): URL {
  const file = new URL('./pdf-text-worker.mjs', import.meta.url)
  if (!existsSync(fileURLToPath(file))) throw new Error(`the PDF text worker is missing: ${fileURLToPath(file)} (reinstall studio)`)
  return file
}

/**
 * One worker per core (STUDIO_PDF_WORKERS overrides it, for measurements). With one worker
 * on 2 cores a listing of 200 6-page papers waited on pdf.js while the main thread idled;
 * two halve that wait (BENCHMARKS.md, "Listing: every paper read once"). Workers start only when
 * there is more queued work than busy workers, so one paper starts one.
 */
export function pdfPoolSize(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const asked = Number(env.STUDIO_PDF_WORKERS)
  return Number.isInteger(asked) && asked >= 1 ? Math.min(asked, 64) : Math.max(1, cores)
}
const POOL_SIZE = pdfPoolSize()

/** Waiting jobs: every first page goes before any rest or whole paper. */
const queues: {'first-page': Job[]; rest: Job[]} = {'first-page': [], rest: []}
/** Each worker runs one job at a time. */
const busy = new Map<Worker, Job | null>()
let nextId = 0

/**
 * PDFium's WebAssembly, compiled once for every worker of the pool (pdfium-text.mjs,
 * usePdfiumModule), or null when it cannot be (each worker then compiles its own, or
 * falls back to pdf.js). Compiled asynchronously: V8 decodes and validates the 4 MB on its
 * background threads, where `new WebAssembly.Module` held this thread for about 13 ms
 * while the first papers waited to be sent; function bodies compile lazily, on first use.
 */
let pdfiumModule: Promise<object | null> | undefined

/** The one part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
const {WebAssembly: wasm} = globalThis as unknown as {WebAssembly: {compile(bytes: Uint8Array): Promise<object>}}

/**
 * Turns on V8's inlining of small WebAssembly functions into their callers, in the code its
 * optimising tier makes of hot functions. V8 does it by default from version 12 (Node 22);
 * Node 20's V8 11.3 has the same inliner behind --wasm-inlining. PDFium, all small C++
 * accessors and allocator calls, reads a 6-page paper about 15% faster with it (12.6 -> 10.7
 * ms a paper on one thread, BENCHMARKS.md, "Listing: every paper read once"). The flag is
 * process-wide but changes only how WebAssembly is compiled, never what it computes, and
 * is set before PDFium is compiled; PDFium is the only WebAssembly studio runs.
 * STUDIO_WASM_INLINING=0 leaves V8's default (TRAINING.md, "PDF readers").
 */
export function wasmInliningWanted(env: NodeJS.ProcessEnv = process.env, v8Version = process.versions.v8): boolean {
  const major = Number(v8Version.split('.')[0])
  return env.STUDIO_WASM_INLINING !== '0' && major < 12
}

export function compiledPdfium(): Promise<object | null> {
  pdfiumModule ??= (async () => {
    try {
      const file = createRequire(import.meta.url).resolve('@hyzyla/pdfium/pdfium.wasm')
      if (wasmInliningWanted()) setFlagsFromString('--wasm-inlining')
      return await wasm.compile(await readFile(file))
    } catch {
      return null
    }
  })()
  return pdfiumModule
}

function spawn(): Worker {
  const worker = new Worker(workerFile())
  busy.set(worker, null)
  // The worker waits for this message before its first read; jobs sent meanwhile queue in it.
  const pdfium = process.env.STUDIO_PDF_READER === 'pdf.js' ? Promise.resolve(null) : compiledPdfium()
  void pdfium.then((module) => worker.postMessage({pdfiumModule: module}))
  worker.on('message', (reply: Reply) => {
    // A worker given up on (timed out) may still answer before it stops: not ours any more.
    if (!busy.has(worker)) return
    const job = busy.get(worker)
    busy.set(worker, null)
    clearTimeout(job?.timer)
    if (job && job.id === reply.id) {
      if ('error' in reply) job.reject(new PdfExtractionError(reply.error.name, reply.error.message))
      else job.resolve({total: reply.total, pages: reply.pages, reader: reply.reader})
    }
    dispatch()
  })
  // A worker that dies (out of memory on a hostile file, say) fails the file it was
  // reading; queued files go to a new worker.
  const lost = (why: string) => {
    const job = busy.get(worker)
    busy.delete(worker)
    clearTimeout(job?.timer)
    job?.reject(new PdfExtractionError('WorkerCrash', `the PDF reader stopped while reading it (${why})`))
    dispatch()
  }
  worker.on('error', (error) => lost(error.message))
  worker.on('exit', (code) => busy.has(worker) && lost(`exit code ${code}`))
  return worker
}

function dispatch(): void {
  for (;;) {
    const queue = queues['first-page'].length > 0 ? queues['first-page'] : queues.rest
    if (queue.length === 0) break
    let idle = [...busy.entries()].find(([, job]) => job === null)?.[0]
    if (!idle && busy.size < POOL_SIZE) {
      try {
        idle = spawn()
      } catch (error) {
        rejectQueued(error as Error)
        return
      }
    }
    if (!idle) break
    const job = queue.shift()!
    const worker = idle
    busy.set(worker, job)
    job.timer = setTimeout(() => giveUp(worker, job), jobTimeoutMs)
    worker.postMessage({id: job.id, range: job.range, data: job.data, maxPages: job.maxPages}, [job.data.buffer as ArrayBuffer])
  }
  // An idle pool does not keep the process alive; a pool with work does, so that a
  // caller awaiting only this work does not see the process exit under it.
  for (const [worker, job] of busy) {
    if (job) worker.ref()
    else worker.unref()
  }
}

/** A job past its time: its file fails, its worker is stopped, the queue goes to a new one. */
function giveUp(worker: Worker, job: Job): void {
  if (busy.get(worker) !== job) return
  busy.delete(worker)
  job.reject(new PdfExtractionError('Timeout', `the PDF reader gave up on it after ${Math.round(jobTimeoutMs / 1000)} s`))
  void worker.terminate()
  dispatch()
}

function rejectQueued(error: Error): void {
  for (const job of [...queues['first-page'], ...queues.rest]) job.reject(error)
  queues['first-page'] = []
  queues.rest = []
}

function submit(range: Range, data: Uint8Array, maxPages?: number): Promise<PdfPages> {
  return new Promise<PdfPages>((resolve, reject) => {
    // A copy: it is transferred to the worker, and the caller's bytes stay usable.
    const job: Job = {id: ++nextId, range, data: new Uint8Array(data), resolve, reject}
    if (maxPages !== undefined) job.maxPages = maxPages
    queues[range === 'first-page' ? 'first-page' : 'rest'].push(job)
    dispatch()
  })
}

function tooManyPages(total: number, maxPages: number): PdfExtractionError {
  return new PdfExtractionError('TooManyPages', `it has ${total} pages, more than the ${maxPages} allowed`)
}

/**
 * Extracts the text of a PDF's pages; the bytes are copied, `data` stays usable. A
 * document of more than `maxPages` pages has only its first page extracted: `all` then
 * rejects (TooManyPages), and the caller refuses it on `firstPage`'s page count.
 * `titleFirst: false` reads the file in one job: `firstPage` then comes with `all`.
 */
export function extractPdfText(data: Uint8Array, options: {maxPages?: number; titleFirst?: boolean} = {}): PdfText {
  const {maxPages} = options
  if (options.titleFirst === false) {
    // No MAX_SAFE_INTEGER sent for "no limit": the worker reads a missing maxPages as none.
    const whole = submit('whole', data, maxPages)
    const firstPage = whole.then(({total, pages, reader}) => ({total, pages: pages.slice(0, 1), reader}))
    const all = whole.then((pages) => {
      if (maxPages !== undefined && pages.total > maxPages) throw tooManyPages(pages.total, maxPages)
      return pages
    })
    all.catch(() => {})
    firstPage.catch(() => {})
    return {firstPage, all}
  }
  const firstPage = submit('first-page', data)
  const all = firstPage.then(async (first) => {
    if (first.total <= 1) return first
    if (maxPages !== undefined && first.total > maxPages) throw tooManyPages(first.total, maxPages)
    const rest = await submit('rest', data)
    // Two jobs, maybe two readers (PDFium refusing a file fails both): the second names it.
    return {total: first.total, pages: [...first.pages, ...rest.pages], reader: rest.reader}
  })
  // A caller may use only one of the two; the other's rejection is not an unhandled one.
  all.catch(() => {})
  return {firstPage, all}
}

/** Stops the workers (tests; a CLI process just exits). */
export async function stopPdfWorkers(): Promise<void> {
  const workers = [...busy.keys()]
  rejectQueued(new Error('the PDF text worker was stopped'))
  for (const worker of workers) {
    const job = busy.get(worker)
    clearTimeout(job?.timer)
    job?.reject(new Error('the PDF text worker was stopped'))
    busy.delete(worker)
  }
  await Promise.all(workers.map((worker) => worker.terminate()))
}
