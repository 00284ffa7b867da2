/**
 * A heuristic judge with the tastes of its personality (personality.ts). Coverage: a
 * concept counts as explained when the script names it, which is what the mock writer
 * does for the concepts it explains and never does for the others, so the judge reports
 * what is in the script. Quality: engagement from how close the script's question rate
 * comes to the judge's ideal, clarity from how close its mean sentence length comes to
 * the judge's ideal (both hidden, and often unlike the human episodes; the identity
 * personality's judge takes the reference episode's), accuracy from how much of the
 * script's substance can be traced back to the paper.
 */
import type {JudgeAnswer, Script} from '../../core/schemas/answers.js'
import type {KeyConcept, StyleProfile} from '../../core/schemas/common.js'
import {countWords, isQuestion, mentions, normaliseForMatch, sentences, words} from '../../core/text.js'
import type {JudgeIdeals, Personality} from './personality.js'

/** How far from the ideal, as a ratio, a score falls to about 60% of the way down (log scale). */
const TOLERANCE = 0.4
/** The score of a script as far from the ideal as can be. */
const FLOOR = 20

/** 1 at the ideal, falling smoothly with the ratio to it (twice as many and half as many are equally far). */
export function closeness(value: number, ideal: number): number {
  if (ideal <= 0) return 1 / (1 + Math.max(0, value))
  if (value <= 0) return 0
  const distance = Math.log(value / ideal) / TOLERANCE
  return Math.exp(-0.5 * distance * distance)
}

export function judgeIdeals(personality: Personality, reference: StyleProfile): JudgeIdeals {
  return personality.judge ?? {questionsPerMinute: reference.questions_per_minute, meanSentenceWords: reference.mean_sentence_words}
}

export function judgeScript(
  personality: Personality,
  script: Script,
  paper: string,
  concepts: KeyConcept[],
  reference: StyleProfile,
): JudgeAnswer {
  const ideals = judgeIdeals(personality, reference)
  const lines = script.segments.flatMap((s) => s.lines)
  const text = lines.map((l) => l.text).join('\n')
  const haystack = normaliseForMatch(text)
  const explained = concepts.filter((c) => mentions(haystack, c.term)).map((c) => c.term)

  // Measured as the trainer measures them: words at the reference episode's pace.
  const scriptSentences = sentences(text)
  const totalWords = countWords(text)
  const minutes = totalWords / Math.max(reference.words_per_minute, 1)
  const questionsPerMinute = minutes > 0 ? scriptSentences.filter(isQuestion).length / minutes : 0
  const meanSentence = scriptSentences.length ? totalWords / scriptSentences.length : 0

  const engagement = FLOOR + (100 - FLOOR) * closeness(questionsPerMinute, ideals.questionsPerMinute)
  const clarity = FLOOR + (100 - FLOOR) * closeness(meanSentence, ideals.meanSentenceWords)

  const paperVocabulary = new Set(words(paper.toLowerCase()))
  let substantive = 0
  let grounded = 0
  for (const sentence of scriptSentences) {
    const content = words(sentence.toLowerCase()).filter((w) => w.length > 3)
    if (content.length < 4) continue
    substantive++
    if (content.filter((w) => paperVocabulary.has(w)).length / content.length >= 0.7) grounded++
  }
  const accuracy = substantive ? 50 + 50 * (grounded / substantive) : 50

  const scores = {engagement: round1(engagement), clarity: round1(clarity), accuracy: round1(accuracy)}
  const weakest = (Object.keys(scores) as Array<keyof typeof scores>).reduce((a, b) => (scores[b] < scores[a] ? b : a))
  // Like a real judge, it says what it saw and which way to go, not the number it wants.
  const reasons = {
    engagement: `${questionsPerMinute.toFixed(2)} questions per minute ${direction(questionsPerMinute, ideals.questionsPerMinute, 'feels too sparse', 'feels like an interrogation')}`,
    clarity: `sentences average ${meanSentence.toFixed(1)} words ${direction(meanSentence, ideals.meanSentenceWords, 'and feel choppy', 'and are hard to follow by ear')}`,
    accuracy: `${grounded} of ${substantive} substantive sentences are grounded in the paper`,
  }
  return {concepts_explained: explained, ...scores, weakest_dimension_reason: `${weakest}: ${reasons[weakest]}`}
}

function direction(value: number, ideal: number, below: string, above: string): string {
  if (Math.abs(Math.log(Math.max(value, 1e-9) / Math.max(ideal, 1e-9))) < 0.1) return 'is about right'
  return value < ideal ? below : above
}

function round1(value: number): number {
  return Math.round(Math.max(0, Math.min(100, value)) * 10) / 10
}
