/**
 * The calibrated prompt: a structured PromptSpec, rendered deterministically into
 * the messages the script generator receives.
 */
import type {ChatMessage} from '../providers/types.js'
import {canonicalJson, sha256} from './hash.js'
import type {AggregateProfile, KeyConcept, PromptSpec} from './schemas.js'
import {round} from './text.js'

/** Trial 0 asks for this many key concepts; the refiner raises it when scripts miss some. */
export const INITIAL_MUST_COVER = 3

export function initialPrompt(profile: AggregateProfile): PromptSpec {
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
    target_words: Math.max(50, Math.round(profile.words)),
    segment_plan,
    speakers,
    style: {
      words_per_minute: Math.max(1, round(profile.words_per_minute, 1)),
      questions_per_minute: round(profile.questions_per_minute, 2),
      mean_sentence_words: Math.max(1, round(profile.mean_sentence_words, 1)),
      tone: 'conversational, curious and precise',
    },
    must_cover_concepts: INITIAL_MUST_COVER,
    instructions: ['Stay faithful to the paper: no claims it does not make.', 'Explain each technical term the first time it appears.'],
  }
}

export function promptHash(prompt: PromptSpec): string {
  return sha256(canonicalJson(prompt))
}

const PLACEHOLDERS = {title: '{{paper_title}}', concepts: '{{key_concepts}}', paper: '{{paper_text}}'}

export function renderPrompt(prompt: PromptSpec): {system: string; user_template: string} {
  const minutes = prompt.target_words / prompt.style.words_per_minute
  const plan = prompt.segment_plan
    .map((step, i) => `${i + 1}. ${step.label}: about ${Math.round(step.share * prompt.target_words)} words (${Math.round(step.share * 100)}%)`)
    .join('\n')
  const system = [
    'You write podcast scripts about research papers, in the style of the human-made episodes this prompt was calibrated on.',
    '',
    `Length: about ${prompt.target_words} words (${minutes.toFixed(1)} minutes at ${prompt.style.words_per_minute} words per minute).`,
    '',
    'Segments, in this order:',
    plan,
    '',
    'Speakers:',
    ...prompt.speakers.map((s) => `- ${s.name}: ${s.role}`),
    '',
    `Style: ${prompt.style.tone}. About ${prompt.style.questions_per_minute} questions per minute; sentences of about ${prompt.style.mean_sentence_words} words on average.`,
    `Coverage: explain at least the first ${prompt.must_cover_concepts} key concepts listed with the paper, in words a listener can follow.`,
    ...(prompt.instructions.length ? ['', 'Also:', ...prompt.instructions.map((line) => `- ${line}`)] : []),
    '',
    'Answer with the script as JSON: {"segments": [{"label": ..., "lines": [{"speaker": ..., "text": ...}]}]}, one entry per planned segment, speakers named exactly as above.',
  ].join('\n')
  const user_template = `Paper title: ${PLACEHOLDERS.title}\n\nKey concepts, most important first:\n${PLACEHOLDERS.concepts}\n\nPaper:\n${PLACEHOLDERS.paper}`
  return {system, user_template}
}

export function generatorMessages(prompt: PromptSpec, title: string, paper: string, concepts: KeyConcept[]): ChatMessage[] {
  const {system, user_template} = renderPrompt(prompt)
  const user = user_template
    .replace(PLACEHOLDERS.title, () => title)
    .replace(PLACEHOLDERS.concepts, () => concepts.map((c) => `- ${c.term}`).join('\n'))
    .replace(PLACEHOLDERS.paper, () => paper)
  return [
    {role: 'system', content: system},
    {role: 'user', content: user},
  ]
}
