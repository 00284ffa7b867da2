/**
 * A local fake of the OpenAI and Anthropic HTTP APIs, for tests.
 *
 * One node:http server on 127.0.0.1 (random port) answers, in the real wire formats
 * (closely enough that the official `openai` 6.x and `@anthropic-ai/sdk` 1.12 clients
 * parse its answers):
 * - POST /v1/audio/transcriptions (multipart; json, text, srt, vtt, verbose_json),
 * - POST /v1/chat/completions (response_format json_schema, or plain text),
 * - POST /v1/audio/speech (a silent MP3 lasting words(input) / 150 minutes),
 * - POST /v1/messages (Anthropic: `output_config.format` json_schema, or tool use).
 * Structured answers are built deterministically from the request text (see
 * defaultAnswer); faults (`failNext`) stand in for outages, dropped connections,
 * cut-off bodies and wrong answers. Every request is recorded.
 *
 * Tokens are counted as ceil(characters / 4), input and output alike.
 *
 * Streaming (`stream: true`) is answered as server-sent events, as the real APIs send them:
 * - Anthropic: `message_start` (empty content, usage with the input and cache tokens and
 *   output_tokens 1), `content_block_start`, `ping`, several `content_block_delta`
 *   (`text_delta`, or `input_json_delta` whose `partial_json` pieces join to the tool input),
 *   `content_block_stop`, `message_delta` (stop_reason, usage.output_tokens), `message_stop`.
 * - OpenAI: `data: {chat.completion.chunk}` lines (role first, then content pieces, then an
 *   empty delta with finish_reason), with `stream_options.include_usage` a last chunk with
 *   `choices: []` and the usage (every other chunk then has `usage: null`), then `data: [DONE]`.
 * Faults on a streamed request: `status` answers the error JSON (not SSE), `drop` destroys
 * the socket before any answer, `truncate` sends the headers and about half of the deltas,
 * then half an event, then destroys the socket; `invalid-json` replaces a middle event's
 * data with text that is not JSON (the stream then ends normally).
 *
 * Output limits, as the real APIs apply them:
 * - Anthropic: `max_tokens` is required, an integer >= 1, and at most the model's output cap
 *   (`modelMaxOutputTokens`, default DEFAULT_MODEL_MAX_OUTPUT_TOKENS; a model matches a key
 *   equal to it or followed by `-`, e.g. a dated snapshot; the longest key wins; models in no
 *   key have no cap), else a 400 invalid_request_error ("max_tokens: 70000 > 64000, which is
 *   the maximum allowed number of output tokens for claude-sonnet-4-6"). An answer longer
 *   than max_tokens is cut at max_tokens * 4 characters with `stop_reason: "max_tokens"` and
 *   `usage.output_tokens = max_tokens`. A cut text answer (JSON of a structured answer
 *   included) is the text's beginning. A cut tool_use arrives as the real API sends it:
 *   not streamed, with `input: {}` (the API does not return a partial tool input); streamed,
 *   the `input_json_delta` pieces hold the JSON's beginning, which the SDK's partial-JSON
 *   parser turns into a partial object.
 * - OpenAI: `max_completion_tokens` (or the legacy `max_tokens`, which gpt-5 and o-series
 *   models reject with a 400 as the real API does) cuts the same way, with
 *   `finish_reason: "length"` and `usage.completion_tokens` = the limit; a limit above the
 *   model's cap is a 400 ("max_tokens is too large: ..."); no limit: the answer is cut only
 *   at the model's cap. (The SDK's `parse()`/`stream()` with a zod response_format then
 *   throw LengthFinishReasonError, as with the real API.)
 *
 * Latency: every answer waits `latencyMs` (faults included); an answer with output tokens
 * (chat completions, messages) then takes output_tokens * `msPerOutputToken` more. Streamed,
 * the headers and the first events go out at once and the deltas are spread evenly over that
 * time, the last one arriving after it.
 *
 * Rate limits (`rateLimits`, per API; none by default): one token bucket per configured
 * dimension, capacity = the per-minute limit, refilled continuously at limit / 60 per second,
 * starting full. A request (one that passed auth and validation) is charged 1 request;
 * chat completions and messages also input tokens (Anthropic's rule: input_tokens +
 * cache_creation_input_tokens; cache reads are free; OpenAI: the prompt tokens) and output
 * tokens charged at max_tokens (OpenAI: max_completion_tokens / max_tokens, or the answer's
 * own length when none is given) on arrival, corrected to the real output tokens when the
 * answer ends. `tokensPerMinute` is one bucket for input + output together (OpenAI's TPM).
 * A request that does not fit is answered with a 429 in the API's own format (Anthropic
 * rate_limit_error; OpenAI type "requests"/"tokens", code rate_limit_exceeded) with a
 * `retry-after` header (whole seconds, rounded up, at least 1) after which it would fit, and
 * is not charged. Every answered request of an API with limits carries its rate-limit
 * headers: `anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}`
 * (reset as an RFC 3339 time), or OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
 * (reset as a duration like "1.5s" or "6m0s"). A single request larger than a whole bucket
 * (its input tokens over the input limit, its max_tokens over the output limit, or both
 * together over OpenAI's TPM) can never fit, and is refused with a 429 every time, as the
 * real APIs' token buckets refuse it: Anthropic's usual rate_limit_error with a
 * `retry-after`, OpenAI's "Request too large ... must be reduced" without one. `stats`
 * counts requests, 429s sent (and of them `tooLarge`) and tokens answered, in all and per
 * path.
 *
 * Bounds the APIs do not enforce stay unenforced: the fake never rejects or fixes an answer
 * for numeric or length bounds (minimum, maximum, minLength, maxItems...). With
 * `unboundedAnswers`, the default answers break such bounds the way a model that saw them
 * only in a field's description can: concepts' `importance` on a 1-10 scale (integers 2 to
 * 10, where the schema's description says 0-1), and the judge's engagement score 104 (0-100).
 */
import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {createBatchApi, type BatchControls} from './fake-batch.js'
import {buildSilentMp3} from './media.js'

// ------------------------------------------------------------------- public API

export type Fault =
  | {kind: 'status'; status: number; retryAfterSeconds?: number; body?: unknown}
  | {kind: 'drop'}
  | {kind: 'truncate'}
  | {kind: 'invalid-json'}
  | {kind: 'bad-answer'}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string>
  /** Parsed JSON, or for multipart: {fields, file: {name, bytes, sha256}}; the raw text when it is neither. */
  body: unknown
  time: number
  api: 'openai' | 'anthropic'
}

export interface FakeApiOptions {
  /** Added before every answer (faults included). */
  latencyMs?: number
  /** Override the default structured answer; undefined = use the default. */
  answer?: (request: StructuredQuery) => unknown
  /** Each output token of a chat completion or message adds this many ms (streamed: spread over the deltas). Default 0. */
  msPerOutputToken?: number
  /** Output-token cap per model (both APIs), replacing DEFAULT_MODEL_MAX_OUTPUT_TOKENS; a model in no key has no cap. */
  modelMaxOutputTokens?: Record<string, number>
  /** Rate limits per API; an API or a dimension not given is not limited. */
  rateLimits?: RateLimits
  /** Default answers break the bounds the APIs do not enforce (concept importance 1-10, a judge score of 104). Default false. */
  unboundedAnswers?: boolean
  /**
   * Faults at random, as a flaky network and an overloaded API give them: each request
   * (that has no queued failNext fault) fails with probability `rate`, with one of
   * `kinds` (default: 429 with retry-after 0, 500, 529, a dropped connection, a body cut
   * off mid-way), drawn from a generator seeded with `seed`.
   */
  randomFaults?: {rate: number; seed?: number; kinds?: Fault[]}
}

/** Per-minute limits of one API; each is a token bucket holding that many, refilled at limit / 60 per second. */
export interface Limits {
  requestsPerMinute?: number
  /** Anthropic: input_tokens + cache_creation_input_tokens; OpenAI: prompt tokens. */
  inputTokensPerMinute?: number
  /** Charged at max_tokens on arrival, corrected to the real output tokens at the end. */
  outputTokensPerMinute?: number
  /** Input and output together in one bucket (OpenAI's TPM). */
  tokensPerMinute?: number
}

export interface RateLimits {
  anthropic?: Limits
  openai?: Limits
}

export interface PathStats {
  /** Requests received (faults, errors and 429s included). */
  requests: number
  /** 429s sent by the rate limiter (not by failNext). */
  rateLimited: number
  /** Of them, requests refused because they are larger than a whole minute's limit. */
  tooLarge: number
  /** Prompt tokens of the answers sent (Anthropic: input + cache creation + cache read). */
  inputTokens: number
  /** Output tokens of the answers sent. */
  outputTokens: number
}

export interface FakeApiStats extends PathStats {
  byPath: Record<string, PathStats>
}

/** Output caps of some current models (tokens); see FakeApiOptions.modelMaxOutputTokens. */
export const DEFAULT_MODEL_MAX_OUTPUT_TOKENS: Readonly<Record<string, number>> = {
  'claude-sonnet-4-6': 64_000,
  'claude-sonnet-4-5': 64_000,
  'claude-sonnet-4-0': 64_000,
  'claude-opus-4-5': 64_000,
  'claude-opus-4-1': 32_000,
  'claude-opus-4-0': 32_000,
  'claude-haiku-4-5': 64_000,
  'claude-3-5-haiku': 8192,
  'gpt-4o': 16_384,
  'gpt-4o-mini': 16_384,
  'gpt-4.1': 32_768,
  'gpt-4.1-mini': 32_768,
  'gpt-4.1-nano': 32_768,
  'gpt-5': 128_000,
  'gpt-5-mini': 128_000,
  'gpt-5-nano': 128_000,
}

export interface StructuredQuery {
  api: 'openai' | 'anthropic'
  schema: Record<string, unknown>
  kind: 'classify' | 'concepts' | 'generate' | 'judge' | 'refine' | 'unknown'
  system: string
  user: string
  model: string
}

