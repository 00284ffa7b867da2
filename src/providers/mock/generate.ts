/**
 * The mock script writer: a simulated model with a hidden personality
 * (personality.ts) that decides how much of what the prompt asks it delivers. It writes
 * text with exactly the delivered properties, as the trainer measures them
 * (core/text.ts): so many words, so many sentences (paper sentences split and merged
 * to the delivered length), so many questions, each segment its delivered share of
 * the words, and only the concepts it decided to explain.
 *
 * It reads what a real model would see: the prompt, the length asked of this paper,
 * the title, the paper and its key concepts; never the reference episode.
 */
import type {Script} from '../../core/schemas/answers.js'
import type {KeyConcept, PromptSpec, SegmentLabel} from '../../core/schemas/common.js'
import {canonicalJson, sha256} from '../../core/hash.js'
import {pick, seededRandom, type Random} from '../../core/random.js'
import {words} from '../../core/text.js'
import {paperSentences, type PaperPart} from './paper-sections.js'
import {callNoise, deliveredRate, deliveredWords, explainsConcept, type Personality} from './personality.js'

export interface WriteRequest {
  prompt: PromptSpec
  /** The length asked of this paper's script (the task's target_words). */
  targetWords: number
  title: string
  paper: string
  concepts: KeyConcept[]
}

/** What the writer decided to deliver for one call, before it writes a word. */
export interface Delivery {
  words: number
  sentences: number
  questions: number
  /** Words, sentences and questions per planned segment, in plan order. */
  segmentWords: number[]
  segmentSentences: number[]
  segmentQuestions: number[]
  /** The delivered question rate (per minute at the prompt's pace) and mean sentence length the counts come from. */
  questionRate: number
  sentenceWords: number
  /** Concepts (by term) the script explains. */
  explained: string[]
}

const WELCOME = ['welcome to the show', 'hello and welcome to the show', 'welcome back to the show']
const CLOSING = ['thanks for listening and see you next time', 'that is all for today so thank you for listening']
const QUESTION_OPENERS = [
  'so how does',
  'why does',
  'what about',
  'can you explain why',
  'how should we think about',
  'what happens when',
  'is it fair to say that',
  'and what does',
]
/** Used only if the paper has no words left once unexplained concepts are removed. */
const FALLBACK = ['this', 'part', 'of', 'the', 'work', 'is', 'worth', 'a', 'closer', 'look']

/** The paper parts a segment draws its sentences from first. */
const PART_FOR_LABEL: Record<SegmentLabel, PaperPart[]> = {
  intro: ['intro'],
  background: ['background', 'intro'],
  method: ['method'],
  findings: ['findings'],
  discussion: ['discussion'],
  outro: ['discussion'],
}

/** Segments where the host asks questions; the others are the host's own (unless the plan has no other). */
const QUIET: ReadonlySet<SegmentLabel> = new Set(['intro', 'outro'])

/**
 * `total` units split over weights, each part within [min, max[i]], as close to
 * proportional as whole numbers allow (largest deficit first).
 */
function apportion(total: number, weights: readonly number[], min: number, max?: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  const share = weights.map((w) => (sum > 0 ? w / sum : 1 / weights.length))
  const parts = weights.map((_, i) => Math.min(min, max?.[i] ?? Infinity))
  let left = total - parts.reduce((a, b) => a + b, 0)
  while (left > 0) {
    let best = -1
    let bestDeficit = -Infinity
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]! >= (max?.[i] ?? Infinity)) continue
      const deficit = share[i]! * total - parts[i]!
      if (deficit > bestDeficit) {
        bestDeficit = deficit
        best = i
      }
    }
    if (best < 0) break
    parts[best]!++
    left--
  }
  return parts
}

/** The word sequences that would make `mentions` find a concept: the term, its plural, its singular. */
function conceptForms(term: string): string[][] {
  const base = words(term.toLowerCase())
  if (base.length === 0) return []
  const last = base.at(-1)!
  const forms = [base, [...base.slice(0, -1), `${last}s`]]
  if (last.endsWith('s') && last.length > 1) forms.push([...base.slice(0, -1), last.slice(0, -1)])
  return forms
}

