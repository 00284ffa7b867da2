/**
 * Everything known about a run, read from its folder alone: what `status`,
 * `report` and the HTML report show. Works on finished runs and on runs that
 * are still going, failed or were interrupted (then only complete trials count).
 */
import {readdir} from 'node:fs/promises'
import path from 'node:path'

import {readEventLog} from '../../core/event-log.js'
import {RUN_FILES, runPaths, trialIndexOf} from '../../core/layout.js'
import {InputError} from '../../core/errors.js'
import {AggregateProfile, PairAnalysis, RunManifest, TrainingReport, TrialPromptFile, TrialResults} from '../../core/schemas/files.js'
import {type RunEvent} from '../../core/schemas/events.js'
import {type UsageSummary} from '../../core/schemas/common.js'
import {bestTrial, type BestTrial} from '../../loss/selection.js'
import {trialVerdict, type Verdict} from '../../loss/verdict.js'
import {processAlive} from '../../core/run-lock.js'
import {readJsonIfExists} from '../../core/store.js'
import {emptyUsage, mergeUsage} from '../../providers/usage.js'

export type RunState = 'running' | 'finished' | 'failed' | 'interrupted'

export interface TrialView {
  results: TrialResults
  prompt: TrialPromptFile
}

export interface RunView {
  runDir: string
  manifest: RunManifest
  /** The state as far as the files tell; a "running" run whose process is gone is "interrupted". */
  state: RunState
  /** training_report.json, once the run has finished. */
  report: TrainingReport | null
  /** Complete trials (those with results.json), in order. */
  trials: TrialView[]
  /** The best trial and the loss it was chosen and is reported by; null before any trial. */
  best: BestTrial | null
  /** The best trial against the thresholds of excellent training; null before any trial. */
  verdict: Verdict | null
  aggregate: AggregateProfile | null
  /** Pair analyses by pair id. */
  analyses: Record<string, PairAnalysis>
  events: RunEvent[]
  /** Calls, tokens and cost so far (from the event log). */
  usage: UsageSummary
}

/**
 * The best trial by the rule of loss/selection.ts, and the verdict on it. A finished run is
 * shown as its report chose, even when it was chosen under an earlier rule; a report over
 * other trials than those given is stale, and the rule decides.
 */
export function selectBest(trials: readonly TrialView[], report: TrainingReport | null): Pick<RunView, 'best' | 'verdict'> {
  const recorded = report && report.trials.length === trials.length ? report.best_trial : null
  const best = bestTrial(
    trials.map((t) => t.results),
    recorded,
  )
  return {best, verdict: best ? trialVerdict(trials[best.position]!.results, best.selectedBy) : null}
}

/**
 * The state as far as the files tell: a run whose run.json says `running` but whose process is
 * gone is `interrupted`. Only answerable on the same machine: on another, it is taken to run.
 */
export function runState(manifest: Pick<RunManifest, 'status' | 'pid' | 'host'>, host: string): RunState {
  if (manifest.status !== 'running' || manifest.host !== host || processAlive(manifest.pid)) return manifest.status
  return 'interrupted'
}

export async function loadRunView(runDir: string, options: {host: string}): Promise<RunView> {
  const dir = path.resolve(runDir)
  const paths = runPaths(dir)
  const manifest = await readJsonIfExists(paths.manifest, RunManifest)
  if (!manifest) {
    throw new InputError(`Not a studio run folder: ${dir} has no ${RUN_FILES.manifest}`, {
      path: dir,
      hint: 'Pass a folder like artifacts/training_output/run-20261123T101500Z, or nothing to use the latest run.',
    })
  }
  const entries = await readdir(dir)
  const trials: TrialView[] = []
  for (const name of entries.filter((e) => trialIndexOf(e) !== null).sort()) {
    // results.json is written last, so a trial folder without it is a trial in progress.
    const trial = paths.trial(name)
    const results = await readJsonIfExists(trial.results, TrialResults)
    const prompt = await readJsonIfExists(trial.prompt, TrialPromptFile)
    if (results && prompt) trials.push({results, prompt})
  }
  const analyses: Record<string, PairAnalysis> = {}
  for (const pair of manifest.pairs) {
    const analysis = await readJsonIfExists(paths.pair(pair.id).analysis, PairAnalysis)
    if (analysis) analyses[pair.id] = analysis
  }
  const events = await readEventLog(paths.events)
  const usage = mergeUsage(
    emptyUsage(),
    ...events.flatMap((e) =>
      e.type === 'pair-analysed' || e.type === 'pair-scored' || (e.type === 'pair-skipped' && e.usage) ? [e.usage!] : [],
    ),
  )
  const report = await readJsonIfExists(paths.report, TrainingReport)
  const {best, verdict} = selectBest(trials, report)
  const state = runState(manifest, options.host)
  return {
    runDir: dir,
    manifest,
    state,
    report,
    trials,
    best,
    verdict,
    aggregate: await readJsonIfExists(paths.aggregateProfile, AggregateProfile),
    analyses,
    events,
    usage,
  }
}
