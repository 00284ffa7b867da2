/**
 * What every run shares, new or resumed: the caller's options, the context a run works
 * in once its folder exists, the event stream and the pair discovery.
 */
import {EventLog} from '../../core/event-log.js'
import {EXIT, InputError} from '../../core/errors.js'
import {FileSystemError} from '../../core/fs-errors.js'
import {runPaths} from '../../core/layout.js'
import type {CacheTtl, Providers} from '../../core/providers.js'
import type {NewRunEvent, RunEvent} from '../../core/schemas/events.js'
import type {RunConfig, TrainingReport} from '../../core/schemas/files.js'
import type {Weights} from '../../loss/index.js'
import {DEFAULT_SIZE_LIMITS, NO_SIZE_LIMITS, type SizeLimits} from '../../media/limits.js'
import type {PaperTextCache} from '../../media/paper-cache.js'
import {openPaper, type PaperReading} from '../../media/paper.js'
import {discoverPairs, type Discovery} from '../stages/discover.js'
import type {EpisodeHasher, PaperReader} from '../stages/ingest.js'
import type {BatchSettings} from '../batch/batcher.js'

/** What the trainer reports as it goes: the lines of events.jsonl. */
export type TrainingEvent = RunEvent

export interface CommonOptions {
  providers: Providers
  toolVersion: string
  onEvent?: (event: TrainingEvent) => void
  /** Aborting stops the run after the units in progress; it then ends as `interrupted`. */
  signal?: AbortSignal
  /** Injected so that tests can pin timestamps. */
  clock?: () => Date
  /**
   * How long the judge's paper stays in Anthropic's prompt cache: 'auto' (the default)
   * asks for an hour once a trial has taken longer than the default five minutes
   * (trial 0, not yet timed, asks for five).
   */
  promptCacheTtl?: PromptCacheSetting
  /** A paper or episode past these is skipped before any call (`limits` of studio.config.json); default DEFAULT_SIZE_LIMITS. */
  limits?: SizeLimits
  /** Papers' extracted texts kept across runs and commands (media/paper-cache.ts); none: every paper is extracted. */
  paperCache?: PaperTextCache | null
  /** With --batch (run.json's config.batch): how batches are polled and failed requests retried (studio.config.json `batch`). */
  batchSettings?: BatchSettings
}

export type PromptCacheSetting = 'auto' | CacheTtl

export interface TrainingOutcome {
  runId: string
  runDir: string
  report: TrainingReport
}

/** Everything a run needs once its folder and manifest exist, new or resumed. */
export interface RunContext extends CommonOptions {
  runDir: string
  config: RunConfig
  weights: Weights
  emit: (event: NewRunEvent) => void
  clock: () => Date
  /** openPaper, once per file and run: the --max-cost estimate and the ingest share it. */
  openPaper: PaperReader
  limits: SizeLimits
  /** Set by a resume, whose changed-input check hashed the episodes already. */
  hashEpisode?: EpisodeHasher
}

/** Each paper opened once per run and check: the --max-cost estimate and the ingest share the reading. */
export function paperReader(limits: SizeLimits = DEFAULT_SIZE_LIMITS, cache: PaperTextCache | null = null): PaperReader {
  const papers = new Map<string, PaperReading>()
  return (file, options = {}) => {
    const checked = options.checked ?? true
    const key = `${checked}:${file}`
    let reading = papers.get(key)
    if (!reading) papers.set(key, (reading = openPaper(file, checked ? limits : NO_SIZE_LIMITS, {cache})))
    return reading
  }
}

export function eventEmitter(options: CommonOptions, clock: () => Date) {
  // Events before the run folder exists are kept and written to its log once it does.
  let log: EventLog | null = null
  const early: RunEvent[] = []
  const emit = (event: NewRunEvent) => {
    const stamped = {...event, time: clock().toISOString()}
    if (log) log.append(stamped)
    else early.push(stamped)
    options.onEvent?.(stamped)
  }
  const attach = (runDir: string) => {
    log = new EventLog(runPaths(runDir).events)
    for (const event of early.splice(0)) log.append(event)
  }
  return {emit, attach}
}

export async function discoverOrFail(pairsDir: string, emit: (event: NewRunEvent) => void): Promise<Discovery> {
  emit({type: 'phase', phase: 'discover', message: `Discovering pairs in ${pairsDir}`})
  const discovery = await discoverPairs(pairsDir)
  for (const orphan of discovery.orphans) emit({type: 'warning', message: `${orphan.path}: ${orphan.reason}`})
  if (discovery.pairs.length === 0) {
    throw new InputError(`No complete pair in ${discovery.root}: ${discovery.orphans.length} file(s) have no partner`, {
      path: discovery.root,
      hint: 'Each paper needs an episode with the same base name next to it (x.pdf + x.mp3). Run `studio training list-pairs` to see what was found.',
    })
  }
  return discovery
}

/**
 * A write the environment refused (a full disk, a read-only folder) stops a run whose
 * run.json exists; every unit written so far is whole (atomic writes), so the hint says
 * how to go on from there once the cause is fixed.
 */
export function resumableError(error: unknown, runDir: string): unknown {
  // A damaged run folder (exit 3) already says how to resume once the culprit is gone.
  if (!(error instanceof FileSystemError) || error.exitCode === EXIT.corrupt) return error
  return error.withHint(`Once that is done, continue this run with \`studio training run --resume ${runDir}\`: what it completed is kept.`)
}
