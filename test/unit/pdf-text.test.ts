/**
 * PDF text extraction on its worker thread, the early title it gives the transcription,
 * and what the trainer does with both.
 *
 * @vitest-isolate: one test checks that pdf.js never loads into the calling thread, which
 * only a fresh module graph and realm can show.
 */
import {randomBytes} from 'node:crypto'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mockProviders} from '../../src/providers/mock/index.js'
import type {TranscriptionRequest} from '../../src/core/providers.js'
import {InputError} from '../../src/core/errors.js'
import {openPaper, readPaper} from '../../src/media/paper.js'
import {cleanPdfPages} from '../../src/media/pdf-cleanup.js'
import {
  compiledPdfium,
  extractPdfText,
  PdfExtractionError,
  setPdfJobTimeout,
  stopPdfWorkers,
  wasmInliningWanted,
} from '../../src/media/pdf-text.js'
import {EXAMPLE_PAIRS} from '../helpers/cli.js'
import {makeTempDir, removeDir, writePdf} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-pdf-text-')
})
afterAll(async () => {
  await stopPdfWorkers()
  await removeDir(dir)
})

const file = (name: string) => path.join(dir, name)
const TOPICS = ['why attention is quadratic', 'how sparsity patterns are chosen', 'what the benchmarks show']

