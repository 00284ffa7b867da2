/**
 * What the real (SDK-backed) providers share: the JSON schema a structured answer
 * must follow, the ask-validate-retry-once loop, a retry of responses cut off
 * mid-body (which neither SDK retries), the response cache, and the mapping of SDK
 * errors to ProviderError with a hint and never an API key in the message.
 */
import * as AnthropicSdk from '@anthropic-ai/sdk'
import * as OpenAISdk from 'openai'
import {zodResponseFormat} from 'openai/helpers/zod'
import {z} from 'zod'

import {OutputLimitError, ProviderError} from '../core/errors.js'
import type {ChatMessage, ResponseCache, Role, StructuredAnswer, Usage} from '../core/providers.js'
import {
  DEFAULT_RETRY_POLICY,
  RequestTooLargeError,
  retryAfterMsOf,
  withRetries,
  type RateLimiter,
  type RetryDecision,
  type RetryPolicy,
} from './rate-limit.js'

// ---------------------------------------------------------------- JSON schema

type JsonSchema = Record<string, unknown>

/**
 * The JSON schema of a zod schema in the form OpenAI's strict structured outputs
 * accept: every object closed (`additionalProperties: false`), every property
 * required, optional properties made nullable (the null is removed again by
 * `dropNullOptionals` before validation). Uses openai's own `zodResponseFormat`
 * when it accepts the schema (it refuses `.optional()` without `.nullable()`),
 * else the same conversion done here on `z.toJSONSchema`.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  try {
    const format = zodResponseFormat(schema, 'answer')
    const converted = format.json_schema.schema
    if (converted && typeof converted === 'object') {
      const {$schema: _ignored, ...rest} = converted
      return rest
    }
  } catch {
    // Falls through to the local conversion (optional properties, records).
  }
  return strictify(plainJsonSchema(schema), true)
}

/** The zod schema as plain draft-7 JSON schema (what the answer must be, before strict-mode changes). */
export function plainJsonSchema(schema: z.ZodType): JsonSchema {
  const {$schema: _ignored, ...rest} = z.toJSONSchema(schema, {target: 'draft-7', io: 'output', unrepresentable: 'any'}) as JsonSchema
  return rest
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function acceptsNull(schema: unknown): boolean {
  if (!isObject(schema)) return schema === true
  const type = schema.type
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true
  if (schema.const === null) return true
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key]
    if (Array.isArray(branches) && branches.some((b) => acceptsNull(b))) return true
  }
  return false
}

function strictify(schema: JsonSchema, root = false): JsonSchema {
  const out: JsonSchema = {...schema}
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = out[key]
    if (isObject(defs)) out[key] = Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, isObject(v) ? strictify(v) : v]))
  }
  if (Array.isArray(out.oneOf)) {
    out.anyOf = out.oneOf
    delete out.oneOf
  }
  for (const key of ['anyOf', 'allOf'] as const) {
    const branches = out[key]
    if (Array.isArray(branches)) out[key] = branches.map((b: unknown) => (isObject(b) ? strictify(b) : b))
  }
  if (isObject(out.items)) out.items = strictify(out.items)
  else if (Array.isArray(out.items)) out.items = out.items.map((b: unknown) => (isObject(b) ? strictify(b) : b))

  const isObjectType = out.type === 'object' || isObject(out.properties)
  if (isObjectType) {
    const properties = isObject(out.properties) ? out.properties : {}
    const required = new Set(Array.isArray(out.required) ? (out.required as string[]) : [])
    const hasProperties = Object.keys(properties).length > 0
    // A record (no properties, a value schema in additionalProperties) cannot be closed
    // without changing its meaning: it is left as it is and the API decides.
    if (hasProperties || !isObject(out.additionalProperties)) {
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([key, value]) => {
          const strict = isObject(value) ? strictify(value) : value
          if (required.has(key) || acceptsNull(strict)) return [key, strict]
          return [key, {anyOf: [strict, {type: 'null'}]}]
        }),
      )
      out.required = Object.keys(properties)
      out.additionalProperties = false
    } else {
      out.additionalProperties = strictify(out.additionalProperties)
    }
  }
  if (root) delete out.$schema
  return out
}

/**
 * Removes `null` from properties the plain schema makes optional and not nullable:
 * strict mode made the model send them as null, zod wants them absent.
 */
