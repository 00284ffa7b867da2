/**
 * Whether a training run produced excellent scripts, by the design's thresholds: coverage of
 * the paper's key concepts above 80%, judged quality above 75 and ROUGE-1 above 0.40. The
 * losses say how far a trial is from the references; the verdict says whether that is good
 * enough to stop tuning. Every view (training_report.json, the terminal summary, `training
 * status`, `training report` and the HTML report) takes it from here.
 */
import {selectionPairs, type PairLoss, type SelectionSplit} from './selection.js'

/** "Excellent training", each measure strictly above its threshold. */
export const EXCELLENT_THRESHOLDS = Object.freeze({
  /** Share of the paper's key concepts explained, 0..1. */
  coverage: 0.8,
  /** Mean of the judge's engagement, clarity and accuracy, 0..100. */
  quality: 75,
  /** ROUGE-1 F-measure against the reference transcript, 0..1. */
  rouge1: 0.4,
})

export type VerdictMeasure = keyof typeof EXCELLENT_THRESHOLDS

/** In the order every view lists them. */
export const VERDICT_MEASURES: readonly VerdictMeasure[] = Object.freeze(['coverage', 'quality', 'rouge1'])

export const VERDICT_TITLE: Readonly<Record<VerdictMeasure, string>> = Object.freeze({
  coverage: 'coverage',
  quality: 'judged quality',
  rouge1: 'ROUGE-1',
})

export interface VerdictCheck {
  measure: VerdictMeasure
  title: string
  value: number
  threshold: number
  met: boolean
  /** "coverage 72.5% (needs above 80%)": the value and what it is measured against. */
  text: string
}

export interface Verdict {
  excellent: boolean
  /** "excellent", or "not yet: " and the measures that miss their threshold ("not yet: coverage, ROUGE-1"). */
  summary: string
  /** The pairs measured: those the best trial was chosen by (loss/selection.ts). */
  split: SelectionSplit
  pairs: number
  checks: VerdictCheck[]
}

/** What the verdict reads of a scored pair (a PairTrialResult of results.json fits). */
export interface VerdictPair {
  details: {
    concepts_total: number
    concepts_explained: readonly string[]
    judge: {engagement: number; clarity: number; accuracy: number}
    rouge: {rouge1: number}
  }
}

/** A measure as people read it: coverage as a percentage, quality on its 0..100 scale, ROUGE-1 as a fraction. */
export function formatMeasure(measure: VerdictMeasure, value: number, threshold = false): string {
  if (!Number.isFinite(value)) return '—'
  if (measure === 'coverage') return `${(value * 100).toFixed(threshold ? 0 : 1)}%`
  if (measure === 'quality') return value.toFixed(threshold ? 0 : 1)
  return value.toFixed(threshold ? 2 : 3)
}

/**
 * Means over the pairs, each pair weighted equally (as the losses are averaged): the share of
 * its key concepts explained (1 for a paper without any, as its coverage loss is 0), the mean of
 * its three judge scores, its ROUGE-1 F-measure. Null without a pair.
 */
export function verdictMeasures(pairs: readonly VerdictPair[]): Record<VerdictMeasure, number> | null {
  if (pairs.length === 0) return null
  let coverage = 0
  let quality = 0
  let rouge1 = 0
  for (const {details: d} of pairs) {
    coverage += d.concepts_total > 0 ? Math.min(d.concepts_explained.length, d.concepts_total) / d.concepts_total : 1
    quality += (d.judge.engagement + d.judge.clarity + d.judge.accuracy) / 3
    rouge1 += d.rouge.rouge1
  }
  const n = pairs.length
  return {coverage: coverage / n, quality: quality / n, rouge1: rouge1 / n}
}

/** The verdict on measured values: each threshold met or not, and overall. A value that is not a number meets nothing. */
export function trainingVerdict(measures: Record<VerdictMeasure, number>, on: {split: SelectionSplit; pairs: number}): Verdict {
  const checks = VERDICT_MEASURES.map((measure): VerdictCheck => {
    const value = measures[measure]
    const threshold = EXCELLENT_THRESHOLDS[measure]
    return {
      measure,
      title: VERDICT_TITLE[measure],
      value,
      threshold,
      met: Number.isFinite(value) && value > threshold,
      text: `${VERDICT_TITLE[measure]} ${formatMeasure(measure, value)} (needs above ${formatMeasure(measure, threshold, true)})`,
    }
  })
  const missed = checks.filter((c) => !c.met)
  return {
    excellent: missed.length === 0,
    summary: missed.length === 0 ? 'excellent' : `not yet: ${missed.map((c) => c.title).join(', ')}`,
    split: on.split,
    pairs: on.pairs,
    checks,
  }
}

/** The verdict on a trial, measured on the pairs its selection split covers; null when it has none. */
export function trialVerdict(trial: {pairs: ReadonlyArray<PairLoss & VerdictPair>}, split: SelectionSplit): Verdict | null {
  const pairs = selectionPairs(trial.pairs, split)
  const measures = verdictMeasures(pairs)
  return measures ? trainingVerdict(measures, {split, pairs: pairs.length}) : null
}
