/**
 * The LLM refiner: starting from the rule-based proposal, a language model rewrites
 * what numbers cannot capture (tone, analogies, speakers' roles, instructions), reading the
 * history of earlier prompts with their losses and the evidence of the worst pairs.
 * Its answer is checked before it is used: the plan must add up, the speakers must
 * stay the same people, the length must stay within bounds, and the whole must be a
 * valid PromptSpec (the answer's schema has none of PromptSpec's bounds, which no API
 * enforces: a value outside them rejects the answer here instead of failing the call).
 */
import type {ChatMessage, LanguageModel, Usage} from '../../core/providers.js'
import {promptHash} from '../prompt.js'
import {RefineAnswer} from '../../core/schemas/answers.js'
import {type AggregateProfile} from '../../core/schemas/files.js'
import {PromptSpec} from '../../core/schemas/common.js'
import {round} from '../../core/text.js'
import {LOSSES} from '../../loss/registry.js'
import {LOSS_NAMES} from '../../loss/weights.js'
import type {PairEvidence} from './evidence.js'
import type {HistoryEntry} from './history.js'

/** A proposed prompt and the changes that made it, in words. */
export interface Refinement {
  prompt: PromptSpec
  changes: string[]
}

export interface ModelRefineInput {
  current: PromptSpec
  /** The rule-based refinement of `current`: the model's starting point. */
  proposal: Refinement
  /** As buildHistory returns it: worst first, best last. Rendered in the order given. */
  history: HistoryEntry[]
  evidence: PairEvidence[]
  /** The step rule's reading of the trials: its base, the weighted losses, the writer's response model. */
  optimiser: string[]
  profile: AggregateProfile
  seed: number
}

export interface ModelRefinement extends Refinement {
  usage: Usage
}

/** The model's answer broke a rule it cannot be trusted to follow; `problems` says which. */
export class RefinementRejectedError extends Error {
  readonly problems: string[]
  /** Tokens of the call whose answer was rejected; null when the check ran without a call. */
  readonly usage: Usage | null

  constructor(problems: string[], usage: Usage | null = null) {
    super(`The LLM refiner's answer was rejected: ${problems.join('; ')}`)
    this.name = 'RefinementRejectedError'
    this.problems = problems
    this.usage = usage
  }
}

export const MIN_TARGET_WORDS = 50
export const MAX_TARGET_WORDS = 30_000
/** Shares summing to 1 within this are accepted as they are. */
export const SHARE_SUM_EPSILON = 1e-6
/** Shares summing to 1 within this (but not SHARE_SUM_EPSILON) are renormalised; further off, rejected. */
export const SHARE_SUM_RENORMALISE = 0.05
/** Prefix of every change the LLM refiner reports, to tell it from the rule-based refiner's. */
export const LLM_CHANGE_PREFIX = 'llm: '

const LOSS_KEYS = ['total', ...LOSS_NAMES] as const

/** The losses in words, from the registry: what the refiner is told each number means. */
const LOSSES_IN_WORDS = `${LOSSES.map((loss) => `${loss.name} (${loss.description})`).join('; ')}; and total (their weighted mean)`

const SYSTEM = [
  'You refine the prompt of a podcast-script generator. The prompt is being calibrated so that the scripts it produces from research papers match human-made podcast episodes about the same papers.',
  '',
  `Each trial generates a script per paper with the current prompt and scores it with losses between 0 (perfect) and 1: ${LOSSES_IN_WORDS}. Lower is better.`,
  '',
  "You receive: the reference profile of the human episodes; the history of earlier prompts with their mean losses, worst first and best last; the optimiser's reading of the trials (the best prompt so far it starts from, each loss weighted by its share of the total, and a model of how the writer responds to what it is asked: delivered against asked length, question rate, sentence length and segment shares); evidence from the worst-scoring papers of the last trial; the current prompt (the best so far); and a rule-based proposal that already corrects the numeric targets with that response model.",
  '',
  'Rules:',
  '1. Start from the rule-based proposal. Keep its numeric targets (target_words, segment_plan, style.words_per_minute, style.questions_per_minute, style.mean_sentence_words, must_cover_concepts) unless the evidence clearly says otherwise, and then name that evidence. Work on the losses with the largest weighted share first; never trade a loss for one whose weight is 0. The length asked of each paper is scaled from target_words by a length rule you do not see: change target_words only to correct all papers alike.',
  "2. Improve what numbers cannot: rewrite style.tone, style.analogies, the speakers' roles and the instructions. Learn from the history: keep what the better prompts share, drop what the worse ones tried.",
  '3. Keep exactly the same speakers, by the same names. You may change their roles, never add, remove or rename a speaker.',
  `4. segment_plan shares must sum to 1; target_words must be between ${MIN_TARGET_WORDS} and ${MAX_TARGET_WORDS}.`,
  '5. Never invent paper content. You have not seen the papers, and the prompt is used for every paper: instructions are general directives, never facts, numbers, terms or claims about a particular paper.',
  '6. Answer with JSON matching the schema: {"prompt": <the next prompt>, "changes": [...]}. List each change you made to the rule-based proposal, in words, with the evidence behind it; an empty list if you keep the proposal as it is.',
].join('\n')

