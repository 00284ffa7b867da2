import {describe, it, expect} from 'vitest'
import fc from 'fast-check'
import {
  rougeScores,
  rougeLoss,
  rougeLossFromScores,
  tokenize,
  lcsLength,
  lcsIndices,
  LossArgumentError,
  type RougeScores,
} from '../../../src/loss/index.js'

/** Textbook O(n·m) LCS length. */
function naiveLcs(a: readonly number[], b: readonly number[]): number {
  const t = Array.from({length: a.length + 1}, () => new Array<number>(b.length + 1).fill(0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!)
    }
  }
  return t[a.length]![b.length]!
}

describe('tokenize (rouge-score DefaultTokenizer)', () => {
  it('lower-cases, splits on anything outside [a-z0-9] and drops empties', () => {
    expect(tokenize("  Hello, World! It's 2024-05-01...  ")).toEqual(['hello', 'world', 'it', 's', '2024', '05', '01'])
    expect(tokenize('')).toEqual([])
    expect(tokenize('!!! ---')).toEqual([])
  })

  it('treats non-ASCII letters as separators, like the Python regex', () => {
    expect(tokenize('café naïve Zürich')).toEqual(['caf', 'na', 've', 'z', 'rich'])
    // 'İ'.lower() is 'i' + U+0307 in Python and JavaScript alike
    expect(tokenize('İstanbul')).toEqual(['i', 'stanbul'])
  })

  it('stems only tokens longer than 3 characters when asked', () => {
    expect(tokenize('The cats were running quickly', {stem: true})).toEqual(['the', 'cat', 'were', 'run', 'quickli'])
    expect(tokenize('The cats were running quickly')).toEqual(['the', 'cats', 'were', 'running', 'quickly'])
    // 'dies' has 4 letters (stemmed → 'die'); 'ies' has 3 (kept)
    expect(tokenize('dies ies', {stem: true})).toEqual(['die', 'ies'])
  })

  it('rejects bad arguments', () => {
    expect(() => tokenize(42 as unknown as string)).toThrow(LossArgumentError)
    expect(() => tokenize('a', {stem: 'yes' as unknown as boolean})).toThrow(/options\.stem must be a boolean/)
  })
})

