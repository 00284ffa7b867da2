/**
 * `studio training status`: what a run folder says about its run, as one
 * JSON-ready value. Derived from the view only, so it works while the run is
 * going, after it ended, and after it was killed.
 */
import {access, realpath} from 'node:fs/promises'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {outputPaths} from '../../core/layout.js'
import type {StopReason} from '../../core/schemas/common.js'
import type {SelectionSplit} from '../../loss/selection.js'
import type {Verdict} from '../../loss/verdict.js'
import type {LossBreakdown, UsageSummary} from '../../core/schemas/common.js'
import type {Phase} from '../../core/schemas/events.js'
import type {SkippedPair} from '../../core/schemas/files.js'
import type {RunState, RunView} from './view.js'

export interface RunStatus {
  run_id: string
  run_dir: string
  state: RunState
  started_at: string
  finished_at: string | null
  /** Up to now for a running run, up to the end otherwise; null when an ended run has no end time. */
  elapsed_seconds: number | null
  phase: Phase | null
  /** The latest progress line, e.g. "Trial 1 (2 of 5): scored 3/12 pairs". */
  progress: {done: number; total: number; message: string} | null
  max_trials: number
  trials_done: number
  pairs: number
  /** As run.json records them; `hint`, the fix, is absent when there is none (or the run predates hints). */
  skipped: SkippedPair[]
  trials: Array<{index: number; mean_losses: LossBreakdown; validation_mean_losses: LossBreakdown | null}>
  /** The best trial so far, the loss it was chosen by (loss/selection.ts) and that rule as a sentence. */
  best_trial: {index: number; total: number; selected_by: SelectionSplit; improvement: number | null; rule: string} | null
  /** The best trial against the thresholds of excellent training (loss/verdict.ts); null before any trial. */
  verdict: Verdict | null
  stop_reason: StopReason | null
  /** Why the optimiser stopped, in words (stop_reason exhausted); null otherwise. */
  stop_detail: string | null
  error: string | null
  usage: UsageSummary
}

export function describeRun(view: RunView, now: Date): RunStatus {
  const {manifest} = view
  let phase: Phase | null = null
  let progress: RunStatus['progress'] = null
  for (const event of view.events) {
    if (event.type === 'phase') {
      phase = event.phase
      progress = null
    } else if (event.type === 'progress') {
      progress = {done: event.done, total: event.total, message: event.message}
    }
  }
  const end = manifest.finished_at ? Date.parse(manifest.finished_at) : view.state === 'running' ? now.getTime() : null
  return {
    run_id: manifest.run_id,
    run_dir: view.runDir,
    state: view.state,
    started_at: manifest.started_at,
    finished_at: manifest.finished_at,
    elapsed_seconds: end === null ? null : Math.max(0, (end - Date.parse(manifest.started_at)) / 1000),
    phase,
    progress,
    max_trials: manifest.config.max_trials,
    trials_done: view.trials.length,
    pairs: manifest.pairs.length,
    skipped: manifest.skipped,
    trials: view.trials.map((t) => ({
      index: t.results.index,
      mean_losses: t.results.mean_losses,
      validation_mean_losses: t.results.validation_mean_losses,
    })),
    best_trial: view.best
      ? {
          index: view.best.index,
          total: view.best.loss,
          selected_by: view.best.selectedBy,
          improvement: view.best.improvement,
          rule: view.best.rule,
        }
      : null,
    verdict: view.verdict,
    stop_reason: view.report?.stop_reason ?? null,
    stop_detail: view.report?.stop_detail ?? null,
    error: view.state === 'interrupted' && !manifest.error ? 'the process that ran it is gone (killed or crashed)' : manifest.error,
    usage: view.usage,
  }
}

/** RUN_DIR as given, or the run <output-dir>/latest points at. */
export async function resolveRunDir(runDir: string | undefined, outputDir: string): Promise<string> {
  if (runDir) return path.resolve(runDir)
  const latest = outputPaths(outputDir).latest
  try {
    await access(latest)
    return await realpath(latest)
  } catch {
    throw new InputError(`No run found: ${path.resolve(latest)} does not exist`, {
      path: path.resolve(outputDir),
      hint: 'Start one with `studio training run --mock`, or pass the run folder (or --output-dir) explicitly.',
    })
  }
}
