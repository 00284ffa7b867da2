/**
 * The calibrated prompt: a structured PromptSpec, rendered deterministically into
 * the messages the script generator receives.
 */
import type {ChatMessage} from '../core/providers.js'
import {canonicalJson, sha256} from '../core/hash.js'
import {DEFAULT_ANALOGIES, type KeyConcept, type PromptSpec} from '../core/schemas/common.js'
import {type AggregateProfile} from '../core/schemas/files.js'
import type {LengthModel} from '../core/schemas/common.js'
import {round} from '../core/text.js'
import {SELECTION_LOSS_NAME, type SelectionSplit} from '../loss/selection.js'
import {askedWords, describeLengthRule} from './length-model.js'

/** Trial 0 asks for this many key concepts; the refiner raises it when scripts miss some. */
export const INITIAL_MUST_COVER = 3

/**
 * Trial 0's prompt: the reference profile as it is. With a length model, each paper is
 * asked for the length the model predicts for it (exponent 1: the writer is assumed to
 * deliver what it is asked until the trials show otherwise).
 */
export function initialPrompt(profile: AggregateProfile, lengthModel: LengthModel | null = null): PromptSpec {
  const occurrences = new Map<string, number>()
  for (const label of profile.sequence) occurrences.set(label, (occurrences.get(label) ?? 0) + 1)
  const raw = profile.sequence.map((label) => (profile.word_shares[label] ?? 0) / occurrences.get(label)!)
  const sum = raw.reduce((a, b) => a + b, 0)
  const segment_plan = profile.sequence.map((label, i) => ({label, share: round(sum > 0 ? raw[i]! / sum : 1 / raw.length, 4)}))
  const [first, ...others] = profile.speakers
  const speakers = [
    {name: first!, role: others.length ? 'host: opens, asks the questions, keeps it moving, closes' : 'narrator: presents the paper alone'},
    ...others.map((name) => ({name, role: 'guest: explains the research in plain words'})),
  ]
  return {
    version: 1,
    target_words: Math.max(50, Math.round(lengthModel ? lengthModel.mean_words : profile.words)),
    length: lengthModel ? {model: lengthModel, exponent: 1} : null,
    segment_plan,
    speakers,
    style: {
      words_per_minute: Math.max(1, round(profile.words_per_minute, 1)),
      questions_per_minute: round(profile.questions_per_minute, 2),
      mean_sentence_words: Math.max(1, round(profile.mean_sentence_words, 1)),
      tone: 'conversational, curious and precise',
      analogies: DEFAULT_ANALOGIES,
    },
    must_cover_concepts: INITIAL_MUST_COVER,
    instructions: ['Stay faithful to the paper: no claims it does not make.', 'Explain each technical term the first time it appears.'],
  }
}

export function promptHash(prompt: PromptSpec): string {
  return sha256(canonicalJson(prompt))
}

const PLACEHOLDERS = {title: '{{paper_title}}', concepts: '{{key_concepts}}', paper: '{{paper_text}}'}
/** Placeholders of the system prompt: the length asked of this paper, in words and in minutes. */
const LENGTH_PLACEHOLDERS = {words: '{{target_words}}', minutes: '{{target_minutes}}'}

/**
 * The prompt as text. The length is a placeholder filled per paper (the prompt's length
 * rule, training/length-model.ts); the segment plan is in shares of that length.
 */
export function renderPrompt(prompt: PromptSpec): {system: string; user_template: string} {
  const plan = prompt.segment_plan
    .map((step, i) => `${i + 1}. ${step.label}: about ${Math.round(step.share * 100)}% of the words`)
    .join('\n')
  const system = [
    'You write podcast scripts about research papers, in the style of the human-made episodes this prompt was calibrated on.',
    '',
    `Length: about ${LENGTH_PLACEHOLDERS.words} words (${LENGTH_PLACEHOLDERS.minutes} minutes at ${prompt.style.words_per_minute} words per minute).`,
    '',
    'Segments, in this order:',
    plan,
    '',
    'Speakers:',
    ...prompt.speakers.map((s) => `- ${s.name}: ${s.role}`),
    '',
    `Style: ${prompt.style.tone}. About ${prompt.style.questions_per_minute} questions per minute; sentences of about ${prompt.style.mean_sentence_words} words on average.`,
    `Analogies: ${prompt.style.analogies}.`,
    `Coverage: explain at least the first ${prompt.must_cover_concepts} key concepts listed with the paper, in words a listener can follow.`,
    ...(prompt.instructions.length ? ['', 'Also:', ...prompt.instructions.map((line) => `- ${line}`)] : []),
    '',
    'Answer with the script as JSON: {"segments": [{"label": ..., "lines": [{"speaker": ..., "text": ...}]}]}, one entry per planned segment, speakers named exactly as above.',
  ].join('\n')
  const user_template = `Paper title: ${PLACEHOLDERS.title}\n\nKey concepts, most important first:\n${PLACEHOLDERS.concepts}\n\nPaper:\n${PLACEHOLDERS.paper}`
  return {system, user_template}
}