export function dropNullOptionals(value: unknown, schema: JsonSchema, root: JsonSchema = schema, depth = 0): unknown {
  if (depth > 64) return value
  const resolved = resolveRef(schema, root)
  if (!resolved) return value
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = resolved[key]
    if (Array.isArray(branches)) {
      for (const branch of branches) if (isObject(branch)) value = dropNullOptionals(value, branch, root, depth + 1)
    }
  }
  if (Array.isArray(value)) {
    const items = resolved.items
    if (isObject(items)) return value.map((v) => dropNullOptionals(v, items, root, depth + 1))
    if (Array.isArray(items))
      return value.map((v: unknown, i) => (isObject(items[i]) ? dropNullOptionals(v, items[i] as JsonSchema, root, depth + 1) : v))
    return value
  }
  if (isObject(value)) {
    const properties = isObject(resolved.properties) ? resolved.properties : null
    const required = new Set(Array.isArray(resolved.required) ? (resolved.required as string[]) : [])
    const extra = isObject(resolved.additionalProperties) ? resolved.additionalProperties : null
    if (!properties && !extra) return value
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      const propertySchema = properties?.[key]
      if (isObject(propertySchema)) {
        if (v === null && !required.has(key) && !acceptsNull(resolveRef(propertySchema, root) ?? propertySchema)) continue
        out[key] = dropNullOptionals(v, propertySchema, root, depth + 1)
      } else if (extra && !properties?.[key]) {
        out[key] = dropNullOptionals(v, extra, root, depth + 1)
      } else {
        out[key] = v
      }
    }
    return out
  }
  return value
}

function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema | null {
  let current: JsonSchema = schema
  for (let hops = 0; hops < 16 && typeof current.$ref === 'string'; hops++) {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(current.$ref)
    if (!match) return null
    const defs = root[match[1]!]
    const target = isObject(defs) ? defs[decodeURIComponent(match[2]!).replace(/~1/g, '/').replace(/~0/g, '~')] : undefined
    if (!isObject(target)) return null
    current = target
  }
  return current
}

// ------------------------------------------------------------------ redaction

/** Removes anything that looks like an API key, and the given secrets, from a text. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text
  for (const secret of secrets) {
    if (secret && secret.length >= 6) out = out.split(secret).join('[redacted]')
  }
  return out
    .replace(/sk-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]')
    .replace(/((?:x-api-key|api[_-]?key|authorization)["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]')
}

// ------------------------------------------------------------------ errors

export interface ErrorContext {
  /** Provider id, e.g. "openai:gpt-5" (goes first in the message). */
  provider: string
  /** Which API: decides the environment variable the hint names. */
  vendor: 'openai' | 'anthropic'
  /** The API key (and any other secret) to strip from messages. */
  secrets: ReadonlyArray<string | undefined>
  /** The client's timeout, for the timeout message. */
  timeoutMs?: number
}

