/**
 * The refiner: proposes the next trial's prompt from the last trial's results. The
 * rule-based refiner always runs first; in 'rule-based+llm' mode a language model
 * then rewrites its proposal, reading the prompt history and the worst pairs' evidence.
 * The caller passes only training pairs' results: the refiner never sees validation pairs.
 */
import type {LanguageModel, Usage} from '../../core/providers.js'
import type {AggregateProfile, TrialResults} from '../../core/schemas/files.js'
import type {PromptSpec, RefinerMode} from '../../core/schemas/common.js'
import {buildEvidence} from './evidence.js'
import {buildHistory, type HistoryEntry} from './history.js'
import {LLM_CHANGE_PREFIX, refineWithModel, RefinementRejectedError} from './llm.js'
import {refineRuleBased, type Refinement} from './rule-based.js'

export * from './evidence.js'
export * from './history.js'
export * from './llm.js'
export * from './rule-based.js'

export interface RefineInput {
  /** The prompt of the trial just scored. */
  prompt: PromptSpec
  profile: AggregateProfile
  /** That trial's results, training pairs only. */
  trial: TrialResults
  /** Earlier trials (the one just scored included); normalised with buildHistory, so every trial may be passed. */
  history: HistoryEntry[]
  mode: RefinerMode
  /** Required in 'rule-based+llm' mode. */
  model?: LanguageModel
  seed: number
}

export interface RefineOutcome extends Refinement {
  /** Tokens of the LLM refiner's call; null when no model was called. */
  usage: Usage | null
}

/**
 * Rule-based first; in 'rule-based+llm' mode the LLM refiner then works on its
 * proposal, and its changes are appended to the rule-based ones. When the model's
 * answer is rejected (RefinementRejectedError), the rule-based proposal is kept and a
 * change line says why; any other error (network, provider) propagates. Validation
 * pairs in `trial` are dropped before either refiner sees it.
 */
export async function refine(input: RefineInput): Promise<RefineOutcome> {
  const trial = {...input.trial, pairs: input.trial.pairs.filter((p) => p.split !== 'validation')}
  const proposal = refineRuleBased(input.prompt, input.profile, trial)
  if (input.mode === 'rule-based') return {...proposal, usage: null}
  if (!input.model) throw new Error("refine: mode 'rule-based+llm' needs a language model")
  try {
    const refined = await refineWithModel(
      {
        current: input.prompt,
        proposal,
        history: buildHistory(input.history),
        evidence: buildEvidence(trial),
        profile: input.profile,
        seed: input.seed,
      },
      input.model,
    )
    return {prompt: refined.prompt, changes: [...proposal.changes, ...refined.changes], usage: refined.usage}
  } catch (error) {
    if (!(error instanceof RefinementRejectedError)) throw error
    const note = `${LLM_CHANGE_PREFIX}answer rejected, kept the rule-based proposal: ${error.problems.join('; ')}`
    return {prompt: proposal.prompt, changes: [...proposal.changes, note], usage: error.usage}
  }
}
