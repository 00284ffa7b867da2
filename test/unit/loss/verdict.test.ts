import {describe, expect, it} from 'vitest'

import {
  EXCELLENT_THRESHOLDS,
  formatMeasure,
  trainingVerdict,
  trialVerdict,
  verdictMeasures,
  type VerdictPair,
} from '../../../src/loss/verdict.js'

function pair(
  split: 'train' | 'validation',
  o: {explained: number; total: number; judge: [number, number, number]; rouge1: number},
): VerdictPair & {split: 'train' | 'validation'; losses: {total: number}} {
  return {
    split,
    losses: {total: 0.5},
    details: {
      concepts_total: o.total,
      concepts_explained: Array.from({length: o.explained}, (_, i) => `concept ${i}`),
      judge: {engagement: o.judge[0], clarity: o.judge[1], accuracy: o.judge[2]},
      rouge: {rouge1: o.rouge1},
    },
  }
}

const on = {split: 'train' as const, pairs: 2}

describe('the thresholds of excellent training', () => {
  it('are the design\u2019s: coverage above 80%, judged quality above 75, ROUGE-1 above 0.40', () => {
    expect(EXCELLENT_THRESHOLDS).toEqual({coverage: 0.8, quality: 75, rouge1: 0.4})
    expect(Object.isFrozen(EXCELLENT_THRESHOLDS)).toBe(true)
  })
})

describe('trainingVerdict', () => {
  it('is excellent when every measure is above its threshold', () => {
    const v = trainingVerdict({coverage: 0.81, quality: 75.1, rouge1: 0.41}, on)
    expect(v.excellent).toBe(true)
    expect(v.summary).toBe('excellent')
    expect(v.checks.map((c) => [c.measure, c.met])).toEqual([
      ['coverage', true],
      ['quality', true],
      ['rouge1', true],
    ])
    expect(v.checks.map((c) => c.text)).toEqual([
      'coverage 81.0% (needs above 80%)',
      'judged quality 75.1 (needs above 75)',
      'ROUGE-1 0.410 (needs above 0.40)',
    ])
    expect(v).toMatchObject({split: 'train', pairs: 2})
  })

  it('needs each value strictly above its threshold: exactly at it is "not yet"', () => {
    const v = trainingVerdict({coverage: 0.8, quality: 75, rouge1: 0.4}, on)
    expect(v.excellent).toBe(false)
    expect(v.summary).toBe('not yet: coverage, judged quality, ROUGE-1')
    expect(v.checks.every((c) => !c.met)).toBe(true)
  })

  it('names only the measures that miss', () => {
    const v = trainingVerdict({coverage: 0.725, quality: 90, rouge1: 0.312}, on)
    expect(v.summary).toBe('not yet: coverage, ROUGE-1')
    expect(v.checks.find((c) => c.measure === 'quality')).toMatchObject({value: 90, threshold: 75, met: true})
    expect(v.checks.find((c) => c.measure === 'coverage')).toMatchObject({value: 0.725, threshold: 0.8, met: false})
  })

  it('meets nothing with a value that is not a number', () => {
    const v = trainingVerdict({coverage: Number.NaN, quality: 99, rouge1: 0.9}, on)
    expect(v.summary).toBe('not yet: coverage')
    expect(v.checks[0]!.text).toBe('coverage — (needs above 80%)')
  })
})

describe('verdictMeasures', () => {
  it('averages each pair\u2019s explained share, mean judge score and ROUGE-1, each pair weighted equally', () => {
    const m = verdictMeasures([
      pair('train', {explained: 9, total: 12, judge: [80, 70, 90], rouge1: 0.5}),
      pair('train', {explained: 2, total: 2, judge: [60, 60, 60], rouge1: 0.3}),
    ])!
    expect(m.coverage).toBeCloseTo((0.75 + 1) / 2, 12)
    expect(m.quality).toBeCloseTo((80 + 60) / 2, 12)
    expect(m.rouge1).toBeCloseTo(0.4, 12)
  })

  it('counts a paper without key concepts as fully covered (its coverage loss is 0), and has nothing to say without pairs', () => {
    expect(verdictMeasures([pair('train', {explained: 0, total: 0, judge: [50, 50, 50], rouge1: 0})])!.coverage).toBe(1)
    expect(verdictMeasures([])).toBeNull()
  })
})

describe('trialVerdict', () => {
  const trial = {
    pairs: [
      pair('train', {explained: 12, total: 12, judge: [90, 90, 90], rouge1: 0.6}),
      pair('train', {explained: 12, total: 12, judge: [90, 90, 90], rouge1: 0.6}),
      pair('validation', {explained: 3, total: 12, judge: [50, 50, 50], rouge1: 0.2}),
    ],
  }

  it('measures the pairs of the split that chose the best trial', () => {
    expect(trialVerdict(trial, 'train')).toMatchObject({excellent: true, split: 'train', pairs: 2})
    expect(trialVerdict(trial, 'validation')).toMatchObject({
      excellent: false,
      summary: 'not yet: coverage, judged quality, ROUGE-1',
      split: 'validation',
      pairs: 1,
    })
    const pooled = trialVerdict(trial, 'pooled')!
    expect(pooled).toMatchObject({split: 'pooled', pairs: 3})
    expect(pooled.checks[0]!.value).toBeCloseTo((1 + 1 + 0.25) / 3, 12)
    expect(pooled.summary).toBe('not yet: coverage')
  })

  it('is null for a trial without a pair in that split', () => {
    expect(trialVerdict({pairs: trial.pairs.slice(0, 2)}, 'validation')).toBeNull()
  })
})

describe('formatMeasure', () => {
  it('writes coverage as a percentage, quality on its 0-100 scale and ROUGE-1 as a fraction', () => {
    expect(formatMeasure('coverage', 0.8234)).toBe('82.3%')
    expect(formatMeasure('quality', 81.25)).toBe('81.3')
    expect(formatMeasure('rouge1', 0.41234)).toBe('0.412')
    expect(formatMeasure('coverage', 0.8, true)).toBe('80%')
    expect(formatMeasure('rouge1', 0.4, true)).toBe('0.40')
  })
})
