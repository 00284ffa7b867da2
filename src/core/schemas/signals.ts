/**
 * <output-dir>/signals/latest.json: the runs of an output folder as one small file to poll
 * (a dashboard, a status bar, `watch cat`). `studio training status --all --json` prints the
 * same document, computed from the run folders (training/report/signals.ts).
 */
import {z} from 'zod'

import {StopReason, unit} from './common.js'
import {Phase} from './events.js'
import {SelectedBy} from './files.js'

export const RunSignal = z.object({
  run_id: z.string(),
  run_dir: z.string(),
  /** As `training status` tells it: a `running` run whose process is gone on this host is `interrupted`. */
  state: z.enum(['running', 'finished', 'failed', 'interrupted']),
  /** The process that runs (or ran) it, and its machine. */
  pid: z.number().int().positive(),
  host: z.string(),
  /** The latest phase the run entered; null before its first event. */
  phase: Phase.nullable(),
  /** The latest progress line of that phase, else the phase's own message. */
  message: z.string().nullable(),
  /** 0-100, whole; 100 only once finished (the formula is in TRAINING.md, "Output files"). */
  percent: z.number().int().min(0).max(100),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  /** Time of the run's latest event in events.jsonl; null before its first. */
  last_activity: z.string().nullable(),
  trials_done: z.number().int().nonnegative(),
  max_trials: z.number().int().positive(),
  /** The best trial so far, the loss it was chosen by and which loss that is (loss/selection.ts); null before any trial. */
  best_trial: z.number().int().nonnegative().nullable(),
  best_loss: unit.nullable(),
  selected_by: SelectedBy.nullable(),
  stop_reason: StopReason.nullable(),
  error: z.string().nullable(),
  /** Absolute path of training_report.html, once it exists (written when the run ends, or by `training report`). */
  html_report: z.string().nullable(),
})
export type RunSignal = z.infer<typeof RunSignal>

export const Signals = z.object({
  version: z.literal(1),
  output_dir: z.string(),
  /** Every running run and the run that ended last, newest start first. */
  runs: z.array(RunSignal),
  /** Run folders whose run.json or event log cannot be read: named with the reason, never left out silently. */
  damaged: z.array(z.object({run_id: z.string(), path: z.string(), reason: z.string()})),
})
export type Signals = z.infer<typeof Signals>