export interface FakeApi extends BatchControls {
  /** http://127.0.0.1:PORT */
  url: string
  /** `${url}/v1` (what OPENAI_BASE_URL / baseURL takes) */
  openaiBaseURL: string
  /** `${url}` (what ANTHROPIC_BASE_URL / baseURL takes) */
  anthropicBaseURL: string
  requests: RecordedRequest[]
  /**
   * The next `count` (default 1) requests whose path matches get this fault instead of an answer.
   * A string matches a path equal to it or ending with it; no path matches every request.
   */
  failNext(fault: Fault, match?: {path?: string | RegExp; count?: number}): void
  setLatency(ms: number): void
  setMsPerOutputToken(ms: number): void
  /** Replaces the limits; every bucket starts full. */
  setRateLimits(limits: RateLimits): void
  setUnboundedAnswers(on: boolean): void
  /** Counts since start or the last reset (a snapshot). */
  readonly stats: FakeApiStats
  /**
   * Hold the answers of the next `count` requests until all of them have arrived (or
   * `timeoutMs` passed, so that a client that never sends them all fails its assertions
   * rather than hanging): a deterministic way to see whether a client sends them at once.
   */
  holdUntil(count: number, timeoutMs?: number): void
  /** Highest number of requests in flight at once since start or the last reset. */
  maxConcurrent: number
  /** Clears requests, pending faults, a hold, maxConcurrent, stats and the Anthropic prompt-cache memory, and refills the rate-limit buckets. */
  reset(): void
  close(): Promise<void>
}

/** The only keys the fake accepts; any other gets a 401 in the API's own format. */
export const FAKE_KEYS: {openai: string; anthropic: string} = {
  openai: 'sk-test-openai-0123456789',
  anthropic: 'sk-ant-test-0123456789',
}

/** OpenAI's upload cap for transcriptions. */
export const TRANSCRIPTION_MAX_BYTES = 26_214_400
/** OpenAI's TTS input cap, in characters. */
export const SPEECH_MAX_CHARACTERS = 4096
/** Speaking rate of the fake TTS voice and of the fake transcripts. */
export const FAKE_WORDS_PER_MINUTE = 150

// ------------------------------------------------------------------ small utils

type Api = 'openai' | 'anthropic'
type Json = Record<string, unknown>

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex')

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

const tokensOf = (chars: number): number => Math.ceil(chars / 4)

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** mulberry32, seeded from the first 8 hex digits of a hash. */
function prng(seedHex: string): () => number {
  let a = Number.parseInt(seedHex.slice(0, 8), 16) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const wordCount = (text: string): number => text.split(/\s+/).filter(Boolean).length

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits

// ------------------------------------------------------------------------ MP3

const MPEG1_L3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
const MPEG2_L3_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
const SAMPLE_RATES: Record<number, number[]> = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}

interface FrameHeader {
  length: number
  samples: number
  sampleRate: number
  mpeg1: boolean
  mono: boolean
  crc: boolean
}

/** The MPEG audio Layer III frame header at `at`, or null. */
function frameHeaderAt(buf: Uint8Array, at: number): FrameHeader | null {
  if (at + 4 > buf.length) return null
  const b1 = buf[at + 1]!
  const b2 = buf[at + 2]!
  const b3 = buf[at + 3]!
  if (buf[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return null
  const version = (b1 >> 3) & 3 // 0: MPEG 2.5, 1: reserved, 2: MPEG 2, 3: MPEG 1
  const layer = (b1 >> 1) & 3 // 1: Layer III
  if (version === 1 || layer !== 1) return null
  const bitrateIndex = (b2 >> 4) & 0xf
  const rateIndex = (b2 >> 2) & 3
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null
  const mpeg1 = version === 3
  const kbps = (mpeg1 ? MPEG1_L3_KBPS : MPEG2_L3_KBPS)[bitrateIndex]!
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!
  const padding = (b2 >> 1) & 1
  const length = Math.floor(((mpeg1 ? 144 : 72) * kbps * 1000) / sampleRate) + padding
  return {length, samples: mpeg1 ? 1152 : 576, sampleRate, mpeg1, mono: ((b3 >> 6) & 3) === 3, crc: (b1 & 1) === 0}
}

/** Offset of the first byte after any ID3v2 tags at the start. */
function skipId3v2(buf: Uint8Array): number {
  let at = 0
  while (at + 10 <= buf.length && buf[at] === 0x49 && buf[at + 1] === 0x44 && buf[at + 2] === 0x33) {
    const size = ((buf[at + 6]! & 0x7f) << 21) | ((buf[at + 7]! & 0x7f) << 14) | ((buf[at + 8]! & 0x7f) << 7) | (buf[at + 9]! & 0x7f)
    const footer = (buf[at + 5]! & 0x10) !== 0
    at += 10 + size + (footer ? 10 : 0)
  }
  return at
}

const latin1 = (buf: Uint8Array, from: number, length: number): string => Buffer.from(buf.subarray(from, from + length)).toString('latin1')

/**
 * Duration of an MP3 from its frames: sum of samples / sample rate over every MPEG
 * Layer III frame (MPEG 1, 2 and 2.5), after any ID3v2 tag. A first frame holding a
 * Xing/Info/VBRI header carries no audio and is not counted; when it has a LAME tag,
 * the encoder delay and padding it records are subtracted (as ffmpeg does).
 * Null when no frames are found.
 */
export function mp3DurationSeconds(bytes: Uint8Array): number | null {
  let at = skipId3v2(bytes)
  let seconds = 0
  let frames = 0
  let synced = false
  let first = true
  while (at + 4 <= bytes.length) {
    const header = frameHeaderAt(bytes, at)
    if (!header || at + header.length > bytes.length) {
      synced = false
      at++
      continue
    }
    if (!synced) {
      // After a resync, trust a header only when the next frame (or the end) follows it.
      const next = at + header.length
      const tail = bytes.length - next
      const confirmed = tail < 4 || frameHeaderAt(bytes, next) !== null || latin1(bytes, next, 3) === 'TAG'
      if (!confirmed) {
        at++
        continue
      }
      synced = true
    }
    if (first) {
      first = false
      const side = header.mpeg1 ? (header.mono ? 17 : 32) : header.mono ? 9 : 17
      const xingAt = at + 4 + (header.crc ? 2 : 0) + side
      const tag = latin1(bytes, xingAt, 4)
      if (tag === 'Xing' || tag === 'Info') {
        const lameAt = xingAt + 120
        if (latin1(bytes, lameAt, 4) === 'LAME' && lameAt + 24 <= at + header.length) {
          const d = lameAt + 21
          const delay = (bytes[d]! << 4) | (bytes[d + 1]! >> 4)
          const padding = ((bytes[d + 1]! & 0x0f) << 8) | bytes[d + 2]!
          seconds -= (delay + padding) / header.sampleRate
        }
        at += header.length
        continue
      }
      if (latin1(bytes, at + 36, 4) === 'VBRI') {
        at += header.length
        continue
      }
    }
    seconds += header.samples / header.sampleRate
    frames++
    at += header.length
  }
  return frames > 0 ? Math.max(0, seconds) : null
}

/** A silent MP3 (MPEG 1 Layer III, 44.1 kHz, mono, 64 kbps CBR) of about `seconds`: what the speech endpoint answers. */
export function silentMp3(seconds: number): Buffer {
  return buildSilentMp3(Math.max(seconds, 0.1), {bitrateKbps: 64})
}

// -------------------------------------------------------------- request bodies

interface Multipart {
  fields: Record<string, string>
  file: {name: string; bytes: number; sha256: string} | null
  fileBytes: Buffer | null
}

function parseMultipart(body: Buffer, contentType: string): Multipart | null {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]
  if (!boundary) return null
  const delimiter = Buffer.from(`--${boundary}`)
  const fields: Record<string, string> = {}
  let file: Multipart['file'] = null
  let fileBytes: Buffer | null = null
  let at = body.indexOf(delimiter)
  if (at < 0) return null
  for (;;) {
    at += delimiter.length
    if (body[at] === 0x2d && body[at + 1] === 0x2d) break // closing "--"
    at += 2 // CRLF
    const headerEnd = body.indexOf('\r\n\r\n', at)
    if (headerEnd < 0) return null
    const headers = body.subarray(at, headerEnd).toString('utf8')
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4)
    if (next < 0) return null
    const content = body.subarray(headerEnd + 4, next)
    const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? ''
    const filename = /filename="([^"]*)"/i.exec(headers)?.[1]
    if (filename !== undefined) {
      file = {name: filename, bytes: content.length, sha256: sha256(content)}
      fileBytes = Buffer.from(content)
    } else {
      const value = content.toString('utf8')
      fields[name] = name in fields ? `${fields[name]},${value}` : value
    }
    at = next + 2
  }
  return {fields, file, fileBytes}
}

