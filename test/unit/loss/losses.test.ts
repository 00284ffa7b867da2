import {describe, it, expect} from 'vitest'
import fc from 'fast-check'
import {
  durationLoss,
  coverageLoss,
  structureLoss,
  qualityLoss,
  totalLoss,
  LossArgumentError,
  LOSS_NAMES,
  type Losses,
  type LabelledWords,
} from '../../../src/loss/index.js'

describe('durationLoss', () => {
  it('is min(1, |g - r| / r)', () => {
    // |892 - 895| / 895 = 3/895 = 0.003352
    expect(durationLoss(892, 895)).toBeCloseTo(0.003352, 6)
    expect(durationLoss(892, 895).toFixed(3)).toBe('0.003')
    expect(durationLoss(895, 895)).toBe(0)
    expect(durationLoss(0, 100)).toBe(1)
    expect(durationLoss(150, 100)).toBe(0.5)
    expect(durationLoss(1000, 100)).toBe(1)
  })

  it('throws with the argument, its value and what is allowed', () => {
    expect(() => durationLoss(10, 0)).toThrow('durationLoss: referenceSeconds must be > 0, got 0')
    expect(() => durationLoss(10, -5)).toThrow('durationLoss: referenceSeconds must be > 0, got -5')
    expect(() => durationLoss(-1, 10)).toThrow('durationLoss: generatedSeconds must be a finite number >= 0, got -1')
    expect(() => durationLoss(Number.NaN, 10)).toThrow(/generatedSeconds .* got NaN/)
    expect(() => durationLoss(Infinity, 10)).toThrow(LossArgumentError)
    expect(() => durationLoss(10, Infinity)).toThrow(/referenceSeconds must be a finite number > 0, got Infinity/)
  })
})

describe('coverageLoss', () => {
  it('is 1 - explained/total', () => {
    expect(coverageLoss(17, 20)).toBeCloseTo(0.15, 12)
    expect(coverageLoss(20, 20)).toBe(0)
    expect(coverageLoss(0, 5)).toBe(1)
  })

  it('throws on invalid counts', () => {
    expect(() => coverageLoss(0, 0)).toThrow('coverageLoss: total must be > 0, got 0')
    expect(() => coverageLoss(21, 20)).toThrow('coverageLoss: explained must be <= total (20), got 21')
    expect(() => coverageLoss(1.5, 20)).toThrow('coverageLoss: explained must be an integer >= 0, got 1.5')
    expect(() => coverageLoss(-1, 20)).toThrow(LossArgumentError)
    expect(() => coverageLoss(1, Number.NaN)).toThrow(/total must be an integer >= 0, got NaN/)
  })
})

describe('qualityLoss', () => {
  it('is 1 - mean/100', () => {
    // mean(78, 82, 85) = 81.667 → 0.18333
    expect(qualityLoss({engagement: 78, clarity: 82, accuracy: 85})).toBeCloseTo(0.183333, 6)
    expect(qualityLoss({engagement: 100, clarity: 100, accuracy: 100})).toBe(0)
    expect(qualityLoss({engagement: 0, clarity: 0, accuracy: 0})).toBe(1)
  })

  it('throws outside 0..100 or on NaN', () => {
    expect(() => qualityLoss({engagement: 101, clarity: 50, accuracy: 50})).toThrow(
      'qualityLoss: scores.engagement must be a number in 0..100, got 101',
    )
    expect(() => qualityLoss({engagement: 50, clarity: Number.NaN, accuracy: 50})).toThrow(/clarity .* got NaN/)
    expect(() => qualityLoss({engagement: 50, clarity: 50, accuracy: -1})).toThrow(LossArgumentError)
    expect(() => qualityLoss({engagement: 50, clarity: 50} as never)).toThrow(/accuracy .* got undefined/)
  })
})

describe('structureLoss', () => {
  const s = (...pairs: [string, number][]): LabelledWords[] => pairs.map(([label, words]) => ({label, words}))

  it('is 0 for identical structures and for two empty ones', () => {
    const a = s(['intro', 100], ['body', 800], ['outro', 100])
    expect(structureLoss(a, a)).toBe(0)
    expect(structureLoss([], [])).toBe(0)
  })

  it('collapses consecutive repeats and mixes order and word shares (hand-derived)', () => {
    // generated labels intro body body outro → collapsed "ABC"; reference intro body ad body → "ABDB"
    // lev = levenshtein("ABC", "ABDB") / 4 = 2/4 = 0.5
    // shares (1000 words each): gen intro 0.1, body 0.8, outro 0.1; ref intro 0.2, body 0.6, ad 0.2
    // dist = 0.5·(|0.1-0.2| + |0.8-0.6| + |0.1-0| + |0-0.2|) = 0.5·0.6 = 0.3
    // loss = 0.5·0.5 + 0.5·0.3 = 0.4
    const gen = s(['intro', 100], ['body', 400], ['body', 400], ['outro', 100])
    const ref = s(['intro', 200], ['body', 300], ['ad', 200], ['body', 300])
    expect(structureLoss(gen, ref)).toBeCloseTo(0.4, 12)
  })

  it('uses dist = 1 when exactly one side has no words', () => {
    // same labels → lev 0; dist 1 → 0.5
    expect(structureLoss(s(['a', 0]), s(['a', 10]))).toBe(0.5)
    expect(structureLoss(s(['a', 0]), s(['a', 0]))).toBe(0)
    // one side empty: lev = 1, dist = 1
    expect(structureLoss([], s(['a', 10]))).toBe(1)
  })

  it('throws on bad words or labels', () => {
    expect(() => structureLoss(s(['a', -1]), [])).toThrow('structureLoss: generated[0].words must be a finite number >= 0, got -1')
    expect(() => structureLoss([], s(['a', Number.NaN]))).toThrow(/reference\[0\]\.words .* got NaN/)
    expect(() => structureLoss([{label: 3, words: 1} as never], [])).toThrow(/generated\[0\]\.label must be a string/)
    expect(() => structureLoss(null as never, [])).toThrow(LossArgumentError)
  })

  it('property: stays within [0, 1]', () => {
    const sections = fc.array(fc.record({label: fc.constantFrom('intro', 'body', 'ad', 'outro', 'q&a'), words: fc.nat({max: 2000})}), {
      maxLength: 12,
    })
    fc.assert(
      fc.property(sections, sections, (a, b) => {
        const v = structureLoss(a, b)
        return v >= 0 && v <= 1 && structureLoss(a, a) === 0
      }),
      {numRuns: 200},
    )
  })
})

