/**
 * The paper cache: a paper read once is not extracted again, under any name; a damaged
 * entry or a broken cache is only a miss; the key names the code that made the text.
 */
import {readFileSync} from 'node:fs'
import {copyFile, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {createCountProgress} from '../../src/cli/progress.js'
import {canonicalJson, sha256} from '../../src/core/hash.js'
import {InputError} from '../../src/core/errors.js'
import type {ResponseCache} from '../../src/core/providers.js'
import {openPaper, readPaper} from '../../src/media/paper.js'
import {EXTRACTOR_VERSIONS, PAPER_TEXT_VERSION, paperCacheKey} from '../../src/media/paper-cache.js'
import {cleanPdfPages} from '../../src/media/pdf-cleanup.js'
import {extractPdfText, pdfPoolSize, stopPdfWorkers} from '../../src/media/pdf-text.js'
import {splitReferences, guessTitle} from '../../src/media/paper.js'
import {countWords} from '../../src/core/text.js'
import {DiskCache, paperCacheDir} from '../../src/providers/cache.js'
import {makeTempDir, removeDir, writePdf} from '../helpers/media.js'

/** A cache in memory that records what it was asked, and can be told to fail. */
class MemoryCache implements ResponseCache {
  readonly entries = new Map<string, unknown>()
  sets = 0
  failing = false
  async get(key: unknown): Promise<unknown> {
    if (this.failing) throw new Error('EIO: the cache disk is gone')
    return structuredClone(this.entries.get(canonicalJson(key)))
  }
  async set(key: unknown, value: unknown): Promise<void> {
    if (this.failing) throw new Error('EACCES: the cache is read-only')
    this.sets++
    this.entries.set(canonicalJson(key), structuredClone(value))
  }
}

let dir = ''
const file = (name: string) => path.join(dir, name)
const PAGES = ['Method. We route each query to a few blocks.', 'Results. Routing keeps 9 percent of pairs.', 'References\nSmith 2020.']

beforeAll(async () => {
  dir = await makeTempDir('studio-paper-cache-')
  await writePdf(file('paper.pdf'), {title: 'Routed Sparse Attention', pages: PAGES})
})
afterAll(async () => {
  await stopPdfWorkers()
  await removeDir(dir)
})

describe('the paper cache', () => {
  it('gives the same paper and early title as an extraction, under the new name, without extracting again', async () => {
    const cache = new MemoryCache()
    const read = openPaper(file('paper.pdf'), undefined, {cache})
    const [paper, title] = await Promise.all([read.paper, read.title])
    expect(cache.sets).toBe(1)
    await copyFile(file('paper.pdf'), file('renamed.pdf'))
    const again = openPaper(file('renamed.pdf'), undefined, {cache})
    expect(await again.paper).toEqual({...paper, path: file('renamed.pdf')})
    expect(await again.title).toBe(title)
    expect(cache.sets).toBe(1)
    // Proof that nothing was extracted: an entry with another body is what comes back.
    const [key] = cache.entries.keys()
    cache.entries.set(key!, {...(cache.entries.get(key!) as object), body: 'From the cache, not the file.'})
    expect((await readPaper(file('renamed.pdf'), undefined, {cache})).body).toBe('From the cache, not the file.')
  })

  it('keeps Markdown and text papers too, with the words their page estimate came from', async () => {
    const cache = new MemoryCache()
    await writeFile(file('notes.md'), '# A Markdown Paper\n\nSome **bold** words about routing.\n\n## References\n\nSmith 2020.\n')
    const paper = await readPaper(file('notes.md'), undefined, {cache})
    expect(await readPaper(file('notes.md'), undefined, {cache})).toEqual(paper)
    expect(cache.sets).toBe(1)
    expect([...cache.entries.values()][0]).toMatchObject({
      format: 'md',
      estimate_words: countWords('A Markdown Paper\n\nSome bold words about routing.\n\nReferences\n\nSmith 2020.'),
    })
  })

  it('applies the page limit of this reading to a cached paper', async () => {
    const cache = new MemoryCache()
    await readPaper(file('paper.pdf'), undefined, {cache})
    const limits = {maxPaperPages: 2, maxEpisodeMinutes: 240}
    await expect(readPaper(file('paper.pdf'), limits, {cache})).rejects.toThrow(/too long for a podcast pair: 3 pages/)
    await expect(openPaper(file('paper.pdf'), limits, {cache}).title).rejects.toBeInstanceOf(InputError)
  })

  it('ignores an entry of the wrong shape and rewrites it', async () => {
    const cache = new MemoryCache()
    const data = await readFile(file('paper.pdf'))
    const key = canonicalJson(paperCacheKey(sha256(data), 'pdf'))
    cache.entries.set(key, {format: 'pdf', pages: 'three'})
    const paper = await readPaper(file('paper.pdf'), undefined, {cache})
    expect(paper.pages).toBe(3)
    expect(cache.entries.get(key)).toMatchObject({pages: 3, body: paper.body})
  })

  it('reads papers when the cache can be neither read nor written', async () => {
    const cache = new MemoryCache()
    cache.failing = true
    expect((await readPaper(file('paper.pdf'), undefined, {cache})).pages).toBe(3)
  })

  it('does not keep a paper that fails, so that a fixed file is read anew', async () => {
    const cache = new MemoryCache()
    await writeFile(file('broken.pdf'), '%PDF-1.4 this is not a PDF at all')
    await expect(readPaper(file('broken.pdf'), undefined, {cache})).rejects.toThrow(/not a readable PDF/)
    expect(cache.sets).toBe(0)
  })

  it('on disk: a damaged entry file is a miss, rewritten by the next read', async () => {
    const cacheDir = file('cache')
    const cache = new DiskCache(paperCacheDir(cacheDir))
    const paper = await readPaper(file('paper.pdf'), undefined, {cache})
    const data = await readFile(file('paper.pdf'))
    const entry = cache.fileFor(paperCacheKey(sha256(data), 'pdf'))
    await writeFile(entry, '{"version": 1, "key_sha')
    expect(await readPaper(file('paper.pdf'), undefined, {cache})).toEqual(paper)
    expect(JSON.parse(await readFile(entry, 'utf8'))).toMatchObject({value: {body: paper.body}})
    expect((await cache.stats()).entries).toBe(1)
  })

  it('keys the text by bytes, format and the versions of what read it', () => {
    const sha = 'a'.repeat(64)
    const keys = [paperCacheKey(sha, 'pdf'), paperCacheKey(sha, 'txt'), paperCacheKey(sha, 'md'), paperCacheKey('b'.repeat(64), 'pdf')]
    expect(new Set(keys.map((k) => canonicalJson(k))).size).toBe(4)
    expect(paperCacheKey(sha, 'pdf')).toMatchObject({
      extractor: {'pdf-parse': '2.4.5', 'pdfjs-dist': '5.4.296'},
      studio_text: PAPER_TEXT_VERSION,
    })
  })

  it('names the extractor versions installed', () => {
    const installed = (name: string) => (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as {version: string}).version
    for (const versions of Object.values(EXTRACTOR_VERSIONS))
      for (const [name, version] of Object.entries(versions)) expect(version, `update EXTRACTOR_VERSIONS for ${name}`).toBe(installed(name))
  })

  it('pins the text cleanup: a change to it must bump PAPER_TEXT_VERSION', () => {
    const pages = [
      'Routed Sparse Attention\nA. Author, B. Author\nAbstract. We route each query to a ﬁxed set of blocks, so that long docu-\nments fit.\n1',
      'Journal of Examples 2026\nResults. Routing keeps 9 per\u00ADcent of pairs.\n2',
      'Journal of Examples 2026\nReferences\nSmith, J. (2020). Attention.\n3',
    ]
    const text = cleanPdfPages(pages)
    const {body, references} = splitReferences(text)
    const out = JSON.stringify({body, references, title: guessTitle(body), words: countWords(body)})
    // When this fails because the cleanup changed on purpose: bump PAPER_TEXT_VERSION
    // (src/media/paper-cache.ts), then put the new hash here.
    expect({version: PAPER_TEXT_VERSION, sha: sha256(out)}).toEqual({
      version: 1,
      sha: 'cabd678b0cfd38c09227e13e7fb63f5fb63b8c14291d0b506398b666df6c1ef0',
    })
  })
})

describe('PDF extraction in one job', () => {
  it('reads every page in one job, or only the first past the page limit', async () => {
    const data = await readFile(file('paper.pdf'))
    const whole = extractPdfText(data, {titleFirst: false})
    expect((await whole.firstPage).pages).toHaveLength(1)
    expect((await whole.all).pages).toHaveLength(3)
    expect(await whole.all).toEqual(await extractPdfText(data).all)
    const over = extractPdfText(data, {titleFirst: false, maxPages: 2})
    expect(await over.firstPage).toMatchObject({total: 3})
    await expect(over.all).rejects.toMatchObject({pdfjsName: 'TooManyPages'})
  })

  it('sizes the pool to the cores, or to STUDIO_PDF_WORKERS', () => {
    expect(pdfPoolSize({}, 2)).toBe(2)
    expect(pdfPoolSize({}, 0)).toBe(1)
    expect(pdfPoolSize({STUDIO_PDF_WORKERS: '1'}, 8)).toBe(1)
    expect(pdfPoolSize({STUDIO_PDF_WORKERS: 'many'}, 4)).toBe(4)
  })
})

describe('count progress', () => {
  it('says nothing for a quick job, and a line on stderr once it has taken longer than the delay', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const quick = createCountProgress({json: true, message: (d, t) => `Reading pairs: ${d}/${t}`, delayMs: 30})
      quick.update(3, 3)
      quick.stop()
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(write).not.toHaveBeenCalled()
      const slow = createCountProgress({json: true, message: (d, t) => `Reading pairs: ${d}/${t}`, delayMs: 10})
      slow.update(1, 3)
      await new Promise((resolve) => setTimeout(resolve, 40))
      slow.stop()
      expect(write).toHaveBeenCalledTimes(1)
      expect(String(write.mock.calls[0]![0])).toMatch(/^\[.+\] Reading pairs: 1\/3\n$/)
    } finally {
      write.mockRestore()
    }
  })
})
