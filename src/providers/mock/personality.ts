/**
 * The hidden personality of the mock writer (and of the judge that scores it): how the
 * script it writes responds to what the prompt asks. A real model does not write exactly
 * the length, question rate or sentence length it is asked for, and each model misses in
 * its own way; a personality drawn from a seed stands for one such model, so that the
 * optimiser is tested against writers it was not tuned for. Nothing outside
 * src/providers/mock reads a personality: the trainer only sees the scripts.
 */
import {SEGMENT_LABELS, type MockWriter, type SegmentLabel} from '../../core/schemas/common.js'
import {seededRandom, type Random} from '../../core/random.js'

/** Words delivered for words asked. */
export type LengthResponse =
  /** factor x asked. */
  | {kind: 'proportional'; factor: number}
  /** cap x (1 - exp(-factor x asked / cap)): about factor x asked when short, never more than cap. */
  | {kind: 'saturating'; factor: number; cap: number}
  /** factor x asked x (asked / 1000)^-exponent: the longer the ask, the larger the shortfall. */
  | {kind: 'tapering'; factor: number; exponent: number}

/** A rate (questions per minute) or a size (words per sentence) delivered for the one asked. */
export type RateResponse =
  /** factor x asked. */
  | {kind: 'proportional'; factor: number}
  /** value, whatever is asked: the writer's natural habit. */
  | {kind: 'ignores'; value: number}

/** What the judge of this personality likes best. */
export interface JudgeIdeals {
  questionsPerMinute: number
  meanSentenceWords: number
}

export interface Personality {
  /** Which writer this is: 'identity', or the seed it was drawn from. */
  writer: MockWriter
  length: LengthResponse
  /** Questions per minute. */
  questions: RateResponse
  /** Mean words per sentence. */
  sentences: RateResponse
  /** Chance that a concept the prompt asks to cover is explained, and that one it does not ask for is. */
  coverage: {asked: number; unasked: number}
  /** Delivered share of a label is proportional to its planned share times its factor. */
  segmentFactors: Record<SegmentLabel, number>
  /** Relative call-to-call noise (half-width of a uniform draw) on length and on the two rates. */
  noise: {length: number; rate: number}
  /** The judge's ideals; null: the reference episode's own question rate and sentence length. */
  judge: JudgeIdeals | null
}

const ONES = Object.fromEntries(SEGMENT_LABELS.map((label) => [label, 1])) as Record<SegmentLabel, number>

/** Does exactly what it is asked, without noise; its judge likes the reference episode's style. */
export const IDENTITY: Personality = Object.freeze({
  writer: 'identity',
  length: {kind: 'proportional', factor: 1},
  questions: {kind: 'proportional', factor: 1},
  sentences: {kind: 'proportional', factor: 1},
  coverage: {asked: 1, unasked: 0},
  segmentFactors: ONES,
  noise: {length: 0, rate: 0},
  judge: null,
} satisfies Personality)

/** The ranges personalities are drawn from (TRAINING.md, "Mock writers", lists them). */
export const RANGES = {
  lengthFactor: [0.55, 1.45],
  saturationCap: [600, 3000],
  taperExponent: [0.1, 0.35],
  questionFactor: [0.4, 1.6],
  /** Questions per minute of a writer that ignores the asked rate. */
  naturalQuestions: [0.5, 3],
  sentenceFactor: [0.6, 1.5],
  /** Words per sentence of a writer that ignores the asked length. */
  naturalSentence: [8, 24],
  askedCoverage: [0.5, 1],
  unaskedCoverage: [0.05, 0.2],
  /** Standard deviation of the log of a segment factor. */
  segmentSigma: 0.35,
  judgeQuestions: [1, 4],
  judgeSentence: [9, 20],
  /** Share of writers that ignore the asked question rate, and the asked sentence length. */
  ignoresQuestions: 0.2,
  ignoresSentences: 0.2,
} as const

const NOISE = {length: 0.03, rate: 0.05}

function uniform(random: Random, [low, high]: readonly [number, number]): number {
  return low + (high - low) * random()
}

