/**
 * An extractive script writer that follows the prompt: its segment plan and word
 * budget, its speakers, its question rate and sentence length, and its rule on how
 * many key concepts must be covered. It writes whole paper sentences, so it misses
 * numeric targets the way a real model does, which is what the refiner corrects.
 */
import type {KeyConcept, PromptSpec, SegmentLabel} from '../../core/schemas/common.js'
import type {Script} from '../../core/schemas/answers.js'
import {pick, seededRandom, type Random} from '../../core/random.js'
import {countWords, mentions, normaliseForMatch} from '../../core/text.js'
import {paperSentences, type PaperPart, type PaperSentence} from './paper-sections.js'

const OPENERS: Record<SegmentLabel, string[]> = {
  intro: ['Welcome to the show. Today we are looking at {title}.', 'Hello and welcome. This episode is about {title}.'],
  background: ['Let us start with the problem. Why does {concept} matter?', 'Before we get into it, what is the background here?'],
  method: ['So how does it work? Tell us about {concept}.', 'Walk us through the method.'],
  findings: ['What did the experiments show?', 'So what were the results for {concept}?'],
  discussion: ['What are the limitations of {concept}?', 'What does this mean in practice?'],
  outro: ['That is all for today. Thanks for listening.', 'Thank you for joining us, and see you next time.'],
}

/**
 * Systematic biases of the kind real models show, which the refiner has to learn
 * to correct: scripts come out shorter than the requested length, and with fewer
 * questions than asked for. Proportional corrections remove them in about one step.
 */
const LENGTH_BIAS = 0.8
const QUESTION_BIAS = 0.6

/** Typical length of a follow-up question, for budgeting. */
const QUESTION_WORDS = 7

const FOLLOW_UPS = [
  'Can you say more about {concept}?',
  'Why is {concept} important here?',
  'How should listeners think about {concept}?',
  'And what surprised you?',
]

interface Context {
  random: Random
  title: string
  concepts: string[]
  speakers: string[]
}

function fill(template: string, ctx: Context, concept: string | undefined): string {
  return template.replace('{title}', ctx.title).replace('{concept}', concept ?? 'this')
}

/** Splits sentences much longer than the target at a comma near their middle. */
function toTargetLength(sentence: string, targetWords: number): string[] {
  if (countWords(sentence) <= targetWords * 1.6) return [sentence]
  const commas = [...sentence.matchAll(/[,;]\s+/g)].map((m) => m.index)
  if (commas.length === 0) return [sentence]
  const middle = sentence.length / 2
  const cut = commas.reduce((best, c) => (Math.abs(c - middle) < Math.abs(best - middle) ? c : best))
  const head = sentence.slice(0, cut).trim() + '.'
  const tail = sentence.slice(cut + 1).trim()
  return [head, tail.charAt(0).toUpperCase() + tail.slice(1)]
}

const PART_FOR_LABEL: Record<SegmentLabel, PaperPart[]> = {
  intro: ['intro'],
  background: ['background', 'intro'],
  method: ['method'],
  findings: ['findings'],
  discussion: ['discussion'],
  outro: ['discussion'],
}

