/**
 * Claude as a LanguageModel. API version 2026-10-21 (SDK 1.x) rejects temperature
 * and, on current models, a forced tool_choice: structured answers are asked for
 * with `output_config.format` (the JSON schema of the SDK's zod helper). Older
 * models can use a forced `answer` tool instead (structuredMode: 'tool'). Every
 * answer is streamed (an hour-long script takes minutes), with max_tokens sized by
 * the caller. Messages marked `cache` (the judge's paper, sent again on every
 * trial) end a prefix Anthropic is asked to cache, for an hour when asked.
 */
import {createHash} from 'node:crypto'

import Anthropic from '@anthropic-ai/sdk'
import {zodOutputFormat} from '@anthropic-ai/sdk/helpers/zod'
import type {
  Message,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
  TextBlockParam,
} from '@anthropic-ai/sdk/resources/messages/messages'

import {AnthropicBatchClient} from './batch-clients.js'
import {cacheKeyHash} from './cache.js'
import {modelOutputCap} from './output-limits.js'
import {requestLimitOf, type RateLimiter, type RetryPolicy} from './rate-limit.js'
import {
  acceptBatchAnswer,
  askStructured,
  cachedOrAsk,
  cachedStructured,
  consumeStream,
  streamLimits,
  type ErrorContext,
  type RawAnswer,
} from './structured.js'
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  type BatchSupport,
  type CacheTtl,
  type ChatMessage,
  type LanguageModel,
  type RequestLimit,
  type ResponseCache,
  type StructuredAnswer,
  type StructuredRequest,
  type Usage,
} from '../core/providers.js'

/** Anthropic accepts at most 4 cache breakpoints per request. */
const MAX_CACHE_BREAKPOINTS = 4

export interface AnthropicLanguageModelOptions {
  apiKey: string
  model: string
  /** A proxy; defaults to ANTHROPIC_BASE_URL or the public API. */
  baseURL?: string
  /** Until the first byte of an answer, and the longest silence within one; default 120 s. Long answers get more in total (streamLimits). */
  timeoutMs?: number
  /** Retries of connection errors, 408, 409, 429 and 5xx (incl. 529); default DEFAULT_RETRY_POLICY. */
  retryPolicy?: RetryPolicy
  /** The account's limits, shared with every other role on Anthropic. */
  limiter?: RateLimiter
  cache?: ResponseCache
  /** The model's output cap; default from output-limits.ts. */
  maxOutputTokens?: number
  /** 'output-format' (default): output_config.format; 'tool': a forced `answer` tool, for older models. */
  structuredMode?: 'output-format' | 'tool'
}

export class AnthropicLanguageModel implements LanguageModel {
  readonly id: string
  readonly maxOutputTokens: number
  readonly requestLimit?: RequestLimit
  readonly batch: BatchSupport
  private readonly client: Anthropic
  /** Cached prefixes this model wrote or read lately, by key, with when they expire (clock ms). */
  private readonly warmPrefixes = new Map<string, number>()
  private readonly model: string
  private readonly cache?: ResponseCache
  private readonly mode: 'output-format' | 'tool'
  private readonly errors: ErrorContext
  private readonly timeoutMs: number
  private readonly retry: {policy?: RetryPolicy; limiter?: RateLimiter}

  constructor(options: AnthropicLanguageModelOptions) {
    this.model = options.model
    this.id = `anthropic:${options.model}`
    this.cache = options.cache
    // Anthropic charges max_tokens against the output tokens per minute when a request
    // starts: a request asking more than a minute's worth is refused every time.
    const perMinute = options.limiter?.limits.output_tokens_per_minute
    const cap = options.maxOutputTokens ?? modelOutputCap('anthropic', options.model)
    this.maxOutputTokens = perMinute ? Math.min(cap, perMinute) : cap
    if (options.limiter) this.requestLimit = requestLimitOf(options.limiter.limits)
    this.mode = options.structuredMode ?? 'output-format'
    this.timeoutMs = options.timeoutMs ?? 120_000
    this.client = new Anthropic({
      // A key passed in code is the client's only credential: ANTHROPIC_AUTH_TOKEN is not read.
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: this.timeoutMs,
      // Retries are askStructured's (one policy, through the shared rate limiter).
      maxRetries: 0,
    })
    this.retry = {policy: options.retryPolicy, limiter: options.limiter}
    this.errors = {provider: this.id, vendor: 'anthropic', secrets: [options.apiKey], timeoutMs: this.timeoutMs}
    const client = new AnthropicBatchClient({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeoutMs: this.timeoutMs,
      retryPolicy: options.retryPolicy,
      errors: this.errors,
    })
    this.batch = {client, prepare: (request) => this.prepare(request)}
  }

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> {
    const {key, jsonSchema} = this.keyOf(request)
    const ttl = request.cacheTtl ?? '5m'
    return cachedOrAsk(this.cache, key, request.schema, () =>
      askStructured({
        provider: this.id,
        role: request.role,
        schema: request.schema,
        messages: request.messages,
        errors: this.errors,
        maxTokens: this.firstMaxTokens(request),
        outputCap: this.maxOutputTokens,
        retry: this.retry,
        call: (messages, maxTokens) => this.attempt(messages, jsonSchema, maxTokens, ttl),
      }),
    )
  }

