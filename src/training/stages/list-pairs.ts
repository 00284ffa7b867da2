/**
 * What `list-pairs` shows: every discovered pair with its paper size, the episode's
 * measured duration and where its transcript will come from, plus anything wrong.
 * Problems are collected per pair, never thrown, so one bad file hides nothing else.
 */
import pLimit from 'p-limit'

import {discoverPairs} from './discover.js'
import {describeError, StudioError} from '../../core/errors.js'
import {audioDurationSeconds} from '../../media/audio.js'
import {checkEpisodeDuration, DEFAULT_SIZE_LIMITS, type SizeLimits} from '../../media/limits.js'
import type {PaperTextCache} from '../../media/paper-cache.js'
import {readPaper} from '../../media/paper.js'
import {readSidecar} from '../../media/sidecar.js'
import type {PairFiles, PairListing, PairsListing} from '../../core/schemas/inputs.js'

/** A problem of a pair and its fix (the error's hint), null when it has none. */
interface Problem {
  message: string
  hint: string | null
}

/** A sidecar that ends this much later than its episode belongs to another recording. */
const SIDECAR_OVERRUN = 1.05

async function describePair(pair: PairFiles, limits: SizeLimits, cache: PaperTextCache | null): Promise<PairListing> {
  const problems: Problem[] = []
  const problem = (error: unknown): null => {
    problems.push({message: describeError(error), hint: error instanceof StudioError ? (error.hint ?? null) : null})
    return null
  }
  const [paper, duration, transcript] = await Promise.all([
    readPaper(pair.pdf, limits, {cache}).catch(problem),
    audioDurationSeconds(pair.mp3).catch(problem),
    pair.sidecar ? readSidecar(pair.sidecar.path, pair.sidecar.format, limits).catch(problem) : Promise.resolve(null),
  ])
  // The duration is listed even past the limit; the problem says it is.
  if (duration !== null) {
    try {
      checkEpisodeDuration(pair.mp3, duration, limits)
    } catch (error) {
      problem(error)
    }
  }
  if (transcript && duration !== null && transcript.duration_seconds > duration * SIDECAR_OVERRUN) {
    problems.push({
      message: `transcript ${pair.sidecar!.path} runs to ${transcript.duration_seconds.toFixed(1)} s but the episode lasts ${duration.toFixed(1)} s: is it the transcript of this episode?`,
      hint: 'Check that the transcript belongs to this episode: replace it with the right one, or delete it to have the episode transcribed.',
    })
  }
  return {
    id: pair.id,
    pdf: pair.pdf,
    mp3: pair.mp3,
    paper_format: pair.paper_format,
    episode_format: pair.episode_format,
    pages: paper?.pages ?? null,
    words: paper?.words ?? null,
    duration_seconds: duration === null ? null : Math.round(duration * 1000) / 1000,
    transcript_source: pair.sidecar ? (`sidecar-${pair.sidecar.format}` as const) : 'transcribe',
    sidecar: pair.sidecar?.path ?? null,
    problems: problems.map((p) => p.message),
    problem_hints: problems.map((p) => p.hint),
  }
}

export interface ListPairsOptions {
  concurrency?: number
  /** Default DEFAULT_SIZE_LIMITS. */
  limits?: SizeLimits
  /** Papers read before are taken from it, papers read now are added to it (media/paper-cache.ts). */
  cache?: PaperTextCache | null
  /** Hears of each pair described, for a progress display: `total` is known once the folder is searched. */
  onProgress?: (done: number, total: number) => void
}

/** Every pair of the folder with its problems, those of the size limits included. */
export async function listPairs(pairsDir: string, options: ListPairsOptions = {}): Promise<PairsListing> {
  const discovery = await discoverPairs(pairsDir)
  // Papers are extracted on the PDF worker threads (media/pdf-text.ts) while this thread
  // probes episodes; 32 pairs in flight keep the workers' queue from running dry, and bound
  // the paper bytes held in memory at once.
  const limit = pLimit(options.concurrency ?? 32)
  const limits = options.limits ?? DEFAULT_SIZE_LIMITS
  const cache = options.cache ?? null
  const total = discovery.pairs.length
  let done = 0
  options.onProgress?.(0, total)
  const pairs = await Promise.all(
    discovery.pairs.map((pair) =>
      limit(async () => {
        const listed = await describePair(pair, limits, cache)
        options.onProgress?.(++done, total)
        return listed
      }),
    ),
  )
  return {root: discovery.root, pairs, orphans: discovery.orphans}
}
