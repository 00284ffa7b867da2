/**
 * Size guards: a paper or an episode far beyond what one podcast episode discusses is
 * refused before it is read whole, and so before any call is made for it. Measured
 * without them: a 71 MB text paper was accepted, took 2.5 GB of memory in a mock run and
 * would have cost about $54 of tokens in a real one.
 *
 * The limits are settings (`limits` in studio.config.json); the byte caps derive from
 * them, so raising a limit raises its cap too. Every check throws an InputError whose
 * message names the file, what was measured, the limit and the fix, since a run's skip
 * reason and list-pairs' problem show the message alone. See TRAINING.md, "Size limits".
 */
import {InputError} from '../core/errors.js'
import {formatDuration, formatInteger} from '../core/format.js'
import type {PaperFormat} from '../core/schemas/common.js'

export interface SizeLimits {
  /** Pages of a paper: a PDF's page count, else the estimate ceil(words / WORDS_PER_PAGE). */
  maxPaperPages: number
  /** Minutes of an episode, from its audio headers or its sidecar transcript's end. */
  maxEpisodeMinutes: number
}

/** A long paper is 30-60 pages and a long episode two hours: these refuse only what is far beyond a pair. */
export const DEFAULT_SIZE_LIMITS: Readonly<SizeLimits> = {maxPaperPages: 200, maxEpisodeMinutes: 240}
/** No limit: for inputs a run checked already when it first read them. */
export const NO_SIZE_LIMITS: Readonly<SizeLimits> = {maxPaperPages: Number.POSITIVE_INFINITY, maxEpisodeMinutes: Number.POSITIVE_INFINITY}

/** Words on a typical journal page: the page estimate for formats without pages. */
export const WORDS_PER_PAGE = 500

/**
 * Bytes a page of a .txt or .md paper may take before it is read. A page of 500 English
 * words is about 3,000 bytes of UTF-8; accented and non-Latin scripts take 2-3 bytes a
 * character, UTF-16 2-4, and Markdown adds markup and link targets: 16 KiB a page leaves
 * room for all of them (3.1 MiB at 200 pages), and the page count from the words, checked
 * once the text is read, is the precise limit.
 */
export const TEXT_BYTES_PER_PAGE = 16 * 1024

/**
 * Bytes a page of a PDF or .docx paper may take before it is read (100 MiB at 200 pages).
 * No real paper comes near: arXiv refuses a whole submission, source and figures, over
 * 50 MB, and a figure-heavy journal PDF is rarely over 20 MB. Half a megabyte on every
 * page on average is a scanned book or an image archive, whose pages pdf.js would then
 * hold in memory.
 */
export const BINARY_PAPER_BYTES_PER_PAGE = 512 * 1024

/**
 * Bytes a minute of episode a sidecar transcript may take before it is read (12 MB for
 * 240 minutes). Speech is about 160 words, 1 KB of text, a minute; WebVTT or SRT cues add
 * about as much, and a studio JSON transcript with one segment a word about 11 KB.
 */
export const TRANSCRIPT_BYTES_PER_MINUTE = 50_000

const CONFIG_FILE = 'studio.config.json'
const PAGES_KEY = 'limits.max_paper_pages'
const MINUTES_KEY = 'limits.max_episode_minutes'
const HINT = `A podcast pair is a paper and an episode about it: papers of up to a few dozen pages, episodes of up to a few hours. The limits are set in ${CONFIG_FILE} (see TRAINING.md, "Size limits").`

function paperFix(): string {
  return `cut it to the part the episode discusses, or raise ${PAGES_KEY} in ${CONFIG_FILE}`
}

function episodeFix(what: 'it' | 'the episode and its transcript'): string {
  return `cut ${what} to the part about the paper, or raise ${MINUTES_KEY} in ${CONFIG_FILE}`
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

function minutes(seconds: number): string {
  return `${formatDuration(seconds)} (${(seconds / 60).toFixed(1)} minutes)`
}

/** The largest paper file, in bytes, read for these limits. */
export function paperByteCap(format: PaperFormat, limits: SizeLimits): number {
  return limits.maxPaperPages * (format === 'txt' || format === 'md' ? TEXT_BYTES_PER_PAGE : BINARY_PAPER_BYTES_PER_PAGE)
}

/** Refuses a paper file larger than its format's cap, from its size alone, before it is read. */
export function checkPaperBytes(path: string, format: PaperFormat, bytes: number, limits: SizeLimits): void {
  const cap = paperByteCap(format, limits)
  if (bytes <= cap) return
  const perPage = format === 'txt' || format === 'md' ? TEXT_BYTES_PER_PAGE : BINARY_PAPER_BYTES_PER_PAGE
  throw new InputError(
    `Paper ${path} is too large for a podcast pair: ${mib(bytes)}, over the ${mib(cap)} allowed for ${formatInteger(limits.maxPaperPages)} pages (${PAGES_KEY}, at ${perPage / 1024} KiB a page); ${paperFix()}`,
    {path, hint: HINT},
  )
}

/**
 * Refuses a paper over the page limit: `pages` of a PDF, or for the other formats the
 * estimate from `words` (all words of the file, references included).
 */
export function checkPaperPages(path: string, count: {pages: number; words?: number}, limits: SizeLimits): void {
  if (count.pages <= limits.maxPaperPages) return
  const measured =
    count.words === undefined
      ? `${formatInteger(count.pages)} pages`
      : `about ${formatInteger(count.pages)} pages (${formatInteger(count.words)} words at ${WORDS_PER_PAGE} a page)`
  throw new InputError(
    `Paper ${path} is too long for a podcast pair: ${measured}, over the limit of ${formatInteger(limits.maxPaperPages)} pages (${PAGES_KEY}); ${paperFix()}`,
    {path, hint: HINT},
  )
}

/** Refuses an episode longer than the limit; returns its duration for the caller to go on with. */
export function checkEpisodeDuration(path: string, seconds: number, limits: SizeLimits): number {
  if (seconds <= limits.maxEpisodeMinutes * 60) return seconds
  throw new InputError(
    `Episode ${path} is too long for a podcast pair: ${minutes(seconds)}, over the limit of ${limits.maxEpisodeMinutes} minutes (${MINUTES_KEY}); ${episodeFix('it')}`,
    {path, hint: HINT},
  )
}

/** Refuses a sidecar transcript file larger than the episode limit allows, before it is read. */
export function checkTranscriptBytes(path: string, bytes: number, limits: SizeLimits): void {
  const cap = limits.maxEpisodeMinutes * TRANSCRIPT_BYTES_PER_MINUTE
  if (bytes <= cap) return
  throw new InputError(
    `Transcript ${path} is too large for a podcast pair: ${mib(bytes)}, over the ${mib(cap)} allowed for ${limits.maxEpisodeMinutes} minutes (${MINUTES_KEY}, at ${formatInteger(TRANSCRIPT_BYTES_PER_MINUTE)} bytes a minute); ${episodeFix('the episode and its transcript')}`,
    {path, hint: HINT},
  )
}

/** Refuses a sidecar transcript that runs past the episode limit: its end, or its stated duration when later. */
export function checkTranscriptDuration(path: string, seconds: number, limits: SizeLimits): void {
  if (seconds <= limits.maxEpisodeMinutes * 60) return
  throw new InputError(
    `Transcript ${path} is too long for a podcast pair: it runs to ${minutes(seconds)}, over the limit of ${limits.maxEpisodeMinutes} minutes (${MINUTES_KEY}); ${episodeFix('the episode and its transcript')}`,
    {path, hint: HINT},
  )
}