/** What fills a rendered prompt's placeholders for one paper. */
export interface PaperValues {
  title: string
  concepts: readonly KeyConcept[]
  paper: string
  /** Words asked of this paper's script (askedWords). */
  target_words: number
  /** The prompt's pace, to say the length in minutes too. */
  words_per_minute: number
}

/** The values a prompt fills in for a paper of `paperWords` words. */
export function paperValues(
  prompt: PromptSpec,
  values: {title: string; concepts: readonly KeyConcept[]; paper: string; paperWords: number},
): PaperValues {
  return {
    title: values.title,
    concepts: values.concepts,
    paper: values.paper,
    target_words: askedWords(prompt, values.paperWords),
    words_per_minute: prompt.style.words_per_minute,
  }
}

export function generatorMessages(prompt: PromptSpec, values: PaperValues): ChatMessage[] {
  return messagesFromTemplate(renderPrompt(prompt), values)
}

const PLACEHOLDER_PATTERN = /\{\{(paper_title|key_concepts|paper_text)\}\}/g
const LENGTH_PATTERN = /\{\{(target_words|target_minutes)\}\}/g

/**
 * The generator's messages from a rendered (or parsed) prompt: the system text with its
 * length placeholders filled, and the user template with its placeholders filled in one
 * pass, so that a title or paper that happens to contain "{{...}}" is never substituted
 * again. Key concepts are one "- term" line each, most important first.
 */
export function messagesFromTemplate(template: {system: string; user_template: string}, values: PaperValues): ChatMessage[] {
  const minutes = values.words_per_minute > 0 ? (values.target_words / values.words_per_minute).toFixed(1) : '?'
  const length: Record<string, string> = {target_words: String(values.target_words), target_minutes: minutes}
  const filled: Record<string, string> = {
    paper_title: values.title,
    key_concepts: values.concepts.map((c) => `- ${c.term}`).join('\n'),
    paper_text: values.paper,
  }
  const system = template.system.replace(LENGTH_PATTERN, (_match, name: string) => length[name]!)
  const user = template.user_template.replace(PLACEHOLDER_PATTERN, (_match, name: string) => filled[name]!)
  return [
    {role: 'system', content: system},
    {role: 'user', content: user},
  ]
}

// ------------------------------------------------------- calibrated_prompt.md

/** Markers around the two parts of calibrated_prompt.md, each alone on its line; studio generate reads between them. */
export const CALIBRATED_MARKERS = {
  systemOpen: '<!-- studio:system -->',
  systemClose: '<!-- /studio:system -->',
  userOpen: '<!-- studio:user -->',
  userClose: '<!-- /studio:user -->',
} as const

/** The placeholders of the user template, as they appear in calibrated_prompt.md. */
export const CALIBRATED_PLACEHOLDERS = [PLACEHOLDERS.title, PLACEHOLDERS.concepts, PLACEHOLDERS.paper] as const

/** The rule between the header and the text to paste. */
const PASTE_LINE = '---'

/** Header values on one line each: a stray newline or "-->" must not end the comment early. */
function headerValue(value: string | number): string {
  return String(value).replace(/\s+/g, ' ').replaceAll('-->', '-- >')
}

/**
 * calibrated_prompt.md: the best trial's prompt as plain text for any chat. A
 * header comment (what it is, which run, how to use it), a rule, then the exact
 * system prompt and user template of renderPrompt(spec) between marker lines.
 * parseCalibratedPrompt gives both texts back unchanged.
 */
/** The best prompt of a run as text, in the run folder. */

