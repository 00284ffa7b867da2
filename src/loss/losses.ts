/**
 * The individual training losses. Every loss is a
 * pure function returning a number in [0, 1] (0 = perfect) and throws
 * {@link LossArgumentError} on invalid input.
 */
import {distance} from 'fastest-levenshtein'

import {formatValue, LossArgumentError} from './errors.js'

function fail(fn: string, message: string): never {
  throw new LossArgumentError(`${fn}: ${message}`)
}

function requireFiniteNonNegative(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(fn, `${name} must be a finite number >= 0, got ${formatValue(value)}`)
  }
  return value
}

/**
 * `min(1, |generated - reference| / reference)`.
 * @throws LossArgumentError if generatedSeconds is negative or not finite, or
 *   referenceSeconds is not finite or <= 0.
 */
export function durationLoss(generatedSeconds: number, referenceSeconds: number): number {
  const fn = 'durationLoss'
  requireFiniteNonNegative(fn, 'generatedSeconds', generatedSeconds)
  if (typeof referenceSeconds !== 'number' || !Number.isFinite(referenceSeconds)) {
    fail(fn, `referenceSeconds must be a finite number > 0, got ${formatValue(referenceSeconds)}`)
  }
  if (referenceSeconds <= 0) fail(fn, `referenceSeconds must be > 0, got ${formatValue(referenceSeconds)}`)
  return Math.min(1, Math.abs(generatedSeconds - referenceSeconds) / referenceSeconds)
}

/**
 * `1 - explained / total`: the share of reference items the generated script
 * did not explain.
 * @throws LossArgumentError unless both are integers >= 0, explained <= total
 *   and total > 0.
 */
export function coverageLoss(explained: number, total: number): number {
  const fn = 'coverageLoss'
  for (const [name, value] of [
    ['explained', explained],
    ['total', total],
  ] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      fail(fn, `${name} must be an integer >= 0, got ${formatValue(value)}`)
    }
  }
  if (total === 0) fail(fn, 'total must be > 0, got 0')
  if (explained > total) fail(fn, `explained must be <= total (${total}), got ${explained}`)
  return 1 - explained / total
}

/** One section of a script: its label (e.g. "intro", "interview") and its word count. */
export type LabelledWords = {label: string; words: number}

function validateSections(fn: string, name: string, sections: unknown): LabelledWords[] {
  if (!Array.isArray(sections)) fail(fn, `${name} must be an array of {label, words}, got ${formatValue(sections)}`)
  sections.forEach((item: unknown, i: number) => {
    if (typeof item !== 'object' || item === null) {
      fail(fn, `${name}[${i}] must be an object {label, words}, got ${formatValue(item)}`)
    }
    const {label, words} = item as {label?: unknown; words?: unknown}
    if (typeof label !== 'string') fail(fn, `${name}[${i}].label must be a string, got ${formatValue(label)}`)
    if (typeof words !== 'number' || !Number.isFinite(words) || words < 0) {
      fail(fn, `${name}[${i}].words must be a finite number >= 0, got ${formatValue(words)}`)
    }
  })
  return sections as LabelledWords[]
}

/** Label sequence with consecutive repeats collapsed, one code unit per label. */
function collapsedSequence(sections: LabelledWords[], codes: Map<string, string>): string {
  let out = ''
  let previous: string | undefined
  for (const {label} of sections) {
    if (label === previous) continue
    previous = label
    out += codes.get(label) ?? ''
  }
  return out
}

function wordShares(sections: LabelledWords[]): {total: number; shares: Map<string, number>} {
  const sums = new Map<string, number>()
  let total = 0
  for (const {label, words} of sections) {
    sums.set(label, (sums.get(label) ?? 0) + words)
    total += words
  }
  const shares = new Map<string, number>()
  if (total > 0) for (const [label, sum] of sums) shares.set(label, sum / total)
  return {total, shares}
}

/** Largest number of distinct labels: codes run from 'A' (0x41) up to 0xFFFF. */
const MAX_LABELS = 0x10000 - 0x41

/**
 * `0.5 * lev + 0.5 * dist` where
 * - `lev` = Levenshtein distance between the two label sequences (consecutive
 *   repeats collapsed) divided by the longer collapsed length (0 if both empty);
 * - `dist` = total variation distance `0.5 * Σ|p - q|` between the shares of
 *   words per label (1 if exactly one side has zero words, 0 if both do).
 * @throws LossArgumentError on a non-array, a non-string label, or words that
 *   are negative, NaN or infinite.
 */
export function structureLoss(generated: LabelledWords[], reference: LabelledWords[]): number {
  const fn = 'structureLoss'
  const gen = validateSections(fn, 'generated', generated)
  const ref = validateSections(fn, 'reference', reference)

  const codes = new Map<string, string>()
  for (const {label} of [...gen, ...ref]) {
    if (!codes.has(label)) {
      if (codes.size >= MAX_LABELS) fail(fn, `at most ${MAX_LABELS} distinct labels are supported`)
      codes.set(label, String.fromCharCode(0x41 + codes.size))
    }
  }
  const a = collapsedSequence(gen, codes)
  const b = collapsedSequence(ref, codes)
  const longer = Math.max(a.length, b.length)
  const lev = longer === 0 ? 0 : distance(a, b) / longer

  const p = wordShares(gen)
  const q = wordShares(ref)
  let dist: number
  if (p.total === 0 && q.total === 0) dist = 0
  else if (p.total === 0 || q.total === 0) dist = 1
  else {
    let sum = 0
    for (const label of codes.keys()) sum += Math.abs((p.shares.get(label) ?? 0) - (q.shares.get(label) ?? 0))
    dist = 0.5 * sum
  }
  return clamp01(0.5 * lev + 0.5 * dist)
}

/**
 * `1 - mean(engagement, clarity, accuracy) / 100`.
 * @throws LossArgumentError if a score is missing, NaN or outside 0..100.
 */
export function qualityLoss(scores: {engagement: number; clarity: number; accuracy: number}): number {
  const fn = 'qualityLoss'
  if (typeof scores !== 'object' || scores === null) {
    fail(fn, `scores must be an object {engagement, clarity, accuracy}, got ${formatValue(scores)}`)
  }
  let sum = 0
  for (const key of ['engagement', 'clarity', 'accuracy'] as const) {
    const value: unknown = scores[key]
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 100) {
      fail(fn, `scores.${key} must be a number in 0..100, got ${formatValue(value)}`)
    }
    sum += value
  }
  return clamp01(1 - sum / 3 / 100)
}

/** Clamp to [0, 1]. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}