describe('rougeScores', () => {
  it("matches rouge-score's documented example", () => {
    const s = rougeScores('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.')
    expect(s.rouge1).toEqual({precision: 0.75, recall: 0.6666666666666666, fmeasure: 0.7058823529411765})
    expect(s.rougeL).toEqual({precision: 0.625, recall: 0.5555555555555556, fmeasure: 0.5882352941176471})
    // rouge2: target bigrams (8): the-quick quick-brown brown-fox fox-jumps jumps-over over-the the-lazy lazy-dog
    // prediction bigrams (7): the-quick quick-brown brown-dog dog-jumps jumps-on on-the the-log
    // overlap 2 → P = 2/7, R = 2/8, F = 2·(2/7)(1/4)/((2/7)+(1/4)) = 4/15
    expect(s.rouge2.precision).toBeCloseTo(2 / 7, 12)
    expect(s.rouge2.recall).toBe(0.25)
    expect(s.rouge2.fmeasure).toBeCloseTo(4 / 15, 12)
    // one line each: rougeLsum equals rougeL
    expect(s.rougeLsum).toEqual(s.rougeL)
  })

  it('computes summary-level LCS over lines (hand-derived)', () => {
    // ref sentences [a b c] [d e]; candidate sentences [a c] [d x e b]; m = 5, n = 6
    // ref 1: LCS with [a c] → {a, c}; with [d x e b] → {b}; union {a, b, c} → 3 hits
    // ref 2: LCS with [a c] → {};     with [d x e b] → {d, e}; union → 2 hits
    // hits = 5 → P = 5/6, R = 5/5, F = 2·(5/6)·1/(5/6 + 1) = 10/11
    const s = rougeScores('a b c\nd e', 'a c\nd x e b')
    expect(s.rougeLsum.precision).toBeCloseTo(5 / 6, 12)
    expect(s.rougeLsum.recall).toBe(1)
    expect(s.rougeLsum.fmeasure).toBeCloseTo(10 / 11, 12)
    // whole-text LCS a c d e = 4 → P = 4/6, R = 4/5, F = 8/11
    expect(s.rougeL.fmeasure).toBeCloseTo(8 / 11, 12)
  })

  it('clips summary-level hits by token counts', () => {
    // ref [a b] [a b], candidate [a b]: ref 1 takes a and b (candidate counts drop to 0),
    // ref 2 finds the same LCS but no candidate tokens are left → hits 2;
    // P = 2/2, R = 2/4, F = 2/3
    const s = rougeScores('a b\na b', 'a b')
    expect(s.rougeLsum).toEqual({precision: 1, recall: 0.5, fmeasure: 2 / 3})
  })

  it('ignores empty lines and lines without tokens for rougeLsum', () => {
    const a = rougeScores('a b c\n\n...\nd e', 'a c\n\nd x e b\n')
    const b = rougeScores('a b c\nd e', 'a c\nd x e b')
    expect(a).toEqual(b)
  })

  it('gives all zeros when either side has no tokens', () => {
    const zero = {precision: 0, recall: 0, fmeasure: 0}
    for (const [t, p] of [
      ['', 'some words'],
      ['some words', ''],
      ['', ''],
      ['...', '!!!'],
    ] as const) {
      expect(rougeScores(t, p)).toEqual({rouge1: zero, rouge2: zero, rougeL: zero, rougeLsum: zero})
      expect(rougeLoss(t, p)).toBe(1)
    }
  })

  it('rouge2 with a single token is 0 (max(count, 1) denominators)', () => {
    expect(rougeScores('word', 'word').rouge2).toEqual({precision: 0, recall: 0, fmeasure: 0})
    expect(rougeScores('word', 'word').rouge1.fmeasure).toBe(1)
  })

  it('stemming makes inflected forms match', () => {
    expect(rougeScores('the cats are running', 'the cat is run').rouge1.fmeasure).toBe(0.25)
    expect(rougeScores('the cats are running', 'the cat is run', {stem: true}).rouge1.fmeasure).toBe(0.75)
  })

  // Speed is measured by `npm run bench` (bench/rouge.js), not here.
  it('scores 10,000 × 10,000 tokens consistently: LCS never exceeds the unigram overlap', () => {
    let seed = 7
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 2 ** 32
    }
    const text = (): string => {
      const words: string[] = []
      for (let i = 0; i < 10_000; i++) words.push(`w${Math.floor(rand() * rand() * 2000)}${i % 20 === 19 ? '\n' : ''}`)
      return words.join(' ')
    }
    const t = text()
    const p = text()
    const s = rougeScores(t, p)
    expect(s.rougeL.fmeasure).toBeGreaterThan(0)
    expect(s.rougeL.fmeasure).toBeLessThanOrEqual(s.rouge1.fmeasure)
    expect(s.rougeLsum.fmeasure).toBeLessThanOrEqual(s.rouge1.fmeasure)
    expect(s.rouge2.fmeasure).toBeLessThan(s.rouge1.fmeasure)
  })

  it('rejects non-string texts', () => {
    expect(() => rougeScores(undefined as unknown as string, 'x')).toThrow(/rougeScores: target must be a string, got undefined/)
    expect(() => rougeScores('x', 3 as unknown as string)).toThrow(LossArgumentError)
  })
})

describe('rougeLossFromScores / rougeLoss', () => {
  const withF = (f1: number, f2: number, fl: number): RougeScores => ({
    rouge1: {precision: 0, recall: 0, fmeasure: f1},
    rouge2: {precision: 0, recall: 0, fmeasure: f2},
    rougeL: {precision: 0, recall: 0, fmeasure: fl},
    rougeLsum: {precision: 0, recall: 0, fmeasure: 0},
  })

  it('is 1 - mean(F1, F2, FL)', () => {
    // 1 - (0.42 + 0.24 + 0.38)/3 = 1 - 0.34666… = 0.65333…
    expect(rougeLossFromScores(withF(0.42, 0.24, 0.38))).toBeCloseTo(0.653333, 6)
    expect(rougeLossFromScores(withF(1, 1, 1))).toBe(0)
    expect(rougeLossFromScores(withF(0, 0, 0))).toBe(1)
  })

  it('rejects F-measures outside [0, 1]', () => {
    expect(() => rougeLossFromScores(withF(1.5, 0, 0))).toThrow(/rouge1\.fmeasure must be a number in \[0, 1\], got 1\.5/)
    expect(() => rougeLossFromScores(withF(0, Number.NaN, 0))).toThrow(LossArgumentError)
  })

  it('rougeLoss composes rougeScores and rougeLossFromScores', () => {
    const t = 'The quick brown fox jumps over the lazy dog'
    const p = 'The quick brown dog jumps on the log.'
    expect(rougeLoss(t, p)).toBe(rougeLossFromScores(rougeScores(t, p)))
    expect(rougeLoss(t, p, {stem: true})).toBe(rougeLossFromScores(rougeScores(t, p, {stem: true})))
  })
})

