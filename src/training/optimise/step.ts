/**
 * The optimiser's step rule (the rule-based refiner). Each step:
 *
 * 1. starts from the best prompt so far by the selection loss (loss/selection.ts), so a
 *    step that made the loss worse is reverted by not building on it;
 * 2. ranks the components of that trial's loss by their weighted contribution and acts
 *    only on components whose weight is above 0;
 * 3. corrects the knobs that have a reference target with a model of the writer's
 *    response fitted on every trial so far (response.ts): the length rule (duration),
 *    the segment plan (structure) and the number of concepts to cover (coverage). A length
 *    step that overshot is halved;
 * 4. probes the knobs that only the judge can value (questions per minute, sentence
 *    length) one at a time: a probe that lowered the weighted quality and ROUGE losses is
 *    kept and the next one goes further the same way; one that did not is undone and the
 *    other direction or a smaller step is tried; a knob the writer ignores is left alone.
 *
 * It is a pure function of the trials (their prompts, the steps recorded with them and
 * their results), so a resumed run proposes exactly what an uninterrupted one would.
 * When nothing is left to correct or probe it says so, and the trial loop stops.
 */
import type {LengthRule, PromptSpec, SegmentLabel} from '../../core/schemas/common.js'
import {QUALITY_KNOBS, type AggregateProfile, type OptimiserStep, type QualityKnob, type TrialResults} from '../../core/schemas/files.js'
import {mean, round} from '../../core/text.js'
import {LOSSES} from '../../loss/registry.js'
import {bestTrial} from '../../loss/selection.js'
import type {Weights} from '../../loss/registry.js'
import {MAX_ASKED_WORDS, MIN_ASKED_WORDS, predictWords} from '../length-model.js'
import {promptHash} from '../prompt.js'
import {
  describeResponse,
  fitLengthResponse,
  fitRateResponse,
  fitShareResponse,
  observe,
  plannedShares,
  UNRESPONSIVE_ELASTICITY,
  type ObservedTrial,
  type Observation,
} from './response.js'

/** A trial as the step rule reads it. */
export interface OptimiserTrial extends ObservedTrial {
  /** How its prompt was made; null for trial 0. */
  step: OptimiserStep | null
}

export interface StepInput {
  /** This run's trials, in order (at least one). */
  trials: readonly OptimiserTrial[]
  /** An earlier run's trials (--from): evidence of how the writer responds, never a base. */
  prior?: readonly ObservedTrial[]
  profile: AggregateProfile
  weights: Weights
  /** Paper words per pair id: the length rule predicts each paper's length from them. */
  paperWords: Readonly<Record<string, number>>
  /**
   * The trial to start from, as the selection rule (loss/selection.ts) chose it on losses
   * the optimiser does not see (validation pairs). Default: the best by training loss.
   */
  base?: {index: number; selectedBy: string; loss: number}
}

export type StepOutcome =
  | {kind: 'proposal'; prompt: PromptSpec; changes: string[]; step: OptimiserStep; evidence: string[]}
  | {kind: 'stop'; reason: string; evidence: string[]}

/**
 * A probe's first relative step: small enough that a probe away from a judge's ideal costs
 * little (a judge's scores fall smoothly around its ideal, so 10% there costs a few points),
 * large enough to stand out of a writer's call-to-call noise.
 */
export const FIRST_PROBE = 0.1
/** After a successful probe the next one goes this many times further: a judge's ideal may be twice the human value. */
export const PROBE_GROWTH = 2
/** Probes shrink no further than this: below it a judge's noise hides the effect. */
export const MIN_PROBE = 0.025
export const MAX_PROBE = 0.5
/** Asks must span at least this much (log of highest / lowest) before a flat response means the writer ignores them. */
const MIN_ASK_SPREAD = 0.15
/**
 * A probe counts when the judge's score on the knob's own dimension (engagement for the
 * question rate, clarity for sentence length) rose by more than this many points (0..100):
 * judged on its own dimension, a probe is not credited with what the corrections made in
 * the same trial did to the other scores or to ROUGE.
 */
