/**
 * A model of the writer's response to the prompt, fitted on what the trials measured:
 * how the delivered length grows with the asked one, how far delivered question rates and
 * sentence lengths sit from the asked ones, and how much each segment's share is stretched.
 * The optimiser steps with this model instead of assuming the writer does what it is told.
 * Only training pairs are observations; the more recent a trial, the more it weighs (a
 * writer's response may not be the same at every length).
 */
import type {PromptSpec, SegmentLabel} from '../../core/schemas/common.js'
import type {PairTrialResult, TrialResults} from '../../core/schemas/files.js'
import {round} from '../../core/text.js'

/** One training pair in one trial: what the prompt asked and what the script delivered. */
export interface Observation {
  trial: number
  /** How recent the trial is: 0 for the latest, 1 for the one before... (prior runs count as older). */
  age: number
  pairId: string
  askedWords: number
  deliveredWords: number
  /** The words this pair's reference episode has (its duration at its pace). */
  referenceWords: number
  askedQuestions: number
  deliveredQuestions: number
  askedSentence: number
  deliveredSentence: number
  /** Planned share per label (summed over plan steps with that label). */
  planned: Partial<Record<SegmentLabel, number>>
  delivered: Partial<Record<SegmentLabel, number>>
}

/** A trial as the optimiser reads it: its prompt and results. */
export interface ObservedTrial {
  index: number
  prompt: PromptSpec
  results: TrialResults
}

/** A trial's weight halves with every trial since. */
const RECENCY = 0.5

export function plannedShares(prompt: PromptSpec): Partial<Record<SegmentLabel, number>> {
  const shares: Partial<Record<SegmentLabel, number>> = {}
  for (const step of prompt.segment_plan) shares[step.label] = (shares[step.label] ?? 0) + step.share
  return shares
}

function observation(trial: ObservedTrial, age: number, pair: PairTrialResult): Observation {
  const d = pair.details
  return {
    trial: trial.index,
    age,
    pairId: pair.pair_id,
    askedWords: d.asked_words ?? trial.prompt.target_words,
    deliveredWords: d.generated_words,
    referenceWords: (d.reference_seconds / 60) * d.reference_words_per_minute,
    askedQuestions: trial.prompt.style.questions_per_minute,
    deliveredQuestions: d.generated_questions_per_minute,
    askedSentence: trial.prompt.style.mean_sentence_words,
    deliveredSentence: d.generated_mean_sentence_words,
    planned: plannedShares(trial.prompt),
    delivered: d.generated_word_shares,
  }
}

/**
 * Observations of the training pairs of `trials` (in order, oldest first), then of
 * `prior` trials (an earlier run's, older than all of them). Validation pairs never are.
 */
export function observe(trials: readonly ObservedTrial[], prior: readonly ObservedTrial[] = []): Observation[] {
  const out: Observation[] = []
  const all = [...prior, ...trials]
  all.forEach((trial, i) => {
    const age = all.length - 1 - i
    for (const pair of trial.results.pairs) if (pair.split === 'train') out.push(observation(trial, age, pair))
  })
  return out
}

/** Delivered words = scale * asked^exponent, fitted in log space. */
export interface LengthResponse {
  scale: number
  exponent: number
  /** Whether the asks varied enough to fit the exponent; if not, it is assumed to be 1. */
  fitted: boolean
  /** Standard deviation of log asked words (weighted): how far apart the asks the fit rests on are. */
  spread: number
  points: number
}

/** The exponent is kept within these: beyond them a fit on a few trials is noise, not a writer. */
export const EXPONENT_RANGE = [0.25, 2] as const
/** Asks must spread at least this much (standard deviation of log asked) to fit an exponent. */
const MIN_LOG_SPREAD = 0.04

function weightOf(o: Observation): number {
  return RECENCY ** o.age
}

export function fitLengthResponse(observations: readonly Observation[]): LengthResponse | null {
  const points = observations.filter((o) => o.askedWords > 0 && o.deliveredWords > 0)
  if (points.length === 0) return null
  let sw = 0
  let sx = 0
  let sy = 0
  for (const o of points) {
    const w = weightOf(o)
    sw += w
    sx += w * Math.log(o.askedWords)
    sy += w * Math.log(o.deliveredWords)
  }
  const mx = sx / sw
  const my = sy / sw
  let sxx = 0
  let sxy = 0
  for (const o of points) {
    const w = weightOf(o)
    const dx = Math.log(o.askedWords) - mx
    sxx += w * dx * dx
    sxy += w * dx * (Math.log(o.deliveredWords) - my)
  }
  const spread = Math.sqrt(sxx / sw)
  const fitted = spread >= MIN_LOG_SPREAD
  const exponent = fitted ? Math.min(EXPONENT_RANGE[1], Math.max(EXPONENT_RANGE[0], sxy / sxx)) : 1
  // The scale that makes the fit pass through the weighted mean point.
  const scale = Math.exp(my - exponent * mx)
  return {scale, exponent, fitted, spread, points: points.length}
}

