/**
 * The SDK-backed providers where the APIs push back: answers cut at max_tokens,
 * streams that stall, rate limits with retry-after, and the client-side limiter that
 * keeps a run under them. Against the local fake API, which enforces max_tokens and
 * rate limits as the real APIs do.
 */
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {OutputLimitError, ProviderError} from '../../src/core/errors.js'
import type {Task} from '../../src/core/providers.js'
import {JudgeAnswer, ScriptAnswer} from '../../src/core/schemas/answers.js'
import {AnthropicLanguageModel} from '../../src/providers/anthropic.js'
import {OpenAIChatModel} from '../../src/providers/openai.js'
import {RateLimiter} from '../../src/providers/rate-limit.js'
import {FAKE_KEYS, startFakeApi, type FakeApi} from '../helpers/fake-api.js'

let api: FakeApi
beforeAll(async () => {
  api = await startFakeApi()
})
afterAll(async () => {
  await api?.close()
})
beforeEach(() => {
  api.reset()
  api.setRateLimits({})
  api.setLatency(0)
})

const FAST_RETRIES = {maxRetries: 3, baseDelayMs: 20, maxDelayMs: 100}
const TASK = {kind: 'key-concepts', paper: '', max: 5} satisfies Task

/** A script request the fake answers with about `words` words. */
function scriptRequest(words: number, maxOutputTokens?: number) {
  return {
    role: 'generate' as const,
    messages: [
      {
        role: 'system' as const,
        content: `You write podcast scripts.\n\nLength: about ${words} words.\n\nSegments, in this order:\n1. intro: about 20% of the words\n2. findings: about 80% of the words\n\nSpeakers:\n- Ana: host\n- Ben: guest\n\n`,
      },
      {role: 'user' as const, content: `Paper:\n${'Vents feed microbial mats with chemosynthesis. '.repeat(40)}`},
    ],
    schema: ScriptAnswer,
    task: TASK,
    seed: 1,
    ...(maxOutputTokens ? {maxOutputTokens} : {}),
  }
}

const judgeRequest = () => ({
  role: 'judge' as const,
  messages: [
    {role: 'system' as const, content: 'You judge podcast scripts.'},
    {role: 'user' as const, content: 'Key concepts:\n- chemosynthesis\n\nScript:\nAna: Hello.'},
  ],
  schema: JudgeAnswer,
  task: TASK,
  seed: 1,
})

const maxTokensSent = () =>
  api.requests
    .filter((r) => r.path.endsWith('/messages') || r.path.endsWith('/completions'))
    .map((r) => {
      const body = r.body as {max_tokens?: number; max_completion_tokens?: number}
      return body.max_tokens ?? body.max_completion_tokens
    })

