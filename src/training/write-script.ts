/**
 * A script of any length from a model whose answers have an output cap.
 *
 * An hour-long episode is about 9,000 words: as the JSON of a script, about 18,000
 * output tokens. The call asks for that much (max_tokens sized from the length asked,
 * with headroom), not a fixed limit; when the script cannot fit in one answer of the
 * model (or one answer is cut at the cap anyway), it is written in parts: consecutive
 * groups of the prompt's planned segments, each part asked with the same messages
 * plus which segments to write now and the script written so far, then joined. A cut
 * answer is never scored as a whole script.
 */
import {OutputLimitError} from '../core/errors.js'
import type {ChatMessage, LanguageModel, Task} from '../core/providers.js'
import {ScriptAnswer, type Script} from '../core/schemas/answers.js'
import type {PromptSpec} from '../core/schemas/common.js'
import {renderScriptText} from './messages.js'

/**
 * Output tokens per word of script, as JSON: about 1.35 tokens a word of English
 * text, plus labels, speaker names and JSON punctuation on every line (a 9,000-word
 * script measured about 18,000 tokens).
 */
export const TOKENS_PER_SCRIPT_WORD = 2
const ANSWER_OVERHEAD_TOKENS = 300
/** max_tokens over the expected size: a model that writes a little long is not cut. */
const HEADROOM = 1.3
/** A part is planned to fill at most this share of the cap, leaving room for a long-winded part. */
const PART_FILL = 0.7

export function expectedScriptTokens(words: number): number {
  return Math.ceil(words * TOKENS_PER_SCRIPT_WORD) + ANSWER_OVERHEAD_TOKENS
}

/** max_tokens for an answer expected to take `expected` tokens: with headroom, within the cap. */
export function maxTokensFor(expected: number, cap: number): number {
  return Math.min(cap, Math.ceil(expected * HEADROOM) + 512)
}

export interface ScriptRequest {
  model: LanguageModel
  /** The generator's messages: the prompt's system text and the paper. */
  messages: ChatMessage[]
  /** The task as the mock reads it; its prompt's segment plan decides the parts. */
  task: Extract<Task, {kind: 'generate-script'}>
  seed: number
}

export interface WrittenScript {
  script: Script
  /** 1 when the script came in one answer. */
  parts: number
}

/** How many parts a script of `words` needs so that each fits the cap with room to spare. */
export function partsNeeded(words: number, cap: number): number {
  const expected = expectedScriptTokens(words) * HEADROOM
  return expected <= cap ? 1 : Math.ceil(expected / (cap * PART_FILL))
}

export async function writeScript(request: ScriptRequest): Promise<WrittenScript> {
  const {model, task} = request
  const cap = model.maxOutputTokens
  let parts = partsNeeded(task.target_words, cap)
  if (parts === 1) {
    try {
      const answer = await model.structured({
        role: 'generate',
        messages: request.messages,
        schema: ScriptAnswer,
        task,
        seed: request.seed,
        maxOutputTokens: maxTokensFor(expectedScriptTokens(task.target_words), cap),
      })
      return {script: answer.value, parts: 1}
    } catch (error) {
      // Cut even at the cap: the model writes longer than asked; in parts each answer is shorter.
      if (!(error instanceof OutputLimitError)) throw error
      parts = 2
    }
  }
  try {
    return await writeInParts(request, parts)
  } catch (error) {
    if (!(error instanceof OutputLimitError) || parts * 2 > task.prompt.segment_plan.length) throw error
    return writeInParts(request, parts * 2)
  }
}

/** The plan's steps in `count` consecutive groups of about equal shares (fewer when the plan has fewer steps). */
export function planGroups(plan: PromptSpec['segment_plan'], count: number): number[][] {
  const n = Math.min(count, plan.length)
  const total = plan.reduce((sum, step) => sum + step.share, 0) || 1
  const groups: number[][] = []
  let current: number[] = []
  let filled = 0
  for (let i = 0; i < plan.length; i++) {
    current.push(i)
    filled += plan[i]!.share / total
    const groupsLeft = n - groups.length - 1
    const stepsLeft = plan.length - i - 1
    // Close the group at its share of the whole, but leave every later group a step.
    if (groupsLeft > 0 && (filled >= (groups.length + 1) / n || stepsLeft === groupsLeft)) {
      groups.push(current)
      current = []
    }
  }
  if (current.length) groups.push(current)
  return groups
}

async function writeInParts(request: ScriptRequest, count: number): Promise<WrittenScript> {
  const {model, task} = request
  const plan = task.prompt.segment_plan
  const groups = planGroups(plan, count)
  const total = plan.reduce((sum, step) => sum + step.share, 0) || 1
  const segments: Script['segments'] = []
  // Every part sends the same prompt and paper first: marked for the prompt cache, the
  // parts after the first read them at a tenth of the price, and (on Anthropic) outside
  // the input tokens per minute, which a paper sent whole with every part would use up.
  const shared: ChatMessage[] = request.messages.map((message, i) =>
    i === request.messages.length - 1 ? {...message, cache: true} : message,
  )
  for (const [index, group] of groups.entries()) {
    const share = group.reduce((sum, i) => sum + plan[i]!.share, 0) / total
    const words = Math.max(1, Math.round(task.target_words * share))
    const steps = group.map((i) => plan[i]!)
    // The mock reads the task: this part's plan and length, as a real model reads the message below.
    const partPrompt: PromptSpec = {...task.prompt, segment_plan: steps.map((s) => ({label: s.label, share: s.share / (share * total)}))}
    const answer = await model.structured({
      role: 'generate',
      messages: [...shared, {role: 'user', content: partMessage(index, groups.length, steps, group, words, segments)}],
      schema: ScriptAnswer,
      task: {...task, prompt: partPrompt, target_words: words},
      seed: request.seed + index,
      maxOutputTokens: maxTokensFor(expectedScriptTokens(words), model.maxOutputTokens),
    })
    segments.push(...answer.value.segments)
  }
  return {script: {segments}, parts: groups.length}
}

function partMessage(
  index: number,
  count: number,
  steps: PromptSpec['segment_plan'],
  positions: number[],
  words: number,
  written: Script['segments'],
): string {
  const which = steps.map((step, i) => `${positions[i]! + 1}. ${step.label}`).join('\n')
  return [
    `This script is too long for one answer, so it is written in ${count} parts. Write part ${index + 1} of ${count} now: only these planned segments, in this order:`,
    which,
    `About ${words} words in this part. Answer with the same JSON shape, holding only these segments.`,
    ...(written.length
      ? [
          '',
          'The script so far (do not repeat it; go on from where it ends, with the same speakers and voice):',
          renderScriptText({segments: written}),
        ]
      : []),
  ].join('\n')
}
