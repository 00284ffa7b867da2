/**
 * What every run shares, new or resumed: the caller's options, the context a run works
 * in once its folder exists, the event stream and the pair discovery.
 */
import {EventLog} from '../../core/event-log.js'
import {InputError} from '../../core/errors.js'
import {runPaths} from '../../core/layout.js'
import type {CacheTtl, Providers} from '../../core/providers.js'
import type {NewRunEvent, RunEvent} from '../../core/schemas/events.js'
import type {RunConfig, TrainingReport} from '../../core/schemas/files.js'
import type {Weights} from '../../loss/index.js'
import {openPaper, type PaperReading} from '../../media/paper.js'
import {discoverPairs, type Discovery} from '../stages/discover.js'

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
  openPaper: (file: string) => PaperReading
}

export function paperReader(): (file: string) => PaperReading {
  const papers = new Map<string, PaperReading>()
  return (file) => {
    let reading = papers.get(file)
    if (!reading) papers.set(file, (reading = openPaper(file)))
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
