/**
 * PDFium, the PDF text worker's first reader: the same text as pdf.js after cleanup, page
 * ranges, errors named as pdf.js names them, and memory given back after each file.
 *
 * @vitest-isolate: it loads pdf.js into this thread to compare, and pdf.js's polyfills
 * would slow every other test file sharing the thread.
 */
import {readFile, readdir} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanPdfPages} from '../../src/media/pdf-cleanup.js'
import {asPdfjsText, pdfiumNextBlock, pdfiumPages} from '../../src/media/pdfium-text.mjs'
import {EXAMPLE_PAIRS} from '../helpers/cli.js'
import {makeTempDir, removeDir, writePdf} from '../helpers/media.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-pdfium-')
})
afterAll(async () => {
  await removeDir(dir)
})

async function withPdfjs(data: Uint8Array): Promise<{total: number; pages: string[]}> {
  const {PDFParse} = await import('pdf-parse')
  const parser = new PDFParse({data: new Uint8Array(data)})
  try {
    const result = await parser.getText({pageJoiner: ''})
    return {total: result.total, pages: result.pages.map((page) => page.text)}
  } finally {
    await parser.destroy()
  }
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'read',
    (error: Error) => `${error.name}: ${error.message}`,
  )

describe('PDFium text', () => {
  it('reads the bundled papers as pdf.js does, word for word after cleanup (hyphenated line ends included)', async () => {
    const papers = (await readdir(EXAMPLE_PAIRS)).filter((name) => name.endsWith('.pdf'))
    expect(papers).toHaveLength(3)
    for (const name of papers) {
      const data = new Uint8Array(await readFile(path.join(EXAMPLE_PAIRS, name)))
      const [pdfium, pdfjs] = [await pdfiumPages(data), await withPdfjs(data)]
      expect(pdfium.total, name).toBe(pdfjs.total)
      expect(cleanPdfPages(pdfium.pages), name).toBe(cleanPdfPages(pdfjs.pages))
    }
  })

  it('reads page ranges, and only page 1 of a document over maxPages', async () => {
    const file = path.join(dir, 'three.pdf')
    await writePdf(file, {title: 'Three pages', pages: ['Alpha page text.', 'Beta page text.', 'Gamma page text.']})
    const data = new Uint8Array(await readFile(file))
    const all = await pdfiumPages(data)
    expect(all.total).toBe(3)
    expect(all.pages.map((page) => page.trim())).toEqual([
      expect.stringContaining('Alpha page text.'),
      'Beta page text.',
      'Gamma page text.',
    ])
    expect(await pdfiumPages(data, {from: 1, to: 1})).toEqual({total: 3, pages: [all.pages[0]]})
    expect(await pdfiumPages(data, {from: 2})).toEqual({total: 3, pages: all.pages.slice(1)})
    expect(await pdfiumPages(data, {maxPages: 2})).toEqual({total: 3, pages: [all.pages[0]]})
    expect(await pdfiumPages(data, {maxPages: 3})).toEqual(all)
    // The caller's bytes are left as they were (pdf.js detaches them; PDFium copies).
    expect(data.byteLength).toBeGreaterThan(0)
  })

  it('names a failure as pdf.js does: an encrypted file, one that is not a PDF, an empty one', async () => {
    const locked = path.join(dir, 'locked.pdf')
    await writePdf(locked, {pages: ['secret'], password: {user: 'u', owner: 'o'}})
    expect(await failure(pdfiumPages(new Uint8Array(await readFile(locked))))).toBe('PasswordException: No password given')
    expect(await failure(pdfiumPages(new TextEncoder().encode('%PDF-1.4 not really')))).toBe('InvalidPDFException: Invalid PDF structure.')
    expect(await failure(pdfiumPages(new Uint8Array(0)))).toMatch(/^InvalidPDFException: /)
    // A failed load frees what it took: the next file reads.
    const data = new Uint8Array(await readFile(path.join(EXAMPLE_PAIRS, 'soil-microbiome-drought.pdf')))
    expect((await pdfiumPages(data)).total).toBe(3)
  })

  it('gives back the memory of every file and page it reads, and of every failure', async () => {
    const data = new Uint8Array(await readFile(path.join(EXAMPLE_PAIRS, 'aerial-vehicle-positioning-full.pdf')))
    await pdfiumPages(data)
    const settled = await pdfiumNextBlock()
    for (let i = 0; i < 5; i++) {
      await pdfiumPages(data)
      await pdfiumPages(data, {from: 2})
      await pdfiumPages(new TextEncoder().encode('%PDF-1.4 not really')).catch(() => {})
      expect(await pdfiumNextBlock(), `after read ${i + 1}`).toBe(settled)
    }
  })

  it('maps PDFium line ends and its line-end hyphen mark to what pdf.js gives, and drops control characters', () => {
    expect(asPdfjsText('visual\uFFFEinertial odometry\r\nnext\rline')).toBe('visual-\ninertial odometry\nnext\nline')
    expect(asPdfjsText('a\u0001b\u0002c\td\n')).toBe('abc\td\n')
  })
})