  /**
   * The request as one line of a Message Batch: the same parameters as the streamed call
   * (batches take every Messages API parameter but `stream`), keyed as the cache keys it.
   */
  private prepare<T>(request: StructuredRequest<T>) {
    const {key, jsonSchema} = this.keyOf(request)
    return {
      group: `${this.batch.client.id}:${this.model}`,
      hash: cacheKeyHash(key),
      body: this.params(request.messages, jsonSchema, this.firstMaxTokens(request), request.cacheTtl ?? '5m'),
      cached: () => cachedStructured(this.cache, key, request.schema),
      accept: (body: unknown) => acceptBatchAnswer(this.rawAnswer(body as Message), {schema: request.schema, cache: this.cache, key}),
    }
  }

  private firstMaxTokens(request: StructuredRequest<unknown>): number {
    return request.maxOutputTokens ?? Math.min(DEFAULT_MAX_OUTPUT_TOKENS, this.maxOutputTokens)
  }

  private keyOf<T>(request: StructuredRequest<T>): {key: Record<string, unknown>; jsonSchema: Record<string, unknown>} {
    const jsonSchema = zodOutputFormat(request.schema).schema
    const key = {
      provider: 'anthropic',
      model: this.model,
      base_url: this.client.baseURL,
      kind: 'structured',
      role: request.role,
      messages: request.messages,
      schema: jsonSchema,
      seed: request.seed,
      temperature: null,
      sample: 0,
    }
    return {key, jsonSchema}
  }

  /** A whole (not streamed) message as an answer: its text or tool input, why it stopped, its usage. */
  private rawAnswer(message: Message): RawAnswer {
    const raw = message.usage
    const usage = usageOf({
      input_tokens: raw.input_tokens ?? 0,
      output_tokens: raw.output_tokens ?? 0,
      cache_creation_input_tokens: raw.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: raw.cache_read_input_tokens ?? 0,
      ephemeral_1h_input_tokens: raw.cache_creation?.ephemeral_1h_input_tokens ?? 0,
    })
    const stop = message.stop_reason ?? null
    const cut = stop === 'max_tokens'
    if (this.mode === 'tool') {
      const tool = message.content.find((b) => b.type === 'tool_use' && b.name === 'answer')
      if (!tool || tool.type !== 'tool_use') return {answer: '', usage, cut, problem: stopProblem(stop) ?? 'the answer tool was not called'}
      return {answer: tool.input, usage, cut, problem: stopProblem(stop)}
    }
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')
    return {answer: text, usage, cut, problem: stopProblem(stop) ?? (text ? undefined : 'the answer was empty')}
  }

  /** The parameters of one request, streamed or (in a batch) not. */
  private params(
    messages: ChatMessage[],
    schema: Record<string, unknown>,
    maxTokens: number,
    ttl: CacheTtl,
  ): MessageCreateParamsNonStreaming {
    const {system, turns} = toAnthropicMessages(messages, ttl)
    return {
      model: this.model,
      max_tokens: maxTokens,
      ...(system ? {system} : {}),
      messages: turns,
      ...(this.mode === 'tool'
        ? {
            tools: [
              {
                name: 'answer',
                description: 'Give your answer. Its input is the whole answer.',
                input_schema: {...schema, type: 'object' as const},
              },
            ],
            tool_choice: {type: 'tool' as const, name: 'answer'},
          }
        : {output_config: {format: {type: 'json_schema' as const, schema}}}),
    }
  }

