/**
 * The size guards (src/media/limits.ts): each check on its own, then where the readers
 * apply them: a paper refused by its size before it is read, by its pages or words after;
 * a sidecar by its size and its end; the estimate leaving such a pair out; the config key.
 */
import {readFile, truncate, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {InputError} from '../../src/core/errors.js'
import {
  BINARY_PAPER_BYTES_PER_PAGE,
  checkEpisodeDuration,
  checkPaperBytes,
  checkPaperPages,
  checkTranscriptBytes,
  checkTranscriptDuration,
  DEFAULT_SIZE_LIMITS,
  paperByteCap,
  TEXT_BYTES_PER_PAGE,
  TRANSCRIPT_BYTES_PER_MINUTE,
  type SizeLimits,
} from '../../src/media/limits.js'
import {openPaper, readPaper} from '../../src/media/paper.js'
import {extractPdfText, PdfExtractionError, stopPdfWorkers} from '../../src/media/pdf-text.js'
import {readSidecar} from '../../src/media/sidecar.js'
import {loadConfig} from '../../src/providers/config.js'
import type {PairFiles} from '../../src/core/schemas/inputs.js'
import {estimatePerPair, estimateRun, pairEstimateInputs, type PairEstimateInput} from '../../src/training/estimate.js'
import {paperReader} from '../../src/training/run/context.js'
import {discoverPairs} from '../../src/training/stages/discover.js'
import {ingestPairs} from '../../src/training/stages/ingest.js'
import {runPaths} from '../../src/core/layout.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {metered, UsageMeter} from '../../src/providers/usage.js'
import {EXAMPLE_PAIRS} from '../helpers/cli.js'
import {makeTempDir, removeDir, writePdf, writeSilentMp3, writeVtt} from '../helpers/media.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-size-limits-')
})
afterAll(async () => {
  await stopPdfWorkers()
  await removeDir(dir)
})
const file = (name: string) => path.join(dir, name)

/** The error a call throws (or a promise rejects with), for assertions on its fields. */
async function thrown(run: () => unknown): Promise<InputError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error('expected an InputError, got none')
}

/** A file of `bytes` bytes that takes no disk space (a sparse file). */
async function sparseFile(name: string, bytes: number): Promise<string> {
  await writeFile(file(name), '')
  await truncate(file(name), bytes)
  return file(name)
}

const LIMITS = DEFAULT_SIZE_LIMITS

