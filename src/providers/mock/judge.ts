/**
 * A heuristic judge. Coverage: a concept counts as explained when the script
 * names it. Quality, against the human reference of the same paper: engagement
 * from how close the question rate and turn-taking come to the reference's, clarity
 * from sentence length, accuracy from how much of the script's substance can be
 * traced back to the paper.
 */
import type {JudgeAnswer, Script} from '../../core/schemas/answers.js'
import type {KeyConcept, StyleProfile} from '../../core/schemas/common.js'
import {countWords, isQuestion, mentions, normaliseForMatch, sentences, words} from '../../core/text.js'

function closeness(value: number, target: number, floor: number): number {
  return 1 - Math.min(1, Math.abs(value - target) / Math.max(target, floor))
}

export function judgeScript(script: Script, paper: string, concepts: KeyConcept[], reference: StyleProfile): JudgeAnswer {
  const lines = script.segments.flatMap((s) => s.lines)
  const text = lines.map((l) => l.text).join('\n')
  const haystack = normaliseForMatch(text)
  const explained = concepts.filter((c) => mentions(haystack, c.term)).map((c) => c.term)

  const scriptSentences = sentences(text)
  const totalWords = countWords(text)
  const minutes = totalWords / Math.max(reference.words_per_minute, 1)
  const questionsPerMinute = minutes > 0 ? scriptSentences.filter(isQuestion).length / minutes : 0
  let turns = 0
  for (let i = 0; i < lines.length; i++) if (i === 0 || lines[i]!.speaker !== lines[i - 1]!.speaker) turns++
  const turnsPerMinute = minutes > 0 ? turns / minutes : 0
  const meanSentence = scriptSentences.length ? totalWords / scriptSentences.length : 0

  const questionFit = closeness(questionsPerMinute, reference.questions_per_minute, 0.5)
  const turnFit = closeness(turnsPerMinute, reference.turns_per_minute, 0.5)
  const engagement = 40 + 35 * questionFit + 25 * turnFit
  const clarity = 40 + 60 * closeness(meanSentence, reference.mean_sentence_words, 1)

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
  const reasons = {
    engagement: `${questionsPerMinute.toFixed(2)} questions and ${turnsPerMinute.toFixed(2)} speaker turns per minute, against ${reference.questions_per_minute.toFixed(2)} and ${reference.turns_per_minute.toFixed(2)} in the reference`,
    clarity: `sentences average ${meanSentence.toFixed(1)} words, against ${reference.mean_sentence_words.toFixed(1)} in the reference`,
    accuracy: `${grounded} of ${substantive} substantive sentences are grounded in the paper`,
  }
  return {concepts_explained: explained, ...scores, weakest_dimension_reason: `${weakest}: ${reasons[weakest]}`}
}

function round1(value: number): number {
  return Math.round(Math.max(0, Math.min(100, value)) * 10) / 10
}
