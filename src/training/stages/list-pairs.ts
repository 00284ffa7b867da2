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

async function describePair(pair: PairFiles, limits: SizeLimits): Promise<PairListing> {
  const problems: Problem[] = []
  const problem = (error: unknown): null => {
    problems.push({message: describeError(error), hint: error instanceof StudioError ? (error.hint ?? null) : null})
    return null
  }
  const [paper, duration, transcript] = await Promise.all([
    readPaper(pair.pdf, limits).catch(problem),
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

/** Every pair of the folder with its problems, those of the size limits (default DEFAULT_SIZE_LIMITS) included. */
export async function listPairs(pairsDir: string, options: {concurrency?: number; limits?: SizeLimits} = {}): Promise<PairsListing> {
  const discovery = await discoverPairs(pairsDir)
  // Papers are extracted on the PDF worker thread (ingest/pdf-text.ts) while this thread
  // probes episodes; 32 pairs in flight keep the worker's queue from running dry, and bound
  // the paper bytes held in memory at once.
  const limit = pLimit(options.concurrency ?? 32)
  const limits = options.limits ?? DEFAULT_SIZE_LIMITS
  const pairs = await Promise.all(discovery.pairs.map((pair) => limit(() => describePair(pair, limits))))
  return {root: discovery.root, pairs, orphans: discovery.orphans}
}
