import {describe, it, expect} from 'vitest'
import fc from 'fast-check'
import {rougeScores, lcsIndices, lcsLength} from '../../../src/loss/index.js'
import * as reference from './rouge-reference.js'

// The faster ROUGE (issue 18 part 3: one-pass tokenizer, pruned sentence pairs,
// compressed candidate columns, multi-word sentence kernel) must give exactly the
// numbers of the implementation it replaced, kept in rouge-reference.ts.

/** Small deterministic PRNG (mulberry32), so a failure names its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// Few words, so ties and repeated tokens are common; inflections and short words so the
// stemmer and its "longer than 3 characters" rule both matter; capitals, digits,
// punctuation and non-ASCII letters, which the tokenizer turns into separators.
const WORDS = ['the', 'a', 'of', 'cat', 'cats', 'running', 'run', 'runs', 'sleep', 'sleeping', 'Memory', 'memories', 'x', '42']
const JOINERS = [' ', ' ', ' ', ', ', ' - ', '. ', ' café ', "'s ", '\t', ' İ ']

function text(rand: () => number, lines: number, maxWords: number, vocabulary: number): string {
  const out: string[] = []
  for (let l = 0; l < lines; l++) {
    const r = rand()
    // Empty lines, lines without a token, and long lines (> 32 and > 64 tokens).
    if (r < 0.08) out.push('')
    else if (r < 0.12) out.push('... !!')
    else {
      const long = rand() < 0.25
      const n = long ? 33 + Math.floor(rand() * 110) : 1 + Math.floor(rand() * maxWords)
      let line = ''
      for (let w = 0; w < n; w++) {
        line += WORDS[Math.floor(rand() * Math.min(vocabulary, WORDS.length))]
        line += JOINERS[Math.floor(rand() * JOINERS.length)]
      }
      out.push(rand() < 0.1 ? `${line}\r` : line)
    }
  }
  return out.join('\n')
}

describe('rougeScores equals the implementation it replaced', () => {
  it('on 300 seeded random text pairs, with and without stemming', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed)
      const vocabulary = 2 + Math.floor(rand() * WORDS.length)
      const target = text(rand, Math.floor(rand() * 12), 40, vocabulary)
      const prediction = text(rand, Math.floor(rand() * 12), 40, vocabulary)
      for (const stem of [false, true]) {
        const got = rougeScores(target, prediction, {stem})
        const want = reference.rougeScores(target, prediction, {stem})
        expect({seed, stem, scores: got}).toEqual({seed, stem, scores: want})
      }
    }
  })

  it('on texts of a few thousand tokens with many sentences', () => {
    for (const seed of [11, 12, 13]) {
      const rand = prng(seed)
      const target = text(rand, 150, 30, WORDS.length)
      const prediction = text(rand, 120, 60, WORDS.length)
      expect(rougeScores(target, prediction, {stem: true})).toEqual(reference.rougeScores(target, prediction, {stem: true}))
    }
  })

  it('on one-line texts and texts of a single repeated word', () => {
    for (const [target, prediction] of [
      ['the the the the', 'the the'],
      ['a b c', ''],
      ['', 'a b c'],
      [`${'x '.repeat(100)}\n${'x '.repeat(40)}`, 'x x x\nx'],
      ['The Cat RAN', 'the cat ran'],
    ] as const) {
      expect(rougeScores(target, prediction, {stem: true})).toEqual(reference.rougeScores(target, prediction, {stem: true}))
    }
  })
})

describe('sentence LCS positions equal rouge-score table backtracking', () => {
  // Lengths up to 150 cover one, two and several 32-bit words on the reference side;
  // tiny alphabets make ties (left against up) frequent.
  const sequence = (alphabet: number) => fc.array(fc.integer({min: 0, max: alphabet}), {maxLength: 150})

  it('for random sequences over 2 to 9 symbols', () => {
    fc.assert(
      fc.property(fc.integer({min: 1, max: 8}), fc.integer({min: 0, max: 2 ** 31 - 1}), (alphabet, seed) => {
        const rand = prng(seed)
        const draw = (): number[] => Array.from({length: Math.floor(rand() * 150)}, () => Math.floor(rand() * (alphabet + 1)))
        const ref = draw()
        const can = draw()
        expect(lcsIndices(ref, can)).toEqual(reference.lcsIndices(ref, can, 'table'))
        expect(lcsLength(ref, can)).toBe(reference.lcsLength(ref, can))
      }),
      {numRuns: 300},
    )
  })

  it('for candidates made mostly of symbols absent from the reference', () => {
    fc.assert(
      fc.property(sequence(3), fc.array(fc.integer({min: 0, max: 12}), {maxLength: 150}), (ref, can) => {
        expect(lcsIndices(ref, can)).toEqual(reference.lcsIndices(ref, can, 'table'))
      }),
      {numRuns: 300},
    )
  })
})