export function generateScript(
  prompt: PromptSpec,
  askedWords: number,
  title: string,
  paper: string,
  concepts: KeyConcept[],
  seed: number,
): Script {
  const ctx: Context = {
    random: seededRandom(seed, 'generate', title),
    title,
    concepts: concepts.map((c) => c.term),
    speakers: prompt.speakers.map((s) => s.name),
  }
  const sentences = paperSentences(paper)
  const mustCover = ctx.concepts.slice(0, prompt.must_cover_concepts)
  const targetWords = askedWords * LENGTH_BIAS
  const questionsPerMinute = prompt.style.questions_per_minute * QUESTION_BIAS
  const wordsPerQuestion = questionsPerMinute > 0 ? prompt.style.words_per_minute / questionsPerMinute : Infinity

  // Each must-cover concept is explained from a paper sentence that mentions it,
  // placed in the planned segment with the most room left among those that fit
  // the sentence's part of the paper (abstracts mention everything, but an intro
  // has no room to explain it all).
  const required = new Map<SegmentLabel, Set<number>>()
  const room = new Map<SegmentLabel, number>()
  for (const step of prompt.segment_plan) room.set(step.label, (room.get(step.label) ?? 0) + step.share * targetWords)
  const plannedLabels = new Set(room.keys())
  const taken = new Set<number>()
  for (const concept of mustCover) {
    let best: {sentence: PaperSentence; label: SegmentLabel; left: number} | null = null
    for (const sentence of sentences) {
      if (!mentions(normaliseForMatch(sentence.text), concept)) continue
      const label = labelForPart(sentence.part, plannedLabels)
      if (!label) continue
      // A sentence already chosen for another concept covers this one for free.
      const left = taken.has(sentence.index) ? Infinity : room.get(label)! - countWords(sentence.text)
      if (!best || left > best.left) best = {sentence, label, left}
    }
    if (!best) continue
    if (!taken.has(best.sentence.index)) room.set(best.label, best.left)
    taken.add(best.sentence.index)
    let set = required.get(best.label)
    if (!set) required.set(best.label, (set = new Set()))
    set.add(best.sentence.index)
  }

  const host = ctx.speakers[0]!
  const answerers = ctx.speakers.length > 1 ? ctx.speakers.slice(1) : ctx.speakers
  const used = new Set<number>()
  const segments: Script['segments'] = []
  let conceptCursor = 0
  // Questions name only the concepts the prompt asks to cover, so coverage follows the prompt.
  const nextConcept = () => (mustCover.length ? mustCover[conceptCursor++ % mustCover.length] : undefined)
  for (const [position, step] of prompt.segment_plan.entries()) {
    const budget = Math.max(1, Math.round(step.share * targetWords))
    const lines: Array<{speaker: string; text: string}> = []
    const opener = fill(pick(ctx.random, OPENERS[step.label]), ctx, nextConcept())
    lines.push({speaker: host, text: opener})
    let spent = countWords(opener)
    let sinceQuestion = 0
    let turn = position
    const pool = sentences.filter((s) => PART_FOR_LABEL[step.label].includes(s.part) && !used.has(s.index))
    const must = required.get(step.label) ?? new Set<number>()
    const ordered: PaperSentence[] = [...pool.filter((s) => must.has(s.index)), ...pool.filter((s) => !must.has(s.index))]
    const chosen: PaperSentence[] = []
    // Follow-up questions take words from the same budget as the answers.
    const questionOverhead = step.label === 'outro' ? 0 : QUESTION_WORDS / wordsPerQuestion
    let planned = spent
    for (const sentence of ordered) {
      const words = countWords(sentence.text) * (1 + questionOverhead)
      if (!must.has(sentence.index) && planned + words > budget + words / 2) continue
      chosen.push(sentence)
      planned += words
      if (planned >= budget && [...must].every((i) => chosen.some((c) => c.index === i))) break
    }
    chosen.sort((a, b) => a.index - b.index)
    for (const sentence of chosen) {
      used.add(sentence.index)
      if (sinceQuestion >= wordsPerQuestion && step.label !== 'outro') {
        const question = fill(pick(ctx.random, FOLLOW_UPS), ctx, nextConcept())
        lines.push({speaker: host, text: question})
        spent += countWords(question)
        sinceQuestion = 0
        turn++
      }
      const speaker = step.label === 'outro' ? host : answerers[turn % answerers.length]!
      for (const part of toTargetLength(sentence.text, prompt.style.mean_sentence_words)) {
        const last = lines.at(-1)!
        if (last.speaker === speaker) last.text += ` ${part}`
        else lines.push({speaker, text: part})
        spent += countWords(part)
        sinceQuestion += countWords(part)
      }
    }
    segments.push({label: step.label, lines})
  }
  return {segments}
}

function labelForPart(part: PaperPart, planned: Set<SegmentLabel>): SegmentLabel | null {
  const preferences: Record<PaperPart, SegmentLabel[]> = {
    intro: ['intro', 'background'],
    background: ['background', 'intro', 'method'],
    method: ['method', 'background', 'findings'],
    findings: ['findings', 'discussion', 'method'],
    discussion: ['discussion', 'findings', 'outro'],
  }
  return preferences[part].find((label) => planned.has(label)) ?? null
}
