/**
 * The messages sent for analysis and judging. Pure and deterministic: the same
 * inputs always give the same text, which keeps real calls cacheable and repeatable.
 */
import type {ChatMessage} from '../core/providers.js'
import {SEGMENT_LABELS, type KeyConcept, type StyleProfile} from '../core/schemas/common.js'
import {type Script} from '../core/schemas/answers.js'

export function classifyMessages(segments: Array<{index: number; start: number; end: number; text: string}>): ChatMessage[] {
  const numbered = segments.map((s) => `[${s.index}] (${s.start.toFixed(1)}-${s.end.toFixed(1)} s) ${s.text}`).join('\n')
  return [
    {
      role: 'system',
      content: `You label the parts of a science podcast transcript. Labels: ${SEGMENT_LABELS.join(', ')}. intro: welcome and topic; background: why the problem matters and prior work; method: how the research was done; findings: results and numbers; discussion: limitations, implications, open questions; outro: thanks and sign-off. Give every numbered segment exactly one label.`,
    },
    {role: 'user', content: `Transcript segments:\n${numbered}`},
  ]
}

export function conceptsMessages(paper: string, max: number): ChatMessage[] {
  return [
    {
      role: 'system',
      content: `You extract the key concepts of a research paper: the technical terms, methods, datasets and findings a listener must understand to follow a podcast about it. Return at most ${max}, most important first, each with an importance between 0 and 1. Use the paper's own wording for each term.`,
    },
    {role: 'user', content: `Paper:\n${paper}`},
  ]
}

export function renderScriptText(script: Script): string {
  return script.segments
    .map((segment) => `[${segment.label}]\n${segment.lines.map((l) => `${l.speaker}: ${l.text}`).join('\n')}`)
    .join('\n\n')
    .concat('\n')
}

export function judgeMessages(script: Script, paper: string, concepts: KeyConcept[], reference: StyleProfile): ChatMessage[] {
  return [
    {
      role: 'system',
      content:
        'You judge a podcast script written about a research paper. Score engagement, clarity and accuracy from 0 to 100, list which of the given key concepts the script explains (use the exact terms given), and give the reason for the lowest score in one sentence. ' +
        `For reference, the human episode about this paper speaks ${reference.words_per_minute.toFixed(0)} words per minute, asks ${reference.questions_per_minute.toFixed(2)} questions per minute and uses sentences of ${reference.mean_sentence_words.toFixed(1)} words on average.`,
    },
    // The same for every trial of this pair: kept apart from the script, so that a
    // provider can serve it from its prompt cache from the second trial on.
    {role: 'user', content: `Key concepts:\n${concepts.map((c) => `- ${c.term}`).join('\n')}\n\nPaper:\n${paper}`, cache: true},
    {role: 'user', content: `Script:\n${renderScriptText(script)}`},
  ]
}
