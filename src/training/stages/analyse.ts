/**
 * Analysis of one reference pair: segment labels, key concepts, and the structure
 * and style profiles that the prompt is calibrated toward; plus their aggregate.
 */
import {distance} from 'fastest-levenshtein'

import {clampKeyConcepts, clampSegmentLabels, ignoreWarnings, warnOutOfRange, type WarningSink} from '../../core/answer-bounds.js'
import type {Providers} from '../../core/providers.js'
import {DEFAULT_TOKEN_BUDGETS, approximateTokens, chunkText, defaultOverlapTokens, type TokenBudgets} from '../budget.js'
import type {Paper} from '../../media/paper.js'
import {classifyMessages, conceptsMessages} from '../messages.js'
import {KeyConceptsAnswer, SegmentLabelsAnswer} from '../../core/schemas/answers.js'
import {
  SEGMENT_LABELS,
  type KeyConcept,
  type LabelShares,
  type LabelledSegment,
  type SegmentLabel,
  type StructureProfile,
  type StyleProfile,
  type Transcript,
} from '../../core/schemas/common.js'
import {type AggregateProfile, type LongPaper, type PairAnalysis} from '../../core/schemas/files.js'
import {countWords, isQuestion, mean, median, round, sentences} from '../../core/text.js'

export const MAX_KEY_CONCEPTS = 12

export interface AnalysisInput {
  pairId: string
  /** A promise while it is being extracted: the classify call does not wait for it. */
  paper: Paper | Promise<Paper>
  episode: {path: string; durationSeconds: number; sha256: string}
  /** A promise while it is being transcribed: the concepts call does not wait for it. */
  transcript: Transcript | Promise<Transcript>
  seed: number
  /** Paper-text tokens per role; missing roles take DEFAULT_TOKEN_BUDGETS. */
  budgets?: Partial<TokenBudgets>
  /** Where answers brought back within bounds are reported (core/answer-bounds.ts); default: nowhere. */
  warn?: WarningSink
}

/** The analysis without its usage, which the caller measures (see usage.ts). */
export async function analysePair(input: AnalysisInput, providers: Providers): Promise<Omit<PairAnalysis, 'usage'>> {
  const budgets: TokenBudgets = {...DEFAULT_TOKEN_BUDGETS, ...input.budgets}
  const warn = input.warn ?? ignoreWarnings
  // Concepts need the paper, segment labels the transcript: each call starts when its input exists.
  const conceptsCall = Promise.resolve(input.paper).then(async (paper) => {
    const paperTokens = approximateTokens(paper.body)
    const chunks =
      paperTokens > budgets.concepts ? chunkText(paper.body, budgets.concepts, defaultOverlapTokens(budgets.concepts)) : [paper.body]
    return {paper, paperTokens, chunks, concepts: await conceptsOfChunks(chunks, input.seed, providers, warn)}
  })
  // Settled either way before anything throws, so that no call is left unobserved.
  const [transcriptResult, conceptsResult] = await Promise.allSettled([
    Promise.resolve(input.transcript).then(async (transcript) => {
      const numbered = transcript.segments.map((s, index) => ({index, start: s.start, end: s.end, text: s.text}))
      const answer = await providers.languageModel('classify').structured({
        role: 'classify',
        messages: classifyMessages(numbered),
        schema: SegmentLabelsAnswer,
        task: {kind: 'classify-segments', segments: numbered, duration_seconds: input.episode.durationSeconds},
        seed: input.seed,
        // About a dozen tokens per label: an hour's 600 segments fit in 10,000 (a 4-hour episode's need the model's cap).
        maxOutputTokens: 1024 + numbered.length * 16,
      })
      const labels = clampSegmentLabels(answer.value, numbered.length)
      warnOutOfRange(warn, 'classify', labels.notes)
      return {transcript, labels: labels.value}
    }),
    conceptsCall,
  ])
  if (transcriptResult.status === 'rejected') throw transcriptResult.reason
  if (conceptsResult.status === 'rejected') throw conceptsResult.reason
  const {transcript, labels} = transcriptResult.value
  const {paper, paperTokens, chunks, concepts} = conceptsResult.value

  const condensed = paperTokens > budgets.generate
  const long_paper: LongPaper | null =
    chunks.length > 1 || condensed ? {paper_tokens: paperTokens, concepts_chunks: chunks.length, condensed_for_generation: condensed} : null
  const segments = labelSegments(transcript, labels)
  return {
    pair_id: input.pairId,
    paper: {path: paper.path, pages: paper.pages, words: paper.words, sha256: paper.sha256, format: paper.format},
    episode: {path: input.episode.path, duration_seconds: input.episode.durationSeconds, sha256: input.episode.sha256},
    transcript_source: transcript.source,
    concepts: normaliseConcepts(concepts),
    segments,
    structure: structureProfile(segments),
    style: styleProfile(segments, input.episode.durationSeconds),
    long_paper,
  }
}

