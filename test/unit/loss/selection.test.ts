import {describe, expect, it} from 'vitest'

import {
  bestTrial,
  MIN_VALIDATION_PAIRS,
  SELECTION_LOSS_NAME,
  selectionLoss,
  selectionPairs,
  selectionSeries,
  selectionSplit,
  VALIDATION_TIE_TOLERANCE,
  validationPairsScored,
  type TrialLosses,
} from '../../../src/loss/selection.js'

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

/** A trial with the given total loss per training pair and per validation pair, and the means a trial computes from them. */
function trial(index: number, train: number[], validation: number[] = []): TrialLosses {
  return {
    index,
    mean_losses: {total: mean(train)},
    validation_mean_losses: validation.length ? {total: mean(validation)} : null,
    pairs: [
      ...train.map((total) => ({split: 'train' as const, losses: {total}})),
      ...validation.map((total) => ({split: 'validation' as const, losses: {total}})),
    ],
  }
}

describe('the best-trial rule without validation pairs', () => {
  it('chooses and reports by the training loss', () => {
    const trials = [trial(0, [0.3, 0.3]), trial(1, [0.1, 0.3]), trial(2, [0.25, 0.25])]
    expect(selectionSplit(trials)).toBe('train')
    expect(selectionSeries(trials)).toEqual([0.3, 0.2, 0.25])
    expect(bestTrial(trials)).toEqual({
      position: 1,
      index: 1,
      selectedBy: 'train',
      loss: 0.2,
      firstLoss: 0.3,
      improvement: (0.3 - 0.2) / 0.3,
      pairs: 2,
      validationPairs: 0,
      tied: [],
      rule: 'Best trial chosen by the mean total loss of 2 pairs: no pair is held out for validation.',
    })
  })

  it('keeps the earlier trial on a tie, and says there is no improvement when trial 0 is the best', () => {
    const best = bestTrial([trial(0, [0.2]), trial(1, [0.2]), trial(2, [0.3])])!
    expect(best.index).toBe(0)
    expect(best.improvement).toBe(0)
  })

  it('has no improvement to report from a first loss of 0, and no best trial before any trial', () => {
    expect(bestTrial([trial(0, [0]), trial(1, [0])])!.improvement).toBeNull()
    expect(bestTrial([])).toBeNull()
  })

  it('reports the trial index, not its position, for a list that does not start at trial 0', () => {
    const best = bestTrial([trial(3, [0.5]), trial(4, [0.4])])!
    expect(best).toMatchObject({position: 1, index: 4})
  })
})

describe('the best-trial rule with 1 or 2 validation pairs: pooled', () => {
  // Trial 1 is a lucky draw for the one validation pair and bad on the training pairs;
  // trial 2 is good on the training pairs and middling on the validation pair.
  const lucky = [trial(0, [0.4, 0.4], [0.4]), trial(1, [0.5, 0.5], [0.1]), trial(2, [0.2, 0.2], [0.3])]

  it('is not hijacked by one validation pair: it compares every pair pooled, each weighted equally', () => {
    expect(selectionSplit(lucky)).toBe('pooled')
    // Validation alone would choose trial 1 (0.1); pooled: (0.4·3)/3, (0.5+0.5+0.1)/3, (0.2+0.2+0.3)/3.
    expect(selectionSeries(lucky).map((v) => Number(v.toFixed(12)))).toEqual([
      0.4,
      Number((1.1 / 3).toFixed(12)),
      Number((0.7 / 3).toFixed(12)),
    ])
    const best = bestTrial(lucky)!
    expect(best).toMatchObject({index: 2, selectedBy: 'pooled', pairs: 3, validationPairs: 1, tied: []})
    expect(best.loss).toBeCloseTo(0.7 / 3, 12)
    expect(best.firstLoss).toBeCloseTo(0.4, 12)
    expect(best.rule).toBe(
      'Best trial chosen by the pooled loss of 3 pairs (training + validation): only 1 validation pair, too few to choose on alone.',
    )
  })

  it('weights each pair equally, not each split: 1 training pair against 2 validation pairs', () => {
    // The mean of the two split means would choose trial 0 ((0.1 + 0.4) / 2 = 0.25 against (0.3 + 0.25) / 2 = 0.275);
    // per pair, trial 0 is 0.9 / 3 = 0.3 and trial 1 is 0.8 / 3 ≈ 0.267.
    const trials = [trial(0, [0.1], [0.4, 0.4]), trial(1, [0.3], [0.25, 0.25])]
    expect(selectionSplit(trials)).toBe('pooled')
    expect(selectionLoss(trials[0]!, 'pooled')).toBeCloseTo(0.9 / 3, 12)
    expect(selectionLoss(trials[1]!, 'pooled')).toBeCloseTo(0.8 / 3, 12)
    expect(bestTrial(trials)).toMatchObject({index: 1, pairs: 3, validationPairs: 2})
    expect(bestTrial(trials)!.rule).toContain('only 2 validation pairs, too few')
  })

  it('counts the validation pairs scored in every trial: one failed pair turns a holdout of 3 into a pooled choice', () => {
    const trials = [trial(0, [0.4], [0.4, 0.4, 0.4]), trial(1, [0.4], [0.2, 0.2])]
    expect(validationPairsScored(trials)).toBe(2)
    expect(selectionSplit(trials)).toBe('pooled')
    expect(validationPairsScored(trials.slice(0, 1))).toBe(3)
    expect(selectionSplit(trials.slice(0, 1))).toBe('validation')
  })

  it('still pools when no validation pair was scored in some trial, and never chooses a trial without any pair', () => {
    const trials = [trial(0, [0.4], [0.4]), {...trial(1, [0.1]), validation_mean_losses: null}, {...trial(2, [0.05]), pairs: []}]
    expect(selectionSplit(trials)).toBe('pooled')
    expect(selectionLoss(trials[2]!, 'pooled')).toBe(Number.POSITIVE_INFINITY)
    const best = bestTrial(trials)!
    expect(best.index).toBe(1)
    expect(best.rule).toContain('no validation pair was scored in every trial')
  })
})