const KEY_ENV = {openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY'} as const

function isApiError(error: unknown): error is Error & {status: number | undefined; error?: unknown} {
  return error instanceof OpenAISdk.APIError || error instanceof AnthropicSdk.APIError
}

function isConnectionTimeout(error: unknown): boolean {
  return error instanceof OpenAISdk.APIConnectionTimeoutError || error instanceof AnthropicSdk.APIConnectionTimeoutError
}

function isConnectionError(error: unknown): boolean {
  return error instanceof OpenAISdk.APIConnectionError || error instanceof AnthropicSdk.APIConnectionError
}

/** The server's own words, if the error body has them (redacted, one line, bounded). */
function serverMessage(error: Error & {error?: unknown}, secrets: ReadonlyArray<string | undefined>): string {
  const body = error.error as {message?: unknown; error?: {message?: unknown}} | undefined
  const raw =
    typeof body?.message === 'string' ? body.message : typeof body?.error?.message === 'string' ? body.error.message : error.message
  const line = redact(String(raw), secrets).replace(/\s+/g, ' ').trim()
  return line.length > 300 ? `${line.slice(0, 297)}...` : line
}

/** Any error from a provider call as a ProviderError: status, a hint, and no API key anywhere. */
export function toProviderError(error: unknown, context: ErrorContext): ProviderError {
  if (error instanceof ProviderError) return error
  const {provider, vendor, secrets} = context
  const env = KEY_ENV[vendor]
  const safeCause = sanitizedCause(error, secrets)
  if (error instanceof StreamStalledError) {
    return new ProviderError(`${provider}: ${error.message} (network or an overloaded API), also on retry`, {
      provider,
      hint: 'Check your network connection; for slow models raise timeout_seconds in studio.config.json.',
      cause: safeCause,
    })
  }
  if (isConnectionTimeout(error)) {
    const seconds = context.timeoutMs ? ` after ${Math.round(context.timeoutMs / 1000)} s` : ''
    return new ProviderError(`${provider}: the call timed out${seconds} (network), also on retry`, {
      provider,
      hint: 'Check your network connection; for slow calls raise timeout_seconds in studio.config.json.',
      cause: safeCause,
    })
  }
  if (isConnectionError(error) || isTransientTransportError(error)) {
    return new ProviderError(`${provider}: could not reach the API (network): ${redact(describe(error), secrets)}`, {
      provider,
      hint: 'Check your network connection (and base_url, if one is configured), then run again.',
      cause: safeCause,
    })
  }
  if (isApiError(error) && typeof error.status === 'number') {
    const status = error.status
    const said = serverMessage(error, secrets)
    if (status === 401 || status === 403) {
      return new ProviderError(`${provider}: the API key was rejected (${status}): ${said}`, {
        provider,
        status,
        hint: `the API key was rejected: check ${env} or \`studio secrets set ${vendor}\`.`,
        cause: safeCause,
      })
    }
    if (status === 429) {
      return new ProviderError(`${provider}: rate limit or quota exceeded (429), also on retry: ${said}`, {
        provider,
        status,
        hint: 'Wait a few minutes and run again, or check the usage limits and billing of your API account.',
        cause: safeCause,
      })
    }
    if (status >= 500) {
      return new ProviderError(`${provider}: the service is unavailable or overloaded (${status}), also on retry: ${said}`, {
        provider,
        status,
        hint: 'The API is having trouble: try again later.',
        cause: safeCause,
      })
    }
    const hint =
      status === 404
        ? 'Check the model name (and base_url, if one is configured).'
        : status === 413
          ? 'The request is too large for this API: use a smaller input.'
          : 'The API refused the request: check the model name and that it supports structured answers.'
    return new ProviderError(`${provider}: the request was rejected (${status}): ${said}`, {provider, status, hint, cause: safeCause})
  }
  return new ProviderError(`${provider}: ${redact(describe(error), secrets)}`, {provider, cause: safeCause})
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message})` : ''
    return `${error.message}${cause}`
  }
  return String(error)
}

/** A plain Error with the redacted message: SDK errors may carry request details. */
function sanitizedCause(error: unknown, secrets: ReadonlyArray<string | undefined>): Error {
  const cause = new Error(redact(describe(error), secrets))
  cause.name = error instanceof Error ? error.constructor.name || error.name : 'Error'
  if (!(error instanceof Error) || !error.stack) return cause
  cause.stack = redact(error.stack, secrets)
  return cause
}

// --------------------------------------------------- transport-level retries

const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED', 'ERR_STREAM_PREMATURE_CLOSE'])

/**
 * Failures neither SDK retries: a response cut off mid-body (`TypeError:
 * terminated`), a socket error while the body is read, a body that is not the JSON
 * its content type promises. SDK API errors (statuses, connection errors) are not
 * among them: the SDK has retried those already.
 */
export function isTransientTransportError(error: unknown): boolean {
  if (!(error instanceof Error) || isApiError(error)) return false
  if (error instanceof TypeError && /terminated|other side closed|socket/i.test(error.message)) return true
  if (error instanceof SyntaxError) return true
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (code && SOCKET_CODES.has(code)) return true
    current = current.cause
  }
  return false
}

export interface TransportRetryOptions {
  /** Retries after the first attempt (default 2). */
  retries?: number
  /** Backoff before retry n (1-based): base * 4^(n-1) ms, default base 250. */
  baseDelayMs?: number
}

/** Runs `attempt`, retrying it up to twice (short backoff) when the response was cut off mid-body. */
export async function withTransportRetry<T>(attempt: () => Promise<T>, options: TransportRetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 2
  const base = options.baseDelayMs ?? 250
  for (let n = 0; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      if (n >= retries || !isTransientTransportError(error)) throw error
      await new Promise((resolve) => setTimeout(resolve, base * 4 ** n))
    }
  }
}

/** Statuses worth another attempt, as the SDKs retry them: timeouts, lock conflicts, rate limits, server errors. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500
}

/**
 * Whether a failed call is worth another attempt, and the server's retry-after:
 * statuses the SDKs would retry, connection errors and timeouts, a stream that
 * stalled, and the cut-off bodies the SDKs do not retry.
 */
export function retryDecision(error: unknown): RetryDecision {
  if (error instanceof StreamStalledError) return {retry: true}
  if (isApiError(error) && typeof error.status === 'number') {
    if (!retryableStatus(error.status)) return {retry: false}
    const headers = (error as {headers?: {get(name: string): string | null}}).headers
    const retryAfterMs = typeof headers?.get === 'function' ? retryAfterMsOf(headers) : undefined
    return retryAfterMs === undefined ? {retry: true} : {retry: true, retryAfterMs}
  }
  if (isConnectionError(error) || isConnectionTimeout(error)) return {retry: true}
  return {retry: isTransientTransportError(error)}
}

/** A request over a whole minute's limit, as the error a user reads: which call, which limit, what to change. */
function requestTooLarge(error: RequestTooLargeError, provider: string, role: string, vendor: 'anthropic' | 'openai'): ProviderError {
  return new ProviderError(`${provider}: the ${role} request was not sent: ${error.message}; the API refuses such a request every time`, {
    provider,
    hint:
      `If your account's limits are higher (the API console's Limits page), set them as rate_limits.${vendor}.${error.limit} in studio.config.json; ` +
      'otherwise use shorter papers or episodes, or a model with higher limits. TRAINING.md, "Running on real podcasts", lists what each call needs.',
  })
}

/** A streamed answer that stopped sending, or outran its deadline: retried like a timeout. */
export class StreamStalledError extends Error {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message)
    this.name = 'StreamStalledError'
  }
}

export interface StreamLimits {
  /** Longest silence between two events. */
  idleMs: number
  /** Longest whole answer. */
  totalMs: number
}

/**
 * The time a streamed answer of `maxTokens` may take: the base timeout (until the
 * first byte and for any silence), plus the output at a slow 20 tokens a second, so
 * that a long script is not abandoned half-way as a short answer would be.
 */
export function streamLimits(baseTimeoutMs: number, maxTokens: number): StreamLimits {
  return {idleMs: baseTimeoutMs, totalMs: baseTimeoutMs + maxTokens * 50}
}

/**
 * Reads a stream of events to its end, calling `onEvent` on each; aborts it (through
 * `abort`, the controller whose signal the request was given) when it is silent for
 * longer than `idleMs` or runs past `totalMs`, and throws StreamStalledError then.
 */
export async function consumeStream<E>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<E>>,
  limits: StreamLimits,
  onEvent: (event: E) => void,
): Promise<void> {
  const abort = new AbortController()
  let reason: string | null = null
  let idle: NodeJS.Timeout | undefined
  const arm = () => {
    clearTimeout(idle)
    idle = setTimeout(() => {
      reason = `the answer stream sent nothing for ${Math.round(limits.idleMs / 1000)} s`
      abort.abort()
    }, limits.idleMs)
  }
  const total = setTimeout(() => {
    reason = `the answer took longer than ${Math.round(limits.totalMs / 1000)} s`
    abort.abort()
  }, limits.totalMs)
  arm()
  try {
    const stream = await open(abort.signal)
    for await (const event of stream) {
      arm()
      onEvent(event)
    }
  } catch (error) {
    if (reason !== null) throw new StreamStalledError(reason, limits.idleMs)
    throw error
  } finally {
    clearTimeout(idle)
    clearTimeout(total)
  }
}

// ------------------------------------------------------------- the ask loop

/** One model call's answer: JSON text (or an already parsed value, e.g. a tool input) and its usage. */
export interface RawAnswer {
  /** The answer: JSON text, or a value when the API returns one (tool input). */
  answer: unknown
  usage: Usage
  /** Set when the model declined or stopped early: counted as an invalid answer with this problem. */
  problem?: string
  /** The answer stopped at max_tokens (`stop_reason: "max_tokens"`, `finish_reason: "length"`): it is incomplete. */
  cut?: boolean
}

export interface AskOptions<T> {
  /** Provider id, e.g. "anthropic:claude-sonnet-4-6". */
  provider: string
  role: Role
  schema: z.ZodType<T>
  messages: ChatMessage[]
  /** One attempt at a call to the model with these messages and this max_tokens (retries are the ask loop's). */
  call: (messages: ChatMessage[], maxTokens: number) => Promise<RawAnswer>
  /** max_tokens of the first attempt. */
  maxTokens: number
  /** The model's cap: an answer cut below it is asked again once with the cap. */
  outputCap: number
  retry?: {policy?: RetryPolicy; limiter?: RateLimiter}
  /** Plain JSON schema of the answer, for `dropNullOptionals` (OpenAI strict mode). */
  nullOptionalsFrom?: JsonSchema
  errors: ErrorContext
}

export type Validation<T> = {ok: true; value: T} | {ok: false; problems: string; text: string}

/** Validates an answer (JSON text or value) with the schema; a JSON syntax error is a validation problem. */
export function validateAnswer<T>(answer: unknown, schema: z.ZodType<T>, nullOptionalsFrom?: JsonSchema): Validation<T> {
  let value: unknown = answer
  const text = typeof answer === 'string' ? answer : (JSON.stringify(answer) ?? 'undefined')
  if (typeof answer === 'string') {
    try {
      value = JSON.parse(answer)
    } catch (error) {
      return {ok: false, problems: `the answer is not valid JSON: ${(error as Error).message}`, text}
    }
  }
  if (nullOptionalsFrom) value = dropNullOptionals(value, nullOptionalsFrom)
  const parsed = schema.safeParse(value)
  if (parsed.success) return {ok: true, value: parsed.data}
  return {ok: false, problems: z.prettifyError(parsed.error), text}
}

function addUsage(a: Usage, b: Usage): Usage {
  const out: Record<string, number> = {}
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = (a as unknown as Record<string, unknown>)[key]
    const y = (b as unknown as Record<string, unknown>)[key]
    out[key] = (typeof x === 'number' ? x : 0) + (typeof y === 'number' ? y : 0)
  }
  return out as unknown as Usage
}

/** The user message that asks for a corrected answer. */
export function correctionMessage(problems: string): string {
  return [
    'Your previous answer did not match the required JSON schema. The problems:',
    problems,
    'Answer again with the complete, corrected JSON value only, matching the schema exactly.',
  ].join('\n')
}

/**
 * Calls the model (every attempt retried under the retry policy, through the shared
 * rate limiter), validates its answer with the zod schema, and when the answer does
 * not match, asks once more with the previous answer and the problems; a second
 * mismatch is a ProviderError. An answer cut at max_tokens is never validated as a
 * whole one (see `whole`). Usage sums every answer paid for.
 */
export async function askStructured<T>(options: AskOptions<T>): Promise<StructuredAnswer<T>> {
  const {provider, role, schema, errors} = options
  const policy = options.retry?.policy ?? DEFAULT_RETRY_POLICY
  const once = async (messages: ChatMessage[], maxTokens: number): Promise<RawAnswer> => {
    try {
      return await withRetries(() => options.call(messages, maxTokens), {policy, classify: retryDecision, limiter: options.retry?.limiter})
    } catch (error) {
      if (error instanceof RequestTooLargeError) throw requestTooLarge(error, provider, role, errors.vendor)
      throw toProviderError(error, errors)
    }
  }
  let paid: Usage | undefined
  const pay = (usage: Usage) => {
    paid = paid ? {...addUsage(paid, usage), calls: (paid.calls ?? 1) + (usage.calls ?? 1)} : usage
  }
  /**
   * One answer that was not cut off: an answer stopped at its max_tokens is incomplete
   * whatever it parses to, so it is asked again once with the model's cap, and a cut
   * at the cap is an OutputLimitError (the caller may write in smaller parts).
   */
  const whole = async (messages: ChatMessage[]): Promise<RawAnswer> => {
    let maxTokens = Math.min(options.maxTokens, options.outputCap)
    for (;;) {
      let answer: RawAnswer
      try {
        answer = await once(messages, maxTokens)
      } catch (error) {
        throw paid ? (error as ProviderError).withUsage(paid) : error
      }
      pay(answer.usage)
      if (!answer.cut) return answer
      if (maxTokens >= options.outputCap) {
        throw new OutputLimitError(
          `${provider}: the ${role} answer did not fit in ${maxTokens} output tokens (the model's limit) and was cut off`,
          {
            provider,
            maxOutputTokens: maxTokens,
            usage: paid,
            hint: 'Ask for less in one answer (a shorter target length), or set max_output_tokens for this role in studio.config.json if the model allows more.',
          },
        )
      }
      maxTokens = options.outputCap
    }
  }

  const first = await whole(options.messages)
  const firstCheck = first.problem
    ? ({ok: false, problems: first.problem, text: textOf(first.answer)} as const)
    : validateAnswer(first.answer, schema, options.nullOptionalsFrom)
  if (firstCheck.ok) return {value: firstCheck.value, usage: paid!}

  const retryMessages: ChatMessage[] = [
    ...options.messages,
    {role: 'assistant', content: firstCheck.text || '(no answer)'},
    {role: 'user', content: correctionMessage(firstCheck.problems)},
  ]
  // The rejected answer was paid for: a failure from here on says so (whole() adds it).
  const second = await whole(retryMessages)
  const usage = paid!
  const secondCheck = second.problem
    ? ({ok: false, problems: second.problem, text: textOf(second.answer)} as const)
    : validateAnswer(second.answer, schema, options.nullOptionalsFrom)
  if (secondCheck.ok) return {value: secondCheck.value, usage}

  const problems = redact(secondCheck.problems, errors.secrets).replace(/\s*\n\s*/g, '; ')
  throw new ProviderError(`${provider}: the ${role} answer did not match its schema twice: ${problems}`, {
    provider,
    hint: 'The model did not follow the answer format even when told what was wrong; try again, or use a stronger model for this role (--model).',
    usage,
  })
}