/** Tokens with every occurrence of a banned sequence removed, until none is left (a removal can join two halves into one). */
function scrub(tokens: string[], banned: readonly string[][]): string[] {
  if (banned.length === 0) return tokens
  let current = tokens
  for (let pass = 0; pass < 8; pass++) {
    const lower = current.map((t) => t.toLowerCase())
    const out: string[] = []
    let removed = false
    for (let i = 0; i < current.length;) {
      const hit = banned.find((seq) => seq.every((w, k) => lower[i + k] === w))
      if (hit) {
        i += hit.length
        removed = true
      } else out.push(current[i++]!)
    }
    current = out
    if (!removed) break
  }
  return current
}

/** Index of the first occurrence of any of the forms in tokens, and its length. */
function findForm(tokens: readonly string[], forms: readonly string[][]): {at: number; length: number} | null {
  const lower = tokens.map((t) => t.toLowerCase())
  for (let i = 0; i < lower.length; i++) {
    const hit = forms.find((seq) => seq.every((w, k) => lower[i + k] === w))
    if (hit) return {at: i, length: hit.length}
  }
  return null
}

function sentenceText(tokens: readonly string[], end: '.' | '?'): string {
  const text = tokens.join(' ')
  return text.charAt(0).toUpperCase() + text.slice(1) + end
}

function jitter(random: Random): number {
  // Sentence lengths vary around their mean, as speech does (the mean is kept exact).
  return Math.exp(0.3 * (random() + random() + random() - 1.5))
}

export function planDelivery(personality: Personality, request: WriteRequest, seed: number): Delivery {
  const {prompt} = request
  const plan = prompt.segment_plan
  const noise = callNoise(personality, seed, callKey(request))
  const totalWords = Math.max(plan.length * 2, Math.round(deliveredWords(personality.length, request.targetWords) * noise.length))
  const sentenceWords = Math.max(2, deliveredRate(personality.sentences, prompt.style.mean_sentence_words) * noise.sentences)
  const questionRate = Math.max(0, deliveredRate(personality.questions, prompt.style.questions_per_minute) * noise.questions)

  const weights = plan.map((step) => step.share * personality.segmentFactors[step.label])
  const segmentWords = apportion(totalWords, weights, 2)
  const sentences = Math.max(plan.length, Math.min(totalWords, Math.round(totalWords / sentenceWords)))
  const segmentSentences = apportion(sentences, segmentWords, 1, segmentWords)
  // The host asks in the body of the episode, not while welcoming or closing (unless the plan has no body).
  const asking = plan.map((step) => !QUIET.has(step.label))
  const anyAsking = asking.some(Boolean)
  const capacity = segmentSentences.map((n, i) => (!anyAsking || asking[i] ? n - 1 : 0))
  const wanted = Math.round((questionRate * totalWords) / prompt.style.words_per_minute)
  const questions = Math.min(
    wanted,
    capacity.reduce((a, b) => a + b, 0),
  )
  const segmentQuestions = apportion(
    questions,
    capacity.map((c, i) => (c > 0 ? segmentSentences[i]! : 0)),
    0,
    capacity,
  )
  const paperKey = sha256(request.paper).slice(0, 16)
  const explained = request.concepts
    .filter((c, i) => explainsConcept(personality, paperKey, c.term, i < prompt.must_cover_concepts))
    .map((c) => c.term)
  return {
    words: totalWords,
    sentences,
    questions,
    segmentWords,
    segmentSentences,
    segmentQuestions,
    questionRate,
    sentenceWords,
    explained,
  }
}

/** What makes two calls the same call: the prompt as asked, the length asked and the paper's title. */
function callKey(request: WriteRequest): string {
  return sha256(canonicalJson({prompt: request.prompt, target_words: request.targetWords, title: request.title}))
}