/** Text of a message content: a string, or the text of its text blocks. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : ''))
      .filter(Boolean)
      .join('\n')
  }
  return ''
}

// ---------------------------------------------------------------------- errors

const OPENAI_ERRORS: Record<number, {type: string; code: string | null; message: string}> = {
  400: {type: 'invalid_request_error', code: null, message: 'Invalid request.'},
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  },
  403: {
    type: 'invalid_request_error',
    code: 'unsupported_country_region_territory',
    message: 'Country, region, or territory not supported',
  },
  404: {type: 'invalid_request_error', code: 'unknown_url', message: 'Unknown request URL.'},
  408: {type: 'server_error', code: null, message: 'Request timed out.'},
  409: {type: 'server_error', code: null, message: 'Conflict.'},
  413: {type: 'server_error', code: null, message: 'Request too large.'},
  429: {type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again in 0s.'},
  500: {type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!'},
  502: {type: 'server_error', code: null, message: 'Bad gateway.'},
  503: {type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.'},
}

const ANTHROPIC_ERRORS: Record<number, {type: string; message: string}> = {
  400: {type: 'invalid_request_error', message: 'Invalid request.'},
  401: {type: 'authentication_error', message: 'invalid x-api-key'},
  402: {type: 'billing_error', message: 'Your credit balance is too low to access the Anthropic API.'},
  403: {type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.'},
  404: {type: 'not_found_error', message: 'Not found.'},
  413: {type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.'},
  429: {type: 'rate_limit_error', message: 'This request would exceed the rate limit for your organization. Please try again later.'},
  500: {type: 'api_error', message: 'Internal server error'},
  504: {type: 'timeout_error', message: 'Request timed out.'},
  529: {type: 'overloaded_error', message: 'Overloaded'},
}

function errorBody(
  api: Api,
  status: number,
  message?: string,
  extra: {param?: string | null; code?: string | null; type?: string} = {},
  requestId = 'req_fake',
): Json {
  if (api === 'openai') {
    const known = OPENAI_ERRORS[status] ?? (status >= 500 ? OPENAI_ERRORS[500]! : OPENAI_ERRORS[400]!)
    return {
      error: {
        message: message ?? known.message,
        type: extra.type ?? known.type,
        param: extra.param ?? null,
        code: extra.code === undefined ? known.code : extra.code,
      },
    }
  }
  const known = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? ANTHROPIC_ERRORS[500]! : ANTHROPIC_ERRORS[400]!)
  return {type: 'error', error: {type: extra.type ?? known.type, message: message ?? known.message}, request_id: requestId}
}

/** A key as OpenAI shows it in its 401 message: never the whole key. */
function maskKey(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length)
  return `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`
}

// ------------------------------------------------------------ default answers

type Kind = StructuredQuery['kind']

const MIDDLE_LABELS = ['background', 'method', 'findings', 'discussion'] as const

/** The root schema, with a root `$ref` resolved. */
function resolveRef(schema: Json, root: Json): Json {
  const ref = schema.$ref
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema
  let node: unknown = root
  for (const part of ref.slice(2).split('/')) node = isObject(node) ? node[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined
  return isObject(node) ? resolveRef(node, root) : {}
}

export function kindOf(schema: Record<string, unknown>): Kind {
  const root = resolveRef(schema, schema)
  const props = isObject(root.properties) ? Object.keys(root.properties) : []
  const has = (key: string) => props.includes(key)
  if (has('engagement')) return 'judge'
  if (has('labels')) return 'classify'
  if (has('concepts')) return 'concepts'
  if (has('segments')) return 'generate'
  if (has('prompt') && has('changes')) return 'refine'
  return 'unknown'
}

/** A minimal value valid for a JSON schema (strict-mode style: every listed property filled). */
export function sampleFromSchema(schema: Json, root: Json = schema, depth = 0): unknown {
  const node = resolveRef(schema, root)
  if (depth > 12) return null
  if ('const' in node) return node.const
  if (Array.isArray(node.enum) && node.enum.length) return node.enum[0]
  for (const key of ['anyOf', 'oneOf'] as const) {
    const variants: unknown = node[key]
    if (Array.isArray(variants) && variants.length) {
      const list = variants as unknown[]
      const pick = list.find((v) => !(isObject(v) && v.type === 'null')) ?? list[0]
      return sampleFromSchema(isObject(pick) ? pick : {}, root, depth + 1)
    }
  }
  if (Array.isArray(node.allOf) && isObject(node.allOf[0])) return sampleFromSchema(node.allOf[0], root, depth + 1)
  const type: unknown = Array.isArray(node.type) ? ((node.type as unknown[]).find((t) => t !== 'null') ?? 'null') : node.type
  switch (type) {
    case 'object': {
      const props = isObject(node.properties) ? node.properties : {}
      const out: Json = {}
      for (const [key, value] of Object.entries(props)) out[key] = sampleFromSchema(isObject(value) ? value : {}, root, depth + 1)
      return out
    }
    case 'array': {
      const items = isObject(node.items) ? node.items : {}
      const count = Math.max(1, typeof node.minItems === 'number' ? node.minItems : 1)
      return Array.from({length: count}, () => sampleFromSchema(items, root, depth + 1))
    }
    case 'string': {
      const min = typeof node.minLength === 'number' ? node.minLength : 1
      return 'example'.padEnd(min, 'x')
    }
    case 'integer':
    case 'number': {
      let value = 1
      if (typeof node.minimum === 'number' && value < node.minimum) value = node.minimum
      if (typeof node.exclusiveMinimum === 'number' && value <= node.exclusiveMinimum) value = node.exclusiveMinimum + 1
      if (typeof node.maximum === 'number' && value > node.maximum) value = node.maximum
      return type === 'integer' ? Math.ceil(value) : value
    }
    case 'boolean':
      return false
    case 'null':
      return null
    default:
      return {}
  }
}

/** Text after the first line equal to `heading` (e.g. "Paper:"), up to `until` if given. */
function section(text: string, heading: string, until?: string): string {
  const at = text.indexOf(`${heading}\n`)
  if (at < 0) return ''
  const start = at + heading.length + 1
  const end = until === undefined ? -1 : text.indexOf(until, start)
  return end < 0 ? text.slice(start) : text.slice(start, end)
}

function classifyAnswer(q: StructuredQuery): unknown {
  const indices: number[] = []
  for (const line of q.user.split('\n')) {
    const m = /^\[(\d+)\]\s*\(\s*[\d.]+\s*-\s*[\d.]+\s*s\)/.exec(line)
    if (m) indices.push(Number(m[1]))
  }
  const n = indices.length
  return {
    labels: indices.map((index, i) => {
      const p = (i + 0.5) / n
      let label: string
      if (i === 0 || p < 0.1) label = 'intro'
      else if ((i === n - 1 && n >= 2) || p >= 0.9) label = 'outro'
      else label = MIDDLE_LABELS[Math.min(3, Math.floor(((p - 0.1) / 0.8) * 4))]!
      return {index, label}
    }),
  }
}

const STOPWORDS = new Set(
  `a about above after again against all also although am among an and another any are as at be because been before being below between both but by can could did do does doing down during each either few for from further had has have having he her here hers him his how however i if in into is it its itself just may me might more most much must my neither no nor not now of off on once only or other others our ours out over own per same she should since so some such than that the their theirs them then there therefore these they this those though through thus to too under until up upon us use used uses using very via was we were what when where whether which while who whom whose why will with within without would yet you your et al fig figure table section paper show shows shown results result approach one two three four five first second third here additionally furthermore moreover respectively significant significantly different following including particular particularly approximately compared consider considered previously especially overall together similarly specifically whereas because according`.split(
    /\s+/,
  ),
)

function conceptsAnswer(q: StructuredQuery, unbounded: boolean): unknown {
  const max = Number(/at most (\d+)/.exec(q.system)?.[1] ?? 10)
  const paper = section(q.user, 'Paper:') || q.user
  const counts = new Map<string, {count: number; first: number; forms: Map<string, number>}>()
  let i = 0
  for (const m of paper.matchAll(/[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]/g)) {
    const word = m[0]
    const lower = word.toLowerCase()
    i++
    if (STOPWORDS.has(lower) || word.length < 3) continue
    // Capitalised mid-sentence (names, terms) or an acronym, or simply long.
    const sentenceStart = /(^|[.!?:]\s*|\n\s*)$/.test(paper.slice(Math.max(0, m.index - 3), m.index))
    const named = /^[A-Z]/.test(word) && (!sentenceStart || /^[A-Z0-9-]+$/.test(word))
    if (!(named || word.length >= 9)) continue
    const entry = counts.get(lower) ?? {count: 0, first: i, forms: new Map<string, number>()}
    entry.count++
    entry.forms.set(word, (entry.forms.get(word) ?? 0) + 1)
    counts.set(lower, entry)
  }
  const ranked = [...counts.values()]
    .sort((a, b) => b.count - a.count || a.first - b.first)
    .slice(0, Math.max(0, max))
    .map((e) => [...e.forms.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0])
  const n = ranked.length
  // Unbounded: the 1-10 scale a model may pick when 0-1 is only in the field's description.
  const importance = (k: number) => (unbounded ? Math.max(2, Math.round((10 * (n - k)) / n)) : round((n - k) / n, 4))
  return {concepts: ranked.map((term, k) => ({term, importance: importance(k)}))}
}

const FILLER_WORDS =
  'the study looks at how cells respond when the signal changes and what that means for the model we measured each sample twice across several weeks so the data stay consistent researchers often ask why this pattern appears in some groups but not in others and the answer turns out to depend on timing temperature and the size of the effect in practice'.split(
    ' ',
  )

const HOST_QUESTIONS = [
  'So what is the big question here?',
  'Why does that matter?',
  'How did you actually test that?',
  'What surprised you most?',
  'Can you unpack that for our listeners?',
  'And what does that mean in practice?',
  'Where does this leave the field?',
]

function sentencesOf(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => wordCount(s) >= 4 && /[A-Za-z]/.test(s))
}

