import {describe, it, expect} from 'vitest'
import fc from 'fast-check'
import {DEFAULT_WEIGHTS, LOSS_NAMES, normalizeWeights, parseWeights, LossArgumentError} from '../../../src/loss/index.js'

const sum = (w: Record<string, number>): number => Object.values(w).reduce((a, b) => a + b, 0)

describe('DEFAULT_WEIGHTS', () => {
  it('has the documented values, sums to 1 and is frozen', () => {
    expect(DEFAULT_WEIGHTS).toEqual({duration: 0.25, coverage: 0.25, structure: 0.2, quality: 0.2, rouge: 0.1})
    expect(sum(DEFAULT_WEIGHTS)).toBeCloseTo(1, 12)
    expect(Object.isFrozen(DEFAULT_WEIGHTS)).toBe(true)
    expect([...LOSS_NAMES]).toEqual(['duration', 'coverage', 'structure', 'quality', 'rouge'])
  })
})

describe('normalizeWeights', () => {
  it('returns the defaults (normalised) when nothing is given', () => {
    const w = normalizeWeights()
    for (const k of LOSS_NAMES) expect(w[k]).toBeCloseTo(DEFAULT_WEIGHTS[k], 12)
    expect(normalizeWeights({})).toEqual(w)
  })

  it('fills missing keys from the defaults, then divides by the sum', () => {
    // duration 0.3 + coverage 0.25 + structure 0.2 + quality 0.2 + rouge 0.2 = 1.15
    const w = normalizeWeights({duration: 0.3, rouge: 0.2})
    expect(w.duration).toBeCloseTo(0.3 / 1.15, 12)
    expect(w.coverage).toBeCloseTo(0.25 / 1.15, 12)
    expect(w.rouge).toBeCloseTo(0.2 / 1.15, 12)
    expect(sum(w)).toBeCloseTo(1, 12)
    // undefined counts as missing
    expect(normalizeWeights({rouge: undefined})).toEqual(normalizeWeights())
  })

  it('throws on negative, NaN, infinite, unknown and all-zero', () => {
    expect(() => normalizeWeights({rouge: -0.1})).toThrow('normalizeWeights: weight rouge must be a finite number >= 0, got -0.1')
    expect(() => normalizeWeights({quality: Number.NaN})).toThrow(/quality .* got NaN/)
    expect(() => normalizeWeights({quality: Infinity})).toThrow(LossArgumentError)
    expect(() => normalizeWeights({style: 1} as never)).toThrow(
      'normalizeWeights: unknown weight "style"; valid names: duration, coverage, structure, quality, rouge',
    )
    expect(() => normalizeWeights({duration: 0, coverage: 0, structure: 0, quality: 0, rouge: 0})).toThrow(
      'normalizeWeights: weights must not all be 0',
    )
  })

  it('property: non-negative, sums to 1', () => {
    const w = fc.double({min: 0, max: 100, noNaN: true})
    fc.assert(
      fc.property(fc.record({duration: w, coverage: w, structure: w, quality: w, rouge: w}, {requiredKeys: []}), (given) => {
        if (LOSS_NAMES.every((k) => given[k] === 0)) return true
        const out = normalizeWeights(given)
        return LOSS_NAMES.every((k) => out[k] >= 0) && Math.abs(sum(out) - 1) < 1e-9
      }),
      {numRuns: 200},
    )
  })
})

describe('parseWeights', () => {
  it('parses name=value pairs', () => {
    expect(parseWeights('duration=0.3,rouge=0.2')).toEqual({duration: 0.3, rouge: 0.2})
    expect(parseWeights(' quality = 1 , structure=.5 ')).toEqual({quality: 1, structure: 0.5})
    expect(parseWeights('coverage=1e-1')).toEqual({coverage: 0.1})
    expect(parseWeights('rouge=0')).toEqual({rouge: 0})
  })

  it('round-trips through normalizeWeights', () => {
    expect(normalizeWeights(parseWeights('duration=1,coverage=1,structure=1,quality=1,rouge=1')).rouge).toBeCloseTo(0.2, 12)
  })

  it('throws clear errors', () => {
    expect(() => parseWeights('durations=0.3')).toThrow(
      /unknown weight name "durations".*valid names: duration, coverage, structure, quality, rouge/,
    )
    expect(() => parseWeights('duration=abc')).toThrow('parseWeights: weight duration must be a number, got "abc"')
    expect(() => parseWeights('duration=')).toThrow(/must be a number, got ""/)
    expect(() => parseWeights('duration=0x10')).toThrow(/must be a number/)
    expect(() => parseWeights('duration=-0.5')).toThrow('parseWeights: weight duration must be >= 0, got -0.5')
    expect(() => parseWeights('duration=1e999')).toThrow(/must be finite/)
    expect(() => parseWeights('duration=0.1,duration=0.2')).toThrow('parseWeights: weight duration is given more than once')
    expect(() => parseWeights('duration=0.1,,rouge=0.2')).toThrow(/item 2 \(""\) is empty/)
    expect(() => parseWeights('duration=0.1,')).toThrow(/item 2 .* is empty/)
    expect(() => parseWeights('duration')).toThrow(/must look like name=value/)
    expect(() => parseWeights('')).toThrow(/spec is empty/)
    expect(() => parseWeights(3 as never)).toThrow(LossArgumentError)
  })
})