export const PROBE_EPSILON = 0.1
/** Length steps smaller than this (relative) are noise, not a correction. */
const LENGTH_TOLERANCE = 0.015
/** A length fit on asks spread this much (standard deviation of log asked) sets the exponent in one step. */
const CONFIDENT_SPREAD = 0.3
/** Exponent moves smaller than this are noise. */
const EXPONENT_TOLERANCE = 0.05
/** Share moves smaller than this are not worth a trial. */
const SHARE_TOLERANCE = 0.005

const KNOB_BOUNDS: Record<QualityKnob, [number, number]> = {questions_per_minute: [0.05, 12], mean_sentence_words: [3, 40]}
const KNOB_DIMENSION: Record<QualityKnob, 'engagement' | 'clarity'> = {questions_per_minute: 'engagement', mean_sentence_words: 'clarity'}
const KNOB_NAME: Record<QualityKnob, string> = {questions_per_minute: 'questions per minute', mean_sentence_words: 'sentence length'}
const KNOB_DECIMALS: Record<QualityKnob, number> = {questions_per_minute: 2, mean_sentence_words: 1}

type Component = {loss: string; weight: number; loss_value: number; contribution: number}

/** The components of a trial's training loss, largest weighted contribution first. */
export function rankComponents(results: TrialResults, weights: Weights): Component[] {
  return LOSSES.map((l) => {
    const weight = weights[l.name]
    const value = results.mean_losses[l.name]
    return {loss: l.name, weight, loss_value: value, contribution: weight * value}
  }).sort((a, b) => b.contribution - a.contribution)
}

interface KnobState {
  value: number
  size: number
  direction: 1 | -1
  /** Directions tried without success at the current size. */
  failed: Set<1 | -1>
  /** Whether the last probe of this knob succeeded (the next goes further the same way). */
  momentum: boolean
  /** Why the knob is no longer probed; null while it is. */
  done: string | null
}

function meanDelivered(results: TrialResults, knob: QualityKnob): number {
  const train = results.pairs.filter((p) => p.split === 'train')
  return mean(
    train.map((p) =>
      knob === 'questions_per_minute' ? p.details.generated_questions_per_minute : p.details.generated_mean_sentence_words,
    ),
  )
}

function meanJudge(results: TrialResults, dimension: 'engagement' | 'clarity'): number {
  return mean(results.pairs.filter((p) => p.split === 'train').map((p) => p.details.judge[dimension]))
}

/** Replays the probes recorded with the trials to know where each knob's search stands. */
function knobStates(trials: readonly OptimiserTrial[]): Record<QualityKnob, KnobState> {
  const first = trials[0]!.prompt
  const state = {} as Record<QualityKnob, KnobState>
  for (const knob of QUALITY_KNOBS) {
    state[knob] = {value: first.style[knob], size: FIRST_PROBE, direction: 1, failed: new Set(), momentum: false, done: null}
  }
  for (const trial of trials) {
    const probe = trial.step?.probe
    if (!probe) continue
    const base = trials.find((t) => t.index === trial.step!.base_trial)
    if (!base) continue
    const s = state[probe.knob]
    if (s.done) continue
    const dimension = KNOB_DIMENSION[probe.knob]
    const improved = meanJudge(trial.results, dimension) > meanJudge(base.results, dimension) + PROBE_EPSILON
    if (improved) {
      s.value = trial.prompt.style[probe.knob]
      s.direction = probe.direction
      s.size = Math.min(MAX_PROBE, probe.size * PROBE_GROWTH)
      s.failed = new Set()
      s.momentum = true
      continue
    }
    s.failed.add(probe.direction)
    if (s.momentum) {
      // Overshot after a success: the optimum lies between, go half as far the same way.
      s.size = probe.size / 2
      s.failed = new Set()
      s.momentum = false
    } else if (!s.failed.has(-probe.direction as 1 | -1)) {
      s.direction = -probe.direction as 1 | -1
    } else {
      s.size = probe.size / 2
      s.failed = new Set()
    }
    if (s.size < MIN_PROBE) s.done = `steps down to ${round(MIN_PROBE * 100, 1)}% in both directions found nothing better`
  }
  for (const knob of QUALITY_KNOBS) {
    const ignored = ignoredInstruction(trials, knob)
    if (ignored && !state[knob].done) {
      state[knob].done = ignored
      state[knob].value = first.style[knob]
    }
  }
  return state
}