/** Asked words that this response turns into `delivered` words. */
export function askFor(response: LengthResponse, delivered: number): number {
  return (delivered / response.scale) ** (1 / response.exponent)
}

/**
 * How a rate the prompt states (questions per minute, sentence length) comes out:
 * delivered / asked (weighted geometric mean), and whether the writer responds to the
 * instruction at all (elasticity: the relative change delivered per relative change asked,
 * measured when the asks differed).
 */
export interface RateResponse {
  ratio: number
  /** null until two different asks have been tried. */
  elasticity: number | null
}

/** Below this elasticity a writer is taken to ignore the instruction. */
export const UNRESPONSIVE_ELASTICITY = 0.25

export function fitRateResponse(observations: readonly Observation[], knob: 'questions' | 'sentence'): RateResponse | null {
  const points = observations
    .map((o) =>
      knob === 'questions' ? [o.askedQuestions, o.deliveredQuestions, weightOf(o)] : [o.askedSentence, o.deliveredSentence, weightOf(o)],
    )
    .filter(([asked, delivered]) => asked! > 0 && delivered! > 0) as Array<[number, number, number]>
  if (points.length === 0) return null
  let sw = 0
  let slog = 0
  for (const [asked, delivered, w] of points) {
    sw += w
    slog += w * Math.log(delivered / asked)
  }
  // Elasticity from the trial means: per-pair scatter is the papers, not the response.
  const byAsk = new Map<number, number[]>()
  for (const [asked, delivered] of points) byAsk.set(asked, [...(byAsk.get(asked) ?? []), delivered])
  let elasticity: number | null = null
  if (byAsk.size >= 2) {
    const xs = [...byAsk.keys()].map(Math.log)
    const ys = [...byAsk.values()].map((v) => Math.log(v.reduce((a, b) => a + b, 0) / v.length))
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length
    const my = ys.reduce((a, b) => a + b, 0) / ys.length
    let sxx = 0
    let sxy = 0
    xs.forEach((x, i) => {
      sxx += (x - mx) ** 2
      sxy += (x - mx) * (ys[i]! - my)
    })
    elasticity = sxx > 1e-6 ? sxy / sxx : null
  }
  return {ratio: Math.exp(slog / sw), elasticity}
}

/** Per label: delivered share / planned share (weighted geometric mean); labels never both planned and delivered are absent. */
export function fitShareResponse(observations: readonly Observation[]): Partial<Record<SegmentLabel, number>> {
  const sums = new Map<SegmentLabel, {w: number; log: number}>()
  for (const o of observations) {
    for (const [label, planned] of Object.entries(o.planned) as Array<[SegmentLabel, number]>) {
      const delivered = o.delivered[label] ?? 0
      if (!(planned > 0) || !(delivered > 0)) continue
      const s = sums.get(label) ?? {w: 0, log: 0}
      s.w += weightOf(o)
      s.log += weightOf(o) * Math.log(delivered / planned)
      sums.set(label, s)
    }
  }
  const factors: Partial<Record<SegmentLabel, number>> = {}
  for (const [label, s] of sums) factors[label] = Math.exp(s.log / s.w)
  return factors
}

/** The response model in one line per knob, for the change log and the LLM refiner. */
export function describeResponse(model: {
  length: LengthResponse | null
  questions: RateResponse | null
  sentence: RateResponse | null
  shares: Partial<Record<SegmentLabel, number>>
}): string[] {
  const lines: string[] = []
  if (model.length) {
    lines.push(
      model.length.fitted
        ? `length: delivered words = ${round(model.length.scale, 3)} x asked^${round(model.length.exponent, 3)} (${model.length.points} scripts)`
        : `length: scripts delivered ${round(model.length.scale, 3)} x the words asked (${model.length.points} scripts; asks too alike to fit how it grows)`,
    )
  }
  const rate = (name: string, r: RateResponse | null) => {
    if (!r) return
    const e =
      r.elasticity === null
        ? 'not yet varied'
        : `elasticity ${round(r.elasticity, 2)}${r.elasticity < UNRESPONSIVE_ELASTICITY ? ', the writer ignores it' : ''}`
    lines.push(`${name}: delivered ${round(r.ratio, 3)} x asked (${e})`)
  }
  rate('questions per minute', model.questions)
  rate('sentence length', model.sentence)
  const shares = Object.entries(model.shares).map(([label, f]) => `${label} ${round(f, 2)}`)
  if (shares.length) lines.push(`segment shares, delivered / planned: ${shares.join(', ')}`)
  return lines
}