/**
 * Key concepts of the paper: one call for a body within budget; otherwise one call
 * per chunk, in order (one at a time, to stay clear of rate limits), then merged.
 * Each answer is brought within bounds first (a negative importance is 0), with a warning.
 */
export async function conceptsOfChunks(
  chunks: string[],
  seed: number,
  providers: Providers,
  warn: WarningSink = ignoreWarnings,
): Promise<KeyConceptsAnswer> {
  const model = providers.languageModel('concepts')
  const answers: KeyConceptsAnswer[] = []
  for (const [i, chunk] of chunks.entries()) {
    const answer = await model.structured({
      role: 'concepts',
      messages: conceptsMessages(chunk, MAX_KEY_CONCEPTS),
      schema: KeyConceptsAnswer,
      task: {kind: 'key-concepts', paper: chunk, max: MAX_KEY_CONCEPTS},
      seed,
      maxOutputTokens: 1024 + MAX_KEY_CONCEPTS * 40,
    })
    const bounded = clampKeyConcepts(answer.value)
    warnOutOfRange(warn, chunks.length > 1 ? `concepts (chunk ${i + 1} of ${chunks.length})` : 'concepts', bounded.notes)
    answers.push(bounded.value)
  }
  return answers.length === 1 ? answers[0]! : mergeConceptAnswers(answers)
}

/**
 * The reduce step for chunked papers: concepts merged by case-insensitive term
 * (first spelling kept), importance summed over chunks, so a concept that matters
 * throughout the paper outranks one that dominates a single chunk. Ties keep the
 * order of first appearance. The top MAX_KEY_CONCEPTS are kept, importance
 * rescaled so that the first is 1.
 */
export function mergeConceptAnswers(answers: readonly KeyConceptsAnswer[]): KeyConceptsAnswer {
  const merged = new Map<string, {term: string; importance: number; order: number}>()
  for (const answer of answers) {
    // A model may repeat a term within one answer: count it once per chunk, at its highest importance.
    const perChunk = new Map<string, {term: string; importance: number}>()
    for (const concept of answer.concepts) {
      const term = concept.term.trim()
      const key = term.toLowerCase()
      if (!key) continue
      const seen = perChunk.get(key)
      if (!seen) perChunk.set(key, {term, importance: concept.importance})
      else seen.importance = Math.max(seen.importance, concept.importance)
    }
    for (const [key, concept] of perChunk) {
      const entry = merged.get(key)
      if (entry) entry.importance += concept.importance
      else merged.set(key, {...concept, order: merged.size})
    }
  }
  const ranked = [...merged.values()].sort((a, b) => b.importance - a.importance || a.order - b.order).slice(0, MAX_KEY_CONCEPTS)
  const top = Math.max(...ranked.map((c) => c.importance), Number.EPSILON)
  return {concepts: ranked.map((c) => ({term: c.term, importance: round(c.importance / top)}))}
}

/** A segment the model left unlabelled takes the label of the segment before it. */
function labelSegments(transcript: Transcript, answer: SegmentLabelsAnswer): LabelledSegment[] {
  const byIndex = new Map(answer.labels.map((l) => [l.index, l.label]))
  let previous: SegmentLabel = 'intro'
  return transcript.segments.map((segment, index) => {
    const label = byIndex.get(index) ?? previous
    previous = label
    return {...segment, label, words: countWords(segment.text)}
  })
}

/**
 * The paper's key concepts from a (bounded) answer: terms trimmed, repeats dropped, at most
 * MAX_KEY_CONCEPTS, importance rescaled whatever its scale so that the most important weighs 1.
 * When no concept has a positive importance, they all weigh 1.
 */
export function normaliseConcepts(answer: KeyConceptsAnswer): KeyConcept[] {
  const seen = new Set<string>()
  const unique = answer.concepts.filter((c) => {
    const key = c.term.trim().toLowerCase()
    if (!key || seen.has(key)) return false
    seen.add(key)
    return true
  })
  const top = Math.max(0, ...unique.map((c) => c.importance))
  return unique
    .slice(0, MAX_KEY_CONCEPTS)
    .map((c) => ({term: c.term.trim(), weight: top > 0 ? Math.max(round(Math.max(c.importance, 0) / top), 1e-6) : 1}))
}