/**
 * Whether the writer ignores a knob's instruction: over every trial, the delivered value
 * (mean over the training pairs) barely moves with the ask (elasticity below
 * UNRESPONSIVE_ELASTICITY in a log-log fit). One probe cannot tell: a writer's call-to-call
 * noise can hide a 10% move, so at least 3 different asks spanning MIN_ASK_SPREAD are needed.
 */
function ignoredInstruction(trials: readonly OptimiserTrial[], knob: QualityKnob): string | null {
  const points = trials
    .map((t) => ({asked: t.prompt.style[knob], delivered: meanDelivered(t.results, knob)}))
    .filter((p) => p.asked > 0 && p.delivered > 0)
  const asks = [...new Set(points.map((p) => p.asked))]
  if (asks.length < 3 || Math.log(Math.max(...asks) / Math.min(...asks)) < MIN_ASK_SPREAD) return null
  const xs = points.map((p) => Math.log(p.asked))
  const ys = points.map((p) => Math.log(p.delivered))
  const mx = mean(xs)
  const my = mean(ys)
  let sxx = 0
  let sxy = 0
  xs.forEach((x, i) => {
    sxx += (x - mx) ** 2
    sxy += (x - mx) * (ys[i]! - my)
  })
  const elasticity = sxy / sxx
  if (elasticity >= UNRESPONSIVE_ELASTICITY) return null
  const low = Math.min(...asks)
  const high = Math.max(...asks)
  return `the writer ignores it (asks from ${round(low, 2)} to ${round(high, 2)} moved what it delivered by an elasticity of ${round(elasticity, 2)})`
}

function roundKnob(knob: QualityKnob, value: number): number {
  const [low, high] = KNOB_BOUNDS[knob]
  return round(Math.min(high, Math.max(low, value)), KNOB_DECIMALS[knob])
}

/** Which knob to probe next: one going somewhere first, then the one whose judge dimension scores lowest. */
function chooseProbe(state: Record<QualityKnob, KnobState>, base: TrialResults, last: QualityKnob | null): QualityKnob | null {
  const open = QUALITY_KNOBS.filter((k) => !state[k].done)
  if (open.length === 0) return null
  const moving = open.find((k) => state[k].momentum)
  if (moving) return moving
  return [...open].sort(
    (a, b) => meanJudge(base, KNOB_DIMENSION[a]) - meanJudge(base, KNOB_DIMENSION[b]) || (a === last ? 1 : b === last ? -1 : 0),
  )[0]!
}

/** The length rule that makes this writer deliver each training pair's reference length. */
function correctLength(
  base: OptimiserTrial,
  last: OptimiserTrial,
  observations: Observation[],
  input: StepInput,
): {target_words: number; length: LengthRule | null; change: string | null; evidence: string | null} {
  const prompt = base.prompt
  const unchanged = {target_words: prompt.target_words, length: prompt.length, change: null, evidence: null}
  const response = fitLengthResponse(observations)
  const pairs = base.results.pairs.filter((p) => p.split === 'train' && p.details.reference_seconds > 0)
  if (!response || pairs.length === 0) return unchanged
  const rule = prompt.length
  // Asks far apart (papers of very different lengths) pin the exponent down: go all the way.
  // Asks close together leave it to noise: go half way.
  const pace = response.spread >= CONFIDENT_SPREAD ? 1 : 0.5
  const exponent =
    rule && rule.model.kind === 'linear' && response.fitted
      ? Math.min(4, Math.max(0.5, rule.exponent + (1 / response.exponent - rule.exponent) * pace))
      : (rule?.exponent ?? 1)
  const logs = pairs.map((p) => {
    const reference = (p.details.reference_seconds / 60) * p.details.reference_words_per_minute
    const desiredAsk = Math.log(reference / response.scale) / response.exponent
    const relative = rule
      ? Math.log(predictWords(rule.model, input.paperWords[p.pair_id] ?? rule.model.mean_paper_words) / rule.model.mean_words)
      : 0
    return desiredAsk - exponent * relative
  })
  let logTarget = mean(logs)
  const logBase = Math.log(prompt.target_words)
  // An overshoot: the last length step turned scripts that were too short into too long (or back).
  const error = (t: OptimiserTrial) =>
    mean(
      t.results.pairs
        .filter((p) => p.split === 'train')
        .map((p) =>
          Math.log(
            Math.max(1, p.details.generated_words) / Math.max(1, (p.details.reference_seconds / 60) * p.details.reference_words_per_minute),
          ),
        ),
    )
  const lastBase = last.step ? input.trials.find((t) => t.index === last.step!.base_trial) : undefined
  const overshot = Boolean(last.step?.length_changed && lastBase && Math.sign(error(last)) !== Math.sign(error(lastBase)))
  if (overshot) logTarget = logBase + (logTarget - logBase) / 2
  const target = Math.round(Math.min(MAX_ASKED_WORDS, Math.max(MIN_ASKED_WORDS, Math.exp(logTarget))))
  const exponentMoved = rule ? Math.abs(exponent - rule.exponent) > EXPONENT_TOLERANCE : false
  if (Math.abs(Math.log(target / prompt.target_words)) < LENGTH_TOLERANCE && !exponentMoved) return unchanged
  const delivered = mean(pairs.map((p) => p.details.generated_words))
  const references = mean(pairs.map((p) => (p.details.reference_seconds / 60) * p.details.reference_words_per_minute))
  const length = rule ? {model: rule.model, exponent: round(exponent, 4)} : null
  const how = response.fitted
    ? `the writer delivers ${round(response.scale, 3)} x asked^${round(response.exponent, 3)} words`
    : `the writer delivers ${round(response.scale, 3)} x the words asked`
  const change =
    `target_words ${prompt.target_words} -> ${target}${exponentMoved ? `, length exponent ${rule!.exponent} -> ${round(exponent, 4)}` : ''}: ` +
    `scripts averaged ${Math.round(delivered)} words against ${Math.round(references)} in the references, and ${how}${overshot ? '; the last length step overshot, so this one goes half as far' : ''}`
  return {target_words: target, length, change, evidence: how}
}

