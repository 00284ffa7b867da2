/**
 * Porter stemmer, a direct port of NLTK's `nltk.stem.porter.PorterStemmer`
 * in its default mode (`PorterStemmer.NLTK_EXTENSIONS`), which is the
 * stemmer Google's `rouge-score` uses when `use_stemmer=True`.
 *
 * Each step mirrors the Python method of the same name (`_step1a`, `_step1b`,
 * ...), including NLTK's departures from the published algorithm:
 * the irregular-forms pool, 'ies'/'ied' on four-letter words, the y→i rule
 * of step 1c, 'alli' applied first in step 2, the extra 'fulli' and 'logi'
 * rules, and the two-letter 'vc' case of condition *o.
 *
 * Strings are indexed by UTF-16 code unit where Python indexes by code point,
 * so parity with NLTK is exact for text in the Basic Multilingual Plane (and
 * always for ROUGE tokens, which are `[a-z0-9]+`).
 */

import {LossArgumentError, formatValue} from './errors.js'

/** NLTK_EXTENSIONS irregular forms: word → stem; bypasses the algorithm. */
const POOL: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
])

type Condition = ((stem: string) => boolean) | null
/** [suffix, replacement, condition]; suffix '*d' means "ends in a double consonant". */
type Rule = readonly [string, string, Condition]

function isVowelChar(ch: string | undefined): boolean {
  return ch === 'a' || ch === 'e' || ch === 'i' || ch === 'o' || ch === 'u'
}

/**
 * `_is_consonant(word, i)`: a letter other than a, e, i, o, u, and other than
 * a y preceded by a consonant (y at index 0 is a consonant).
 */
function isConsonant(word: string, i: number): boolean {
  const ch = word[i]
  if (isVowelChar(ch)) return false
  if (ch !== 'y') return true
  // Walk back over the run of y's: y alternates consonant/vowel from the run's start.
  let k = i
  while (k > 0 && word[k - 1] === 'y') k--
  const startIsConsonant = k === 0 ? true : !isConsonant(word, k - 1)
  return (i - k) % 2 === 0 ? startIsConsonant : !startIsConsonant
}

/** `_measure`: number of "vc" transitions in the consonant/vowel pattern. */
function measure(stem: string): number {
  let count = 0
  let prevConsonant = true
  for (let i = 0; i < stem.length; i++) {
    const ch = stem[i]
    let c: boolean
    if (isVowelChar(ch)) c = false
    else if (ch === 'y') c = i === 0 ? true : !prevConsonant
    else c = true
    if (c && !prevConsonant && i > 0) count++
    prevConsonant = c
  }
  return count
}

function hasPositiveMeasure(stem: string): boolean {
  return measure(stem) > 0
}

function containsVowel(stem: string): boolean {
  let prevConsonant = true
  for (let i = 0; i < stem.length; i++) {
    const ch = stem[i]
    if (isVowelChar(ch) || (ch === 'y' && i > 0 && prevConsonant)) return true
    prevConsonant = true // a non-vowel here is a consonant (a y after a vowel is one too)
  }
  return false
}

/** Condition *d. */
function endsDoubleConsonant(word: string): boolean {
  const n = word.length
  return n >= 2 && word[n - 1] === word[n - 2] && isConsonant(word, n - 1)
}

/** Condition *o, with NLTK's extra two-letter vowel-consonant case. */
function endsCvc(word: string): boolean {
  const n = word.length
  if (n >= 3) {
    const last = word[n - 1]
    if (isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) && last !== 'w' && last !== 'x' && last !== 'y') {
      return true
    }
  }
  return n === 2 && !isConsonant(word, 0) && isConsonant(word, 1)
}

function replaceSuffix(word: string, suffix: string, replacement: string): string {
  return suffix === '' ? word + replacement : word.slice(0, word.length - suffix.length) + replacement
}

/** `_apply_rule_list`: the first rule whose suffix matches decides, even if its condition fails. */
function applyRuleList(word: string, rules: readonly Rule[]): string {
  return applyRules(word, rules) ?? word
}

