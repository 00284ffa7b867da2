/**
 * Where a run's trials start: trial 0's prompt, built from the reference profile and the
 * length model, or (--from) an earlier run's best prompt, with that run's trials as
 * evidence of how the writer responds. Adding pairs and running again then improves on
 * the earlier run instead of starting over.
 */
import {InputError} from '../../core/errors.js'
import {RUN_FILES, runPaths} from '../../core/layout.js'
import type {LengthModel, PromptSpec} from '../../core/schemas/common.js'
import {TrainingReport, TrialPromptFile, TrialResults, type AggregateProfile} from '../../core/schemas/files.js'
import {readJsonIfExists} from '../../core/store.js'
import type {ObservedTrial} from '../optimise/index.js'
import {initialPrompt} from '../prompt.js'
import type {TrialStart} from './trial-loop.js'

export async function trialStart(profile: AggregateProfile, lengthModel: LengthModel, fromRun: string | null): Promise<TrialStart> {
  if (!fromRun) {
    return {
      profile,
      prompt: initialPrompt(profile, lengthModel),
      origin: `initial prompt, built from the aggregate reference profile; length per paper: ${lengthModel.note}`,
      prior: [],
    }
  }
  const earlier = await readEarlierRun(fromRun)
  return {
    profile,
    prompt: continuedPrompt(earlier.report.best_trial.prompt, lengthModel),
    origin: `the best prompt of run ${earlier.report.run_id} (trial ${earlier.report.best_trial.index}), with the length model refitted on this run's training pairs (${lengthModel.note}); its ${earlier.trials.length} trial(s) are evidence of the writer's response`,
    prior: earlier.trials,
  }
}

/**
 * An earlier run's best prompt on a grown corpus: the length model is refitted on the new
 * training pairs, and the ask for a typical paper moves with the new mean by the writer's
 * exponent, so the correction learned for the writer is kept.
 */
export function continuedPrompt(prompt: PromptSpec, lengthModel: LengthModel): PromptSpec {
  const exponent = prompt.length?.exponent ?? 1
  const oldMean = prompt.length?.model.mean_words ?? prompt.target_words
  const target = Math.max(50, Math.round(prompt.target_words * (lengthModel.mean_words / oldMean) ** exponent))
  return {...structuredClone(prompt), target_words: target, length: {model: lengthModel, exponent}}
}

/** Fails before a run folder is made when --from does not name a finished run. */
export async function checkFromRun(runDir: string): Promise<void> {
  await readEarlierRun(runDir)
}

async function readEarlierRun(runDir: string): Promise<{report: TrainingReport; trials: ObservedTrial[]}> {
  const paths = runPaths(runDir)
  const report = await readJsonIfExists(paths.report, TrainingReport)
  if (!report) {
    throw new InputError(`--from ${runDir}: it has no ${RUN_FILES.report}, so it is not a finished training run`, {
      path: runDir,
      hint: 'Pass the folder of a finished run (see `studio training list-runs`), or finish it first with `studio training run --resume`.',
    })
  }
  const trials: ObservedTrial[] = []
  for (const trial of report.trials) {
    const folder = paths.trial(trial.dir)
    const prompt = await readJsonIfExists(folder.prompt, TrialPromptFile)
    const results = await readJsonIfExists(folder.results, TrialResults)
    // A trial folder removed since is less evidence, not an error.
    if (prompt && results) trials.push({index: trial.index, prompt: prompt.prompt, results})
  }
  return {report, trials}
}