function generateAnswer(q: StructuredQuery): unknown {
  const plan: Array<{label: string; words: number}> = []
  // The prompt gives the length in words and each segment's share of it in percent.
  const total = Number(/Length: about (\d+) words/.exec(q.system)?.[1] ?? 0)
  for (const m of q.system.matchAll(/^\d+\.\s+([a-z]+):\s+about\s+(\d+)% of the words/gm)) {
    plan.push({label: m[1]!, words: Math.round((total * Number(m[2])) / 100)})
  }
  if (!plan.length) plan.push({label: 'intro', words: 40}, {label: 'findings', words: 120}, {label: 'outro', words: 40})
  // A script written in parts (training/write-script.ts): this answer holds only the planned
  // segments the last message names, at the length it gives, as a model following it would.
  const part =
    /Write part \d+ of \d+ now: only these planned segments, in this order:\n((?:\d+\. [a-z]+\n)+)About (\d+) words in this part/.exec(
      q.user,
    )
  if (part) {
    const positions = [...part[1]!.matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]) - 1)
    const chosen = positions.map((i) => plan[i]).filter((step): step is {label: string; words: number} => step !== undefined)
    const sum = chosen.reduce((n, step) => n + step.words, 0) || 1
    const partWords = Number(part[2])
    plan.splice(0, plan.length, ...chosen.map((step) => ({label: step.label, words: Math.round((step.words / sum) * partWords)})))
  }
  const speakers = section(q.system, 'Speakers:', '\n\n')
    .split('\n')
    .map((line) => /^- ([^:]+):/.exec(line)?.[1]?.trim())
    .filter((name): name is string => Boolean(name))
  if (!speakers.length) speakers.push('Host')

  const paper = section(q.user, 'Paper:') || q.user
  const sentences = sentencesOf(paper)
  const pool = sentences.length ? sentences : [FILLER_WORDS.join(' ') + '.']
  let turn = 0
  let questions = 0
  return {
    segments: plan.map((step, s) => {
      const target = Math.max(5, step.words)
      let cursor = Math.floor((s / plan.length) * pool.length)
      let queue: string[] = []
      const takeWord = (): string => {
        if (!queue.length) queue = pool[cursor++ % pool.length]!.split(' ')
        return queue.shift()!
      }
      const lines: Array<{speaker: string; text: string}> = []
      let written = 0
      while (written < target) {
        const speaker = speakers[turn % speakers.length]!
        const isHost = speakers.length > 1 && turn % speakers.length === 0
        const words: string[] = []
        const question = HOST_QUESTIONS[questions % HOST_QUESTIONS.length]!.split(' ')
        if (isHost && question.length <= target - written) {
          words.push(...question)
          questions++
        }
        queue = []
        const room = Math.min(target - written, isHost ? 12 : 35)
        while (words.length < room && (written + words.length < target || !words.length)) {
          words.push(takeWord())
          if (/[.!?]$/.test(words.at(-1)!) && words.length >= Math.min(room, 12)) break
        }
        let text = words.slice(0, Math.max(1, Math.min(words.length, target - written))).join(' ')
        if (!/[.!?]$/.test(text)) text += '.'
        written += wordCount(text)
        lines.push({speaker, text})
        turn++
      }
      return {label: step.label, lines}
    }),
  }
}

function judgeAnswer(q: StructuredQuery, unbounded: boolean): unknown {
  const concepts = section(q.user, 'Key concepts:', '\n\n')
    .split('\n')
    .map((line) => /^- (.+)$/.exec(line)?.[1]?.trim())
    .filter((term): term is string => Boolean(term))
  const scriptAt = q.user.lastIndexOf('\nScript:\n')
  const script = (scriptAt >= 0 ? q.user.slice(scriptAt + 9) : q.user).toLowerCase()
  const h = sha256(`${q.system}\n${q.user}`)
  const score = (k: number) => 70 + (Number.parseInt(h.slice(k * 2, k * 2 + 2), 16) % 16)
  // Unbounded: one score past the 0-100 the schema's description gives.
  const scores = {engagement: unbounded ? 104 : score(0), clarity: score(1), accuracy: score(2)}
  const [weakest, value] = Object.entries(scores).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]!
  const reasons: Record<string, string> = {
    engagement: 'long explanations with few questions let the conversation lose momentum',
    clarity: 'some technical terms are used before they are explained',
    accuracy: 'a few statements simplify the paper’s results more than it supports',
  }
  return {
    concepts_explained: concepts.filter((term) => script.includes(term.toLowerCase())),
    ...scores,
    weakest_dimension_reason: `${weakest[0]!.toUpperCase()}${weakest.slice(1)} is lowest (${value}): ${reasons[weakest]}.`,
  }
}

function refineAnswer(q: StructuredQuery): unknown {
  const last = q.user.trimEnd().split('\n').at(-1) ?? ''
  try {
    const prompt: unknown = JSON.parse(last)
    if (isObject(prompt)) return {prompt, changes: []}
  } catch {
    // fall through to a schema sample
  }
  return sampleFromSchema(q.schema)
}

/**
 * The answer the fake gives when FakeApiOptions.answer does not override it; `unbounded`
 * breaks the bounds a real API does not enforce (see FakeApiOptions.unboundedAnswers).
 */
export function defaultAnswer(q: StructuredQuery, {unbounded = false}: {unbounded?: boolean} = {}): unknown {
  switch (q.kind) {
    case 'classify':
      return classifyAnswer(q)
    case 'concepts':
      return conceptsAnswer(q, unbounded)
    case 'generate':
      return generateAnswer(q)
    case 'judge':
      return judgeAnswer(q, unbounded)
    case 'refine':
      return refineAnswer(q)
    default:
      return sampleFromSchema(q.schema)
  }
}

const BAD_ANSWER = {labels: 'oops'}

// ---------------------------------------------------------------- transcripts

const TRANSCRIPT_WORDS =
  'we research data model signal result question paper team sample effect method cells energy network protein climate brain memory learning pattern system light water measure study group change test evidence analysis early later because really interesting think actually know right so and the of to in that it is was for with on this what how why when they you'.split(
    ' ',
  )

interface FakeSegment {
  id: number
  seek: number
  start: number
  end: number
  text: string
  tokens: number[]
  temperature: number
  avg_logprob: number
  compression_ratio: number
  no_speech_prob: number
}

function fakeTranscript(
  duration: number,
  fileSha: string,
): {segments: FakeSegment[]; words: Array<{word: string; start: number; end: number}>} {
  const random = prng(fileSha)
  const n = Math.max(1, Math.round(duration / 5))
  const length = duration / n
  const segments: FakeSegment[] = []
  const words: Array<{word: string; start: number; end: number}> = []
  for (let i = 0; i < n; i++) {
    const start = round(i * length, 2)
    const end = round((i + 1) * length, 2)
    const count = Math.max(1, Math.round(((end - start) * FAKE_WORDS_PER_MINUTE) / 60))
    const list: string[] = []
    let sentence = 0
    for (let k = 0; k < count; k++) {
      let word = TRANSCRIPT_WORDS[Math.floor(random() * TRANSCRIPT_WORDS.length)]!
      if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1)
      sentence++
      const endSentence = k === count - 1 || (sentence >= 6 && random() < 0.2)
      if (endSentence) {
        word += random() < 0.15 ? '?' : '.'
        sentence = 0
      }
      list.push(word)
      const step = (end - start) / count
      words.push({word: word.replace(/[.?]$/, ''), start: round(start + k * step, 2), end: round(start + (k + 1) * step, 2)})
    }
    segments.push({
      id: i,
      seek: Math.floor(start / 30) * 3000,
      start,
      end,
      text: ` ${list.join(' ')}`,
      tokens: list.map((w) => 50364 + (Number.parseInt(sha256(w).slice(0, 4), 16) % 1000)),
      temperature: 0,
      avg_logprob: round(-0.2 - random() * 0.2, 4),
      compression_ratio: round(1.3 + random() * 0.4, 4),
      no_speech_prob: round(random() * 0.02, 4),
    })
  }
  return {segments, words}
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000)
  const pad = (v: number, n = 2) => String(v).padStart(n, '0')
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`
}

// -------------------------------------------------------------------- server

interface Reply {
  status: number
  headers: Record<string, string>
  body: Buffer
}

const jsonReply = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: {'content-type': 'application/json', ...headers},
  body: Buffer.from(JSON.stringify(value)),
})

interface Context {
  api: Api
  path: string
  headers: Record<string, string>
  json: Json | null
  multipart: Multipart | null
  rawBytes: number
  requestId: string
}

interface PendingFault {
  fault: Fault
  path: string | RegExp | undefined
  remaining: number
}

/** One server-sent event, already framed; `delta` marks the events that carry output (spread over the output time). */
interface SseFrame {
  text: string
  delta: boolean
}

/** A chat completion or message: what the rate limiter charges and both ways of sending it. */
interface Generation {
  type: 'generation'
  /** Tokens charged to the input bucket (Anthropic: input + cache creation). */
  limitedInputTokens: number
  /** All prompt tokens (stats). */
  promptTokens: number
  /** Output tokens charged on arrival (the request's limit, else the answer's length). */
  outputCharge: number
  /** Output tokens of the answer as sent. */
  outputTokens: number
  reply: Reply
  /** The events when the request asked for a stream, else null. */
  frames: SseFrame[] | null
}

const anthropicEvent = (type: string, data: Json, delta = false): SseFrame => ({
  text: `event: ${type}\ndata: ${JSON.stringify({type, ...data})}\n\n`,
  delta,
})

const openaiEvent = (data: unknown, delta = false): SseFrame => ({text: `data: ${JSON.stringify(data)}\n\n`, delta})

/** `text` cut to at most `length` UTF-16 units, never between the two halves of a surrogate pair. */
function cutText(text: string, length: number): string {
  if (text.length <= length) return text
  const code = text.charCodeAt(length - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length)
}

/** A text in a few pieces as a stream delivers it: about 8 tokens each, at least 4 pieces when it has 4 characters, at most 1000. */
function pieces(text: string): string[] {
  if (!text) return []
  const size = Math.max(1, Math.min(32, Math.ceil(text.length / 4)), Math.ceil(text.length / 1000))
  const out: string[] = []
  for (let at = 0; at < text.length;) {
    const piece = cutText(text.slice(at), size) || text.slice(at, at + 2)
    out.push(piece)
    at += piece.length
  }
  return out
}

/** The cap of `model` in `caps`: a key equal to it or followed by "-" (a dated snapshot); the longest key wins. */
function capOf(caps: Readonly<Record<string, number>>, model: string): number | undefined {
  let best: string | undefined
  for (const key of Object.keys(caps))
    if ((model === key || model.startsWith(`${key}-`)) && (best === undefined || key.length > best.length)) best = key
  return best === undefined ? undefined : caps[best]
}

// ----------------------------------------------------------------- rate limits

type Dimension = 'requests' | 'input' | 'output' | 'tokens'

const DIMENSIONS: Array<{dimension: Dimension; key: keyof Limits}> = [
  {dimension: 'requests', key: 'requestsPerMinute'},
  {dimension: 'input', key: 'inputTokensPerMinute'},
  {dimension: 'output', key: 'outputTokensPerMinute'},
  {dimension: 'tokens', key: 'tokensPerMinute'},
]

/** A token bucket: `capacity` (the per-minute limit), refilled continuously at capacity / 60 per second; it may go into debt. */
class Bucket {
  private level: number
  private last = performance.now()
  constructor(readonly capacity: number) {
    this.level = capacity
  }
  private refill(): void {
    const now = performance.now()
    this.level = Math.min(this.capacity, this.level + ((now - this.last) * this.capacity) / 60_000)
    this.last = now
  }
  /** ms until `charge` fits: when the level reaches it, or for a charge over the capacity, when the bucket is full. */
  waitMs(charge: number): number {
    this.refill()
    const need = Math.min(charge, this.capacity)
    return this.level >= need ? 0 : ((need - this.level) * 60_000) / this.capacity
  }
  take(amount: number): void {
    this.refill()
    this.level = Math.min(this.capacity, this.level - amount)
  }
  remaining(): number {
    this.refill()
    return Math.max(0, Math.floor(this.level))
  }
  /** ms until the bucket is full again. */
  fullInMs(): number {
    this.refill()
    return ((this.capacity - this.level) * 60_000) / this.capacity
  }
}

type Buckets = Partial<Record<Dimension, Bucket>>

function bucketsOf(limits: Limits | undefined): Buckets {
  const out: Buckets = {}
  for (const {dimension, key} of DIMENSIONS) {
    const limit = limits?.[key]
    if (typeof limit === 'number' && limit > 0) out[dimension] = new Bucket(limit)
  }
  return out
}

/** A duration as OpenAI's x-ratelimit-reset-* headers write it: "120ms", "1.5s", "6m0s". */
function openaiDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${round(seconds, 3)}s`
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
}