describe('LCS internals', () => {
  it('lcsLength on small cases', () => {
    expect(lcsLength([], [1, 2])).toBe(0)
    expect(lcsLength([1, 2, 3, 4], [2, 4, 3])).toBe(2)
    expect(lcsLength(Int32Array.from([5, 5, 5]), [5, 5])).toBe(2)
  })

  it('lcsLength crosses 32-bit word boundaries correctly', () => {
    const a = Array.from({length: 200}, (_, i) => i % 7)
    const b = Array.from({length: 150}, (_, i) => (i * 3) % 5)
    expect(lcsLength(a, b)).toBe(naiveLcs(a, b))
  })

  it('property: bit-parallel lcsLength equals the naive DP', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({min: 0, max: 5}), {maxLength: 90}),
        fc.array(fc.integer({min: 0, max: 5}), {maxLength: 90}),
        (a, b) => lcsLength(a, b) === naiveLcs(a, b),
      ),
      {numRuns: 200},
    )
  })

  it('property: bit-vector backtracking picks the same LCS as the full table', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({min: 0, max: 3}), {maxLength: 80}),
        fc.array(fc.integer({min: 0, max: 3}), {maxLength: 80}),
        (ref, can) => {
          const bits = lcsIndices(ref, can, 'bits')
          expect(bits).toEqual(lcsIndices(ref, can, 'table'))
          expect(bits.length).toBe(naiveLcs(ref, can))
        },
      ),
      {numRuns: 200},
    )
  })

  it('lcsIndices follows rouge-score tie-breaking (prefer up unless left is strictly better)', () => {
    // ref [a b], can [b a]: t[2][1] = 1, t[1][2] = 1, tie → move up → LCS is 'a' (index 0)
    expect(lcsIndices([1, 2], [2, 1], 'table')).toEqual([0])
    expect(lcsIndices([1, 2], [2, 1], 'bits')).toEqual([0])
  })
})

describe('ROUGE properties', () => {
  const word = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'running', 'cats', 'the', 'a', '42', 'Zürich')
  const line = fc.array(word, {minLength: 1, maxLength: 12}).map((ws) => ws.join(' '))
  const text = fc.array(line, {minLength: 1, maxLength: 5}).map((ls) => ls.join('\n'))

  it('identical non-empty text scores F = 1 everywhere and loss 0', () => {
    fc.assert(
      fc.property(text, fc.boolean(), (t, stem) => {
        const s = rougeScores(t, t, {stem})
        const ntokens = tokenize(t, {stem}).length
        expect(s.rouge1.fmeasure).toBe(1)
        expect(s.rougeL.fmeasure).toBe(1)
        expect(s.rougeLsum.fmeasure).toBe(1)
        if (ntokens >= 2) {
          expect(s.rouge2.fmeasure).toBe(1)
          expect(rougeLoss(t, t, {stem})).toBe(0)
        }
      }),
      {numRuns: 100},
    )
  })

  it('every score and the loss lie in [0, 1]', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), text, text, fc.boolean(), (r1, r2, t, p, stem) => {
        for (const [a, b] of [
          [r1, r2],
          [t, p],
          [t, r2],
        ] as const) {
          const s = rougeScores(a, b, {stem})
          for (const v of Object.values(s)) {
            for (const x of [v.precision, v.recall, v.fmeasure]) {
              expect(x).toBeGreaterThanOrEqual(0)
              expect(x).toBeLessThanOrEqual(1)
            }
          }
          const loss = rougeLoss(a, b, {stem})
          expect(loss).toBeGreaterThanOrEqual(0)
          expect(loss).toBeLessThanOrEqual(1)
        }
      }),
      {numRuns: 100},
    )
  })
})