/** applyRuleList, but null when no rule's suffix matched. */
function applyRules(word: string, rules: readonly Rule[]): string | null {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d' && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2)
      return condition === null || condition(stem) ? stem + replacement : word
    }
    if (word.endsWith(suffix)) {
      const stem = replaceSuffix(word, suffix, '')
      return condition === null || condition(stem) ? stem + replacement : word
    }
  }
  return null
}

function step1a(word: string): string {
  // NLTK extension: 'flies' -> 'fli' but 'dies' -> 'die'.
  if (word.endsWith('ies') && word.length === 4) return replaceSuffix(word, 'ies', 'ie')
  return applyRuleList(word, [
    ['sses', 'ss', null],
    ['ies', 'i', null],
    ['ss', 'ss', null],
    ['s', '', null],
  ])
}

function step1b(word: string): string {
  // NLTK extension: 'spied' -> 'spi' but 'died' -> 'die'.
  if (word.endsWith('ied')) {
    return word.length === 4 ? replaceSuffix(word, 'ied', 'ie') : replaceSuffix(word, 'ied', 'i')
  }
  if (word.endsWith('eed')) {
    const stem = replaceSuffix(word, 'eed', '')
    return measure(stem) > 0 ? stem + 'ee' : word
  }
  let intermediate: string | null = null
  for (const suffix of ['ed', 'ing']) {
    if (word.endsWith(suffix)) {
      const candidate = replaceSuffix(word, suffix, '')
      if (containsVowel(candidate)) {
        intermediate = candidate
        break
      }
    }
  }
  if (intermediate === null) return word
  const inter = intermediate
  const last = inter[inter.length - 1] ?? ''
  return applyRuleList(inter, [
    ['at', 'ate', null],
    ['bl', 'ble', null],
    ['iz', 'ize', null],
    ['*d', last, () => last !== 'l' && last !== 's' && last !== 'z'],
    ['', 'e', (stem) => measure(stem) === 1 && endsCvc(stem)],
  ])
}

function step1c(word: string): string {
  return applyRuleList(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]])
}

const STEP2_RULES: readonly Rule[] = [
  ['ational', 'ate', hasPositiveMeasure],
  ['tional', 'tion', hasPositiveMeasure],
  ['enci', 'ence', hasPositiveMeasure],
  ['anci', 'ance', hasPositiveMeasure],
  ['izer', 'ize', hasPositiveMeasure],
  ['bli', 'ble', hasPositiveMeasure],
  ['alli', 'al', hasPositiveMeasure],
  ['entli', 'ent', hasPositiveMeasure],
  ['eli', 'e', hasPositiveMeasure],
  ['ousli', 'ous', hasPositiveMeasure],
  ['ization', 'ize', hasPositiveMeasure],
  ['ation', 'ate', hasPositiveMeasure],
  ['ator', 'ate', hasPositiveMeasure],
  ['alism', 'al', hasPositiveMeasure],
  ['iveness', 'ive', hasPositiveMeasure],
  ['fulness', 'ful', hasPositiveMeasure],
  ['ousness', 'ous', hasPositiveMeasure],
  ['aliti', 'al', hasPositiveMeasure],
  ['iviti', 'ive', hasPositiveMeasure],
  ['biliti', 'ble', hasPositiveMeasure],
  ['fulli', 'ful', hasPositiveMeasure],
]

function step2(word: string): string {
  // NLTK extension: apply ALLI -> AL first and, if it fires, run step 2 again.
  if (word.endsWith('alli') && hasPositiveMeasure(replaceSuffix(word, 'alli', ''))) {
    return step2(replaceSuffix(word, 'alli', 'al'))
  }
  const applied = applyRules(word, STEP2_RULES)
  if (applied !== null) return applied
  // Last rule: 'logi' -> 'log', keeping the 'l' with the stem for the measure test.
  if (word.endsWith('logi')) return hasPositiveMeasure(word.slice(0, -3)) ? word.slice(0, -1) : word
  return word
}

