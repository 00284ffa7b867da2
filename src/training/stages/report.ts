/**
 * The run's result: training_report.json, naming the best trial (chosen by the rule of
 * loss/selection.ts) and holding its prompt, and calibrated_prompt.md, the same prompt as
 * text to paste into any chat or to use with `studio generate`.
 */
import {RUN_FILES, runPaths} from '../../core/layout.js'
import type {LengthModel, StopReason, UsageSummary} from '../../core/schemas/common.js'
import {TrainingReport, type RunManifest, type SkippedPair, type TrialPromptFile, type TrialResults} from '../../core/schemas/files.js'
import {writeFileAtomic, writeJson} from '../../core/store.js'
import type {Weights} from '../../loss/registry.js'
import {bestTrial} from '../../loss/selection.js'
import {trialVerdict} from '../../loss/verdict.js'
import {renderCalibratedPrompt} from '../prompt.js'

export interface RunResult {
  manifest: RunManifest
  weights: Weights
  /** Usable pairs, by id; validation pairs among them. */
  pairs: string[]
  validation: readonly string[]
  skipped: SkippedPair[]
  results: TrialResults[]
  prompts: TrialPromptFile[]
  stopReason: StopReason
  stopDetail: string | null
  lengthModel: LengthModel | null
  /** Every call of the run: ingest, trials and refinements. */
  usage: UsageSummary
  finishedAt: Date
}

export async function writeTrainingReport(runDir: string, run: RunResult): Promise<TrainingReport> {
  const paths = runPaths(runDir)
  const best = bestTrial(run.results)
  if (!best) throw new Error('writeTrainingReport: a report needs at least one trial')
  const bestResults = run.results[best.position]!
  const bestPrompt = run.prompts[best.position]!
  await writeFileAtomic(
    paths.calibratedPrompt,
    renderCalibratedPrompt(bestPrompt.prompt, {
      run_id: run.manifest.run_id,
      trial: best.index,
      loss: best.loss,
      selected_by: best.selectedBy,
    }),
  )
  const withValidation = run.validation.length > 0
  return writeJson(paths.report, TrainingReport, {
    run_id: run.manifest.run_id,
    stop_reason: run.stopReason,
    stop_detail: run.stopDetail,
    length_model: run.lengthModel,
    from_run: run.manifest.config.from_run,
    weights: run.weights,
    seed: run.manifest.config.seed,
    pairs: run.pairs,
    skipped_pairs: run.skipped,
    failed_pairs: run.results.flatMap((t) => t.failed.map((f) => ({trial: t.index, pair_id: f.pair_id, reason: f.reason}))),
    validation_pairs: [...run.validation],
    trials: run.results.map((t) => ({
      index: t.index,
      dir: t.dir,
      prompt_sha256: t.prompt_sha256,
      mean_losses: t.mean_losses,
      validation_mean_losses: t.validation_mean_losses,
      pairs: t.pairs.map((p) => ({pair_id: p.pair_id, split: p.split, losses: p.losses})),
    })),
    best_trial: {
      index: best.index,
      dir: bestResults.dir,
      selected_by: best.selectedBy,
      selection_rule: best.rule,
      mean_losses: bestResults.mean_losses,
      validation_mean_losses: bestResults.validation_mean_losses,
      prompt: bestPrompt.prompt,
    },
    verdict: trialVerdict(bestResults, best.selectedBy),
    loss_progression: run.results.map((t) => t.mean_losses.total),
    validation_progression: withValidation ? run.results.map((t) => t.validation_mean_losses!.total) : null,
    calibrated_prompt: RUN_FILES.calibratedPrompt,
    usage: run.usage,
    started_at: run.manifest.started_at,
    finished_at: run.finishedAt.toISOString(),
  })
}