function textOf(answer: unknown): string {
  if (typeof answer === 'string') return answer
  return JSON.stringify(answer) ?? ''
}

// -------------------------------------------------------------------- cache

export interface CachedStructured {
  value: unknown
  usage: Usage
}

const CachedUsage = z.looseObject({input_tokens: z.number(), output_tokens: z.number()})

/** A cached structured answer (`cached: true`: nothing paid), if present and still valid against the schema. */
export async function cachedStructured<T>(
  cache: ResponseCache | undefined,
  key: unknown,
  schema: z.ZodType<T>,
): Promise<StructuredAnswer<T> | null> {
  if (!cache) return null
  let hit: unknown
  try {
    hit = await cache.get(key)
  } catch {
    return null
  }
  if (!isObject(hit)) return null
  const usage = CachedUsage.safeParse(hit.usage)
  const value = schema.safeParse(hit.value)
  if (!usage.success || !value.success) return null
  return {value: value.data, usage: usage.data, cached: true}
}

/**
 * The one shape of every structured call: the cached answer when there is a valid one,
 * else `ask()`, whose (schema-valid) answer is stored under the same key.
 */
export async function cachedOrAsk<T>(
  cache: ResponseCache | undefined,
  key: unknown,
  schema: z.ZodType<T>,
  ask: () => Promise<StructuredAnswer<T>>,
): Promise<StructuredAnswer<T>> {
  const hit = await cachedStructured(cache, key, schema)
  if (hit) return hit
  const answer = await ask()
  await storeStructured(cache, key, answer)
  return answer
}