const STEP3_RULES: readonly Rule[] = [
  ['icate', 'ic', hasPositiveMeasure],
  ['ative', '', hasPositiveMeasure],
  ['alize', 'al', hasPositiveMeasure],
  ['iciti', 'ic', hasPositiveMeasure],
  ['ical', 'ic', hasPositiveMeasure],
  ['ful', '', hasPositiveMeasure],
  ['ness', '', hasPositiveMeasure],
]

function step3(word: string): string {
  return applyRuleList(word, STEP3_RULES)
}

const measureGt1 = (stem: string): boolean => measure(stem) > 1

const STEP4_RULES: readonly Rule[] = [
  ['al', '', measureGt1],
  ['ance', '', measureGt1],
  ['ence', '', measureGt1],
  ['er', '', measureGt1],
  ['ic', '', measureGt1],
  ['able', '', measureGt1],
  ['ible', '', measureGt1],
  ['ant', '', measureGt1],
  ['ement', '', measureGt1],
  ['ment', '', measureGt1],
  ['ent', '', measureGt1],
  ['ion', '', (stem) => measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t'))],
  ['ou', '', measureGt1],
  ['ism', '', measureGt1],
  ['ate', '', measureGt1],
  ['iti', '', measureGt1],
  ['ous', '', measureGt1],
  ['ive', '', measureGt1],
  ['ize', '', measureGt1],
]

function step4(word: string): string {
  return applyRuleList(word, STEP4_RULES)
}

function step5a(word: string): string {
  if (word.endsWith('e')) {
    const stem = replaceSuffix(word, 'e', '')
    const m = measure(stem)
    if (m > 1) return stem
    if (m === 1 && !endsCvc(stem)) return stem
  }
  return word
}

function step5b(word: string): string {
  return applyRuleList(word, [['ll', 'l', () => measure(word.slice(0, -1)) > 1]])
}

function codePointLength(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

/**
 * Stem one word exactly like NLTK's `PorterStemmer().stem(word)` (mode
 * NLTK_EXTENSIONS, `to_lowercase=True`): the word is lower-cased; words in the
 * irregular-forms pool map to their listed stem; words of one or two
 * characters are returned lower-cased; everything else goes through steps
 * 1a, 1b, 1c, 2, 3, 4, 5a and 5b.
 */
export function porterStem(word: string): string {
  if (typeof word !== 'string') {
    throw new LossArgumentError(`porterStem: word must be a string, got ${formatValue(word)}`)
  }
  const lower = word.toLowerCase()
  // NLTK tests membership with the word as given and returns pool[lowercased].
  const irregular = POOL.get(word)
  if (irregular !== undefined) return POOL.get(lower) ?? irregular
  if (word.length <= 2 || (word.length <= 4 && codePointLength(word) <= 2)) return lower
  let stem = lower
  stem = step1a(stem)
  stem = step1b(stem)
  stem = step1c(stem)
  stem = step2(stem)
  stem = step3(stem)
  stem = step4(stem)
  stem = step5a(stem)
  stem = step5b(stem)
  return stem
}

/**
 * The inflectional part of `porterStem`: the irregular-forms pool, then steps 1a, 1b and 1c
 * only (plurals, -ed and -ing, y→i), lower-cased. "networks" and "network", "explained" and
 * "explaining" meet; "generalization", "general" and "generated", which full Porter all
 * reduces to "gener", stay apart. Concept matching (concepts.ts) uses it, where conflating
 * different words would credit a script with a concept it never mentioned.
 */
export function porterInflectionStem(word: string): string {
  if (typeof word !== 'string') {
    throw new LossArgumentError(`porterInflectionStem: word must be a string, got ${formatValue(word)}`)
  }
  const lower = word.toLowerCase()
  const irregular = POOL.get(lower)
  if (irregular !== undefined) return irregular
  if (lower.length <= 2 || (lower.length <= 4 && codePointLength(lower) <= 2)) return lower
  return step1c(step1b(step1a(lower)))
}