/** Compact JSON with numbers rounded to 4 decimals: enough to compare, short to read. */
function compact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 4) : v))
}

function lossesLine(losses: HistoryEntry['mean_losses']): Record<string, number> {
  return Object.fromEntries(LOSS_KEYS.map((k) => [k, round(losses[k], 4)]))
}

export function historyLines(history: readonly HistoryEntry[]): string[] {
  return history.map((h) => compact({trial: h.index, sha256: h.sha256.slice(0, 12), losses: lossesLine(h.mean_losses), prompt: h.prompt}))
}

export function evidenceText(evidence: PairEvidence): string {
  const {losses, duration_error: d, structure_diff: diff, weakest_dimension: weakest} = evidence
  const others = LOSS_KEYS.filter((k) => k !== 'total').map((k) => `${k} ${round(losses[k], 4)}`)
  const percent = d.percent === null ? 'reference has no duration' : `${d.percent > 0 ? '+' : ''}${d.percent}%`
  const missed = evidence.concepts_missed.length ? evidence.concepts_missed.join('; ') : 'none'
  return [
    `Pair ${evidence.pair_id}: total loss ${round(losses.total, 4)} (${others.join(', ')})`,
    `- duration: script ${d.generated_seconds} s vs reference ${d.reference_seconds} s (${d.seconds > 0 ? '+' : ''}${d.seconds} s, ${percent})`,
    `- key concepts missed (${evidence.concepts_missed.length} of ${evidence.concepts_total}): ${missed}`,
    `- structure: reference ${evidence.reference_sequence.join(' > ') || '(none)'}; script ${evidence.generated_sequence.join(' > ') || '(none)'}; diff (-missing +extra): ${diff.text}`,
    `- weakest judge dimension: ${weakest.dimension} ${weakest.score}/100: ${weakest.reason}`,
  ].join('\n')
}

export function refineMessages(input: Omit<ModelRefineInput, 'seed'>): ChatMessage[] {
  const {profile} = input
  const reference = {
    pairs: profile.pairs,
    sequence: profile.sequence,
    word_shares: profile.word_shares,
    duration_seconds: profile.duration_seconds,
    words: profile.words,
    words_per_minute: profile.words_per_minute,
    mean_sentence_words: profile.mean_sentence_words,
    questions_per_minute: profile.questions_per_minute,
    turns_per_minute: profile.turns_per_minute,
    speakers: profile.speakers,
  }
  const changes = input.proposal.changes.length
    ? input.proposal.changes.map((c) => `- ${c}`).join('\n')
    : '- (none: the numbers were already on target)'
  const user = [
    'Reference profile (mean of the human episodes):',
    compact(reference),
    '',
    `History (${input.history.length} prompt(s), worst first, best last; one JSON object a line):`,
    ...(input.history.length ? historyLines(input.history) : ['(none yet)']),
    '',
    "The optimiser's reading of the trials:",
    ...(input.optimiser.length ? input.optimiser.map((line) => `- ${line}`) : ['(none)']),
    '',
    `Evidence from the ${input.evidence.length} worst-scoring pair(s) of the last trial:`,
    ...(input.evidence.length ? input.evidence.map(evidenceText) : ['(none)']),
    '',
    'Current prompt:',
    compact(input.current),
    '',
    'Rule-based proposal for the next prompt, with its changes:',
    changes,
    compact(input.proposal.prompt),
  ].join('\n')
  return [
    {role: 'system', content: SYSTEM},
    {role: 'user', content: user},
  ]
}

function samePlan(a: PromptSpec['segment_plan'], b: PromptSpec['segment_plan']): boolean {
  return a.length === b.length && a.every((step, i) => step.label === b[i]!.label && step.share === b[i]!.share)
}

/**
 * Checks a refined prompt against the current one. Returns it (its plan renormalised
 * when the shares sum to within SHARE_SUM_RENORMALISE of 1) with notes on what was
 * adjusted, or throws RefinementRejectedError listing every problem. A plan equal to
 * the rule-based proposal's is accepted as it is (that refiner rounds shares to 4
 * decimals, so they may sum to 1 only within about 1e-4).
 */
