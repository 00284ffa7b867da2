/**
 * Claude as a LanguageModel. API version 2026-10-21 (SDK 1.x) rejects temperature
 * and, on current models, a forced tool_choice: structured answers are asked for
 * with `output_config.format` (the SDK's zod helper) through `messages.parse()`.
 * Older models can use a forced `answer` tool instead (structuredMode: 'tool').
 * Messages marked `cache` (the judge's paper, sent again on every trial) end a prefix
 * Anthropic is asked to cache.
 */
import Anthropic from '@anthropic-ai/sdk'
import {zodOutputFormat} from '@anthropic-ai/sdk/helpers/zod'
import type {MessageParam, TextBlockParam, Usage as AnthropicUsage} from '@anthropic-ai/sdk/resources/messages/messages'

import {askStructured, cachedOrAsk, type ErrorContext, type RawAnswer} from './structured.js'
import type {ChatMessage, LanguageModel, ResponseCache, StructuredAnswer, StructuredRequest, Usage} from '../core/providers.js'

/** Anthropic accepts at most 4 cache breakpoints per request. */
const MAX_CACHE_BREAKPOINTS = 4

export interface AnthropicLanguageModelOptions {
  apiKey: string
  model: string
  /** A proxy; defaults to ANTHROPIC_BASE_URL or the public API. */
  baseURL?: string
  /** Per-call timeout, default 120 s (the SDK retries a timed-out call). */
  timeoutMs?: number
  /** SDK retries of connection errors, 408, 409, 429 and 5xx (incl. 529), default 2. */
  maxRetries?: number
  cache?: ResponseCache
  /** max_tokens of each call, default 16,000. */
  maxTokens?: number
  /** 'output-format' (default): output_config.format; 'tool': a forced `answer` tool, for older models. */
  structuredMode?: 'output-format' | 'tool'
}

export class AnthropicLanguageModel implements LanguageModel {
  readonly id: string
  private readonly client: Anthropic
  private readonly model: string
  private readonly cache?: ResponseCache
  private readonly maxTokens: number
  private readonly mode: 'output-format' | 'tool'
  private readonly errors: ErrorContext

  constructor(options: AnthropicLanguageModelOptions) {
    this.model = options.model
    this.id = `anthropic:${options.model}`
    this.cache = options.cache
    this.maxTokens = options.maxTokens ?? 16_000
    this.mode = options.structuredMode ?? 'output-format'
    const timeout = options.timeoutMs ?? 120_000
    this.client = new Anthropic({
      // A key passed in code is the client's only credential: ANTHROPIC_AUTH_TOKEN is not read.
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout,
      maxRetries: options.maxRetries ?? 2,
    })
    this.errors = {provider: this.id, vendor: 'anthropic', secrets: [options.apiKey], timeoutMs: timeout}
  }

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> {
    const format = zodOutputFormat(request.schema)
    const jsonSchema = format.schema
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
    return cachedOrAsk(this.cache, key, request.schema, () =>
      askStructured({
        provider: this.id,
        role: request.role,
        schema: request.schema,
        messages: request.messages,
        errors: this.errors,
        call: (messages) => (this.mode === 'tool' ? this.callTool(messages, jsonSchema) : this.callOutputFormat(messages, jsonSchema)),
      }),
    )
  }

  private async callOutputFormat(messages: ChatMessage[], schema: Record<string, unknown>): Promise<RawAnswer> {
    const {system, turns} = toAnthropicMessages(messages)
    const message = await this.client.messages.parse({
      model: this.model,
      max_tokens: this.maxTokens,
      ...(system ? {system} : {}),
      messages: turns,
      output_config: {
        // The helper's schema, with a parse that never throws: validation (and the one
        // corrective retry) is askStructured's, which needs the raw text to quote it back.
        format: {type: 'json_schema', schema, parse: (text: string) => text},
      },
    })
    const text = message.content
      .filter((block) => block.type === 'text')
      .map((block) => block.text)
      .join('')
    return {
      answer: text,
      usage: usageOf(message.usage),
      problem: stopProblem(message.stop_reason) ?? (text ? undefined : 'the answer was empty'),
    }
  }

  private async callTool(messages: ChatMessage[], schema: Record<string, unknown>): Promise<RawAnswer> {
    const {system, turns} = toAnthropicMessages(messages)
    const message = await this.client.messages.create({
      model: this.model,
      max_tokens: this.maxTokens,
      ...(system ? {system} : {}),
      messages: turns,
      tools: [{name: 'answer', description: 'Give your answer. Its input is the whole answer.', input_schema: {...schema, type: 'object'}}],
      tool_choice: {type: 'tool', name: 'answer'},
    })
    const tool = message.content.find((block) => block.type === 'tool_use' && block.name === 'answer')
    const usage = usageOf(message.usage)
    if (!tool || tool.type !== 'tool_use') {
      return {answer: '', usage, problem: stopProblem(message.stop_reason) ?? 'the answer tool was not called'}
    }
    return {answer: tool.input, usage, problem: stopProblem(message.stop_reason)}
  }
}

function stopProblem(stopReason: string | null): string | undefined {
  if (stopReason === 'max_tokens') return 'the answer was cut off at max_tokens before it was complete'
  if (stopReason === 'refusal') return 'the model refused to answer'
  return undefined
}

/** input_tokens counts every input token, cached or not; the cache split is kept apart for pricing. */
function usageOf(usage: AnthropicUsage): Usage {
  const write = usage.cache_creation_input_tokens ?? 0
  const read = usage.cache_read_input_tokens ?? 0
  return {
    input_tokens: usage.input_tokens + write + read,
    output_tokens: usage.output_tokens,
    cache_write_tokens: write,
    cache_read_tokens: read,
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
export function toAnthropicMessages(messages: ChatMessage[]): {system: string; turns: MessageParam[]} {
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
  for (const block of marked.slice(-MAX_CACHE_BREAKPOINTS)) block.cache_control = {type: 'ephemeral'}
  return {system, turns}
}