/** The rate-limit headers of one API's buckets, as that API sends them. */
function rateLimitHeaders(api: Api, buckets: Buckets): Record<string, string> {
  const headers: Record<string, string> = {}
  if (api === 'anthropic') {
    const names: Record<Dimension, string> = {requests: 'requests', input: 'input-tokens', output: 'output-tokens', tokens: 'tokens'}
    for (const [dimension, bucket] of Object.entries(buckets) as Array<[Dimension, Bucket]>) {
      const name = names[dimension]
      headers[`anthropic-ratelimit-${name}-limit`] = String(bucket.capacity)
      headers[`anthropic-ratelimit-${name}-remaining`] = String(bucket.remaining())
      headers[`anthropic-ratelimit-${name}-reset`] = new Date(Date.now() + Math.ceil(bucket.fullInMs() / 1000) * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
    }
    return headers
  }
  const requests = buckets.requests
  if (requests) {
    headers['x-ratelimit-limit-requests'] = String(requests.capacity)
    headers['x-ratelimit-remaining-requests'] = String(requests.remaining())
    headers['x-ratelimit-reset-requests'] = openaiDuration(requests.fullInMs())
  }
  // OpenAI has one token bucket; with split ones, the tightest speaks for them.
  const tokenBuckets = [buckets.tokens, buckets.input, buckets.output].filter((b): b is Bucket => b !== undefined)
  const tokens = tokenBuckets.sort((a, b) => a.remaining() - b.remaining())[0]
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(tokens.capacity)
    headers['x-ratelimit-remaining-tokens'] = String(tokens.remaining())
    headers['x-ratelimit-reset-tokens'] = openaiDuration(tokens.fullInMs())
  }
  return headers
}

const thousands = (n: number): string => n.toLocaleString('en-US')

/** The 429 body the API sends when `dimension` is exhausted. */
function rateLimitBody(
  api: Api,
  dimension: Dimension,
  bucket: Bucket,
  charge: number,
  waitMs: number,
  model: string,
  requestId: string,
): Json {
  if (api === 'anthropic') {
    const what = {requests: 'requests', input: 'input tokens', output: 'output tokens', tokens: 'tokens'}[dimension]
    return errorBody(
      'anthropic',
      429,
      `This request would exceed the rate limit for your organization (fake-org) of ${thousands(bucket.capacity)} ${what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.`,
      {},
      requestId,
    )
  }
  const requests = dimension === 'requests'
  const used = Math.max(0, Math.ceil(bucket.capacity - bucket.remaining()))
  return errorBody(
    'openai',
    429,
    `Rate limit reached for ${model || 'default'} in organization org-fake on ${requests ? 'requests per min (RPM)' : 'tokens per min (TPM)'}: Limit ${bucket.capacity}, Used ${used}, Requested ${charge}. Please try again in ${openaiDuration(waitMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    {type: requests ? 'requests' : 'tokens', code: 'rate_limit_exceeded'},
  )
}

/** The 429 body for a request larger than a whole minute's limit: the same as any 429 on Anthropic, "Request too large" on OpenAI. */
function requestTooLargeBody(api: Api, dimension: Dimension, bucket: Bucket, charge: number, model: string, requestId: string): Json {
  if (api === 'anthropic') return rateLimitBody(api, dimension, bucket, charge, bucket.fullInMs(), model, requestId)
  const requests = dimension === 'requests'
  return errorBody(
    'openai',
    429,
    `Request too large for ${model || 'default'} in organization org-fake on ${requests ? 'requests per min (RPM)' : 'tokens per min (TPM)'}: Limit ${bucket.capacity}, Requested ${charge}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    {type: requests ? 'requests' : 'tokens', code: 'rate_limit_exceeded'},
  )
}

const emptyStats = (): PathStats => ({requests: 0, rateLimited: 0, tooLarge: 0, inputTokens: 0, outputTokens: 0})

