import {describe, it, expect} from 'vitest'
import fc from 'fast-check'
import {hasConverged, bestTrialIndex, LossArgumentError} from '../../../src/loss/index.js'

describe('hasConverged', () => {
  it('is false until there are 2·window totals', () => {
    expect(hasConverged([])).toBe(false)
    expect(hasConverged([0.5, 0.5, 0.5])).toBe(false) // default window 2 needs 4
    expect(hasConverged([0.5, 0.5], {window: 1})).toBe(true)
  })

  it('compares the mean of the last window with the window before it', () => {
    // prev = mean(0.5, 0.4) = 0.45, last = mean(0.3, 0.2) = 0.25 → (0.45-0.25)/0.45 = 0.44 ≥ 0.05
    expect(hasConverged([0.5, 0.4, 0.3, 0.2])).toBe(false)
    // prev = 0.41, last = 0.40 → 0.0244 < 0.05
    expect(hasConverged([0.9, 0.42, 0.4, 0.4, 0.4])).toBe(true)
    // exactly at the threshold is not converged: (0.5 - 0.25) / 0.5 = 0.5, not < 0.5
    expect(hasConverged([0.5, 0.25], {window: 1, threshold: 0.5})).toBe(false)
    // only the last 2w totals count: a long improving history before them changes nothing
    expect(hasConverged([0.9, 0.8, 0.7, 0.41, 0.4], {window: 1})).toBe(true)
  })

  it('does not count a window that got worse as convergence, however small the change', () => {
    // prev = 0.2, last = 0.3: the loss got worse
    expect(hasConverged([0.2, 0.2, 0.3, 0.3])).toBe(false)
    expect(hasConverged([0.2, 0.2000001], {window: 1})).toBe(false)
    expect(hasConverged([0.2, 0.2000001], {window: 1, threshold: 1e6})).toBe(false)
    // a flat window (no change at all) is converged: it improved by 0 < t
    expect(hasConverged([0.2, 0.2], {window: 1})).toBe(true)
  })

  it('never converges with threshold 0 on a loss above 0, improving, flat or worse', () => {
    expect(hasConverged([0.5, 0.49], {window: 1, threshold: 0})).toBe(false)
    expect(hasConverged([0.5, 0.5, 0.5, 0.5], {threshold: 0})).toBe(false)
    expect(hasConverged([0.4, 0.5], {window: 1, threshold: 0})).toBe(false)
  })

  it('treats prev <= 0 as converged when the last window is no worse', () => {
    expect(hasConverged([0, 0, 0, 0])).toBe(true)
    expect(hasConverged([0, 0], {window: 1, threshold: 0})).toBe(true)
    expect(hasConverged([1, 0, 0], {window: 1})).toBe(true)
    // from 0 up is worse, not converged
    expect(hasConverged([0, 0.1], {window: 1})).toBe(false)
  })

  it('throws on invalid options or totals', () => {
    expect(() => hasConverged([1, 2], {window: 0})).toThrow('hasConverged: window must be an integer >= 1, got 0')
    expect(() => hasConverged([1, 2], {window: 1.5})).toThrow(/window must be an integer >= 1, got 1.5/)
    expect(() => hasConverged([1, 2], {threshold: -0.1})).toThrow('hasConverged: threshold must be a finite number >= 0, got -0.1')
    expect(() => hasConverged([1, 2], {threshold: Number.NaN})).toThrow(LossArgumentError)
    expect(() => hasConverged([1, Number.NaN])).toThrow('hasConverged: totals[1] must be a finite number, got NaN')
    expect(() => hasConverged([Infinity])).toThrow(LossArgumentError)
  })

  it('property: a last window worse than the one before never converges, and threshold 0 never converges above 0', () => {
    fc.assert(
      fc.property(
        fc.integer({min: 1, max: 5}),
        fc.array(fc.double({min: 0, max: 1, noNaN: true}), {minLength: 2, maxLength: 12}),
        fc.double({min: 0, max: 10, noNaN: true}),
        (w, totals, t) => {
          fc.pre(totals.length >= 2 * w)
          const n = totals.length
          const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length
          const prev = avg(totals.slice(n - 2 * w, n - w))
          const last = avg(totals.slice(n - w))
          if (last > prev && hasConverged(totals, {window: w, threshold: t})) return false
          if (prev > 0 && hasConverged(totals, {window: w, threshold: 0})) return false
          return true
        },
      ),
      {numRuns: 300},
    )
  })

  it('property: false whenever totals.length < 2·window', () => {
    fc.assert(
      fc.property(fc.integer({min: 1, max: 20}), fc.array(fc.double({min: 0, max: 1, noNaN: true}), {maxLength: 39}), (w, totals) => {
        fc.pre(totals.length < 2 * w)
        return hasConverged(totals, {window: w}) === false
      }),
      {numRuns: 200},
    )
  })
})

describe('bestTrialIndex', () => {
  it('returns the lowest, earliest on ties', () => {
    expect(bestTrialIndex([0.5])).toBe(0)
    expect(bestTrialIndex([0.5, 0.3, 0.4])).toBe(1)
    expect(bestTrialIndex([0.5, 0.3, 0.3, 0.9])).toBe(1)
    expect(bestTrialIndex([0.2, 0.3, 0.2])).toBe(0)
  })

  it('throws on empty or non-finite totals', () => {
    expect(() => bestTrialIndex([])).toThrow('bestTrialIndex: totals must not be empty')
    expect(() => bestTrialIndex([0.1, Number.NaN])).toThrow(/totals\[1\] must be a finite number, got NaN/)
  })
})