export function generateScript(personality: Personality, request: WriteRequest, seed: number): Script {
  const {prompt} = request
  const plan = prompt.segment_plan
  const delivery = planDelivery(personality, request, seed)
  const random = seededRandom('mock-generate', seed, callKey(request))
  const counts = delivery.segmentSentences
  const anyAsking = plan.some((step) => !QUIET.has(step.label))

  // Concepts the writer does not explain never appear; the ones it does are explained
  // from the paper's own words around their first mention.
  const explained = new Set(delivery.explained.map((t) => t.toLowerCase()))
  const banned = request.concepts.filter((c) => !explained.has(c.term.toLowerCase())).flatMap((c) => conceptForms(c.term))
  const sentences = paperSentences(request.paper).map((s) => ({...s, tokens: scrub(words(s.text), banned)}))
  const snippets: string[][] = plan.map(() => [])
  const room = [...delivery.segmentWords]
  for (const term of delivery.explained) {
    const forms = conceptForms(term)
    let snippet = words(term)
    let part: PaperPart | null = null
    for (const sentence of sentences) {
      const found = findForm(sentence.tokens, forms)
      if (!found) continue
      snippet = sentence.tokens.slice(Math.max(0, found.at - 4), found.at + found.length + 4)
      part = sentence.part
      break
    }
    const candidates = plan.map((_, i) => i).filter((i) => !anyAsking || !QUIET.has(plan[i]!.label))
    const preferred = candidates.filter((i) => part !== null && PART_FOR_LABEL[plan[i]!.label].includes(part))
    const roomiest = (list: number[]) => list.reduce((a, b) => (room[b]! > room[a]! ? b : a))
    let at = preferred.length ? roomiest(preferred) : -1
    if (at < 0 || room[at]! < snippet.length) at = roomiest(candidates)
    snippets[at]!.push(...snippet)
    room[at]! -= snippet.length
  }

  const used = new Set<number>()
  const host = prompt.speakers[0]!.name
  const guests = prompt.speakers.length > 1 ? prompt.speakers.slice(1).map((s) => s.name) : [host]
  let guestTurn = 0
  const segments: Script['segments'] = plan.map((step, i) => {
    const lengths = apportion(
      delivery.segmentWords[i]!,
      Array.from({length: counts[i]!}, () => jitter(random)),
      1,
    )
    const stream = segmentStream(step.label, snippets[i]!, delivery.segmentWords[i]!, sentences, used, banned)
    let cursor = 0
    const take = (n: number) => {
      const out = stream.slice(cursor, cursor + n)
      cursor += n
      return out
    }
    const asks = delivery.segmentQuestions[i]!
    const questionAt = new Set(Array.from({length: asks}, (_, k) => Math.round((k * counts[i]!) / asks)))
    const lines: Array<{speaker: string; text: string}> = []
    const say = (speaker: string, text: string) => {
      const last = lines.at(-1)
      if (last?.speaker === speaker) last.text += ` ${text}`
      else lines.push({speaker, text})
    }
    lengths.forEach((length, k) => {
      const opener = questionAt.has(k)
        ? pick(random, QUESTION_OPENERS)
        : step.label === 'intro' && k === 0
          ? pick(random, WELCOME)
          : step.label === 'outro' && k === lengths.length - 1
            ? pick(random, CLOSING)
            : ''
      const prefix = words(opener).slice(0, length)
      const tokens = [...prefix, ...take(length - prefix.length)]
      if (questionAt.has(k)) {
        say(host, sentenceText(tokens, '?'))
        guestTurn++
      } else {
        say(QUIET.has(step.label) && anyAsking ? host : guests[guestTurn % guests.length]!, sentenceText(tokens, '.'))
      }
    })
    return {label: step.label, lines}
  })
  return {segments}
}

/**
 * At least `need` words for one segment: its concept snippets, then the paper's
 * sentences of its parts not used yet, then any not used yet, then (a long script
 * of a short paper) all of them again, as a real model pads by repeating itself.
 */
function segmentStream(
  label: SegmentLabel,
  snippets: string[],
  need: number,
  sentences: ReadonlyArray<{index: number; part: PaperPart; tokens: string[]}>,
  used: Set<number>,
  banned: readonly string[][],
): string[] {
  const parts = PART_FOR_LABEL[label]
  const own = sentences.filter((s) => parts.includes(s.part))
  const order = [...own.filter((s) => !used.has(s.index)), ...sentences.filter((s) => !parts.includes(s.part) && !used.has(s.index))]
  // Once everything has been said, start over from this segment's own parts.
  const again = [own, sentences].map((list) => list.filter((s) => s.tokens.length > 0)).find((list) => list.length > 0) ?? []
  let stream = [...snippets]
  let next = 0
  let recycled = 0
  while (stream.length < need) {
    const before = stream.length
    while (stream.length < need) {
      const fresh = order[next++]
      if (fresh) used.add(fresh.index)
      const sentence = fresh ?? again[recycled++ % Math.max(1, again.length)]
      stream.push(...(sentence?.tokens ?? FALLBACK))
    }
    // A concept can form where two sentences meet.
    stream = scrub(stream, banned)
    if (stream.length <= before) stream.push(...FALLBACK)
  }
  return stream
}