describe('the checks', () => {
  it('caps a text paper at 16 KiB a page and a PDF or .docx at 512 KiB a page of the page limit', () => {
    expect(DEFAULT_SIZE_LIMITS).toEqual({maxPaperPages: 200, maxEpisodeMinutes: 240})
    expect(paperByteCap('txt', LIMITS)).toBe(200 * TEXT_BYTES_PER_PAGE)
    expect(paperByteCap('md', LIMITS)).toBe(3_276_800)
    expect(paperByteCap('pdf', LIMITS)).toBe(200 * BINARY_PAPER_BYTES_PER_PAGE)
    expect(paperByteCap('docx', LIMITS)).toBe(100 * 2 ** 20)
    // Raising the page limit raises the cap with it: one key to change.
    expect(paperByteCap('txt', {...LIMITS, maxPaperPages: 400})).toBe(2 * paperByteCap('txt', LIMITS))
  })

  it('accepts a paper file at its cap and refuses one byte more, saying size, cap, key and fix', async () => {
    expect(() => checkPaperBytes('p.txt', 'txt', 200 * TEXT_BYTES_PER_PAGE, LIMITS)).not.toThrow()
    const error = await thrown(() => checkPaperBytes('dir/p.txt', 'txt', 71 * 2 ** 20, LIMITS))
    expect(error.message).toBe(
      'Paper dir/p.txt is too large for a podcast pair: 71.0 MiB, over the 3.1 MiB allowed for 200 pages (limits.max_paper_pages, at 16 KiB a page); cut it to the part the episode discusses, or raise limits.max_paper_pages in studio.config.json',
    )
    expect(error.path).toBe('dir/p.txt')
    expect(error.hint).toMatch(/TRAINING\.md, "Size limits"/)
    const pdf = await thrown(() => checkPaperBytes('p.pdf', 'pdf', 200 * BINARY_PAPER_BYTES_PER_PAGE + 1, LIMITS))
    expect(pdf.message).toMatch(
      /^Paper p\.pdf is too large for a podcast pair: 100\.0 MiB, over the 100\.0 MiB allowed for 200 pages .*512 KiB a page/,
    )
  })

  it('refuses a paper over the page limit, with its word count when the pages are an estimate', async () => {
    expect(() => checkPaperPages('p.pdf', {pages: 200}, LIMITS)).not.toThrow()
    expect((await thrown(() => checkPaperPages('p.pdf', {pages: 412}, LIMITS))).message).toBe(
      'Paper p.pdf is too long for a podcast pair: 412 pages, over the limit of 200 pages (limits.max_paper_pages); cut it to the part the episode discusses, or raise limits.max_paper_pages in studio.config.json',
    )
    expect((await thrown(() => checkPaperPages('p.txt', {pages: 241, words: 120_200}, LIMITS))).message).toMatch(
      /^Paper p\.txt is too long for a podcast pair: about 241 pages \(120,200 words at 500 a page\), over the limit of 200 pages/,
    )
  })

  it('refuses an episode over the duration limit and returns the duration of one within it', async () => {
    expect(checkEpisodeDuration('e.mp3', 240 * 60, LIMITS)).toBe(14_400)
    expect((await thrown(() => checkEpisodeDuration('e.mp3', 5 * 3600 + 12 * 60, LIMITS))).message).toBe(
      'Episode e.mp3 is too long for a podcast pair: 5:12:00 (312.0 minutes), over the limit of 240 minutes (limits.max_episode_minutes); cut it to the part about the paper, or raise limits.max_episode_minutes in studio.config.json',
    )
    expect(() => checkEpisodeDuration('e.mp3', 90, {...LIMITS, maxEpisodeMinutes: 1.5})).not.toThrow()
    expect(() => checkEpisodeDuration('e.mp3', 90.1, {...LIMITS, maxEpisodeMinutes: 1.5})).toThrow(/over the limit of 1\.5 minutes/)
  })

  it('refuses a sidecar transcript by its size and by its end', async () => {
    expect(() => checkTranscriptBytes('e.vtt', 240 * TRANSCRIPT_BYTES_PER_MINUTE, LIMITS)).not.toThrow()
    expect((await thrown(() => checkTranscriptBytes('e.vtt', 30 * 2 ** 20, LIMITS))).message).toMatch(
      /^Transcript e\.vtt is too large for a podcast pair: 30\.0 MiB, over the 11\.4 MiB allowed for 240 minutes \(limits\.max_episode_minutes, at 50,000 bytes a minute\); cut the episode and its transcript/,
    )
    expect((await thrown(() => checkTranscriptDuration('e.vtt', 4 * 3600 + 600, LIMITS))).message).toMatch(
      /^Transcript e\.vtt is too long for a podcast pair: it runs to 4:10:00 \(250\.0 minutes\), over the limit of 240 minutes/,
    )
  })
})