  /**
   * One streamed request. Streaming always: the SDK refuses a non-streamed request
   * whose max_tokens could take more than ten minutes, and a long script needs one.
   */
  private async attempt(messages: ChatMessage[], schema: Record<string, unknown>, maxTokens: number, ttl: CacheTtl): Promise<RawAnswer> {
    const params: MessageCreateParamsStreaming = {...this.params(messages, schema, maxTokens, ttl), stream: true}
    const limiter = this.retry.limiter
    const prefix = cachedPrefix(params)
    // A prefix read from the prompt cache does not count against the input tokens per
    // minute: when this model wrote or read it within its lifetime, it is not charged.
    const warm = prefix !== null && (this.warmPrefixes.get(prefix.key) ?? 0) > Date.now() + WARM_MARGIN_MS
    const inputTokens = estimateInputTokens(params) - (warm ? prefix.tokens : 0)
    const reservation = limiter ? await limiter.acquire({inputTokens, outputTokens: maxTokens}) : null
    const answer = {text: '', toolJson: '', toolCalled: false, stop: null as string | null, usage: emptyUsage()}
    try {
      await consumeStream(
        (signal) => this.client.messages.create(params, {signal}),
        streamLimits(this.timeoutMs, maxTokens),
        (event) => readEvent(event, answer),
      )
    } catch (error) {
      if (reservation) limiter!.release(reservation)
      throw error
    }
    const usage = usageOf(answer.usage)
    if (prefix && (usage.cache_write_tokens || usage.cache_read_tokens)) {
      rememberWarmPrefix(this.warmPrefixes, prefix.key, ttl === '1h' ? 3_600_000 : 300_000, Date.now())
    }
    // Cache reads do not count against Anthropic's input-tokens-per-minute limit.
    if (reservation)
      limiter!.settle(reservation, {inputTokens: usage.input_tokens - (usage.cache_read_tokens ?? 0), outputTokens: usage.output_tokens})
    const cut = answer.stop === 'max_tokens'
    if (this.mode === 'tool') {
      if (!answer.toolCalled) return {answer: '', usage, cut, problem: stopProblem(answer.stop) ?? 'the answer tool was not called'}
      return {answer: answer.toolJson || '{}', usage, cut, problem: stopProblem(answer.stop)}
    }
    return {answer: answer.text, usage, cut, problem: stopProblem(answer.stop) ?? (answer.text ? undefined : 'the answer was empty')}
  }
}

interface StreamUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
  ephemeral_1h_input_tokens: number
}

function emptyUsage(): StreamUsage {
  return {input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ephemeral_1h_input_tokens: 0}
}

/** Accumulates one streamed event: text and tool-input deltas, the stop reason, usage (message_delta's counts are cumulative). */
function readEvent(
  event: RawMessageStreamEvent,
  into: {text: string; toolJson: string; toolCalled: boolean; stop: string | null; usage: StreamUsage},
): void {
  switch (event.type) {
    case 'message_start': {
      const usage = event.message.usage
      into.usage = {
        input_tokens: usage.input_tokens ?? 0,
        output_tokens: usage.output_tokens ?? 0,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        ephemeral_1h_input_tokens: usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
      }
      break
    }
    case 'content_block_start':
      if (event.content_block.type === 'tool_use' && event.content_block.name === 'answer') into.toolCalled = true
      break
    case 'content_block_delta':
      if (event.delta.type === 'text_delta') into.text += event.delta.text
      else if (event.delta.type === 'input_json_delta') into.toolJson += event.delta.partial_json
      break
    case 'message_delta': {
      into.stop = event.delta.stop_reason ?? into.stop
      const usage = event.usage
      if (typeof usage.output_tokens === 'number') into.usage.output_tokens = usage.output_tokens
      if (typeof usage.input_tokens === 'number') into.usage.input_tokens = usage.input_tokens
      if (typeof usage.cache_creation_input_tokens === 'number') into.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens
      if (typeof usage.cache_read_input_tokens === 'number') into.usage.cache_read_input_tokens = usage.cache_read_input_tokens
      break
    }
    default:
      break
  }
}

/** A prefix within this long of its expiry is counted as cold: the request may reach the API after it expired. */
const WARM_MARGIN_MS = 15_000