export function collapse<T>(sequence: readonly T[]): T[] {
  return sequence.filter((item, i) => i === 0 || item !== sequence[i - 1])
}

export function shares(segments: ReadonlyArray<{label: SegmentLabel}>, weight: (i: number) => number): LabelShares {
  const totals: Partial<Record<SegmentLabel, number>> = {}
  let sum = 0
  segments.forEach((s, i) => {
    const w = Math.max(0, weight(i))
    totals[s.label] = (totals[s.label] ?? 0) + w
    sum += w
  })
  const result: LabelShares = {}
  for (const label of SEGMENT_LABELS) {
    if (totals[label] !== undefined) result[label] = sum > 0 ? round(totals[label] / sum) : 0
  }
  return result
}

export function structureProfile(segments: LabelledSegment[]): StructureProfile {
  return {
    sequence: collapse(segments.map((s) => s.label)),
    time_shares: shares(segments, (i) => segments[i]!.end - segments[i]!.start),
    word_shares: shares(segments, (i) => segments[i]!.words),
  }
}

export function styleProfile(segments: ReadonlyArray<{speaker: string | null; text: string}>, durationSeconds: number): StyleProfile {
  const text = segments.map((s) => s.text).join('\n')
  const all = sentences(text)
  const words = countWords(text)
  const minutes = durationSeconds / 60
  const speakers: string[] = []
  let turns = 0
  let previous: string | null = null
  for (const segment of segments) {
    if (segment.speaker === null) continue
    if (!speakers.includes(segment.speaker)) speakers.push(segment.speaker)
    if (segment.speaker !== previous) turns++
    previous = segment.speaker
  }
  return {
    words,
    duration_seconds: round(durationSeconds, 3),
    words_per_minute: minutes > 0 ? round(words / minutes) : 0,
    mean_sentence_words: all.length ? round(words / all.length) : 0,
    questions_per_minute: minutes > 0 ? round(all.filter(isQuestion).length / minutes) : 0,
    speaker_turns: turns,
    turns_per_minute: minutes > 0 ? round(turns / minutes) : 0,
    speakers,
  }
}

/** Speakers assumed when no reference transcript names any (e.g. transcription without diarisation). */
const FALLBACK_SPEAKERS = ['Host', 'Guest']

export function aggregateProfiles(analyses: PairAnalysis[]): AggregateProfile {
  if (analyses.length === 0) throw new Error('aggregateProfiles needs at least one analysis')
  const sequences = analyses.map((a) => a.structure.sequence)
  // The medoid: the reference sequence closest (by edit distance) to all the others.
  const alphabet = (seq: SegmentLabel[]) => seq.map((l) => String.fromCharCode(65 + SEGMENT_LABELS.indexOf(l))).join('')
  let medoid = sequences[0]!
  let bestCost = Infinity
  for (const candidate of sequences) {
    const cost = sequences.reduce((sum, other) => sum + distance(alphabet(candidate), alphabet(other)), 0)
    if (cost < bestCost) {
      bestCost = cost
      medoid = candidate
    }
  }
  const meanShares = (pick: (a: PairAnalysis) => LabelShares): LabelShares => {
    const result: LabelShares = {}
    for (const label of SEGMENT_LABELS) {
      const value = mean(analyses.map((a) => pick(a)[label] ?? 0))
      if (value > 0) result[label] = round(value)
    }
    return result
  }
  const speakerCount = Math.round(median(analyses.map((a) => a.style.speakers.length)))
  const speakers = analyses.find((a) => a.style.speakers.length === speakerCount && speakerCount > 0)?.style.speakers ?? FALLBACK_SPEAKERS
  return {
    pairs: analyses.length,
    sequence: medoid,
    word_shares: meanShares((a) => a.structure.word_shares),
    time_shares: meanShares((a) => a.structure.time_shares),
    duration_seconds: round(mean(analyses.map((a) => a.episode.duration_seconds)), 3),
    words: round(mean(analyses.map((a) => a.style.words))),
    words_per_minute: round(mean(analyses.map((a) => a.style.words_per_minute))),
    mean_sentence_words: round(mean(analyses.map((a) => a.style.mean_sentence_words))),
    questions_per_minute: round(mean(analyses.map((a) => a.style.questions_per_minute))),
    turns_per_minute: round(mean(analyses.map((a) => a.style.turns_per_minute))),
    speakers,
  }
}
