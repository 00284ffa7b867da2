/**
 * Extractive condensation of a long paper body for the generate role: whole
 * sentences chosen by key-concept mentions and position, kept in the paper's
 * order, omissions marked "[...]". Deterministic and local (no model call), so the
 * same paper and concepts always give the same condensed text.
 */
import {approximateTokens, CHARS_PER_TOKEN, DEFAULT_TOKEN_BUDGETS} from './budget.js'
import type {KeyConcept} from '../core/schemas/common.js'
import {mentions, normaliseForMatch, sentences} from '../core/text.js'

export const OMISSION = '[...]'

type Section = 'front' | 'preferred' | 'other'

interface Unit {
  text: string
  /** Block (paragraph or heading) the unit belongs to: units of a block are joined with a space. */
  block: number
  heading: boolean
  /** Index of the heading unit of this unit's section, if any. */
  headingUnit: number | null
  score: number
}

/** Headings whose sections summarise the paper: kept preferentially. */
const PREFERRED_HEADING =
  /^(?:(?:\d{1,2}(?:\.\d{1,2})*|[ivxlc]{1,6})\.?\s+)?(?:abstract|summary|introduction|conclusions?|concluding\s+remarks|discussion\s+and\s+conclusions?|conclusions?\s+and\s+(?:discussion|future\s+work|outlook))\s*:?$/i
/** Other numbered section headings ("2 Method", "3.1. Data", "IV. RESULTS"): they end a preferred section. */
const NUMBERED_HEADING = /^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVXLC]{1,6}\.)\s+[A-Z][^.!?]{0,70}$/
const PLAIN_HEADING =
  /^(?:abstract|summary|introduction|background|related\s+work|methods?|methodology|materials\s+and\s+methods|experiments?|results|results\s+and\s+discussion|evaluation|discussion|limitations|conclusions?|acknowledg(?:e)?ments?)\s*:?$/i

/*
 * Position bonuses added to a sentence's concept score. Together they stay below 1,
 * the weight of the top concept: a sentence naming the top concept always
 * outranks one that names no concept.
 */
/** Front matter (title, authors, abstract before any heading) and Abstract / Introduction / Conclusion sections. */
const PREFERRED_SECTION_BONUS = 0.5
/** The opening sentences of every section: 0.3 for the first, falling by 0.06 a sentence to 0 at the sixth. */
const SECTION_OPENING_BONUS = 0.3
const SECTION_OPENING_SENTENCES = 5
/** The first sentence of a paragraph (its topic sentence). */
const FIRST_SENTENCE_BONUS = 0.1

type RawUnit = Omit<Unit, 'score'> & {section: Section; firstInBlock: boolean; inSection: number}

function splitUnits(body: string): RawUnit[] {
  const units: RawUnit[] = []
  let block = 0
  let section: Section = 'front'
  let headingUnit: number | null = null
  let inSection = 0
  let paragraph: string[] = []
  const flush = () => {
    const text = paragraph.join('\n')
    paragraph = []
    const parts = sentences(text)
    if (parts.length === 0) return
    parts.forEach((sentence, i) =>
      units.push({text: sentence, block, heading: false, headingUnit, section, firstInBlock: i === 0, inSection: inSection++}),
    )
    block++
  }
  for (const raw of body.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trim().replace(/\s+/g, ' ')
    if (!line) {
      flush()
      continue
    }
    const preferred = line.length <= 80 && PREFERRED_HEADING.test(line)
    if (preferred || (line.length <= 80 && (NUMBERED_HEADING.test(line) || PLAIN_HEADING.test(line)))) {
      flush()
      section = preferred ? 'preferred' : 'other'
      headingUnit = units.length
      inSection = 0
      units.push({text: line, block, heading: true, headingUnit: null, section, firstInBlock: true, inSection: 0})
      block++
      continue
    }
    paragraph.push(line)
  }
  flush()
  return units
}

/**
 * A version of `body` of at most `maxTokens` tokens (approximateTokens). Returns
 * the body unchanged when it fits. Otherwise each sentence is scored: the summed
 * weights of the key concepts it mentions (text.ts `mentions`), +0.5 in the front
 * matter (before the first heading: title, authors, abstract) and in Abstract /
 * Introduction / Conclusion sections, +0.3 down to +0.06 for the first five
 * sentences of any section, +0.1 for a paragraph's first sentence. The best
 * sentences are taken (ties: earlier first) while they fit, each bringing its
 * section heading; the rest are skipped, so a later, shorter sentence may still
 * fit. Kept text is put back in the paper's order, each run of omitted text
 * replaced by "[...]". Sentences are found as in text.ts `sentences`; line
 * breaks inside a paragraph become spaces.
 */
