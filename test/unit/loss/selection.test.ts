import {describe, expect, it} from 'vitest'

import {bestTrial, selectionSeries, selectionSplit} from '../../../src/loss/selection.js'

const trial = (index: number, train: number, validation: number | null = null) => ({
  index,
  mean_losses: {total: train},
  validation_mean_losses: validation === null ? null : {total: validation},
})

describe('the best-trial rule', () => {
  it('chooses and reports by the training loss when no pair is held out', () => {
    const trials = [trial(0, 0.3), trial(1, 0.2), trial(2, 0.25)]
    expect(selectionSplit(trials)).toBe('train')
    expect(selectionSeries(trials)).toEqual([0.3, 0.2, 0.25])
    expect(bestTrial(trials)).toEqual({
      position: 1,
      index: 1,
      selectedBy: 'train',
      loss: 0.2,
      firstLoss: 0.3,
      improvement: (0.3 - 0.2) / 0.3,
    })
  })

  it('chooses and reports by the validation loss when pairs are held out, even where the training loss disagrees', () => {
    // Trial 1 fits the training pairs best; trial 2 generalises best.
    const trials = [trial(0, 0.3, 0.4), trial(1, 0.1, 0.35), trial(2, 0.2, 0.3)]
    const best = bestTrial(trials)!
    expect(best.selectedBy).toBe('validation')
    expect(best.index).toBe(2)
    expect(best.loss).toBe(0.3)
    expect(best.firstLoss).toBe(0.4)
    expect(best.improvement).toBeCloseTo(0.25, 12)
  })

  it('keeps the earlier trial on a tie, and says there is no improvement when trial 0 is the best', () => {
    const best = bestTrial([trial(0, 0.2), trial(1, 0.2), trial(2, 0.3)])!
    expect(best.index).toBe(0)
    expect(best.improvement).toBe(0)
  })

  it('has no improvement to report from a first loss of 0, and no best trial before any trial', () => {
    expect(bestTrial([trial(0, 0), trial(1, 0)])!.improvement).toBeNull()
    expect(bestTrial([])).toBeNull()
  })

  it('reports the trial index, not its position, for a list that does not start at trial 0', () => {
    const best = bestTrial([trial(3, 0.5), trial(4, 0.4)])!
    expect(best).toMatchObject({position: 1, index: 4})
  })
})