/** The segment plan that this writer turns into the reference shares. */
function correctShares(
  prompt: PromptSpec,
  profile: AggregateProfile,
  observations: Observation[],
): {plan: PromptSpec['segment_plan']; change: string | null} {
  const factors = fitShareResponse(observations)
  const current = plannedShares(prompt)
  const labels = Object.keys(current) as SegmentLabel[]
  const wanted = new Map<SegmentLabel, number>()
  for (const label of labels) {
    const reference = profile.word_shares[label] ?? 0
    wanted.set(label, reference > 0 ? reference / (factors[label] ?? 1) : current[label]!)
  }
  const sum = [...wanted.values()].reduce((a, b) => a + b, 0)
  if (!(sum > 0)) return {plan: prompt.segment_plan, change: null}
  const plan = prompt.segment_plan.map((step) => ({
    label: step.label,
    share: round((wanted.get(step.label)! / sum) * (current[step.label]! > 0 ? step.share / current[step.label]! : 0), 4),
  }))
  const moved = plan.filter((step, i) => Math.abs(step.share - prompt.segment_plan[i]!.share) > SHARE_TOLERANCE)
  if (moved.length === 0) return {plan: prompt.segment_plan, change: null}
  const stretched = labels
    .filter((l) => factors[l] !== undefined && Math.abs(Math.log(factors[l])) > 0.05)
    .map((l) => `${l} x${round(factors[l]!, 2)}`)
  return {
    plan,
    change: `segment_plan shares moved so that the delivered shares land on the reference's (${moved.map((s) => s.label).join(', ')})${stretched.length ? `: the writer stretches ${stretched.join(', ')}` : ''}`,
  }
}

/**
 * The next prompt, from the best trial so far, or why there is none. `trials` must hold
 * at least one trial; only their training pairs are read, apart from the selection loss
 * that chooses the base (loss/selection.ts).
 */