export function checkRefinedPrompt(
  prompt: Omit<PromptSpec, 'length'> & {length?: PromptSpec['length']},
  context: {current: PromptSpec; proposal: PromptSpec},
): {prompt: PromptSpec; notes: string[]} {
  const problems: string[] = []
  const notes: string[] = []
  // The length rule is the optimiser's: the model's answer cannot change it.
  const next: PromptSpec = {...structuredClone(prompt), length: context.proposal.length}

  if (!samePlan(next.segment_plan, context.proposal.segment_plan)) {
    const sum = next.segment_plan.reduce((s, step) => s + step.share, 0)
    if (Math.abs(sum - 1) > SHARE_SUM_RENORMALISE) {
      problems.push(`segment_plan shares sum to ${round(sum, 6)}, not 1 (only sums within ${SHARE_SUM_RENORMALISE} of 1 are renormalised)`)
    } else if (Math.abs(sum - 1) > SHARE_SUM_EPSILON) {
      next.segment_plan = next.segment_plan.map((step) => ({label: step.label, share: step.share / sum}))
      notes.push(`segment_plan shares renormalised: the answer's summed to ${round(sum, 6)}`)
    }
  }

  const current = context.current.speakers.map((s) => s.name)
  const names = next.speakers.map((s) => s.name)
  const added = names.filter((n) => !current.includes(n))
  const removed = current.filter((n) => !names.includes(n))
  const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))]
  if (added.length)
    problems.push(
      `speaker(s) ${added.map((n) => `"${n}"`).join(', ')} not in the current prompt (its speakers: ${current.join(', ')}); roles may change, speakers may not`,
    )
  if (removed.length) problems.push(`speaker(s) ${removed.map((n) => `"${n}"`).join(', ')} of the current prompt missing`)
  if (repeated.length) problems.push(`speaker(s) ${repeated.map((n) => `"${n}"`).join(', ')} listed more than once`)

  if (next.target_words < MIN_TARGET_WORDS || next.target_words > MAX_TARGET_WORDS) {
    problems.push(`target_words ${next.target_words} is outside ${MIN_TARGET_WORDS}..${MAX_TARGET_WORDS}`)
  }
  // Every bound of PromptSpec (shares in 0..1, positive rates, names and roles not empty...);
  // target_words has its own, narrower check above.
  const valid = PromptSpec.safeParse(next)
  if (!valid.success) {
    for (const issue of valid.error.issues) {
      if (issue.path[0] === 'target_words') continue
      problems.push(`${issue.path.join('.') || 'prompt'}: ${issue.message}`)
    }
  }
  if (problems.length || !valid.success) throw new RefinementRejectedError(problems)
  return {prompt: valid.data, notes}
}

/**
 * Asks the model for the next prompt. Returns the checked prompt and the changes the
 * model made on top of the proposal (changes it merely repeats from the proposal are
 * dropped), each prefixed with LLM_CHANGE_PREFIX, plus the call's usage.
 * @throws RefinementRejectedError when the answer breaks a rule (see checkRefinedPrompt).
 */
export async function refineWithModel(input: ModelRefineInput, model: LanguageModel): Promise<ModelRefinement> {
  const {current, proposal} = input
  const answer = await model.structured({
    role: 'refine',
    messages: refineMessages(input),
    schema: RefineAnswer,
    task: {kind: 'refine', current, proposal: proposal.prompt, proposal_changes: proposal.changes},
    seed: input.seed,
    // A prompt spec and a few lines of changes.
    maxOutputTokens: 6000,
  })
  const parsed = RefineAnswer.safeParse(answer.value)
  if (!parsed.success)
    throw new RefinementRejectedError([`the answer does not match the prompt schema: ${parsed.error.message}`], answer.usage)
  let checked: ReturnType<typeof checkRefinedPrompt>
  try {
    checked = checkRefinedPrompt(parsed.data.prompt, {current, proposal: proposal.prompt})
  } catch (error) {
    throw error instanceof RefinementRejectedError ? new RefinementRejectedError(error.problems, answer.usage) : error
  }
  const unchanged = promptHash(checked.prompt) === promptHash(proposal.prompt)
  const claimed = unchanged ? [] : parsed.data.changes.filter((c) => !proposal.changes.includes(c))
  const changes = [...claimed, ...checked.notes].map((c) => `${LLM_CHANGE_PREFIX}${c}`)
  return {prompt: checked.prompt, changes, usage: answer.usage}
}
