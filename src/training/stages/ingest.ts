/**
 * Ingest and analyse every pair: the episode's duration, its transcript (a sidecar or
 * transcription), the paper's text, the segment labels and key concepts. Each pair's
 * results are written to pairs/<pair>/ as soon as they exist, and a resumed run reads
 * them back instead of paying for them again. A pair whose files are bad, or whose
 * provider keeps failing, is skipped with its reason; the run goes on with the others.
 */

import pLimit from 'p-limit'

import {CorruptFileError, describeError, InputError, ProviderError, StudioError} from '../../core/errors.js'
import {FileSystemError} from '../../core/fs-errors.js'
import {sha256File} from '../../core/hash.js'
import {batchPhase, type RunPaths} from '../../core/layout.js'
import type {Providers} from '../../core/providers.js'
import {Transcript} from '../../core/schemas/common.js'
import type {NewRunEvent} from '../../core/schemas/events.js'
import {PairAnalysis, type SkippedPair} from '../../core/schemas/files.js'
import type {PairFiles} from '../../core/schemas/inputs.js'
import {makeDir, readJson, readJsonIfExists, writeFileAtomic, writeJson} from '../../core/store.js'
import {audioDurationSeconds} from '../../media/audio.js'
import {checkEpisodeDuration, type SizeLimits} from '../../media/limits.js'
import type {Paper, PaperReading} from '../../media/paper.js'
import {readSidecar} from '../../media/sidecar.js'
import {metered, UsageMeter} from '../../providers/usage.js'
import {generationPaperText} from '../condense.js'
import {batchScope, inUnit, type BatchContext} from '../batch/batcher.js'
import {analysePair} from './analyse.js'
import type {PreparedPair} from './evaluate.js'

/**
 * Opens a paper within the run's size limits; `checked: false` opens it without them, for a
 * pair the run analysed before it was resumed.
 */
export type PaperReader = (file: string, options?: {checked?: boolean}) => PaperReading

/**
 * The sha256 of an episode, taken once per file and run: a resume's changed-input check
 * and the ingest share it (an hour-long MP3 takes about half a second to hash).
 */
export type EpisodeHasher = (file: string) => Promise<string>

export function episodeHasher(): EpisodeHasher {
  const hashes = new Map<string, Promise<string>>()
  return (file) => {
    let hash = hashes.get(file)
    if (!hash) hashes.set(file, (hash = sha256File(file, 'Episode')))
    return hash
  }
}

/** A pair's paper or episode is not the file the run analysed: never skipped, always refused. */
export class ChangedInputError extends InputError {}

export interface IngestContext {
  paths: RunPaths
  providers: Providers
  seed: number
  concurrency: number
  emit: (event: NewRunEvent) => void
  signal?: AbortSignal
  /** Reads each paper once per run (the --max-cost estimate and the ingest share it). */
  openPaper: PaperReader
  /** A paper or episode past these skips its pair before any call is made for it. */
  limits: SizeLimits
  /** Hashes an episode; the one a resume checked the inputs with, so that it hashes each once. */
  hashEpisode?: EpisodeHasher
  /** --batch: the analysis calls of all pairs go out as batches. */
  batch?: BatchContext
}

export interface Ingested {
  /** Usable pairs, by id. */
  prepared: PreparedPair[]
  /** Pairs left out, by id, each with its reason (and what its calls cost before it failed). */
  skipped: SkippedPair[]
}

export async function ingestPairs(ctx: IngestContext, pairs: PairFiles[]): Promise<Ingested> {
  const {emit} = ctx
  // In batch mode every pair is in flight at once: a batch holds the calls of all of them.
  const scope = batchScope(ctx.batch, batchPhase.ingest, 'ingest')
  const limit = pLimit(scope ? Number.POSITIVE_INFINITY : ctx.concurrency)
  const unitCtx = scope ? {...ctx, providers: scope.providers(ctx.providers)} : ctx
  const prepared: PreparedPair[] = []
  const skipped: SkippedPair[] = []
  let done = 0
  emit({type: 'phase', phase: 'ingest', message: `Ingesting and analysing ${pairs.length} pair(s)`})
  await Promise.all(
    pairs.map((files) =>
      limit(() =>
        inUnit(scope, files.id, async () => {
          ctx.signal?.throwIfAborted()
          const meter = new UsageMeter()
          try {
            const {pair, fresh} = await preparePair(unitCtx, files, meter)
            prepared.push(pair)
            // Events carry new calls only, so that adding them up never counts a call twice.
            if (fresh) emit({type: 'pair-analysed', pair: files.id, usage: pair.analysis.usage})
          } catch (error) {
            // A file changed under a resumed run is not a pair to skip: the run is refused (resume.ts).
            // Nor are a damaged unit or a disk that refuses writes: they are the run's problem, not the pair's.
            if (
              !(error instanceof StudioError) ||
              error instanceof CorruptFileError ||
              error instanceof ChangedInputError ||
              error instanceof FileSystemError
            )
              throw error
            // Calls made for the pair before it failed were paid for: they count.
            const paid = meter.usage.total.calls > 0 ? {usage: meter.usage} : {}
            const hint = error.hint ? {hint: error.hint} : {}
            skipped.push({
              id: files.id,
              reason: describeError(error),
              ...hint,
              ...(error instanceof ProviderError ? {provider: error.provider} : {}),
              ...paid,
            })
            emit({type: 'pair-skipped', pair: files.id, reason: describeError(error), ...hint, ...paid})
          }
          done++
          emit({
            type: 'progress',
            phase: 'ingest',
            done,
            total: pairs.length,
            message: `Ingested and analysed ${done}/${pairs.length} pairs`,
            pair: files.id,
          })
        }),
      ),
    ),
  )
  prepared.sort((a, b) => (a.files.id < b.files.id ? -1 : 1))
  skipped.sort((a, b) => (a.id < b.id ? -1 : 1))
  if (prepared.length === 0) {
    const list = skipped.map((s) => `  ${s.id}: ${s.reason}${s.hint ? `\n    hint: ${s.hint}` : ''}`).join('\n')
    const provider = skipped.find((s) => s.provider)?.provider
    if (provider) {
      // Not the files: the service (a rejected key, no quota, an outage) failed on them.
      throw new ProviderError(`No usable pair: all ${skipped.length} pair(s) failed to ingest:\n${list}`, {
        provider,
        hint: 'Fix the cause named above (key, quota, network), then run again; answers already paid for come from the cache.',
      })
    }
    throw new InputError(`No usable pair: all ${skipped.length} pair(s) failed to ingest:\n${list}`, {
      hint: 'Fix the files named above, then run again.',
    })
  }
  return {prepared, skipped}
}