describe('answers cut at max_tokens', () => {
  it('Anthropic: a cut answer is asked again once at the model cap, and both answers are paid for', async () => {
    const model = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      retryPolicy: FAST_RETRIES,
    })
    const answer = await model.structured(scriptRequest(600, 200))
    expect(maxTokensSent()).toEqual([200, 64_000])
    expect(answer.usage.calls).toBe(2)
    expect(answer.usage.output_tokens).toBeGreaterThan(200)
    expect(answer.value.segments.map((s) => s.label)).toEqual(['intro', 'findings'])
  })

  it('Anthropic: an answer cut at the cap is an OutputLimitError with its usage, never a corrective retry', async () => {
    const model = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      retryPolicy: FAST_RETRIES,
      maxOutputTokens: 300,
    })
    const error = await model.structured(scriptRequest(600, 300)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputLimitError)
    expect((error as OutputLimitError).message).toMatch(/did not fit in 300 output tokens/)
    expect((error as OutputLimitError).usage).toMatchObject({output_tokens: 300})
    expect(maxTokensSent()).toEqual([300])
  })

  it('OpenAI: finish_reason "length" is a cut too; answers stream with usage; the public API gets max_completion_tokens', async () => {
    const viaFake = new OpenAIChatModel({
      apiKey: FAKE_KEYS.openai,
      model: 'gpt-4o',
      baseURL: api.openaiBaseURL,
      retryPolicy: FAST_RETRIES,
      maxOutputTokens: 250,
    })
    const error = await viaFake.structured(scriptRequest(600, 100)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputLimitError)
    expect(maxTokensSent()).toEqual([100, 250])
    const body = api.requests.at(-1)!.body as {stream: boolean; stream_options: unknown; max_tokens?: number}
    expect(body.stream).toBe(true)
    expect(body.stream_options).toEqual({include_usage: true})
    // A server named by base_url may only know max_tokens; the public API (here reached the way
    // OPENAI_BASE_URL does, without base_url) gets max_completion_tokens, which reasoning models need.
    expect(body.max_tokens).toBe(250)
    api.reset()
    const saved = process.env.OPENAI_BASE_URL
    process.env.OPENAI_BASE_URL = api.openaiBaseURL
    try {
      const publicApi = new OpenAIChatModel({apiKey: FAKE_KEYS.openai, model: 'gpt-4o', retryPolicy: FAST_RETRIES})
      await publicApi.structured(judgeRequest())
    } finally {
      if (saved === undefined) delete process.env.OPENAI_BASE_URL
      else process.env.OPENAI_BASE_URL = saved
    }
    const sent = api.requests.at(-1)!.body as {max_tokens?: number; max_completion_tokens?: number}
    expect(sent.max_tokens).toBeUndefined()
    expect(sent.max_completion_tokens).toBe(16_000)
  })
})

describe('rate limits', () => {
  it('the shared limiter keeps a burst under the account limit: no 429 where the bare client meets them', async () => {
    api.setRateLimits({anthropic: {requestsPerMinute: 60}})
    const bare = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      retryPolicy: {maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10},
    })
    const bareResults = await Promise.allSettled(Array.from({length: 70}, () => bare.structured(judgeRequest())))
    const refused = bareResults.filter((r) => r.status === 'rejected')
    expect(refused.length).toBeGreaterThanOrEqual(8)
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError)

    api.reset()
    api.setRateLimits({anthropic: {requestsPerMinute: 60}})
    const limiter = new RateLimiter({requests_per_minute: 60})
    const limited = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      limiter,
      retryPolicy: FAST_RETRIES,
    })
    const started = Date.now()
    const results = await Promise.allSettled(Array.from({length: 64}, () => limited.structured(judgeRequest())))
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))
    expect(failed).toEqual([])
    // The limiter counts a request when it lets it go, the API when it arrives: on a busy machine a
    // burst of 60 can reach the API late enough for one early 429, which the retry then absorbs.
    expect(api.stats.rateLimited).toBeLessThanOrEqual(1)
    // 60 at once, then one a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3500)
  }, 20_000)

  it('waits out a 429 retry-after before asking again', async () => {
    const model = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      limiter: new RateLimiter({}),
      retryPolicy: FAST_RETRIES,
    })
    api.failNext({kind: 'status', status: 429, retryAfterSeconds: 1}, {path: '/v1/messages'})
    const started = Date.now()
    await model.structured(judgeRequest())
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
    expect(api.requests).toHaveLength(2)
  })
})

