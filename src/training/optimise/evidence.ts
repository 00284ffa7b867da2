/**
 * Evidence for the LLM refiner: what went wrong on the worst pairs of the last trial,
 * in terms it can act on (missed concepts, structure, length, the judge's complaint).
 */
import type {LossBreakdown, SegmentLabel} from '../../core/schemas/common.js'
import type {PairTrialResult, TrialResults} from '../../core/schemas/files.js'
import {round} from '../../core/text.js'

export type StructureOp = {op: 'same' | 'missing' | 'extra'; label: SegmentLabel}

export interface StructureDiff {
  /** The alignment, in order: `same` in both, `missing` only in the reference, `extra` only in the script. */
  ops: StructureOp[]
  /** Labels the reference has and the script lacks (each occurrence). */
  missing: SegmentLabel[]
  /** Labels the script has and the reference lacks (each occurrence). */
  extra: SegmentLabel[]
  /** Labels that are both missing and extra: present in both, but in another place. */
  moved: SegmentLabel[]
  /** E.g. `intro background -method findings +method outro (moved: method)`, or `identical`. */
  text: string
}

export interface DurationError {
  generated_seconds: number
  reference_seconds: number
  /** generated - reference, in seconds (negative: the script is too short), to 0.1 s. */
  seconds: number
  /** The same relative to the reference, in percent to 0.1; null when the reference has no duration. */
  percent: number | null
}

export const JUDGE_DIMENSIONS = ['engagement', 'clarity', 'accuracy'] as const
export type JudgeDimension = (typeof JUDGE_DIMENSIONS)[number]

export interface PairEvidence {
  pair_id: string
  losses: LossBreakdown
  concepts_total: number
  concepts_missed: string[]
  reference_sequence: SegmentLabel[]
  generated_sequence: SegmentLabel[]
  structure_diff: StructureDiff
  duration_error: DurationError
  /** The judge's lowest score (first in engagement, clarity, accuracy order on ties) and its reason. */
  weakest_dimension: {dimension: JudgeDimension; score: number; reason: string}
}

/** The pairs shown to the refiner by default. */
export const WORST_PAIRS = 3

/**
 * An LCS alignment of two label sequences. Where several alignments are equally long,
 * a reference label is dropped before a script label is added, so the result is
 * deterministic.
 */
export function structureDiff(reference: readonly SegmentLabel[], generated: readonly SegmentLabel[]): StructureDiff {
  const n = reference.length
  const m = generated.length
  // lcs[i][j]: length of the longest common subsequence of reference[i..] and generated[j..].
  const lcs = Array.from({length: n + 1}, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = reference[i] === generated[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const ops: StructureOp[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && reference[i] === generated[j]) {
      ops.push({op: 'same', label: reference[i++]!})
      j++
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({op: 'missing', label: reference[i++]!})
    } else {
      ops.push({op: 'extra', label: generated[j++]!})
    }
  }
  const missing = ops.filter((o) => o.op === 'missing').map((o) => o.label)
  const extra = ops.filter((o) => o.op === 'extra').map((o) => o.label)
  const moved = [...new Set(missing.filter((label) => extra.includes(label)))]
  const text = ops.every((o) => o.op === 'same')
    ? 'identical'
    : ops.map((o) => (o.op === 'same' ? o.label : o.op === 'missing' ? `-${o.label}` : `+${o.label}`)).join(' ') +
      (moved.length ? ` (moved: ${moved.join(', ')})` : '')
  return {ops, missing, extra, moved, text}
}

export function durationError(generatedSeconds: number, referenceSeconds: number): DurationError {
  const difference = generatedSeconds - referenceSeconds
  return {
    generated_seconds: round(generatedSeconds, 1),
    reference_seconds: round(referenceSeconds, 1),
    seconds: round(difference, 1),
    percent: referenceSeconds > 0 ? round((difference / referenceSeconds) * 100, 1) : null,
  }
}

export function weakestDimension(judge: PairTrialResult['details']['judge']): PairEvidence['weakest_dimension'] {
  let dimension: JudgeDimension = JUDGE_DIMENSIONS[0]
  for (const d of JUDGE_DIMENSIONS) if (judge[d] < judge[dimension]) dimension = d
  return {dimension, score: judge[dimension], reason: judge.weakest_dimension_reason}
}

export function pairEvidence(pair: PairTrialResult): PairEvidence {
  const {details} = pair
  return {
    pair_id: pair.pair_id,
    losses: pair.losses,
    concepts_total: details.concepts_total,
    concepts_missed: [...details.concepts_missed],
    reference_sequence: [...details.reference_sequence],
    generated_sequence: [...details.generated_sequence],
    structure_diff: structureDiff(details.reference_sequence, details.generated_sequence),
    duration_error: durationError(details.generated_seconds, details.reference_seconds),
    weakest_dimension: weakestDimension(details.judge),
  }
}

/**
 * The `worst` training pairs of a trial by total loss (highest first; equal totals by
 * pair id). Validation pairs are never evidence, even when the caller passes them.
 */
export function buildEvidence(trial: TrialResults, worst: number = WORST_PAIRS): PairEvidence[] {
  if (!Number.isInteger(worst) || worst < 0) throw new RangeError(`buildEvidence: worst must be an integer >= 0, got ${worst}`)
  return trial.pairs
    .filter((p) => p.split !== 'validation')
    .sort((a, b) => b.losses.total - a.losses.total || (a.pair_id < b.pair_id ? -1 : a.pair_id > b.pair_id ? 1 : 0))
    .slice(0, worst)
    .map(pairEvidence)
}