/** A pair ready for trials; `fresh` when it was analysed now rather than read back from an earlier attempt. */
async function preparePair(ctx: IngestContext, files: PairFiles, meter: UsageMeter): Promise<{pair: PreparedPair; fresh: boolean}> {
  const pairPaths = ctx.paths.pair(files.id)
  const hashEpisode = ctx.hashEpisode ?? ((file: string) => sha256File(file, 'Episode'))
  await makeDir(pairPaths.dir, {recursive: true})
  let analysis = await readJsonIfExists(pairPaths.analysis, PairAnalysis)
  const fresh = analysis === null
  // Extraction runs on the PDF worker; its first page (the title) comes back ahead of full
  // texts. A pair analysed before the run was resumed passed the size limits then: the run
  // goes on with the pairs it started with, whatever the limits say now.
  const reading = ctx.openPaper(files.pdf, {checked: fresh})
  let transcript: Transcript
  let paper: Paper
  if (analysis) {
    // Resuming: the analysis is reused only for the very same paper and episode.
    const [read, episodeSha] = await Promise.all([reading.paper, hashEpisode(files.mp3)])
    paper = read
    if (analysis.paper.sha256 !== paper.sha256 || analysis.episode.sha256 !== episodeSha) {
      throw new ChangedInputError(`${files.id}: the paper or episode changed since this run analysed it`, {
        path: files.pdf,
        hint: 'Start a new run: a resumed run must see the same files as the run it continues.',
      })
    }
    transcript = await readJson(pairPaths.transcript, Transcript)
  } else {
    // Local checks first, so that a bad file costs no call: the episode, a sidecar, and the
    // paper's first page, each within the size limits. The transcription, usually the
    // longest call, needs only the title, so it starts as soon as that page is read.
    const [title, durationSeconds, sidecar] = await Promise.all([
      reading.title,
      audioDurationSeconds(files.mp3).then((seconds) => checkEpisodeDuration(files.mp3, seconds, ctx.limits)),
      files.sidecar ? readSidecar(files.sidecar.path, files.sidecar.format, ctx.limits) : null,
    ])
    const providers = metered(ctx.providers, meter)
    const transcribed = (async () => {
      const raw =
        sidecar ??
        (await providers.transcriber.transcribe({
          audioPath: files.mp3,
          durationSeconds,
          title,
          paperText: async () => (await reading.paper).body,
          seed: ctx.seed,
        }))
      return writeJson(pairPaths.transcript, Transcript, raw)
    })()
    // Its failure is handled where it is awaited (analysePair); this only keeps Node from
    // calling it unhandled while the lines below run.
    transcribed.catch(() => {})
    try {
      const episodeSha = await hashEpisode(files.mp3)
      // The paper's key concepts and the transcript's labels do not depend on each other:
      // each call starts as soon as its own input exists.
      const analysed = await analysePair(
        {
          pairId: files.id,
          paper: reading.paper,
          episode: {path: files.mp3, durationSeconds, sha256: episodeSha},
          transcript: transcribed,
          seed: ctx.seed,
          warn: (message) => ctx.emit({type: 'warning', message: `${files.id}: ${message}`}),
        },
        providers,
      )
      paper = await reading.paper
      await writeFileAtomic(pairPaths.paperText, `${paper.body}\n`)
      transcript = await transcribed
      analysis = await writeJson(pairPaths.analysis, PairAnalysis, {...analysed, usage: meter.usage})
    } catch (error) {
      // The pair ends with everything it started: nothing is written for it after it was skipped.
      await transcribed.catch(() => {})
      throw error
    }
  }
  // Never silently truncated: a long paper is condensed (analysis.json's long_paper says so).
  const paperText = generationPaperText(paper.body, analysis)
  return {pair: {files, paper, analysis, referenceText: transcript.segments.map((s) => s.text).join('\n'), paperText}, fresh}
}
