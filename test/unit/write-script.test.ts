import {describe, expect, it} from 'vitest'

import {OutputLimitError} from '../../src/core/errors.js'
import type {LanguageModel, StructuredRequest} from '../../src/core/providers.js'
import type {KeyConcept, PromptSpec, SegmentLabel} from '../../src/core/schemas/common.js'
import {countWords} from '../../src/core/text.js'
import {stripMarkdown} from '../../src/media/markdown.js'
import {extractKeyConcepts} from '../../src/providers/mock/concepts.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {generatorMessages, paperValues} from '../../src/training/prompt.js'
import {expectedScriptTokens, maxTokensFor, partsNeeded, planGroups, writeScript} from '../../src/training/write-script.js'
import {syntheticPaper} from '../helpers/synthetic-pairs.js'

const PAPER = stripMarkdown(syntheticPaper(6, 3000).markdown)
const CONCEPTS: KeyConcept[] = extractKeyConcepts(PAPER, 12)
const LABELS: SegmentLabel[] = ['intro', 'background', 'method', 'findings', 'discussion', 'outro']

function spec(targetWords: number): PromptSpec {
  return {
    version: 1,
    target_words: targetWords,
    length: null,
    segment_plan: LABELS.map((label, i) => ({label, share: [0.06, 0.2, 0.25, 0.25, 0.16, 0.08][i]!})),
    speakers: [
      {name: 'Ana', role: 'host'},
      {name: 'Ben', role: 'guest'},
    ],
    style: {words_per_minute: 150, questions_per_minute: 2, mean_sentence_words: 14, tone: 'curious', analogies: 'some'},
    must_cover_concepts: 5,
    instructions: [],
  }
}

/** The mock with a given output cap, recording every request it is sent. */
function recordingModel(cap: number): {model: LanguageModel; requests: Array<StructuredRequest<unknown>>} {
  const inner = mockProviders({writer: 'identity', maxOutputTokens: cap}).languageModel('generate')
  const requests: Array<StructuredRequest<unknown>> = []
  return {
    requests,
    model: {
      id: inner.id,
      maxOutputTokens: inner.maxOutputTokens,
      structured: (request) => {
        requests.push(request)
        return inner.structured(request)
      },
    },
  }
}

function scriptRequest(model: LanguageModel, words: number) {
  const prompt = spec(words)
  const values = paperValues(prompt, {title: 'A long paper', concepts: CONCEPTS, paper: PAPER, paperWords: prompt.target_words})
  return {
    model,
    messages: generatorMessages(prompt, values),
    task: {kind: 'generate-script' as const, prompt, target_words: words, title: 'A long paper', paper: PAPER, concepts: CONCEPTS},
    seed: 7,
  }
}

const wordsOf = (script: {segments: Array<{lines: Array<{text: string}>}>}) =>
  script.segments.reduce((n, s) => n + s.lines.reduce((m, l) => m + countWords(l.text), 0), 0)

describe('sizing an answer', () => {
  it('asks for max_tokens from the length, with headroom, within the cap', () => {
    // An hour: 9,000 words, about 18,000 tokens of JSON.
    expect(expectedScriptTokens(9000)).toBe(18_300)
    expect(maxTokensFor(expectedScriptTokens(9000), 64_000)).toBe(Math.ceil(18_300 * 1.3) + 512)
    expect(maxTokensFor(expectedScriptTokens(9000), 16_384)).toBe(16_384)
    expect(partsNeeded(9000, 64_000)).toBe(1)
    // gpt-4o's 16,384: 23,790 tokens with headroom, parts of at most 70 % of the cap.
    expect(partsNeeded(9000, 16_384)).toBe(3)
  })

  it('groups the plan into consecutive parts of about equal shares, each with at least one segment', () => {
    const plan = spec(1000).segment_plan
    expect(planGroups(plan, 1)).toEqual([[0, 1, 2, 3, 4, 5]])
    // 0.06 + 0.2 + 0.25 = 0.51 of the words, then 0.49.
    expect(planGroups(plan, 2)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ])
    const three = planGroups(plan, 3)
    expect(three.flat()).toEqual([0, 1, 2, 3, 4, 5])
    expect(three).toHaveLength(3)
    expect(planGroups(plan, 10)).toHaveLength(6)
  })
})

describe('writeScript', () => {
  it('writes an hour-long script in one answer when the model can hold it, with max_tokens sized from the length', async () => {
    const {model, requests} = recordingModel(64_000)
    const written = await writeScript(scriptRequest(model, 9000))
    expect(written.parts).toBe(1)
    expect(requests).toHaveLength(1)
    expect(requests[0]!.maxOutputTokens).toBe(maxTokensFor(expectedScriptTokens(9000), 64_000))
    expect(wordsOf(written.script)).toBeGreaterThan(8000)
  })

  it('writes a script too long for one answer in parts, in plan order, each part told what came before', async () => {
    const {model, requests} = recordingModel(8000)
    const written = await writeScript(scriptRequest(model, 9000))
    expect(written.parts).toBeGreaterThan(1)
    expect(requests).toHaveLength(written.parts)
    expect(written.script.segments.map((s) => s.label)).toEqual(LABELS)
    for (const request of requests) expect(request.maxOutputTokens).toBeLessThanOrEqual(8000)
    // Every part after the first carries the script so far, as the last user message.
    const last = (r: StructuredRequest<unknown>) => r.messages.at(-1)!.content
    expect(last(requests[0]!)).toMatch(/Write part 1 of \d/)
    expect(last(requests[0]!)).not.toMatch(/The script so far/)
    expect(last(requests[1]!)).toMatch(/Write part 2 of \d[\s\S]*The script so far/)
    // Joined, the parts come to the length asked.
    expect(Math.abs(wordsOf(written.script) - 9000) / 9000).toBeLessThan(0.1)
  })

  it('falls back to parts when the one answer is cut at the cap anyway', async () => {
    let calls = 0
    const inner = mockProviders({writer: 'identity'}).languageModel('generate')
    const model: LanguageModel = {
      id: 'cuts-first',
      maxOutputTokens: 64_000,
      structured: async (request) => {
        if (calls++ === 0)
          throw new OutputLimitError('cut', {
            provider: 'cuts-first',
            maxOutputTokens: 64_000,
            usage: {input_tokens: 10, output_tokens: 64_000},
          })
        return inner.structured(request)
      },
    }
    const written = await writeScript(scriptRequest(model, 3000))
    expect(written.parts).toBe(2)
    expect(written.script.segments.map((s) => s.label)).toEqual(LABELS)
  })

  it('a mock answer longer than its cap fails as the real APIs do: cut, never returned as a whole script', async () => {
    const model = mockProviders({writer: 'identity', maxOutputTokens: 2000}).languageModel('generate')
    const {task, messages} = scriptRequest(model, 3000)
    const {ScriptAnswer} = await import('../../src/core/schemas/answers.js')
    const error = await model.structured({role: 'generate', messages, schema: ScriptAnswer, task, seed: 1}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputLimitError)
    expect((error as OutputLimitError).usage?.output_tokens).toBe(2000)
  })
})