describe('totalLoss', () => {
  const losses: Losses = {duration: 0.003352, coverage: 0.15, structure: 0.4, quality: 0.183333, rouge: 0.653333}

  it('is the weighted sum with DEFAULT_WEIGHTS', () => {
    // 0.25·0.003352 + 0.25·0.15 + 0.20·0.4 + 0.20·0.183333 + 0.10·0.653333
    // = 0.000838 + 0.0375 + 0.08 + 0.0366666 + 0.0653333 = 0.2203379
    expect(totalLoss(losses)).toBeCloseTo(0.2203379, 7)
  })

  it('normalises custom weights', () => {
    // only rouge counts once the others are 0
    expect(totalLoss(losses, {duration: 0, coverage: 0, structure: 0, quality: 0, rouge: 5})).toBeCloseTo(0.653333, 12)
    // partial weights are filled from the defaults, then normalised: rouge 0.2 → sum 1.1
    const expected = (0.25 * 0.003352 + 0.25 * 0.15 + 0.2 * 0.4 + 0.2 * 0.183333 + 0.2 * 0.653333) / 1.1
    expect(totalLoss(losses, {rouge: 0.2})).toBeCloseTo(expected, 12)
  })

  it('throws on losses outside [0, 1], missing or unknown ones', () => {
    expect(() => totalLoss({...losses, rouge: 1.2})).toThrow('totalLoss: losses.rouge must be a number in [0, 1], got 1.2')
    const {quality: _quality, ...missing} = losses
    expect(() => totalLoss(missing as Losses)).toThrow(/losses\.quality .* got undefined/)
    expect(() => totalLoss({...losses, style: 0.1} as Losses)).toThrow(/unknown loss "style"; valid names: duration, coverage/)
    expect(() => totalLoss(losses, {rouge: -1})).toThrow(LossArgumentError)
  })

  const unit = fc.double({min: 0, max: 1, noNaN: true})
  const lossesArb = fc.record({duration: unit, coverage: unit, structure: unit, quality: unit, rouge: unit})
  const weightArb = fc.double({min: 0, max: 10, noNaN: true})
  const weightsArb = fc.record(
    {duration: weightArb, coverage: weightArb, structure: weightArb, quality: weightArb, rouge: weightArb},
    {requiredKeys: []},
  )

  it('property: result in [0, 1] for valid inputs', () => {
    fc.assert(
      fc.property(lossesArb, weightsArb, (l, w) => {
        const allZero = LOSS_NAMES.every((k) => (w[k] ?? 1) === 0)
        if (allZero) return true
        const v = totalLoss(l, w)
        return v >= 0 && v <= 1
      }),
      {numRuns: 200},
    )
  })

  it('property: monotone non-decreasing in each loss', () => {
    fc.assert(
      fc.property(lossesArb, fc.constantFrom(...LOSS_NAMES), unit, (l, name, other) => {
        const lo = Math.min(l[name], other)
        const hi = Math.max(l[name], other)
        return totalLoss({...l, [name]: lo}) <= totalLoss({...l, [name]: hi})
      }),
      {numRuns: 200},
    )
  })
})

describe('every loss stays within [0, 1] for valid random inputs', () => {
  it('property', () => {
    const nonNeg = fc.double({min: 0, max: 1e6, noNaN: true})
    fc.assert(
      fc.property(
        nonNeg,
        fc.double({min: 1e-3, max: 1e6, noNaN: true}),
        fc.nat({max: 1000}),
        fc.nat({max: 1000}),
        fc.double({min: 0, max: 100, noNaN: true}),
        fc.double({min: 0, max: 100, noNaN: true}),
        fc.double({min: 0, max: 100, noNaN: true}),
        (g, r, a, b, e, c, acc) => {
          const values = [
            durationLoss(g, r),
            coverageLoss(Math.min(a, b), Math.max(a, b, 1)),
            qualityLoss({engagement: e, clarity: c, accuracy: acc}),
          ]
          return values.every((v) => v >= 0 && v <= 1)
        },
      ),
      {numRuns: 200},
    )
  })
})