export function proposeNext(input: StepInput): StepOutcome {
  const {trials, weights, profile} = input
  const best = input.base ?? bestTrial(trials.map((t) => t.results))
  if (!best) throw new Error('proposeNext: no trial to start from')
  const base = trials.find((t) => t.index === best.index)
  if (!base) throw new Error(`proposeNext: base trial ${best.index} is not among the trials`)
  const last = trials[trials.length - 1]!
  const observations = observe(trials, input.prior)
  const components = rankComponents(base.results, weights)
  const evidence = [
    `base: trial ${base.index}, the best so far by the ${best.selectedBy} loss (${round(best.loss, 4)})`,
    `weighted losses at the base, largest first: ${components.map((c) => `${c.loss} ${round(c.contribution, 4)}${c.weight === 0 ? ' (weight 0: left alone)' : ''}`).join(', ')}`,
    ...describeResponse({
      length: fitLengthResponse(observations),
      questions: fitRateResponse(observations, 'questions'),
      sentence: fitRateResponse(observations, 'sentence'),
      shares: fitShareResponse(observations),
    }),
  ]
  const next: PromptSpec = structuredClone(base.prompt)
  const changes: string[] = []
  if (base.index !== last.index)
    changes.push(`started from trial ${base.index}, the best so far, not from trial ${last.index}: its changes are reverted`)

  let lengthChanged = false
  if (weights.duration > 0) {
    const length = correctLength(base, last, observations, input)
    if (length.change) {
      next.target_words = length.target_words
      next.length = length.length
      changes.push(length.change)
      lengthChanged = true
    }
  }
  if (weights.structure > 0) {
    const shares = correctShares(next, profile, observations)
    if (shares.change) {
      next.segment_plan = shares.plan
      changes.push(shares.change)
    }
  }
  if (weights.coverage > 0) {
    const train = base.results.pairs.filter((p) => p.split === 'train')
    const missed = mean(train.map((p) => p.details.concepts_missed.length))
    const available = Math.max(0, ...train.map((p) => p.details.concepts_total))
    if (missed > 0 && next.must_cover_concepts < available) {
      changes.push(
        `must_cover_concepts ${next.must_cover_concepts} -> ${available}: scripts missed ${missed.toFixed(1)} key concepts on average`,
      )
      next.must_cover_concepts = available
    }
  }

  // Quality knobs: the values their probes settled on, then at most one new probe.
  let probe: OptimiserStep['probe'] = null
  const knobNotes: string[] = []
  if (weights.quality > 0) {
    const state = knobStates(trials)
    for (const knob of QUALITY_KNOBS) {
      if (next.style[knob] !== state[knob].value) {
        changes.push(`${knob} ${next.style[knob]} -> ${state[knob].value}: the value its probes found best`)
        next.style[knob] = state[knob].value
      }
      if (state[knob].done) knobNotes.push(`${KNOB_NAME[knob]}: ${state[knob].done}`)
    }
    const lastProbe = [...trials].reverse().find((t) => t.step?.probe)?.step?.probe?.knob ?? null
    const knob = chooseProbe(state, base.results, lastProbe)
    if (knob) {
      const s = state[knob]
      const factor = s.direction === 1 ? 1 + s.size : 1 / (1 + s.size)
      const value = roundKnob(knob, s.value * factor)
      if (value !== next.style[knob]) {
        probe = {knob, direction: s.direction, size: round(s.size, 4)}
        const dimension = KNOB_DIMENSION[knob]
        changes.push(
          `${knob} ${next.style[knob]} -> ${value}: probing ${s.direction === 1 ? 'up' : 'down'} by ${Math.round(s.size * 100)}% for the judge's ${dimension} (${round(meanJudge(base.results, dimension), 1)}/100 at the base)`,
        )
        next.style[knob] = value
      } else {
        knobNotes.push(`${KNOB_NAME[knob]}: at its bound`)
      }
    }
  } else {
    knobNotes.push('quality has weight 0: questions per minute and sentence length are left alone')
  }

  const repeated = trials.find((t) => promptHash(t.prompt) === promptHash(next))
  if (changes.length === 0 || repeated) {
    const settled = [
      weights.duration > 0 ? 'the length rule is within 1.5% of what the writer needs' : null,
      weights.structure > 0 ? 'the segment plan is within 0.005 of what the writer needs' : null,
      weights.coverage > 0 ? 'every key concept is asked for or none is missed' : null,
    ].filter((x) => x !== null)
    const why = [...settled, ...knobNotes].join('; ') || 'nothing to change'
    return {
      kind: 'stop',
      reason: repeated && changes.length ? `the next prompt would repeat trial ${repeated.index}'s: ${why}` : why,
      evidence,
    }
  }
  return {kind: 'proposal', prompt: next, changes, step: {base_trial: base.index, probe, length_changed: lengthChanged}, evidence}
}
