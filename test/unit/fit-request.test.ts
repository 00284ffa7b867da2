import {describe, expect, it} from 'vitest'

import type {LanguageModel, RequestLimit} from '../../src/core/providers.js'
import type {KeyConcept} from '../../src/core/schemas/common.js'
import {fitPaper, inputAllowance, requestTokens} from '../../src/training/fit-request.js'
import {judgeMessages} from '../../src/training/messages.js'
import {metered, UsageMeter} from '../../src/providers/usage.js'

const model = (requestLimit?: RequestLimit): LanguageModel => ({
  id: 'stub',
  maxOutputTokens: 8000,
  ...(requestLimit ? {requestLimit} : {}),
  structured: () => Promise.reject(new Error('not called')),
})

const concepts: KeyConcept[] = [
  {term: 'chemosynthesis', weight: 1},
  {term: 'microbial mats', weight: 0.5},
]
const style = {words_per_minute: 150, questions_per_minute: 1, mean_sentence_words: 14} as Parameters<typeof judgeMessages>[3]
const script = {segments: [{label: 'intro', lines: [{speaker: 'Ana', text: 'Welcome. '.repeat(400)}]}]} as Parameters<
  typeof judgeMessages
>[0]
// ~12,000 tokens of paper: filler, and sentences with the concepts.
const paper = Array.from({length: 400}, (_, i) =>
  i % 10 === 0
    ? `Chemosynthesis in microbial mats drives result ${i}.`
    : `Paragraph ${i} describes the sampling equipment and the weather in detail.`,
)
  .map((sentence) => `${sentence} ${'Filler words about the cruise logistics. '.repeat(2)}`)
  .join('\n\n')
const build = (text: string) => judgeMessages(script, text, concepts, style)

describe('fitPaper', () => {
  it('leaves the paper whole when no limit applies or the request fits', () => {
    expect(fitPaper(model(), 1500, paper, concepts, build)).toEqual({paper, condensed: null})
    expect(fitPaper(model({inputTokens: 100_000}), 1500, paper, concepts, build)).toEqual({paper, condensed: null})
  })

  it('condenses the paper so that the whole request fits 90 % of the input limit, keeping the concept sentences', () => {
    const whole = requestTokens(build(paper))
    const limit = Math.round(whole * 0.6)
    const fitted = fitPaper(model({inputTokens: limit}), 1500, paper, concepts, build)
    expect(fitted.condensed).not.toBeNull()
    expect(fitted.condensed!.allowance).toBe(Math.floor(limit * 0.9))
    expect(requestTokens(build(fitted.paper))).toBeLessThanOrEqual(Math.floor(limit * 0.9))
    expect(requestTokens(build(fitted.paper))).toBeGreaterThan(Math.floor(limit * 0.9) - 1000)
    expect(fitted.paper).toContain('Chemosynthesis in microbial mats drives result 0.')
    expect(fitted.paper).toContain('[...]')
  })

  it("OpenAI's tokens per minute: the answer's max_tokens comes out of the allowance", () => {
    expect(inputAllowance(model({totalTokens: 30_000}), 2000)).toBe(Math.floor(28_000 * 0.9))
    expect(inputAllowance(model({inputTokens: 20_000, totalTokens: 30_000}), 2000)).toBe(18_000)
    expect(inputAllowance(model(), 2000)).toBeNull()
  })

  it('when even the rest of the request is over the limit, sends the paper as it is (the provider refuses it, naming the limit)', () => {
    const fitted = fitPaper(model({inputTokens: 500}), 1500, paper, concepts, build)
    expect(fitted).toEqual({paper, condensed: null})
  })
})

describe('the metered providers the trainer uses', () => {
  it('pass the model cap and the request limit through, or fitPaper would never see them', () => {
    const inner = model({inputTokens: 30_000})
    const providers = metered(
      {transcriber: {id: 't', transcribe: () => Promise.reject(new Error('no'))}, languageModel: () => inner},
      new UsageMeter(),
    )
    const judge = providers.languageModel('judge')
    expect(judge.requestLimit).toEqual({inputTokens: 30_000})
    expect(judge.maxOutputTokens).toBe(8000)
    expect(inputAllowance(judge, 1500)).toBe(27_000)
  })
})
