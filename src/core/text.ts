/** Plain-text measures shared by analysis, the mock provider and the losses' callers. */

const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu

export function words(text: string): string[] {
  return text.match(WORD) ?? []
}

/** WORD for counting: its own global copy, whose test() steps through the text without building match objects. */
const WORD_STEP = new RegExp(WORD.source, 'gu')

export function countWords(text: string): number {
  let n = 0
  WORD_STEP.lastIndex = 0
  while (WORD_STEP.test(text)) n++
  return n
}

/**
 * Sentences end at . ! or ? followed by white space or the end of the text. Good enough
 * for speech transcripts and paper prose; abbreviations like "e.g." split a sentence,
 * which shifts mean sentence length slightly but identically for reference and script.
 */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[^a-z])/u)
    .map((s) => s.trim())
    .filter((s) => countWords(s) > 0)
}

export function isQuestion(sentence: string): boolean {
  return sentence.trimEnd().endsWith('?')
}

export function normaliseForMatch(text: string): string {
  return ` ${words(text.toLowerCase()).join(' ')} `
}

/** Whether `term` occurs in `haystack` (both normalised), tolerating a plural "s". */
export function mentions(normalisedHaystack: string, term: string): boolean {
  const t = words(term.toLowerCase()).join(' ')
  if (!t) return false
  if (normalisedHaystack.includes(` ${t} `) || normalisedHaystack.includes(` ${t}s `)) return true
  return t.endsWith('s') && normalisedHaystack.includes(` ${t.slice(0, -1)} `)
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function round(value: number, digits = 6): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