export async function startFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  let latencyMs = options.latencyMs ?? 0
  let barrier: {remaining: number; open: () => void; opened: Promise<void>; timeoutMs: number} | null = null
  const requests: RecordedRequest[] = []
  let faults: PendingFault[] = []
  let inFlight = 0
  let maxConcurrent = 0
  let counter = 0
  /** Prompt-cache entries by prefix hash: when each expires (5 minutes, or an hour, after its last use). */
  const cacheSeen = new Map<string, {expires: number; lifetimeMs: number}>()
  let msPerOutputToken = options.msPerOutputToken ?? 0
  let unbounded = options.unboundedAnswers ?? false
  const faultDraw = prng(sha256(String(options.randomFaults?.seed ?? 1)))
  const faultKinds: Fault[] = options.randomFaults?.kinds ?? [
    {kind: 'status', status: 429, retryAfterSeconds: 0},
    {kind: 'status', status: 500},
    {kind: 'status', status: 529},
    {kind: 'drop'},
    {kind: 'truncate'},
  ]
  const randomFault = (): Fault | null => {
    const rate = options.randomFaults?.rate ?? 0
    if (rate <= 0 || faultDraw() >= rate) return null
    return faultKinds[Math.floor(faultDraw() * faultKinds.length)] ?? null
  }
  const modelCaps = options.modelMaxOutputTokens ?? DEFAULT_MODEL_MAX_OUTPUT_TOKENS
  let rateLimits: RateLimits = options.rateLimits ?? {}
  let buckets: Record<Api, Buckets> = {anthropic: bucketsOf(rateLimits.anthropic), openai: bucketsOf(rateLimits.openai)}
  let stats: FakeApiStats = {...emptyStats(), byPath: {}}
  /** Adds to the totals and to the path's own counts. */
  const count = (path: string, add: Partial<PathStats>) => {
    const own = (stats.byPath[path] ??= emptyStats())
    for (const [key, value] of Object.entries(add) as Array<[keyof PathStats, number]>) {
      stats[key] += value
      own[key] += value
    }
  }

  const takeFault = (path: string): Fault | null => {
    const entry = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.path === undefined || (typeof f.path === 'string' ? path === f.path || path.endsWith(f.path) : f.path.test(path))),
    )
    if (!entry) return null
    entry.remaining--
    faults = faults.filter((f) => f.remaining > 0)
    return entry.fault
  }

  const structured = (q: Omit<StructuredQuery, 'kind'>, bad: boolean): unknown => {
    if (bad) return BAD_ANSWER
    const query: StructuredQuery = {...q, kind: kindOf(q.schema)}
    const override = options.answer?.(query)
    return override === undefined ? defaultAnswer(query, {unbounded}) : override
  }

  // ----------------------------------------------------------- endpoints

  const transcriptions = (ctx: Context, bad: boolean): Reply => {
    if (ctx.rawBytes > TRANSCRIPTION_MAX_BYTES + 65_536 || (ctx.multipart?.file && ctx.multipart.file.bytes > TRANSCRIPTION_MAX_BYTES)) {
      return jsonReply(
        413,
        errorBody('openai', 413, `Maximum content size limit (${TRANSCRIPTION_MAX_BYTES}) exceeded (${ctx.rawBytes} bytes read)`),
      )
    }
    const form = ctx.multipart
    if (!form) return jsonReply(400, errorBody('openai', 400, 'Could not parse multipart form'))
    if (!form.file || !form.fileBytes)
      return jsonReply(
        400,
        errorBody('openai', 400, '1 validation error for Request\nbody -> file\n  field required (type=value_error.missing)', {
          param: 'file',
        }),
      )
    const model = form.fields.model
    if (!model) return jsonReply(400, errorBody('openai', 400, 'you must provide a model parameter', {param: 'model'}))
    const format = form.fields.response_format ?? 'json'
    if (format === 'verbose_json' && model !== 'whisper-1') {
      return jsonReply(
        400,
        errorBody('openai', 400, `response_format 'verbose_json' is not compatible with model '${model}'. Use 'json' or 'text' instead.`, {
          param: 'response_format',
          code: 'unsupported_value',
        }),
      )
    }
    const duration = mp3DurationSeconds(form.fileBytes) ?? form.fileBytes.length / 16000
    const {segments, words} = fakeTranscript(duration, form.file.sha256)
    const text = segments
      .map((s) => s.text)
      .join('')
      .trim()
    const seconds = Math.ceil(duration)
    if (bad) return jsonReply(200, {text})
    switch (format) {
      case 'text':
        return {status: 200, headers: {'content-type': 'text/plain; charset=utf-8'}, body: Buffer.from(`${text}\n`)}
      case 'srt':
      case 'vtt': {
        const cues = segments.map((s, i) =>
          format === 'srt'
            ? `${i + 1}\n${timestamp(s.start, ',')} --> ${timestamp(s.end, ',')}\n${s.text.trim()}\n`
            : `${timestamp(s.start, '.')} --> ${timestamp(s.end, '.')}\n${s.text.trim()}\n`,
        )
        const out = format === 'srt' ? cues.join('\n') : `WEBVTT\n\n${cues.join('\n')}`
        return {status: 200, headers: {'content-type': 'text/plain; charset=utf-8'}, body: Buffer.from(out)}
      }
      case 'verbose_json': {
        const granularities = (form.fields['timestamp_granularities[]'] ?? form.fields.timestamp_granularities ?? 'segment').split(',')
        const answer: Json = {task: 'transcribe', language: 'english', duration: round(duration, 2), text}
        if (granularities.includes('word')) answer.words = words
        if (granularities.includes('segment') || !granularities.includes('word')) answer.segments = segments
        answer.usage = {type: 'duration', seconds}
        return jsonReply(200, answer)
      }
      default:
        return jsonReply(200, {text, usage: {type: 'duration', seconds}})
    }
  }

  const chatCompletions = (ctx: Context, bad: boolean): Reply | Generation => {
    const body = ctx.json
    if (!body || !Array.isArray(body.messages) || !body.messages.length)
      return jsonReply(
        400,
        errorBody('openai', 400, "Missing required parameter: 'messages'.", {param: 'messages', code: 'missing_required_parameter'}),
      )
    if (typeof body.model !== 'string')
      return jsonReply(400, errorBody('openai', 400, 'you must provide a model parameter', {param: 'model'}))
    const model = body.model
    const stream = body.stream === true
    if (body.stream_options != null && !stream)
      return jsonReply(
        400,
        errorBody('openai', 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", {
          param: 'stream_options',
          code: 'invalid_value',
        }),
      )
    // Output limit: max_completion_tokens, or the legacy max_tokens (which reasoning models refuse).
    const limitParam = body.max_completion_tokens != null ? 'max_completion_tokens' : body.max_tokens != null ? 'max_tokens' : null
    let limit: number | null = null
    if (limitParam) {
      const value = body[limitParam]
      if (limitParam === 'max_tokens' && /^(gpt-5|o\d)/.test(model))
        return jsonReply(
          400,
          errorBody(
            'openai',
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            {param: 'max_tokens', code: 'unsupported_parameter'},
          ),
        )
      if (typeof value !== 'number' || !Number.isInteger(value))
        return jsonReply(
          400,
          errorBody('openai', 400, `Invalid type for '${limitParam}': expected an integer, but got ${typeof value} instead.`, {
            param: limitParam,
            code: 'invalid_type',
          }),
        )
      if (value < 1)
        return jsonReply(
          400,
          errorBody(
            'openai',
            400,
            `Invalid '${limitParam}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
            {param: limitParam, code: 'integer_below_min_value'},
          ),
        )
      limit = value
    }
    const cap = capOf(modelCaps, model)
    if (limit !== null && cap !== undefined && limit > cap)
      return jsonReply(
        400,
        errorBody(
          'openai',
          400,
          `${limitParam} is too large: ${limit}. This model supports at most ${cap} completion tokens, whereas you provided ${limit}.`,
          {param: limitParam, code: 'invalid_value'},
        ),
      )
    const maxOutput = limit ?? cap ?? null

    const messages = body.messages.filter(isObject)
    const system = messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => contentText(m.content))
      .join('\n\n')
    const user = messages
      .filter((m) => m.role === 'user')
      .map((m) => contentText(m.content))
      .join('\n\n')
    const format = isObject(body.response_format) ? body.response_format : null
    let content: string
    if (format?.type === 'json_schema') {
      const jsonSchema = isObject(format.json_schema) ? format.json_schema : {}
      const schema = isObject(jsonSchema.schema) ? jsonSchema.schema : {}
      content = JSON.stringify(structured({api: 'openai', schema, system, user, model}, bad))
    } else if (format?.type === 'json_object') {
      content = JSON.stringify(bad ? BAD_ANSWER : structured({api: 'openai', schema: {}, system, user, model}, false))
    } else {
      content = `This is a fake answer to: ${user.slice(0, 80)}`
    }
    const fullTokens = Math.max(1, tokensOf(content.length))
    const cut = maxOutput !== null && fullTokens > maxOutput
    if (cut) content = cutText(content, maxOutput * 4)
    const finishReason = cut ? 'length' : 'stop'
    const promptChars = messages.reduce((n, m) => n + contentText(m.content).length, 0)
    const promptTokens = Math.max(1, tokensOf(promptChars))
    const completionTokens = cut ? maxOutput : fullTokens
    const seed = typeof body.seed === 'number' ? body.seed : null
    const id = `chatcmpl-${sha256(JSON.stringify(body)).slice(0, 29)}`
    const created = Math.floor(Date.now() / 1000)
    const fingerprint = seed === null ? 'fp_fake' : `fp_fake_seed_${seed}`
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: {cached_tokens: 0, audio_tokens: 0},
      completion_tokens_details: {reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0},
    }
    const reply = jsonReply(200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {index: 0, message: {role: 'assistant', content, refusal: null, annotations: []}, logprobs: null, finish_reason: finishReason},
      ],
      usage,
      service_tier: 'default',
      system_fingerprint: fingerprint,
    })
    let frames: SseFrame[] | null = null
    if (stream) {
      const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true
      const chunkOf = (choices: Json[]): Json => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: 'default',
        system_fingerprint: fingerprint,
        choices,
        ...(includeUsage ? {usage: null} : {}),
      })
      const chunk = (choices: Json[], delta: boolean): SseFrame => openaiEvent(chunkOf(choices), delta)
      const choice = (delta: Json, finish: string | null = null): Json => ({index: 0, delta, logprobs: null, finish_reason: finish})
      frames = [
        chunk([choice({role: 'assistant', content: '', refusal: null})], false),
        ...pieces(content).map((piece) => chunk([choice({content: piece})], true)),
        chunk([choice({}, finishReason)], false),
      ]
      if (includeUsage) frames.push(openaiEvent({...chunkOf([]), usage}))
      frames.push({text: 'data: [DONE]\n\n', delta: false})
    }
    return {
      type: 'generation',
      limitedInputTokens: promptTokens,
      promptTokens,
      outputCharge: limit ?? completionTokens,
      outputTokens: completionTokens,
      reply,
      frames,
    }
  }

  const speech = (ctx: Context, bad: boolean): Reply => {
    const body = ctx.json
    if (!body || typeof body.input !== 'string')
      return jsonReply(
        400,
        errorBody('openai', 400, "Missing required parameter: 'input'.", {param: 'input', code: 'missing_required_parameter'}),
      )
    if (typeof body.model !== 'string')
      return jsonReply(
        400,
        errorBody('openai', 400, "Missing required parameter: 'model'.", {param: 'model', code: 'missing_required_parameter'}),
      )
    if (typeof body.voice !== 'string' && !isObject(body.voice))
      return jsonReply(
        400,
        errorBody('openai', 400, "Missing required parameter: 'voice'.", {param: 'voice', code: 'missing_required_parameter'}),
      )
    if (body.input.length > SPEECH_MAX_CHARACTERS) {
      return jsonReply(
        400,
        errorBody(
          'openai',
          400,
          `[{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most ${SPEECH_MAX_CHARACTERS} characters', 'input': '...', 'ctx': {'max_length': ${SPEECH_MAX_CHARACTERS}}}]`,
          {param: 'input', code: 'string_too_long'},
        ),
      )
    }
    if (bad) return {status: 200, headers: {'content-type': 'audio/mpeg'}, body: Buffer.from('this is not an mp3 file\n'.repeat(8))}
    const speed = typeof body.speed === 'number' && body.speed >= 0.25 && body.speed <= 4 ? body.speed : 1
    const seconds = ((wordCount(body.input) / FAKE_WORDS_PER_MINUTE) * 60) / speed
    return {status: 200, headers: {'content-type': 'audio/mpeg'}, body: silentMp3(seconds)}
  }

  const messages = (ctx: Context, bad: boolean): Reply | Generation => {
    const body = ctx.json
    const invalid = (message: string) => jsonReply(400, errorBody('anthropic', 400, message, {}, ctx.requestId))
    if (!body) return invalid('There was an issue with the JSON body of the request.')
    if (typeof body.model !== 'string') return invalid('model: Field required')
    if (body.max_tokens == null) return invalid('max_tokens: Field required')
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens))
      return invalid('max_tokens: Input should be a valid integer')
    if (body.max_tokens < 1) return invalid('max_tokens: Input should be greater than or equal to 1')
    const maxTokens = body.max_tokens
    const cap = capOf(modelCaps, body.model)
    if (cap !== undefined && maxTokens > cap)
      return invalid(`max_tokens: ${maxTokens} > ${cap}, which is the maximum allowed number of output tokens for ${body.model}`)
    if (!Array.isArray(body.messages) || !body.messages.length) return invalid('messages: Field required')
    const turns = body.messages.filter(isObject)
    const system = contentText(body.system)
    const user = turns
      .filter((m) => m.role === 'user')
      .map((m) => contentText(m.content))
      .join('\n\n')
    const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : []

    // Prompt caching as Anthropic does it: a block marked cache_control caches the whole
    // prefix up to and including it, in the order tools, system, messages. A request whose
    // prefix up to a marked block was cached before reads it; a new one writes it.
    const sequence: Array<{text: string; marked: boolean; hour?: boolean}> = []
    const append = (blocks: unknown) => {
      if (typeof blocks === 'string') sequence.push({text: blocks, marked: false})
      if (!Array.isArray(blocks)) return
      for (const block of blocks) {
        if (isObject(block))
          sequence.push({
            text: typeof block.text === 'string' ? block.text : JSON.stringify(block),
            marked: isObject(block.cache_control),
            hour: isObject(block.cache_control) && block.cache_control.ttl === '1h',
          })
      }
    }
    append(tools)
    append(body.system)
    for (const turn of turns) append(turn.content)
    let prefix = ''
    let cacheRead = 0
    let cachedUpTo = 0
    let writtenForAnHour = false
    const now = Date.now()
    for (const item of sequence) {
      prefix += `${item.text}\u0000`
      if (!item.marked) continue
      const key = sha256(prefix)
      const tokens = tokensOf(prefix.length)
      const entry = cacheSeen.get(key)
      const lifetimeMs = item.hour ? 3_600_000 : 300_000
      if (entry && entry.expires > now) {
        cacheRead = tokens
        // A hit refreshes the entry's lifetime.
        entry.expires = now + Math.max(entry.lifetimeMs, lifetimeMs)
      } else {
        cacheSeen.set(key, {expires: now + lifetimeMs, lifetimeMs})
        writtenForAnHour = item.hour === true
      }
      cachedUpTo = tokens
    }
    const cacheCreation = Math.max(0, cachedUpTo - cacheRead)
    const cacheCreationSplit = writtenForAnHour
      ? {ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: cacheCreation}
      : {ephemeral_5m_input_tokens: cacheCreation, ephemeral_1h_input_tokens: 0}
    const totalChars =
      system.length + turns.reduce((n, m) => n + contentText(m.content).length, 0) + (tools.length ? JSON.stringify(tools).length : 0)
    const inputTokens = Math.max(1, tokensOf(totalChars) - cacheCreation - cacheRead)

    const outputConfig = isObject(body.output_config) ? body.output_config : null
    const format = isObject(outputConfig?.format) ? outputConfig.format : isObject(body.output_format) ? body.output_format : null
    const choice = isObject(body.tool_choice) ? body.tool_choice : null
    const id = sha256(JSON.stringify(body))
    let content: Json[]
    let stopReason: string
    if (format?.type === 'json_schema') {
      const schema = isObject(format.schema) ? format.schema : {}
      content = [
        {type: 'text', text: JSON.stringify(structured({api: 'anthropic', schema, system, user, model: body.model}, bad)), citations: null},
      ]
      stopReason = 'end_turn'
    } else if (tools.length && choice?.type !== 'none') {
      const tool = (choice?.type === 'tool' ? tools.find((t) => t.name === choice.name) : tools[0]) ?? null
      if (!tool) return invalid(`tool_choice: tool '${String(choice?.name)}' not found in tools`)
      const schema = isObject(tool.input_schema) ? tool.input_schema : {}
      const input = structured({api: 'anthropic', schema, system, user, model: body.model}, bad)
      content = [{type: 'tool_use', id: `toolu_${id.slice(0, 24)}`, name: tool.name, input, caller: {type: 'direct'}}]
      stopReason = 'tool_use'
    } else {
      content = [{type: 'text', text: `This is a fake answer to: ${user.slice(0, 80)}`, citations: null}]
      stopReason = 'end_turn'
    }
    // One block: a text, or a tool_use whose input is written as JSON. Longer than max_tokens: cut.
    const block = content[0]!
    const tool = block.type === 'tool_use'
    const written = tool ? JSON.stringify(block.input) : String(block.text)
    const fullTokens = Math.max(1, tokensOf(written.length))
    const cut = fullTokens > maxTokens
    const sent = cut ? cutText(written, maxTokens * 4) : written
    if (cut) {
      stopReason = 'max_tokens'
      // A cut tool input is not returned, not even in part (a stream does send the part).
      content = [tool ? {...block, input: {}} : {...block, text: sent}]
    }
    const outputTokens = cut ? maxTokens : fullTokens
    const messageId = `msg_${id.slice(0, 24)}`
    const cacheUsage = {
      cache_creation_input_tokens: cacheCreation,
      cache_read_input_tokens: cacheRead,
    }
    const reply = jsonReply(200, {
      id: messageId,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      usage: {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        ...cacheUsage,
        cache_creation: cacheCreationSplit,
        server_tool_use: null,
        service_tier: 'standard',
      },
    })
    let frames: SseFrame[] | null = null
    if (body.stream === true) {
      const start = tool ? {...block, input: {}} : {type: 'text', text: ''}
      const delta = (piece: string) => (tool ? {type: 'input_json_delta', partial_json: piece} : {type: 'text_delta', text: piece})
      frames = [
        anthropicEvent('message_start', {
          message: {
            id: messageId,
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            stop_details: null,
            container: null,
            usage: {
              input_tokens: inputTokens,
              ...cacheUsage,
              cache_creation: cacheCreationSplit,
              output_tokens: 1,
              service_tier: 'standard',
            },
          },
        }),
        anthropicEvent('content_block_start', {index: 0, content_block: start}),
        anthropicEvent('ping', {}),
        ...pieces(sent).map((piece) => anthropicEvent('content_block_delta', {index: 0, delta: delta(piece)}, true)),
        anthropicEvent('content_block_stop', {index: 0}),
        anthropicEvent('message_delta', {
          delta: {stop_reason: stopReason, stop_sequence: null, stop_details: null, container: null},
          usage: {input_tokens: inputTokens, ...cacheUsage, output_tokens: outputTokens, server_tool_use: null},
        }),
        anthropicEvent('message_stop', {}),
      ]
    }
    return {
      type: 'generation',
      limitedInputTokens: inputTokens + cacheCreation,
      promptTokens: inputTokens + cacheCreation + cacheRead,
      outputCharge: maxTokens,
      outputTokens,
      reply,
      frames,
    }
  }

  const routes: Record<string, (ctx: Context, bad: boolean) => Reply | Generation> = {
    '/v1/audio/transcriptions': transcriptions,
    '/v1/chat/completions': chatCompletions,
    '/v1/audio/speech': speech,
    '/v1/messages': messages,
  }

  // Batched requests are answered by the same routes, never streamed and outside the per-minute limits.
  let baseUrl = ''
  const batchApi = createBatchApi({
    route(api, path, body) {
      const route = routes[path]
      const requestId = `req_fake_${String(++counter).padStart(6, '0')}`
      if (!route) return {status: 404, body: errorBody(api, 404, 'Not found', {}, requestId)}
      const result = route({api, path, headers: {}, json: body, multipart: null, rawBytes: 0, requestId}, false)
      const generation = 'type' in result ? result : null
      const reply = generation ? generation.reply : (result as Reply)
      if (generation) count('batch', {inputTokens: generation.promptTokens, outputTokens: generation.outputTokens})
      return {status: reply.status, body: JSON.parse(reply.body.toString('utf8')) as unknown}
    },
    errorBody: (api, status, message, extra) => errorBody(api, status, message, extra),
    baseUrl: () => baseUrl,
  })

  // ------------------------------------------------------------- handling

  const authError = (ctx: Context): Reply | null => {
    if (ctx.api === 'anthropic') {
      // SDK 1.12 sends its apiKey as `Authorization: Bearer`; x-api-key (curl, older SDKs) is accepted too.
      const key = ctx.headers['x-api-key'] ?? /^Bearer\s+(.+)$/i.exec(ctx.headers.authorization ?? '')?.[1]?.trim()
      if (key !== FAKE_KEYS.anthropic) return jsonReply(401, errorBody('anthropic', 401, 'invalid x-api-key', {}, ctx.requestId))
      if (!ctx.headers['anthropic-version'])
        return jsonReply(400, errorBody('anthropic', 400, 'anthropic-version: header is required', {}, ctx.requestId))
      return null
    }
    const auth = ctx.headers.authorization ?? ''
    const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim()
    if (!key) {
      return jsonReply(
        401,
        errorBody(
          'openai',
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
          {code: null},
        ),
      )
    }
    if (key !== FAKE_KEYS.openai) {
      return jsonReply(
        401,
        errorBody(
          'openai',
          401,
          `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          {code: 'invalid_api_key'},
        ),
      )
    }
    return null
  }

  const idHeader = (api: Api) => (api === 'anthropic' ? 'request-id' : 'x-request-id')

  const send = (res: ServerResponse, ctx: Context, reply: Reply, extra: Record<string, string> = {}) => {
    res.writeHead(reply.status, {
      ...reply.headers,
      ...extra,
      'content-length': String(reply.body.length),
      [idHeader(ctx.api)]: ctx.requestId,
    })
    res.end(reply.body)
  }

  const answer = (ctx: Context, bad: boolean): Reply | Generation => {
    const route = routes[ctx.path]
    if (!route)
      return jsonReply(
        404,
        errorBody(ctx.api, 404, ctx.api === 'openai' ? `Invalid URL (POST ${ctx.path})` : 'Not found', {}, ctx.requestId),
      )
    return route(ctx, bad)
  }

  /** Charges a request to its API's buckets; when one cannot take it, charges nothing and gives the 429 to answer. */
  const admit = (ctx: Context, own: Buckets, charges: Record<Dimension, number>): Reply | null => {
    const model = typeof ctx.json?.model === 'string' ? ctx.json.model : ''
    // Larger than a whole bucket: no wait makes it fit, and the APIs refuse it every time.
    for (const [dimension, bucket] of Object.entries(own) as Array<[Dimension, Bucket]>) {
      if (charges[dimension] <= bucket.capacity) continue
      count(ctx.path, {rateLimited: 1, tooLarge: 1})
      return jsonReply(429, requestTooLargeBody(ctx.api, dimension, bucket, charges[dimension], model, ctx.requestId), {
        // Anthropic sends retry-after on every 429; OpenAI none for a request that can never fit.
        ...(ctx.api === 'anthropic' ? {'retry-after': String(Math.max(1, Math.ceil(bucket.fullInMs() / 1000)))} : {}),
        ...rateLimitHeaders(ctx.api, own),
      })
    }
    let worst: {dimension: Dimension; bucket: Bucket; waitMs: number} | null = null
    for (const [dimension, bucket] of Object.entries(own) as Array<[Dimension, Bucket]>) {
      const waitMs = bucket.waitMs(charges[dimension])
      if (waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = {dimension, bucket, waitMs}
    }
    if (!worst) {
      for (const [dimension, bucket] of Object.entries(own) as Array<[Dimension, Bucket]>) bucket.take(charges[dimension])
      return null
    }
    count(ctx.path, {rateLimited: 1})
    return jsonReply(
      429,
      rateLimitBody(ctx.api, worst.dimension, worst.bucket, charges[worst.dimension], worst.waitMs, model, ctx.requestId),
      {
        'retry-after': String(Math.max(1, Math.ceil(worst.waitMs / 1000))),
        ...rateLimitHeaders(ctx.api, own),
      },
    )
  }

  /**
   * Sends a streamed answer: the headers and the events before the first delta at once,
   * the deltas spread over output_tokens * msPerOutputToken, the rest after the last delta.
   * `truncate` stops in the middle of the event after about half the deltas and destroys the
   * socket; `invalid-json` breaks the data of a middle delta.
   */
  const stream = async (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: Context,
    generation: Generation,
    frames: SseFrame[],
    extra: Record<string, string>,
    fault: Fault | null,
  ) => {
    const deltaAt = frames.flatMap((frame, i) => (frame.delta ? [i] : []))
    const middle = deltaAt[Math.floor(deltaAt.length / 2)] ?? Math.min(1, frames.length - 1)
    if (fault?.kind === 'invalid-json') {
      const broken = frames[middle]!.text.replace(/^data: \{/m, 'data: {"fake": <not json, ')
      frames = frames.map((frame, i) => (i === middle ? {...frame, text: broken} : frame))
    }
    const cutAt = fault?.kind === 'truncate' ? middle : -1
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...extra,
      [idHeader(ctx.api)]: ctx.requestId,
    })
    res.flushHeaders()
    const totalMs = generation.outputTokens * msPerOutputToken
    const start = performance.now()
    let deltas = 0
    for (const [i, frame] of frames.entries()) {
      if (frame.delta && totalMs > 0) {
        deltas++
        const wait = start + (totalMs * deltas) / deltaAt.length - performance.now()
        if (wait > 0) await sleep(wait)
      }
      if (res.destroyed) return // the client went away
      if (i === cutAt) {
        await new Promise<void>((resolve) => res.write(frame.text.slice(0, Math.floor(frame.text.length / 2)), () => resolve()))
        setTimeout(() => req.socket.destroy(), 10)
        return
      }
      res.write(frame.text)
    }
    res.end()
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const time = Date.now()
    const path = (req.url ?? '/').split('?')[0]!
    const api: Api = path.startsWith('/v1/messages') ? 'anthropic' : 'openai'
    const headers: Record<string, string> = {}
    for (const [key, value] of Object.entries(req.headers))
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value

    // Body: kept whole up to the upload cap (and a little), only counted beyond it.
    const chunks: Buffer[] = []
    let rawBytes = 0
    for await (const chunk of req as AsyncIterable<Buffer>) {
      rawBytes += chunk.length
      if (rawBytes <= TRANSCRIPTION_MAX_BYTES + 65_536) chunks.push(chunk)
    }
    const raw = rawBytes <= TRANSCRIPTION_MAX_BYTES + 65_536 ? Buffer.concat(chunks) : null
    const contentType = headers['content-type'] ?? ''
    let json: Json | null = null
    let multipart: Multipart | null = null
    let recorded: unknown = null
    if (raw && /multipart\/form-data/i.test(contentType)) {
      multipart = parseMultipart(raw, contentType)
      recorded = multipart ? {fields: multipart.fields, file: multipart.file} : raw.toString('latin1')
    } else if (raw && raw.length) {
      const text = raw.toString('utf8')
      try {
        const parsed: unknown = JSON.parse(text)
        json = isObject(parsed) ? parsed : null
        recorded = parsed
      } catch {
        recorded = text
      }
    } else if (!raw) {
      recorded = {fields: {}, file: {name: '', bytes: rawBytes, sha256: ''}}
    }
    requests.push({method: req.method ?? 'GET', path, headers, body: recorded, time, api})
    count(path, {requests: 1})
    const requestId = `req_fake_${String(++counter).padStart(6, '0')}`
    const ctx: Context = {api, path, headers, json, multipart, rawBytes, requestId}

    if (latencyMs > 0) await sleep(latencyMs)
    if (barrier) {
      const held = barrier
      if (--held.remaining <= 0) {
        barrier = null
        held.open()
      }
      await Promise.race([held.opened, sleep(held.timeoutMs)])
    }

    const fault = takeFault(path) ?? randomFault()
    if (fault?.kind === 'drop') {
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'status') {
      const extra: Record<string, string> = {}
      if (fault.retryAfterSeconds !== undefined) extra['retry-after'] = String(fault.retryAfterSeconds)
      send(res, ctx, jsonReply(fault.status, fault.body ?? errorBody(api, fault.status, undefined, {}, requestId), extra))
      return
    }
    const upload = multipart ? {fields: multipart.fields, file: multipart.fileBytes, filename: multipart.file?.name ?? ''} : null
    const result =
      authError(ctx) ??
      batchApi.handle(req.method ?? 'GET', api, path, json, upload) ??
      (req.method === 'POST'
        ? answer(ctx, fault?.kind === 'bad-answer')
        : jsonReply(405, errorBody(api, 400, `Method ${req.method} not allowed`, {}, requestId)))
    const generation = 'type' in result ? result : null
    const reply = generation ? generation.reply : (result as Reply)

    // Rate limits: a request the API would answer is charged (output at its limit, settled at the end).
    const own = buckets[api]
    const limited = Object.keys(own).length > 0
    let settle = () => {}
    if (limited && reply.status < 300) {
      const input = generation?.limitedInputTokens ?? 0
      const output = generation?.outputCharge ?? 0
      const refused = admit(ctx, own, {requests: 1, input, output, tokens: input + output})
      if (refused) {
        send(res, ctx, refused)
        return
      }
      if (generation) {
        const correction = generation.outputTokens - output
        settle = () => {
          own.output?.take(correction)
          own.tokens?.take(correction)
        }
      }
    }
    const extra = limited ? rateLimitHeaders(api, own) : {}
    try {
      if (generation) count(path, {inputTokens: generation.promptTokens, outputTokens: generation.outputTokens})
      if (generation?.frames) {
        await stream(req, res, ctx, generation, generation.frames, extra, fault)
        return
      }
      if (generation && msPerOutputToken > 0) await sleep(generation.outputTokens * msPerOutputToken)
      if (fault?.kind === 'invalid-json') {
        const half = reply.body.subarray(0, Math.max(1, Math.floor(reply.body.length / 2)))
        send(res, ctx, {
          status: 200,
          headers: {'content-type': 'application/json'},
          body: Buffer.concat([Buffer.from('{"fake": '), half, Buffer.from(' <not json')]),
        })
        return
      }
      if (fault?.kind === 'truncate') {
        res.writeHead(reply.status, {
          ...reply.headers,
          ...extra,
          'content-length': String(reply.body.length),
          [idHeader(api)]: requestId,
        })
        res.write(reply.body.subarray(0, Math.floor(reply.body.length / 2)), () => {
          setTimeout(() => req.socket.destroy(), 10)
        })
        return
      }
      send(res, ctx, reply, extra)
    } finally {
      settle()
    }
  }

  const server = createServer((req, res) => {
    inFlight++
    maxConcurrent = Math.max(maxConcurrent, inFlight)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      inFlight--
    }
    res.on('close', finish)
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, {'content-type': 'application/json'})
        res.end(JSON.stringify({error: {message: `fake API crashed: ${String(error)}`, type: 'server_error', param: null, code: null}}))
      } else res.destroy()
    })
  })
  server.keepAliveTimeout = 1000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  baseUrl = url

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    failNext(fault, match = {}) {
      faults.push({fault, path: match.path, remaining: match.count ?? 1})
    },
    setLatency(ms) {
      latencyMs = ms
    },
    setMsPerOutputToken(ms) {
      msPerOutputToken = ms
    },
    setRateLimits(limits) {
      rateLimits = limits
      buckets = {anthropic: bucketsOf(limits.anthropic), openai: bucketsOf(limits.openai)}
    },
    setUnboundedAnswers(on) {
      unbounded = on
    },
    setBatchDelay: (ms) => batchApi.setBatchDelay(ms),
    holdBatches: (on) => batchApi.holdBatches(on),
    failBatchRequests: (kind, n) => batchApi.failBatchRequests(kind, n),
    get batches() {
      return batchApi.batches
    },
    get stats() {
      return structuredClone(stats)
    },
    holdUntil(count, timeoutMs = 10_000) {
      let open = () => {}
      const opened = new Promise<void>((resolve) => (open = resolve))
      barrier = {remaining: count, open, opened, timeoutMs}
    },
    get maxConcurrent() {
      return maxConcurrent
    },
    set maxConcurrent(value: number) {
      maxConcurrent = value
    },
    reset() {
      requests.length = 0
      faults = []
      barrier?.open()
      barrier = null
      maxConcurrent = inFlight
      cacheSeen.clear()
      batchApi.reset()
      stats = {...emptyStats(), byPath: {}}
      buckets = {anthropic: bucketsOf(rateLimits.anthropic), openai: bucketsOf(rateLimits.openai)}
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