/** Stores a schema-valid answer (never errors); a failing cache never fails the call. */
export async function storeStructured(cache: ResponseCache | undefined, key: unknown, answer: StructuredAnswer<unknown>): Promise<void> {
  if (!cache) return
  try {
    await cache.set(key, {value: answer.value, usage: answer.usage})
  } catch {
    // A cache that cannot write costs a repeated call later, nothing more.
  }
}

// -------------------------------------------------------------------- batch

/**
 * A batch result as an answer: one that was cut off, declined or not schema-valid is
 * refused with its reason (the caller asks again, synchronously, where the ask loop
 * can correct it); a valid one is billed at the batch price and stored in the cache.
 */
export async function acceptBatchAnswer<T>(
  raw: RawAnswer,
  options: {schema: z.ZodType<T>; cache: ResponseCache | undefined; key: unknown; nullOptionalsFrom?: JsonSchema},
): Promise<{ok: true; answer: StructuredAnswer<T>} | {ok: false; reason: string; usage: Usage}> {
  const usage: Usage = {...raw.usage, batch: true}
  if (raw.cut) return {ok: false, reason: 'the answer was cut off at max_tokens', usage}
  if (raw.problem) return {ok: false, reason: raw.problem, usage}
  const check = validateAnswer(raw.answer, options.schema, options.nullOptionalsFrom)
  if (!check.ok) return {ok: false, reason: `the answer did not match its schema: ${check.problems.replace(/\s*\n\s*/g, '; ')}`, usage}
  const answer = {value: check.value, usage}
  await storeStructured(options.cache, options.key, answer)
  return {ok: true, answer}
}