function normal(random: Random): number {
  // Box-Muller; 1 - u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

/** Deterministic: the same seed always gives the same personality. */
export function drawPersonality(seed: number): Personality {
  const random = seededRandom('mock-writer', seed)
  const kind = random()
  const factor = uniform(random, RANGES.lengthFactor)
  const length: LengthResponse =
    kind < 1 / 3
      ? {kind: 'proportional', factor}
      : kind < 2 / 3
        ? // Log-uniform: caps spread evenly over short and long episodes alike.
          {kind: 'saturating', factor, cap: RANGES.saturationCap[0] * (RANGES.saturationCap[1] / RANGES.saturationCap[0]) ** random()}
        : {kind: 'tapering', factor, exponent: uniform(random, RANGES.taperExponent)}
  const questions: RateResponse =
    random() < RANGES.ignoresQuestions
      ? {kind: 'ignores', value: uniform(random, RANGES.naturalQuestions)}
      : {kind: 'proportional', factor: uniform(random, RANGES.questionFactor)}
  const sentences: RateResponse =
    random() < RANGES.ignoresSentences
      ? {kind: 'ignores', value: uniform(random, RANGES.naturalSentence)}
      : {kind: 'proportional', factor: uniform(random, RANGES.sentenceFactor)}
  const coverage = {asked: uniform(random, RANGES.askedCoverage), unasked: uniform(random, RANGES.unaskedCoverage)}
  const segmentFactors = Object.fromEntries(
    SEGMENT_LABELS.map((label) => [label, Math.exp(RANGES.segmentSigma * normal(random))]),
  ) as Record<SegmentLabel, number>
  const judge = {questionsPerMinute: uniform(random, RANGES.judgeQuestions), meanSentenceWords: uniform(random, RANGES.judgeSentence)}
  return {writer: seed, length, questions, sentences, coverage, segmentFactors, noise: NOISE, judge}
}

/** The personality of a writer choice: identity, or drawn from its seed. */
export function personalityOf(writer: MockWriter): Personality {
  return writer === 'identity' ? IDENTITY : drawPersonality(writer)
}

/** Words delivered when `asked` are asked, before call-to-call noise. */
export function deliveredWords(response: LengthResponse, asked: number): number {
  switch (response.kind) {
    case 'proportional':
      return response.factor * asked
    case 'saturating':
      return response.cap * (1 - Math.exp((-response.factor * asked) / response.cap))
    case 'tapering':
      return response.factor * asked * (Math.max(asked, 1) / 1000) ** -response.exponent
  }
}

/**
 * The words to ask for so that `wanted` are delivered (the inverse of deliveredWords), or
 * null when no ask delivers that many (a saturating writer's cap). For simulations that
 * know the personality, such as the calibration benchmark's oracle; never the trainer.
 */
export function wordsToAsk(response: LengthResponse, wanted: number): number | null {
  switch (response.kind) {
    case 'proportional':
      return wanted / response.factor
    case 'saturating':
      return wanted < response.cap ? (-response.cap / response.factor) * Math.log(1 - wanted / response.cap) : null
    case 'tapering':
      // wanted = factor x asked^(1-k) x 1000^k
      return (wanted / (response.factor * 1000 ** response.exponent)) ** (1 / (1 - response.exponent))
  }
}

/** The rate (or sentence length) delivered for the one asked, before noise. */
export function deliveredRate(response: RateResponse, asked: number): number {
  return response.kind === 'ignores' ? response.value : response.factor * asked
}

/** The rate to ask for so that `wanted` is delivered, or null when the writer ignores the ask. */
export function rateToAsk(response: RateResponse, wanted: number): number | null {
  return response.kind === 'ignores' ? null : wanted / response.factor
}

/** Multipliers of one call: 1 +- noise, the same for the same call key (so cached and resumed calls agree). */
export function callNoise(
  personality: Personality,
  ...key: Array<string | number>
): {length: number; questions: number; sentences: number} {
  const random = seededRandom('mock-writer-noise', ...key)
  const spread = (width: number) => 1 + width * (2 * random() - 1)
  return {length: spread(personality.noise.length), questions: spread(personality.noise.rate), sentences: spread(personality.noise.rate)}
}

/**
 * Whether the writer explains a concept: a coin per (writer, paper, concept), fixed, so
 * that asking for one more concept never makes the writer drop another. The same coin
 * decides asked and unasked concepts, against the higher and the lower chance.
 */
export function explainsConcept(personality: Personality, paperKey: string, term: string, asked: boolean): boolean {
  const p = asked ? personality.coverage.asked : personality.coverage.unasked
  if (p >= 1) return true
  if (p <= 0) return false
  return seededRandom('mock-writer-concept', String(personality.writer), paperKey, term.toLowerCase())() < p
}

/** One line about a personality, for benchmark tables and test failures. */
export function describePersonality(p: Personality): string {
  const length =
    p.length.kind === 'proportional'
      ? `length ${p.length.factor.toFixed(2)}x`
      : p.length.kind === 'saturating'
        ? `length ${p.length.factor.toFixed(2)}x capped at ${Math.round(p.length.cap)}`
        : `length ${p.length.factor.toFixed(2)}x (asked/1000)^-${p.length.exponent.toFixed(2)}`
  const rate = (r: RateResponse, unit: string) =>
    r.kind === 'ignores' ? `${unit} fixed ${r.value.toFixed(1)}` : `${unit} ${r.factor.toFixed(2)}x`
  const judge = p.judge
    ? `judge ${p.judge.questionsPerMinute.toFixed(1)} q/min, ${p.judge.meanSentenceWords.toFixed(1)} w/sentence`
    : 'judge reference'
  return `${String(p.writer)}: ${length}; ${rate(p.questions, 'questions')}; ${rate(p.sentences, 'sentences')}; covers ${p.coverage.asked.toFixed(2)}/${p.coverage.unasked.toFixed(2)}; ${judge}`
}
