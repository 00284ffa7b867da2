/**
 * Key concepts by frequency of content n-grams (1 to 3 words) in the paper body,
 * longer terms favoured, and shorter terms dropped when a chosen longer term
 * already contains them.
 */
import type {KeyConcept} from '../../core/schemas/common.js'
import {words} from '../../core/text.js'

const STOPWORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just may me might more most much must my no nor not now of off on once only or other our ours out over own per same she should so some such than that the their theirs them then there these they this those through thus to too under until up upon us use used uses using very via was we were what when where which while who whom why will with within without would yet you your et al fig figure table section paper show shows shown results result approach method methods work study new one two three four five first second however also each can based given across well higher lower between while`.split(
    /\s+/,
  ),
)

function isContent(word: string): boolean {
  return word.length >= 3 && !STOPWORDS.has(word) && /^[\p{L}][\p{L}\p{N}'’-]*$/u.test(word)
}

export function extractKeyConcepts(paper: string, max: number): KeyConcept[] {
  const tokens = words(paper.toLowerCase())
  const counts = new Map<string, {count: number; n: number; first: number}>()
  for (let i = 0; i < tokens.length; i++) {
    for (let n = 1; n <= 3 && i + n <= tokens.length; n++) {
      const gram = tokens.slice(i, i + n)
      if (!isContent(gram[0]!) || !isContent(gram[n - 1]!)) continue
      if (gram.some((w) => /^\d/.test(w))) continue
      const key = gram.join(' ')
      const entry = counts.get(key)
      if (entry) entry.count++
      else counts.set(key, {count: 1, n, first: i})
    }
  }
  const candidates = [...counts.entries()]
    .filter(([, e]) => e.count >= 2)
    .map(([term, e]) => ({term, score: e.count * (1 + 0.75 * (e.n - 1)), first: e.first}))
    .sort((a, b) => b.score - a.score || a.first - b.first || (a.term < b.term ? -1 : 1))

  const chosen: Array<{term: string; score: number}> = []
  for (const candidate of candidates) {
    if (chosen.length >= max) break
    const padded = ` ${candidate.term} `
    const overlaps = chosen.some((c) => ` ${c.term} `.includes(padded) || padded.includes(` ${c.term} `))
    if (!overlaps) chosen.push(candidate)
  }
  const top = chosen[0]?.score ?? 1
  return chosen.map((c) => ({term: c.term, weight: Math.round((c.score / top) * 1e6) / 1e6}))
}
