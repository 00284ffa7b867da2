/**
 * The optimiser: proposes the next trial's prompt from the trials so far. The step rule
 * (step.ts) always runs first; in 'rule-based+llm' mode a language model then rewrites its
 * proposal, reading the same evidence (the response model, the weighted losses, the history
 * of prompts with their losses and the worst pairs), and its answer passes the same checks.
 * Only training pairs are evidence: validation pairs never reach either.
 */
import type {LanguageModel, Usage} from '../../core/providers.js'
import type {AggregateProfile, OptimiserStep} from '../../core/schemas/files.js'
import type {PromptSpec, RefinerMode} from '../../core/schemas/common.js'
import type {Weights} from '../../loss/registry.js'
import {buildEvidence} from './evidence.js'
import {buildHistory} from './history.js'
import {LLM_CHANGE_PREFIX, refineWithModel, RefinementRejectedError} from './llm.js'
import type {ObservedTrial} from './response.js'
import {proposeNext, type OptimiserTrial, type StepInput} from './step.js'

export * from './evidence.js'
export * from './history.js'
export * from './llm.js'
export * from './response.js'
export * from './step.js'

export interface RefineInput {
  /** This run's trials so far, in order. */
  trials: OptimiserTrial[]
  /** An earlier run's trials (--from): evidence of the writer's response only. */
  prior?: ObservedTrial[]
  profile: AggregateProfile
  weights: Weights
  paperWords: Readonly<Record<string, number>>
  /** The trial to start from, chosen by the selection rule (see StepInput.base). */
  base?: StepInput['base']
  mode: RefinerMode
  /** Required in 'rule-based+llm' mode. */
  model?: LanguageModel
  seed: number
}

export type RefineOutcome =
  | {kind: 'proposal'; prompt: PromptSpec; changes: string[]; step: OptimiserStep; usage: Usage | null}
  | {kind: 'stop'; reason: string; usage: null}

/** Drops validation pairs from a trial's results: what the optimiser may learn from. */
export function trainingOnly<T extends ObservedTrial>(trial: T): T {
  return {
    ...trial,
    results: {...trial.results, pairs: trial.results.pairs.filter((p) => p.split === 'train'), validation_mean_losses: null},
  }
}

/**
 * The step rule first; in 'rule-based+llm' mode the LLM refiner then works on its
 * proposal. When the model's answer is rejected (RefinementRejectedError) the step rule's
 * proposal is kept and a change line says why; any other error (network, provider)
 * propagates. When the step rule has nothing left to try, the run stops: the model is
 * not asked to make up a change.
 */
export async function refine(input: RefineInput): Promise<RefineOutcome> {
  const trials = input.trials.map(trainingOnly)
  const outcome = proposeNext({
    trials,
    base: input.base,
    prior: input.prior?.map(trainingOnly),
    profile: input.profile,
    weights: input.weights,
    paperWords: input.paperWords,
  })
  if (outcome.kind === 'stop') return {kind: 'stop', reason: outcome.reason, usage: null}
  if (input.mode === 'rule-based') return {...outcome, usage: null}
  if (!input.model) throw new Error("refine: mode 'rule-based+llm' needs a language model")
  const base = trials.find((t) => t.index === outcome.step.base_trial)!
  const last = trials[trials.length - 1]!
  const proposal = {prompt: outcome.prompt, changes: outcome.changes}
  try {
    const refined = await refineWithModel(
      {
        current: base.prompt,
        proposal,
        history: buildHistory(
          trials.map((t) => ({index: t.index, sha256: t.results.prompt_sha256, prompt: t.prompt, mean_losses: t.results.mean_losses})),
        ),
        evidence: buildEvidence(last.results),
        optimiser: outcome.evidence,
        profile: input.profile,
        seed: input.seed,
      },
      input.model,
    )
    return {
      kind: 'proposal',
      prompt: refined.prompt,
      changes: [...outcome.changes, ...refined.changes],
      step: outcome.step,
      usage: refined.usage,
    }
  } catch (error) {
    if (!(error instanceof RefinementRejectedError)) throw error
    const note = `${LLM_CHANGE_PREFIX}answer rejected, kept the rule-based proposal: ${error.problems.join('; ')}`
    return {kind: 'proposal', prompt: outcome.prompt, changes: [...outcome.changes, note], step: outcome.step, usage: error.usage}
  }
}