describe(`the best-trial rule with ${MIN_VALIDATION_PAIRS} or more validation pairs: validation`, () => {
  it('chooses by the validation loss, even where the training and pooled losses disagree', () => {
    const trials = [trial(0, [0.3], [0.4, 0.4, 0.4]), trial(1, [0.05], [0.35, 0.35, 0.35]), trial(2, [0.2], [0.3, 0.3, 0.3])]
    expect(selectionSplit(trials)).toBe('validation')
    // Training and pooled losses both favour trial 1.
    expect(trials.map((t) => selectionLoss(t, 'train'))).toEqual([0.3, 0.05, 0.2])
    expect(trials.map((t) => selectionLoss(t, 'pooled')).map((v) => v.toFixed(4))).toEqual(['0.3750', '0.2750', '0.2750'])
    const best = bestTrial(trials)!
    expect(best).toMatchObject({index: 2, selectedBy: 'validation', pairs: 3, validationPairs: 3, tied: []})
    expect(best.loss).toBeCloseTo(0.3, 12)
    expect(best.improvement).toBeCloseTo(0.25, 12)
    expect(best.rule).toBe(
      `Best trial chosen by the validation loss of 3 pairs, validation losses within ${VALIDATION_TIE_TOLERANCE} of the lowest counting as tied and the training loss breaking ties.`,
    )
  })

  it(`counts validation losses within ${VALIDATION_TIE_TOLERANCE} of the lowest as tied, and the lower training loss breaks the tie`, () => {
    const v = (total: number) => [total, total, total]
    const trials = [
      trial(0, [0.5], v(0.4)),
      trial(1, [0.3], v(0.2)), // the lowest validation loss
      trial(2, [0.1], v(0.2 + VALIDATION_TIE_TOLERANCE)), // tied (exactly at the tolerance) and lower training loss: chosen
      trial(3, [0.05], v(0.2 + VALIDATION_TIE_TOLERANCE + 0.0005)), // just outside the tolerance: not tied
    ]
    const best = bestTrial(trials)!
    expect(best).toMatchObject({index: 2, selectedBy: 'validation', tied: [1, 2]})
    expect(best.loss).toBeCloseTo(0.2 + VALIDATION_TIE_TOLERANCE, 12)
    expect(best.rule).toContain('; trials 1 and 2 tied, and trial 2 had the lowest training loss.')
  })

  it('keeps the earlier of tied trials with the same training loss', () => {
    const trials = [trial(0, [0.2], [0.3, 0.3, 0.3]), trial(1, [0.2], [0.299, 0.299, 0.299])]
    expect(bestTrial(trials)).toMatchObject({index: 0, tied: [0, 1]})
  })
})

describe('a selection recorded in a report', () => {
  it('is reported as recorded, even when the rule would now choose otherwise (a run made before pooling)', () => {
    const trials = [trial(0, [0.4, 0.4], [0.4]), trial(1, [0.5, 0.5], [0.1]), trial(2, [0.2, 0.2], [0.3])]
    expect(bestTrial(trials)!.index).toBe(2)
    const best = bestTrial(trials, {index: 1, selected_by: 'validation'})!
    expect(best).toMatchObject({position: 1, index: 1, selectedBy: 'validation', loss: 0.1, pairs: 1, validationPairs: 1})
    expect(best.rule).toBe(
      'Best trial chosen by the validation loss of 1 pair, as recorded when the run was made (studio now needs 3 validation pairs to choose on them alone).',
    )
  })

  it('agrees with the rule when the report was written by it, and falls back to the rule for a trial it does not list', () => {
    const trials = [trial(0, [0.4, 0.4], [0.4]), trial(1, [0.5, 0.5], [0.1]), trial(2, [0.2, 0.2], [0.3])]
    expect(bestTrial(trials, {index: 2, selected_by: 'pooled'})).toEqual(bestTrial(trials))
    expect(bestTrial(trials, {index: 9, selected_by: 'pooled'})).toEqual(bestTrial(trials))
  })
})

describe('the words for the selection', () => {
  it('names every split', () => {
    expect(SELECTION_LOSS_NAME).toEqual({
      train: 'mean total loss',
      validation: 'validation loss',
      pooled: 'pooled loss (training + validation pairs)',
    })
  })

  it('selects the pairs each split averages', () => {
    const pairs = trial(0, [0.1, 0.2], [0.3]).pairs
    expect(selectionPairs(pairs, 'train').map((p) => p.losses.total)).toEqual([0.1, 0.2])
    expect(selectionPairs(pairs, 'validation').map((p) => p.losses.total)).toEqual([0.3])
    expect(selectionPairs(pairs, 'pooled').map((p) => p.losses.total)).toEqual([0.1, 0.2, 0.3])
  })
})