describe('extractPdfText', () => {
  it('gives the first page on its own, then every page in order', async () => {
    await writePdf(file('three.pdf'), {title: 'Sparse Attention for Everyone', pages: TOPICS.map((t) => `This page explains ${t}.`)})
    const data = await readFile(file('three.pdf'))
    const before = Buffer.from(data)
    const text = extractPdfText(data)
    const first = await text.firstPage
    expect(first.total).toBe(3)
    expect(first.pages).toHaveLength(1)
    expect(first.pages[0]).toContain('Sparse Attention for Everyone')
    const all = await text.all
    expect(all.total).toBe(3)
    expect(all.pages.map((page) => page.match(/explains ([a-z ]+)\./)?.[1])).toEqual(TOPICS)
    // The bytes are copied to the worker, not taken from the caller.
    expect(data.equals(before)).toBe(true)
  })

  it('reads with PDFium, and with pdf.js alone under STUDIO_PDF_READER=pdf.js, to the same cleaned text', async () => {
    const data = await readFile(path.join(EXAMPLE_PAIRS, 'aerial-vehicle-positioning-full.pdf'))
    const pdfium = await extractPdfText(data, {titleFirst: false}).all
    expect(pdfium.reader).toBe('pdfium')
    // Workers read the variable when they start.
    await stopPdfWorkers()
    process.env.STUDIO_PDF_READER = 'pdf.js'
    try {
      const pdfjs = await extractPdfText(data).all
      expect(pdfjs.reader).toBe('pdf.js')
      expect(pdfjs.total).toBe(pdfium.total)
      expect(cleanPdfPages(pdfjs.pages)).toBe(cleanPdfPages(pdfium.pages))
    } finally {
      delete process.env.STUDIO_PDF_READER
      await stopPdfWorkers()
    }
  })

  it('compiles PDFium once for the pool, from the installed package', async () => {
    const module = await compiledPdfium()
    // The project's TypeScript libs do not declare the WebAssembly global's values.
    expect(module).toBeInstanceOf((globalThis as unknown as {WebAssembly: {Module: new () => object}}).WebAssembly.Module)
    expect(await compiledPdfium()).toBe(module)
  })

  it('turns on wasm inlining on V8 11 (Node 20) only, and not with STUDIO_WASM_INLINING=0', () => {
    expect(wasmInliningWanted({}, '11.3.244.8-node.33')).toBe(true)
    expect(wasmInliningWanted({STUDIO_WASM_INLINING: '0'}, '11.3.244.8-node.33')).toBe(false)
    // V8 12 (Node 22) inlines by default.
    expect(wasmInliningWanted({}, '12.4.254.21-node.33')).toBe(false)
  })

  it("rejects with pdf.js's error name, and keeps working for the next file", async () => {
    const broken = extractPdfText(randomBytes(2048))
    const error = (await broken.firstPage.catch((e: unknown) => e)) as PdfExtractionError
    expect(error).toBeInstanceOf(PdfExtractionError)
    expect(error.pdfjsName).toBe('InvalidPDFException')
    await expect(broken.all).rejects.toBe(error)
    await writePdf(file('after.pdf'), ['Still readable after a broken file.'])
    expect((await extractPdfText(await readFile(file('after.pdf'))).all).pages[0]).toContain('Still readable')
  })

  it('starts a new worker after the old one was stopped', async () => {
    await writePdf(file('again.pdf'), ['Read by a fresh worker.'])
    const data = await readFile(file('again.pdf'))
    const pending = extractPdfText(data).all
    await stopPdfWorkers()
    await expect(pending).rejects.toThrow(/stopped/)
    expect((await extractPdfText(data).all).pages[0]).toContain('Read by a fresh worker.')
  })

  it('gives up on a file that takes too long, names it, and goes on with the next on a new worker', async () => {
    // Forty full pages: PDFium reads a short page well within the 1 ms allowed below.
    const page = (t: string) => `This page explains ${t}. `.repeat(80)
    await writePdf(
      file('slow.pdf'),
      Array.from({length: 40}, (_, i) => page(TOPICS[i % 3]!)),
    )
    const previous = setPdfJobTimeout(1)
    let error: unknown
    try {
      error = await readPaper(file('slow.pdf')).catch((e: unknown) => e)
    } finally {
      setPdfJobTimeout(previous)
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toBe(`Paper ${file('slow.pdf')} is not a readable PDF: the PDF reader gave up on it after 0 s`)
    expect((error as InputError).hint).toMatch(/print or export it to a new PDF/)
    expect((await readPaper(file('slow.pdf'))).pages).toBe(40)
  })

  it('never loads pdf.js, or the polyfills it installs, into the calling thread', async () => {
    await writePdf(file('isolated.pdf'), ['Text read on the worker thread.'])
    await readPaper(file('isolated.pdf'))
    // core-js keeps its shared store here, and pdf.js its API object, in any realm they load into.
    expect('__core-js_shared__' in globalThis).toBe(false)
    expect('pdfjsLib' in globalThis).toBe(false)
  })
})

describe('openPaper', () => {
  it('resolves the title from the first page before the whole paper', async () => {
    const pages = TOPICS.map((t, i) => `${i === 0 ? 'Ada Lovelace, Alan Turing\n' : ''}This page explains ${t}.`)
    await writePdf(file('early.pdf'), {title: 'Early Titles for Whisper', pages})
    const reading = openPaper(file('early.pdf'))
    const order: string[] = []
    void reading.title.then(() => order.push('title'))
    void reading.paper.then(() => order.push('paper'))
    const [title, paper] = await Promise.all([reading.title, reading.paper])
    expect(order).toEqual(['title', 'paper'])
    expect(title).toBe('Early Titles for Whisper')
    expect(paper.title).toBe(title)
    expect(paper.pages).toBe(3)
  })

  it('rejects the title as it rejects the paper when the file cannot be used', async () => {
    await writeFile(file('garbage.pdf'), randomBytes(4096))
    const reading = openPaper(file('garbage.pdf'))
    const titleError = await reading.title.catch((e: unknown) => e)
    expect(titleError).toBeInstanceOf(InputError)
    expect((titleError as InputError).message).toMatch(/garbage\.pdf is not a readable PDF/)
    await expect(reading.paper).rejects.toBe(titleError)
  })

  it('takes the title from the whole text for formats without pages', async () => {
    await writeFile(file('draft.md'), '# A Markdown Draft\n\nBody text about sparse attention and long documents.\n')
    const reading = openPaper(file('draft.md'))
    expect(await reading.title).toBe('A Markdown Draft')
  })
})

describe('the trainer and the early title', () => {
  it('transcribes with the first-page title and pays nothing for a pair whose paper is unreadable', async () => {
    const root = await makeTempDir('studio-pdf-text-run-')
    try {
      const pairs = path.join(root, 'pairs')
      await mkdir(pairs)
      // No sidecar: this pair is transcribed.
      for (const ext of ['pdf', 'mp3'])
        await copyFile(path.join(EXAMPLE_PAIRS, `soil-microbiome-drought.${ext}`), path.join(pairs, `soil.${ext}`))
      await writeFile(path.join(pairs, 'broken.pdf'), randomBytes(4096))
      await copyFile(path.join(EXAMPLE_PAIRS, 'soil-microbiome-drought.mp3'), path.join(pairs, 'broken.mp3'))

      const providers = mockProviders()
      const requests: TranscriptionRequest[] = []
      const transcribe = providers.transcriber.transcribe.bind(providers.transcriber)
      providers.transcriber = {id: providers.transcriber.id, transcribe: (request) => (requests.push(request), transcribe(request))}

      const outcome = await mockTrainingRun(root, {pairsDir: pairs, providers, maxTrials: 1})
      expect(outcome.report.pairs).toEqual(['soil'])
      expect(outcome.report.skipped_pairs).toEqual([
        {id: 'broken', reason: expect.stringMatching(/broken\.pdf is not a readable PDF/) as string, hint: expect.any(String) as string},
      ])
      expect(requests.map((r) => path.basename(r.audioPath))).toEqual(['soil.mp3'])
      expect(requests[0]!.title).toBe('Drought-Legacy Soil Microbiomes Enhance Maize Drought Resilience through Rhizosphere Bacteria')
      expect(await requests[0]!.paperText()).toContain('drought')
    } finally {
      await removeDir(root)
    }
  })
})