describe('the readers apply them', () => {
  it('refuses a text paper larger than its cap from its size alone, without reading it', async () => {
    // 3 GiB: reading it would fail otherwise (Node reads no file over 2 GiB into a buffer).
    const huge = await sparseFile('huge.txt', 3 * 2 ** 30)
    const error = await thrown(() => readPaper(huge))
    expect(error.message).toMatch(/^Paper .*huge\.txt is too large for a podcast pair: 3072\.0 MiB, over the 3\.1 MiB allowed/)
    // The title, which the transcription waits for, is refused the same way.
    await expect(openPaper(huge).title).rejects.toThrow(/too large for a podcast pair/)
  })

  it('refuses a text paper under the byte cap but over the page limit by its words', async () => {
    await writeFile(file('long.md'), `# Title\n\n${'word '.repeat(1001)}\n`)
    const error = await thrown(() => readPaper(file('long.md'), {...LIMITS, maxPaperPages: 2}))
    expect(error.message).toMatch(
      /^Paper .*long\.md is too long for a podcast pair: about 3 pages \(1,002 words at 500 a page\), over the limit of 2 pages/,
    )
    expect((await readPaper(file('long.md'), {...LIMITS, maxPaperPages: 3})).pages).toBe(3)
  })

  it('refuses a PDF over the page limit on its first page: the title rejects and its other pages are never extracted', async () => {
    await writePdf(file('three.pdf'), {title: 'Three Pages', pages: ['One.', 'Two.', 'Three.']})
    const limits = {...LIMITS, maxPaperPages: 2}
    const reading = openPaper(file('three.pdf'), limits)
    await expect(reading.title).rejects.toThrow(/three\.pdf is too long for a podcast pair: 3 pages, over the limit of 2 pages/)
    await expect(reading.paper).rejects.toThrow(/3 pages, over the limit of 2 pages/)
    const text = extractPdfText(await readFile(file('three.pdf')), {maxPages: 2})
    expect((await text.firstPage).total).toBe(3)
    const rest = (await text.all.catch((e: unknown) => e)) as PdfExtractionError
    expect(rest.pdfjsName).toBe('TooManyPages')
    expect((await readPaper(file('three.pdf'), {...LIMITS, maxPaperPages: 3})).pages).toBe(3)
  })

  it('refuses a sidecar by its size before reading it, and by its last cue', async () => {
    const big = await sparseFile('big.vtt', 3 * 2 ** 30)
    await expect(readSidecar(big, 'vtt')).rejects.toThrow(/big\.vtt is too large for a podcast pair: 3072\.0 MiB/)
    await writeVtt(file('late.vtt'), [
      {start: 0, end: 5, text: 'Welcome.'},
      {start: 4 * 3600, end: 4 * 3600 + 60.5, text: 'And that was the show.'},
    ])
    await expect(readSidecar(file('late.vtt'), 'vtt')).rejects.toThrow(
      /late\.vtt is too long for a podcast pair: it runs to 4:01:01 \(241\.0 minutes\)/,
    )
    expect((await readSidecar(file('late.vtt'), 'vtt', {...LIMITS, maxEpisodeMinutes: 242})).duration_seconds).toBe(14_460.5)
  })
})

describe('the estimate', () => {
  const pair = (id: string, paperChars: number, minutes: number, hasSidecar = false): PairEstimateInput => ({
    id,
    paperChars,
    durationSeconds: minutes * 60,
    episodeBytes: minutes * 240_000,
    hasSidecar,
  })

  it('gives each pair its tokens at ingest and per trial, adding up to the per-role totals', () => {
    const pairs = [pair('a', 40_000, 20), pair('b', 400_000, 60, true)]
    const perPair = estimatePerPair(pairs)
    expect(perPair.map((p) => p.id)).toEqual(['a', 'b'])
    // b's body of 100,000 tokens takes two concepts calls, and generation gets the 60,000-token budget.
    expect(perPair[1]!.ingest).toEqual({input_tokens: 13_800 + 100_000 + 400, output_tokens: 720 * 12 + 600})
    // The judge reads the 9,000-word script as text: 0.7 of its 18,300 tokens of JSON.
    expect(perPair[1]!.per_trial.input_tokens).toBe(60_600 + 60_000 + 12_810 + 300)
    const run = estimateRun({
      pairs,
      maxTrials: 3,
      refiner: 'rule-based',
      tts: true,
      models: {classify: 'mock', concepts: 'mock', generate: 'mock', judge: 'mock', refine: 'mock', transcribe: 'mock', speech: 'mock'},
    })
    const sum = (roles: string[], key: 'input_tokens' | 'output_tokens') =>
      run.roles.filter((r) => roles.includes(r.role)).reduce((n, r) => n + r[key], 0)
    for (const key of ['input_tokens', 'output_tokens'] as const) {
      expect(sum(['classify', 'concepts'], key)).toBe(perPair.reduce((n, p) => n + p.ingest[key], 0))
      expect(sum(['generate', 'judge'], key)).toBe(3 * perPair.reduce((n, p) => n + p.per_trial[key], 0))
    }
  })

  it('leaves out a pair over the limits with the reason the run would skip it with', async () => {
    await writeFile(file('ok.txt'), 'A short paper about drought and soil microbes.\n')
    await writeSilentMp3(file('ok.mp3'), 30)
    await writeSilentMp3(file('long.mp3'), 90)
    const files = (id: string, pdf: string, mp3: string): PairFiles => ({
      id,
      folder: '',
      pdf: file(pdf),
      mp3: file(mp3),
      paper_format: 'txt',
      episode_format: 'mp3',
      sidecar: null,
    })
    const {pairs, skipped} = await pairEstimateInputs([files('ok', 'ok.txt', 'ok.mp3'), files('long', 'ok.txt', 'long.mp3')], {
      limits: {...LIMITS, maxEpisodeMinutes: 1},
    })
    expect(pairs.map((p) => p.id)).toEqual(['ok'])
    expect(skipped).toHaveLength(1)
    expect(skipped[0]!.id).toBe('long')
    expect(skipped[0]!.reason).toMatch(
      /^Episode .*long\.mp3 is too long for a podcast pair: 1:30 \(1\.5 minutes\), over the limit of 1 minutes/,
    )
  })
})

