/**
 * The step after validation: an answer that matched its schema (core/schemas/answers.ts)
 * is brought within the bounds the code assumes, bounds no structured-output API
 * enforces. A value out of range is clamped into it, or dropped when it means nothing,
 * and each change is described in a note; the caller turns the notes into a warning
 * (a `warning` line of events.jsonl in a training run). Pure: the answer given is not
 * modified, and the same answer always gives the same value and notes.
 */
import type {JudgeAnswer, KeyConceptsAnswer, Script, SegmentLabelsAnswer} from './schemas/answers.js'
import {JUDGE_SCORE_MAX} from './schemas/common.js'

/** An answer within bounds, and what was changed to get it there (empty: nothing). */
export interface Bounded<T> {
  value: T
  notes: string[]
}

/** Where warnings go: the trainer emits them as events; it never writes to a terminal. */
export type WarningSink = (message: string) => void

/** A sink for callers that do not report warnings. */
export const ignoreWarnings: WarningSink = () => {}

/** Notes listed in one warning, at most; the rest are counted. */
const MAX_NOTES_PER_WARNING = 5

/**
 * One warning for one answer's notes (none when there are none), e.g. `the judge answer
 * was out of range: engagement 104 is above 100, clamped to 100`. The sink adds where.
 */
export function warnOutOfRange(warn: WarningSink, answer: string, notes: readonly string[]): void {
  if (notes.length === 0) return
  const shown = notes.slice(0, MAX_NOTES_PER_WARNING).join('; ')
  const more = notes.length > MAX_NOTES_PER_WARNING ? `; and ${notes.length - MAX_NOTES_PER_WARNING} more` : ''
  warn(`the ${answer} answer was out of range: ${shown}${more}`)
}

/** Judge scores outside 0..100 are clamped to the nearer end of the scale. */
export function clampJudgeScores(answer: JudgeAnswer): Bounded<JudgeAnswer> {
  const notes: string[] = []
  const value = {...answer}
  for (const key of ['engagement', 'clarity', 'accuracy'] as const) {
    const score = answer[key]
    if (score < 0) {
      value[key] = 0
      notes.push(`${key} ${score} is below 0, clamped to 0`)
    } else if (score > JUDGE_SCORE_MAX) {
      value[key] = JUDGE_SCORE_MAX
      notes.push(`${key} ${score} is above ${JUDGE_SCORE_MAX}, clamped to ${JUDGE_SCORE_MAX}`)
    }
  }
  return {value, notes}
}

/**
 * A negative importance is clamped to 0 and a concept without a term dropped. Importance
 * has no top: it is rescaled afterwards so that the first concept weighs 1, whatever the
 * scale the model used.
 */
export function clampKeyConcepts(answer: KeyConceptsAnswer): Bounded<KeyConceptsAnswer> {
  const notes: string[] = []
  const concepts: KeyConceptsAnswer['concepts'] = []
  answer.concepts.forEach((concept, i) => {
    if (concept.term.trim() === '') {
      notes.push(`concepts[${i}] has no term, dropped`)
      return
    }
    if (concept.importance < 0) {
      notes.push(`concepts[${i}].importance ${concept.importance} ("${concept.term.trim()}") is below 0, clamped to 0`)
      concepts.push({...concept, importance: 0})
      return
    }
    concepts.push(concept)
  })
  return {value: {concepts}, notes}
}

/** Labels whose index names no segment of the transcript (0 .. segments - 1) are dropped. */
export function clampSegmentLabels(answer: SegmentLabelsAnswer, segments: number): Bounded<SegmentLabelsAnswer> {
  const notes: string[] = []
  const labels = answer.labels.filter((label, i) => {
    if (label.index >= 0 && label.index < segments) return true
    const range = segments > 0 ? `0..${segments - 1}` : 'there are none'
    notes.push(`labels[${i}].index ${label.index} names no segment (${range}), dropped`)
    return false
  })
  return {value: {labels}, notes}
}

/**
 * A line without text is dropped, then a segment left without lines; a line without a
 * speaker takes the speaker of the line before it (the first lines: of the first line
 * that names one). The schema guarantees a line with both, so the script is never empty.
 */
export function clampScript(script: Script): Bounded<Script> {
  const notes: string[] = []
  const firstSpeaker = script.segments.flatMap((s) => s.lines).find((l) => l.speaker.trim() !== '' && l.text.trim() !== '')?.speaker
  let previous = firstSpeaker ?? ''
  const segments: Script['segments'] = []
  script.segments.forEach((segment, s) => {
    const lines: Script['segments'][number]['lines'] = []
    segment.lines.forEach((line, l) => {
      if (line.text.trim() === '') {
        notes.push(`segments[${s}].lines[${l}] has no text, dropped`)
        return
      }
      if (line.speaker.trim() === '') {
        notes.push(`segments[${s}].lines[${l}] has no speaker, given "${previous}"`)
        lines.push({...line, speaker: previous})
        return
      }
      previous = line.speaker
      lines.push(line)
    })
    if (lines.length === 0) {
      notes.push(`segments[${s}] (${segment.label}) has no line left, dropped`)
      return
    }
    segments.push({...segment, lines})
  })
  return {value: {segments}, notes}
}