export function renderCalibratedPrompt(
  spec: PromptSpec,
  meta: {run_id: string; trial: number; loss: number; selected_by: SelectionSplit},
): string {
  const {system, user_template} = renderPrompt(spec)
  const m = CALIBRATED_MARKERS
  return [
    '<!--',
    'Calibrated podcast-script prompt, generated by studio.',
    `Run: ${headerValue(meta.run_id)}; best trial: ${headerValue(meta.trial)}; ${SELECTION_LOSS_NAME[meta.selected_by]}: ${headerValue(meta.loss.toFixed(4))}`,
    '',
    'How to use it:',
    '- In any chat: copy everything below the line into the chat, after replacing',
    '  {{target_words}} with the length for this paper in words, and {{target_minutes}} with it in minutes:',
    `  ${headerValue(describeLengthRule(spec))},`,
    '  {{paper_title}} with the title of the paper,',
    '  {{key_concepts}} with its key concepts, one "- term" line each, most important first,',
    '  {{paper_text}} with the full text of the paper.',
    '  If the chat has a separate system prompt, put the studio:system part there and the studio:user part in the message.',
    '- Or let studio do it: studio generate PAPER.pdf --prompt RUN_DIR',
    '',
    'studio generate sends exactly the text between the studio:system and studio:user marker lines;',
    'keep the marker lines as they are if you edit the text.',
    '-->',
    '',
    PASTE_LINE,
    '',
    m.systemOpen,
    system,
    m.systemClose,
    '',
    m.userOpen,
    user_template,
    m.userClose,
    '',
  ].join('\n')
}

/** Offset just after the first whole-line occurrence of marker at or after from, or -1. */
function lineAfter(text: string, marker: string, from: number): number {
  let at = text.indexOf(marker, from)
  while (at >= 0) {
    const startsLine = at === 0 || text[at - 1] === '\n'
    const end = at + marker.length
    if (startsLine && text[end] === '\n') return end + 1
    at = text.indexOf(marker, at + 1)
  }
  return -1
}

/** Offset of the last whole-line occurrence of marker that starts before end (after a newline), or -1. */
function lastLineBefore(text: string, marker: string, end: number): number {
  let at = text.lastIndexOf(marker, end - marker.length)
  while (at >= 0) {
    const startsLine = at > 0 && text[at - 1] === '\n'
    const after = text[at + marker.length]
    if (startsLine && (after === '\n' || after === undefined)) return at
    at = at > 0 ? text.lastIndexOf(marker, at - 1) : -1
  }
  return -1
}

/**
 * The system prompt and user template of a calibrated_prompt.md, exactly as
 * renderCalibratedPrompt wrote them (a file saved with CRLF line endings is read
 * too). The system part runs from the first system marker line to the last
 * closing one before the user part, so that instructions quoting a marker cannot
 * cut it short; the user template is studio's own text. Throws an Error that
 * says what is missing when the file is not in this format.
 */
export function parseCalibratedPrompt(markdown: string): {system: string; user_template: string} {
  const m = CALIBRATED_MARKERS
  // A file saved with CRLF line endings: told by the first system marker line, the real one.
  const firstOpen = markdown.search(/(?:^|\n)<!-- studio:system -->\r?\n/)
  const crlf = firstOpen >= 0 && markdown.slice(firstOpen).replace(/^\n/, '').startsWith(`${m.systemOpen}\r\n`)
  const text = crlf ? markdown.replace(/\r\n/g, '\n') : markdown
  const systemStart = lineAfter(text, m.systemOpen, 0)
  if (systemStart < 0) throw new Error(`no "${m.systemOpen}" line`)
  const userClose = lastLineBefore(text, m.userClose, text.length)
  if (userClose < systemStart) throw new Error(`no "${m.userClose}" line after the system prompt`)
  const userOpen = lastLineBefore(text, m.userOpen, userClose)
  if (userOpen < systemStart) throw new Error(`no "${m.userOpen}" line after the system prompt`)
  const systemClose = lastLineBefore(text, m.systemClose, userOpen)
  if (systemClose < systemStart) throw new Error(`no "${m.systemClose}" line before the user template`)
  const userStart = userOpen + m.userOpen.length + 1
  // Each part ends with the newline before its closing marker line, which is not part of the text.
  const system = text.slice(systemStart, Math.max(systemStart, systemClose - 1))
  const user_template = text.slice(userStart, Math.max(userStart, userClose - 1))
  return {system, user_template}
}
