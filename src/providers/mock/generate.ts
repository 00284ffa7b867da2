/**
 * An extractive script writer that follows the prompt: its segment plan and word
 * budget, its speakers, its question rate and sentence length, and its rule on how
 * many key concepts must be covered. It writes whole paper sentences, so it misses
 * numeric targets the way a real model does, which is what the refiner corrects.
 */
import type {KeyConcept, PromptSpec, Script, SegmentLabel} from '../../training/schemas.js'
import {pick, seededRandom, type Random} from '../../training/random.js'
import {countWords, mentions, normaliseForMatch} from '../../training/text.js'
import {paperSentences, type PaperPart, type PaperSentence} from './paper-sections.js'

const OPENERS: Record<SegmentLabel, string[]> = {
  intro: ['Welcome to the show. Today we are looking at {title}.', 'Hello and welcome. This episode is about {title}.'],
  background: ['Let us start with the problem. Why does {concept} matter?', 'Before we get into it, what is the background here?'],
  method: ['So how does it work? Tell us about {concept}.', 'Walk us through the method.'],
  findings: ['What did the experiments show?', 'So what were the results for {concept}?'],
  discussion: ['What are the limitations of {concept}?', 'What does this mean in practice?'],
  outro: ['That is all for today. Thanks for listening.', 'Thank you for joining us, and see you next time.'],
}

const FOLLOW_UPS = ['Can you say more about {concept}?', 'Why is {concept} important here?', 'How should listeners think about {concept}?', 'And what surprised you?']

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
  const commas = [...sentence.matchAll(/[,;]\s+/g)].map((m) => m.index!)
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

export function generateScript(prompt: PromptSpec, title: string, paper: string, concepts: KeyConcept[], seed: number): Script {
  const ctx: Context = {
    random: seededRandom(seed, 'generate', title),
    title,
    concepts: concepts.map((c) => c.term),
    speakers: prompt.speakers.map((s) => s.name),
  }
  const sentences = paperSentences(paper)
  const mustCover = ctx.concepts.slice(0, prompt.must_cover_concepts)
  const wordsPerQuestion = prompt.style.questions_per_minute > 0 ? prompt.style.words_per_minute / prompt.style.questions_per_minute : Infinity

  // Each must-cover concept is explained where the paper first mentions it, in the
  // planned segment that talks about that part of the paper.
  const required = new Map<SegmentLabel, Set<number>>()
  const plannedLabels = new Set(prompt.segment_plan.map((s) => s.label))
  for (const concept of mustCover) {
    const first = sentences.find((s) => mentions(normaliseForMatch(s.text), concept))
    if (!first) continue
    const label = labelForPart(first.part, plannedLabels)
    if (!label) continue
    let set = required.get(label)
    if (!set) required.set(label, (set = new Set()))
    set.add(first.index)
  }

  const host = ctx.speakers[0]!
  const answerers = ctx.speakers.length > 1 ? ctx.speakers.slice(1) : ctx.speakers
  const used = new Set<number>()
  const segments: Script['segments'] = []
  let conceptCursor = 0
  const nextConcept = () => ctx.concepts.length ? ctx.concepts[conceptCursor++ % ctx.concepts.length] : undefined
  for (const [position, step] of prompt.segment_plan.entries()) {
    const budget = Math.max(1, Math.round(step.share * prompt.target_words))
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
    let planned = spent
    for (const sentence of ordered) {
      const words = countWords(sentence.text)
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