/**
 * The part of a request the prompt cache can serve: everything up to the last block
 * marked cache_control (the output format, the system text, the turns before it), as a
 * key and its tokens at the limiter's estimate. Null when nothing is marked.
 */
function cachedPrefix(params: MessageCreateParamsStreaming): {key: string; tokens: number} | null {
  const turns: unknown[] = []
  let found = false
  for (const turn of [...params.messages].reverse()) {
    const blocks = Array.isArray(turn.content) ? turn.content : []
    const last = blocks.findLastIndex((b) => 'cache_control' in b && b.cache_control)
    if (!found && last < 0) continue
    if (!found) {
      found = true
      // Without its cache_control: the prefix is the same whichever lifetime it was asked for.
      turns.unshift({...turn, content: blocks.slice(0, last + 1).map((b) => (b.type === 'text' ? {type: 'text', text: b.text} : b))})
    } else turns.unshift(turn)
  }
  if (!found) return null
  const text = JSON.stringify([params.model, params.tools ?? params.output_config ?? null, params.system ?? '', turns])
  return {key: createHash('sha256').update(text).digest('hex'), tokens: Math.ceil(text.length / 4)}
}

/** What the rate limiter is told a request will take before it is sent: its text at four characters a token. */
function estimateInputTokens(params: MessageCreateParamsStreaming): number {
  const chars =
    JSON.stringify(params.system ?? '').length +
    JSON.stringify(params.messages).length +
    JSON.stringify(params.tools ?? params.output_config ?? '').length
  return Math.ceil(chars / 4)
}

function stopProblem(stopReason: string | null): string | undefined {
  if (stopReason === 'max_tokens') return 'the answer was cut off at max_tokens before it was complete'
  if (stopReason === 'refusal') return 'the model refused to answer'
  return undefined
}

/** input_tokens counts every input token, cached or not; the cache split is kept apart for pricing. */
function usageOf(usage: StreamUsage): Usage {
  const write = usage.cache_creation_input_tokens
  const read = usage.cache_read_input_tokens
  return {
    input_tokens: usage.input_tokens + write + read,
    output_tokens: usage.output_tokens,
    cache_write_tokens: write,
    cache_read_tokens: read,
    ...(usage.ephemeral_1h_input_tokens ? {cache_write_1h_tokens: usage.ephemeral_1h_input_tokens} : {}),
  }
}

/**
 * System messages joined into `system`; the others as turns of text blocks
 * (consecutive messages of one role merged). The block of each message marked
 * `cache` (at most the last 4) gets `cache_control`: Anthropic then caches the
 * request's prefix up to that block (system first) and bills a later request that
 * starts with the same prefix a tenth of the input price for it. A prefix shorter
 * than the model's minimum (1,024 tokens on Sonnet) is simply not cached.
 */
export function toAnthropicMessages(messages: ChatMessage[], ttl: CacheTtl = '5m'): {system: string; turns: MessageParam[]} {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n')
  const turns: Array<{role: 'user' | 'assistant'; content: TextBlockParam[]}> = []
  const marked: TextBlockParam[] = []
  for (const message of messages) {
    if (message.role === 'system') continue
    const block: TextBlockParam = {type: 'text', text: message.content}
    if (message.cache) marked.push(block)
    const last = turns.at(-1)
    if (last && last.role === message.role) last.content.push(block)
    else turns.push({role: message.role, content: [block]})
  }
  // The one-hour lifetime is asked for only when the prefix comes back after more than five minutes (it costs 2x to write, not 1.25x).
  for (const block of marked.slice(-MAX_CACHE_BREAKPOINTS))
    block.cache_control = ttl === '1h' ? {type: 'ephemeral', ttl: '1h'} : {type: 'ephemeral'}
  return {system, turns}
}

/**
 * Notes that the prefix `key` is in Anthropic's prompt cache for `lifetimeMs` from `now`.
 * Entries that expired are dropped first: a long run on many papers would otherwise keep
 * one entry per paper and trial for as long as the process lives.
 */
export function rememberWarmPrefix(warm: Map<string, number>, key: string, lifetimeMs: number, now: number): void {
  for (const [k, until] of warm) if (until <= now) warm.delete(k)
  warm.set(key, now + lifetimeMs)
}