describe('ingest', () => {
  it('skips a pair over the limits before any call, and does not check again a pair a resumed run analysed already', async () => {
    const runDir = path.join(dir, 'run')
    const pairs = (await discoverPairs(EXAMPLE_PAIRS)).pairs.filter((p) => p.id === 'sparse-attention-long-documents')
    const ingest = (limits: SizeLimits) => {
      const meter = new UsageMeter()
      const context = {
        paths: runPaths(runDir),
        providers: metered(mockProviders(), meter),
        seed: 42,
        concurrency: 1,
        emit: () => {},
        openPaper: paperReader(limits),
        limits,
      }
      return {meter, done: ingestPairs(context, pairs)}
    }
    // The bundled pair has 3 pages and 2:18 of episode.
    const low = {maxPaperPages: 2, maxEpisodeMinutes: 3}
    const refused = ingest(low)
    await expect(refused.done).rejects.toThrow(/^No usable pair: all 1 pair\(s\) failed to ingest:\n.*3 pages, over the limit of 2 pages/)
    expect(refused.meter.usage.total.calls).toBe(0)
    expect((await ingest(LIMITS).done).prepared).toHaveLength(1)
    // As on --resume after the limit was lowered: the run goes on with the pairs it started with.
    expect((await ingest(low).done).prepared).toHaveLength(1)
  })
})

describe('limits in studio.config.json', () => {
  it('defaults to 200 pages and 240 minutes, and takes either key from the file', async () => {
    expect((await loadConfig({cwd: dir})).limits).toEqual({maxPaperPages: 200, maxEpisodeMinutes: 240})
    await writeFile(file('pages.json'), JSON.stringify({limits: {max_paper_pages: 40}}))
    expect((await loadConfig({cwd: dir, explicit: 'pages.json'})).limits).toEqual({maxPaperPages: 40, maxEpisodeMinutes: 240})
    await writeFile(file('both.json'), JSON.stringify({limits: {max_paper_pages: 500, max_episode_minutes: 90.5}}))
    expect((await loadConfig({cwd: dir, explicit: 'both.json'})).limits).toEqual({maxPaperPages: 500, maxEpisodeMinutes: 90.5})
  })

  it.each([
    [{max_paper_pages: 0}, /max_paper_pages/],
    [{max_paper_pages: 12.5}, /max_paper_pages/],
    [{max_episode_minutes: -1}, /max_episode_minutes/],
    [{max_pages: 10}, /max_pages/],
  ])('rejects limits %j (exit code 2, naming the key)', async (limits, key) => {
    await writeFile(file('bad.json'), JSON.stringify({limits}))
    const error = await thrown(() => loadConfig({cwd: dir, explicit: 'bad.json'}))
    expect(error.message).toMatch(/is not valid:/)
    expect(error.message).toMatch(key)
  })
})