export function condenseForGeneration(body: string, concepts: readonly KeyConcept[], maxTokens: number): string {
  if (approximateTokens(body) <= maxTokens) return body
  const maxChars = maxTokens * CHARS_PER_TOKEN
  const parts = splitUnits(body)
  const units: Unit[] = parts.map((unit) => {
    let score = 0
    if (!unit.heading) {
      const haystack = normaliseForMatch(unit.text)
      score = concepts.reduce((sum, c) => sum + (mentions(haystack, c.term) ? c.weight : 0), 0)
      if (unit.section !== 'other') score += PREFERRED_SECTION_BONUS
      score += SECTION_OPENING_BONUS * Math.max(0, 1 - unit.inSection / SECTION_OPENING_SENTENCES)
      if (unit.firstInBlock) score += FIRST_SENTENCE_BONUS
    }
    return {text: unit.text, block: unit.block, heading: unit.heading, headingUnit: unit.headingUnit, score}
  })

  // Upper bound on what a kept unit adds to the output: its text, a separator (<= 2),
  // and an omission marker before it with its separator; plus one trailing marker.
  const cost = (unit: Unit) => unit.text.length + 2 + OMISSION.length + 2
  const order = units.map((_, i) => i).sort((a, b) => units[b]!.score - units[a]!.score || a - b)
  const kept = new Set<number>()
  let used = OMISSION.length + 2
  for (const i of order) {
    const unit = units[i]!
    // Headings come only with a sentence of their section.
    if (unit.heading || kept.has(i)) continue
    const withHeading = unit.headingUnit !== null && !kept.has(unit.headingUnit) ? [unit.headingUnit, i] : [i]
    const extra = withHeading.reduce((sum, j) => sum + cost(units[j]!), 0)
    if (used + extra > maxChars) continue
    for (const j of withHeading) kept.add(j)
    used += extra
  }

  let result = render(units, kept)
  // The bound above makes this a no-op; it guards the budget should rendering ever change.
  const byScore = [...kept].sort((a, b) => units[a]!.score - units[b]!.score || b - a)
  while (approximateTokens(result) > maxTokens && byScore.length > 0) {
    kept.delete(byScore.shift()!)
    result = render(units, kept)
  }
  return approximateTokens(result) <= maxTokens ? result : ''
}

/** Kept units in order; units of one block joined by spaces, blocks by blank lines, each omitted run as "[...]". */
function render(units: readonly Unit[], kept: ReadonlySet<number>): string {
  const blocks: string[] = []
  let current: {block: number; text: string} | null = null
  let omitted = false
  const flush = () => {
    if (current) blocks.push(current.text)
    current = null
  }
  units.forEach((unit, i) => {
    if (!kept.has(i)) {
      omitted = true
      return
    }
    if (current && current.block === unit.block) {
      current.text += omitted ? ` ${OMISSION} ${unit.text}` : ` ${unit.text}`
    } else {
      flush()
      if (omitted) {
        // An omission inside the new block (its first sentences dropped) stays inline; a dropped block is its own marker.
        const inline = i > 0 && units[i - 1]!.block === unit.block
        if (inline) current = {block: unit.block, text: `${OMISSION} ${unit.text}`}
        else {
          blocks.push(OMISSION)
          current = {block: unit.block, text: unit.text}
        }
      } else current = {block: unit.block, text: unit.text}
    }
    omitted = false
  })
  flush()
  if (omitted) blocks.push(OMISSION)
  return blocks.join('\n\n')
}

/**
 * The paper text generation and judging see for a pair the run analysed: its body, condensed
 * (within the smaller of the generate and judge budgets) when its analysis says so. The
 * trainer and the dataset export both take it from here, so an exported example holds the
 * very text the best trial was written from.
 */
export function generationPaperText(
  body: string,
  analysis: {concepts: readonly KeyConcept[]; long_paper: {condensed_for_generation: boolean} | null},
): string {
  const budget = Math.min(DEFAULT_TOKEN_BUDGETS.generate, DEFAULT_TOKEN_BUDGETS.judge)
  return analysis.long_paper?.condensed_for_generation ? condenseForGeneration(body, analysis.concepts, budget) : body
}