describe('requests larger than a whole minute of the limits', () => {
  const anthropic = (limits: ConstructorParameters<typeof RateLimiter>[0]) =>
    new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      limiter: new RateLimiter(limits),
      retryPolicy: FAST_RETRIES,
    })

  it('the real API (the fake) refuses one every time: without the limiter, every retry is a 429', async () => {
    api.setRateLimits({anthropic: {inputTokensPerMinute: 300}})
    const bare = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      retryPolicy: {maxRetries: 2, baseDelayMs: 10, maxDelayMs: 10},
    })
    const error = await bare.structured(scriptRequest(100)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect(api.stats).toMatchObject({requests: 3, tooLarge: 3})
  })

  it('studio does not send one: a ProviderError at once, naming the role, the limit and the fix', async () => {
    api.setRateLimits({anthropic: {inputTokensPerMinute: 300}})
    const model = anthropic({input_tokens_per_minute: 300})
    expect(model.requestLimit).toEqual({inputTokens: 300})
    const error = (await model.structured(scriptRequest(100)).catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.message).toMatch(
      /^anthropic:claude-sonnet-4-6: the generate request was not sent: the request needs about [\d,]+ input tokens, more than the account's limit of 300 a minute \(input_tokens_per_minute\)/,
    )
    expect(error.hint).toContain('rate_limits.anthropic.input_tokens_per_minute in studio.config.json')
    expect(api.requests).toHaveLength(0)
  })

  it("Anthropic: max_tokens never exceeds the output tokens per minute (the model's cap becomes the limit)", async () => {
    api.setRateLimits({anthropic: {outputTokensPerMinute: 1500}})
    const model = anthropic({output_tokens_per_minute: 1500})
    expect(model.maxOutputTokens).toBe(1500)
    // Asked for 4,000: sent with 1,500, the cap; cut there, it is an OutputLimitError at once (the script writer then writes parts).
    const error = await model.structured(scriptRequest(2000, 4000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutputLimitError)
    expect(maxTokensSent()).toEqual([1500])
    expect(api.stats.tooLarge).toBe(0)
  })

  it('a prompt-cache prefix read within its lifetime is not charged against input tokens per minute, as the API does', async () => {
    // ~900 tokens cached, ~100 not: together 1,000 of the 1,200 a minute. A second request with the same prefix
    // and ~450 new tokens would be 1,350 cold, over the minute; warm, the API counts only the 450.
    api.setRateLimits({anthropic: {inputTokensPerMinute: 1200}})
    const model = anthropic({input_tokens_per_minute: 1200})
    const request = (tail: string, paper = 'p') => ({
      ...judgeRequest(),
      messages: [
        {role: 'system' as const, content: 'You judge podcast scripts.'},
        {role: 'user' as const, content: `Paper:\n${paper.repeat(3400)}`, cache: true},
        {role: 'user' as const, content: `Script:\n${tail}`},
      ],
    })
    const first = await model.structured(request('Ana: Hello.'))
    expect(first.usage.cache_write_tokens).toBeGreaterThan(0)
    const second = await model.structured(request(`Ana: ${'x'.repeat(1800)}`))
    expect(second.usage.cache_read_tokens).toBeGreaterThan(800)
    expect(api.stats.tooLarge).toBe(0)
    // Another paper of the same size is not in the cache: the same request is over the minute, and not sent.
    const sent = api.requests.length
    const cold = await model.structured(request(`Ana: ${'x'.repeat(1800)}`, 'q')).catch((e: unknown) => e)
    expect((cold as Error).message).toContain('input_tokens_per_minute')
    expect(api.requests).toHaveLength(sent)
  })
})

describe('streams', () => {
  it('a stream cut off mid-way is retried, as is a stalled one', async () => {
    const model = new AnthropicLanguageModel({
      apiKey: FAKE_KEYS.anthropic,
      model: 'claude-sonnet-4-6',
      baseURL: api.anthropicBaseURL,
      retryPolicy: FAST_RETRIES,
      timeoutMs: 400,
    })
    api.failNext({kind: 'truncate'}, {path: '/v1/messages'})
    const answer = await model.structured(scriptRequest(300))
    expect(answer.value.segments.length).toBe(2)
    expect(api.requests).toHaveLength(2)

    // 1 s per answer: over the 400 ms of silence allowed, every attempt stalls.
    api.reset()
    api.setLatency(1000)
    const error = await model.structured(judgeRequest()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect((error as ProviderError).message).toMatch(/timed out|sent nothing/)
    expect(api.requests.length).toBe(1 + FAST_RETRIES.maxRetries)
  }, 20_000)
})
