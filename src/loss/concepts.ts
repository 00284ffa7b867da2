/**
 * Which of a paper's key concepts a script covers, tolerant of wording: the judge may write
 * "Self-Attention" for the concept "self attention", and a script may say "data sets" for
 * "dataset" or "fine-tuned" for "fine-tuning". A concept counts when the judge lists it or
 * the script contains it, both compared after normalisation:
 *
 * 1. Words: Unicode NFKD with accents dropped, lower case, a possessive "'s" and any other
 *    apostrophe removed ("model's" -> "model", "don't" -> "dont"), then anything that is not
 *    a letter or a digit separates words: hyphens, slashes, punctuation ("self-attention" ->
 *    "self attention").
 * 2. Each word is reduced to its inflectional stem (porterInflectionStem: plurals, -ed, -ing,
 *    y/i), so "networks"/"network" and "explains"/"explained"/"explaining" meet. Derivational
 *    suffixes are kept: full Porter would make "generalization" match "general" and
 *    "transformer" match "transform".
 * 3. A concept matches a run of whole words with the same stems in the same order, or a run
 *    of whole words that, written together, stems the same as the concept written together:
 *    "selfattention" = "self attention" = "self-attention", "dataset" = "data set". Whole
 *    words only: "attention" is not in "inattention", and "neural network" alone does not
 *    cover "graph neural network".
 *
 * Only the paper's own key concepts are ever counted, whatever else the judge lists.
 * Known misses: irregular plurals that the stemmer does not join ("analysis"/"analyses",
 * "bias"/"biases"), synonyms and abbreviations ("LLM" for "large language model").
 */
import {porterInflectionStem} from './porter.js'

/** The words of a text, normalised as step 1 says (not stemmed). */
export function conceptWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/['’ʼ]s(?![\p{L}\p{N}])/gu, '')
    .replace(/['’ʼ]/gu, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
}

/** A term reduced for comparison: the stems of its words, and the stem of its words written together. */
interface TermKey {
  stems: string[]
  joined: string
}

function termKey(term: string, stem: (word: string) => string): TermKey {
  const words = conceptWords(term)
  return {stems: words.map(stem), joined: words.length ? stem(words.join('')) : ''}
}

function memoStem(): (word: string) => string {
  const cache = new Map<string, string>()
  return (word) => {
    let stem = cache.get(word)
    if (stem === undefined) {
      stem = porterInflectionStem(word)
      cache.set(word, stem)
    }
    return stem
  }
}

function sameKey(a: TermKey, b: TermKey): boolean {
  if (a.stems.length === 0 || b.stems.length === 0) return false
  if (a.joined === b.joined) return true
  return a.stems.length === b.stems.length && a.stems.every((s, i) => s === b.stems[i])
}

/** Whether two terms name the same concept after normalisation ("Self-Attention" and "self attention"). */
export function sameConcept(a: string, b: string): boolean {
  const stem = memoStem()
  return sameKey(termKey(a, stem), termKey(b, stem))
}

/**
 * A script, indexed once, to ask whether it contains a concept. Inflection only rewrites the
 * last few letters of a word (at most 4 removed, at most 1 letter changed: "hopping" -> "hop",
 * "study" -> "studi"), which bounds the runs of words worth stemming together.
 */
export class ConceptText {
  private readonly stem = memoStem()
  private readonly words: string[]
  private readonly stems: string[]

  constructor(text: string) {
    this.words = conceptWords(text)
    this.stems = this.words.map(this.stem)
  }

  mentions(term: string): boolean {
    const key = termKey(term, this.stem)
    if (key.stems.length === 0) return false
    return this.hasStems(key.stems) || this.hasJoined(key.joined)
  }

  private hasStems(stems: string[]): boolean {
    const n = stems.length
    for (let i = 0; i + n <= this.stems.length; i++) {
      let j = 0
      while (j < n && this.stems[i + j] === stems[j]) j++
      if (j === n) return true
    }
    return false
  }

  private hasJoined(joined: string): boolean {
    // The words written together must start with all of the joined stem but its last letter.
    const prefix = joined.slice(0, -1)
    const longest = joined.length + 4
    for (let i = 0; i < this.words.length; i++) {
      let written = ''
      for (let j = i; j < this.words.length; j++) {
        written += this.words[j]!
        if (written.length > longest || !(prefix.startsWith(written) || written.startsWith(prefix))) break
        if (written.startsWith(prefix) && this.stem(written) === joined) return true
      }
    }
    return false
  }
}

/**
 * The paper's key concepts a script covers, in the paper's order: those the judge lists
 * (compared with sameConcept) or the script contains (ConceptText), and those it misses.
 */
export function matchConcepts(
  concepts: readonly string[],
  evidence: {claimed: readonly string[]; script: string},
): {explained: string[]; missed: string[]} {
  const stem = memoStem()
  const claimed = evidence.claimed.map((c) => termKey(c, stem))
  const text = new ConceptText(evidence.script)
  const explained: string[] = []
  const missed: string[] = []
  for (const concept of concepts) {
    const key = termKey(concept, stem)
    if (claimed.some((c) => sameKey(c, key)) || text.mentions(concept)) explained.push(concept)
    else missed.push(concept)
  }
  return {explained, missed}
}
