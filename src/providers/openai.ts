/**
 * OpenAI (and OpenAI-compatible servers) behind the provider interfaces: a chat
 * model with strict json_schema answers, Whisper transcription (large MP3s split
 * at frame boundaries and transcribed in parallel), and text-to-speech.
 *
 * Uploads are Buffers passed through `toFile`, never read streams: openai 6.x
 * cannot retry a stream it has consumed. Responses cut off mid-body (`TypeError:
 * terminated`), which neither SDK retries, are retried here.
 */
import {createHash} from 'node:crypto'
import {openAsBlob} from 'node:fs'
import {open, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import OpenAI, {toFile} from 'openai'
import {z} from 'zod'

import {ProviderError} from '../core/errors.js'
import {id3v2Size, sniff} from '../media/audio-headers.js'
import {DEFAULT_CHUNK_BYTES, WHISPER_MAX_BYTES, mp3ChunkRanges, mp3DurationSeconds} from '../media/mp3-frames.js'
import {UNKNOWN_TITLE} from '../media/paper.js'
import type {TranscriptSegment} from '../core/schemas/common.js'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions'

import {OpenAIBatchClient} from './batch-clients.js'
import {cacheKeyHash} from './cache.js'
import {modelOutputCap} from './output-limits.js'
import {DEFAULT_RETRY_POLICY, requestLimitOf, type RateLimiter, type RetryPolicy} from './rate-limit.js'
import {
  acceptBatchAnswer,
  askStructured,
  cachedOrAsk,
  cachedStructured,
  consumeStream,
  plainJsonSchema,
  streamLimits,
  toJsonSchema,
  toProviderError,
  withTransportRetry,
  type ErrorContext,
  type RawAnswer,
} from './structured.js'
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  SPEECH_MAX_CHARACTERS,
  type BatchSupport,
  type ChatMessage,
  type LanguageModel,
  type RequestLimit,
  type ResponseCache,
  type SpeechAnswer,
  type SpeechRequest,
  type SpeechSynthesizer,
  type StructuredAnswer,
  type StructuredRequest,
  type Transcriber,
  type TranscriptionRequest,
  type TranscriptionResult,
  type Usage,
} from '../core/providers.js'

interface ClientOptions {
  apiKey: string
  /** Any OpenAI-compatible server; defaults to OPENAI_BASE_URL or the public API. */
  baseURL?: string
  /** Per-call timeout in ms (the SDK retries a timed-out call). */
  timeoutMs?: number
  /** Retries of connection errors, 408, 409, 429 and 5xx, honouring retry-after; default DEFAULT_RETRY_POLICY. */
  retryPolicy?: RetryPolicy
  cache?: ResponseCache
}

function makeClient(options: ClientOptions, defaultTimeoutMs: number): {client: OpenAI; timeout: number} {
  const timeout = options.timeoutMs ?? defaultTimeoutMs
  // Transcription and speech keep the SDK's retries (its backoff honours retry-after), with the policy's count.
  const maxRetries = (options.retryPolicy ?? DEFAULT_RETRY_POLICY).maxRetries
  const client = new OpenAI({apiKey: options.apiKey, baseURL: options.baseURL, timeout, maxRetries})
  return {client, timeout}
}

async function cacheGet(cache: ResponseCache | undefined, key: unknown): Promise<unknown> {
  if (!cache) return undefined
  try {
    return await cache.get(key)
  } catch {
    return undefined
  }
}

async function cacheSet(cache: ResponseCache | undefined, key: unknown, value: unknown): Promise<void> {
  if (!cache) return
  try {
    await cache.set(key, value)
  } catch {
    // A cache that cannot write costs a repeated call later, nothing more.
  }
}

// ----------------------------------------------------------------- chat model

export interface OpenAIChatModelOptions extends ClientOptions {
  model: string
  /** Default 0. null leaves it out (for models that accept only their default). */
  temperature?: number | null
  /** The model's output cap; default from output-limits.ts. */
  maxOutputTokens?: number
  /** The account's limits, shared with every other role on OpenAI. */
  limiter?: RateLimiter
}

export class OpenAIChatModel implements LanguageModel {
  readonly id: string
  readonly maxOutputTokens: number
  readonly requestLimit?: RequestLimit
  readonly batch: BatchSupport
  private readonly client: OpenAI
  private readonly model: string
  private readonly cache?: ResponseCache
  private readonly temperature: number | null
  private readonly errors: ErrorContext
  private readonly timeoutMs: number
  /** The public API takes max_completion_tokens (reasoning models refuse max_tokens); local servers know max_tokens. */
  private readonly limitParameter: 'max_completion_tokens' | 'max_tokens'
  private readonly retry: {policy?: RetryPolicy; limiter?: RateLimiter}

  constructor(options: OpenAIChatModelOptions) {
    this.model = options.model
    this.id = `openai:${options.model}`
    this.cache = options.cache
    // OpenAI charges input + max_tokens against the tokens per minute: a request over a
    // minute's worth is refused every time. Half of it for the answer leaves half for the input.
    const perMinute = options.limiter?.limits.tokens_per_minute
    const cap = options.maxOutputTokens ?? modelOutputCap('openai', options.model)
    this.maxOutputTokens = perMinute ? Math.min(cap, Math.floor(perMinute / 2)) : cap
    if (options.limiter) this.requestLimit = requestLimitOf(options.limiter.limits)
    this.temperature = options.temperature === undefined ? 0 : options.temperature
    // Retries are askStructured's (one policy, through the shared rate limiter).
    const {client, timeout} = makeClient({...options, retryPolicy: {...DEFAULT_RETRY_POLICY, maxRetries: 0}}, 120_000)
    this.client = client
    this.timeoutMs = timeout
    this.limitParameter = options.baseURL ? 'max_tokens' : 'max_completion_tokens'
    this.retry = {policy: options.retryPolicy, limiter: options.limiter}
    this.errors = {provider: this.id, vendor: 'openai', secrets: [options.apiKey], timeoutMs: timeout}
    const batchClient = new OpenAIBatchClient({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeoutMs: timeout,
      retryPolicy: options.retryPolicy,
      errors: this.errors,
    })
    this.batch = {client: batchClient, prepare: (request) => this.prepare(request)}
  }

  /** The request as one line of a batch on /v1/chat/completions (the streamed call's body, unstreamed), keyed as the cache keys it. */
  private prepare<T>(request: StructuredRequest<T>) {
    const {key, schema} = this.keyOf(request)
    const maxTokens = request.maxOutputTokens ?? Math.min(DEFAULT_MAX_OUTPUT_TOKENS, this.maxOutputTokens)
    return {
      group: `${this.batch.client.id}:${this.model}`,
      hash: cacheKeyHash(key),
      body: this.params(request.messages, request.role, schema, request.seed, maxTokens),
      cached: () => cachedStructured(this.cache, key, request.schema),
      accept: (body: unknown) =>
        acceptBatchAnswer(rawOfCompletion(body as ChatCompletion), {
          schema: request.schema,
          cache: this.cache,
          key,
          nullOptionalsFrom: plainJsonSchema(request.schema),
        }),
    }
  }

  private params(
    messages: ChatMessage[],
    role: string,
    schema: Record<string, unknown>,
    seed: number,
    maxTokens: number,
  ): ChatCompletionCreateParamsNonStreaming {
    return {
      model: this.model,
      messages: messages.map((m) => ({role: m.role, content: m.content})),
      response_format: {type: 'json_schema', json_schema: {name: `studio_${role}`, strict: true, schema}},
      seed,
      [this.limitParameter]: maxTokens,
      ...(this.temperature === null ? {} : {temperature: this.temperature}),
    }
  }

  private keyOf<T>(request: StructuredRequest<T>): {key: Record<string, unknown>; schema: Record<string, unknown>} {
    const schema = toJsonSchema(request.schema)
    return {
      schema,
      key: {
        provider: 'openai',
        model: this.model,
        base_url: this.client.baseURL,
        kind: 'structured',
        role: request.role,
        messages: request.messages,
        schema,
        seed: request.seed,
        temperature: this.temperature,
        sample: 0,
      },
    }
  }

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> {
    const {key, schema} = this.keyOf(request)
    return cachedOrAsk(this.cache, key, request.schema, () =>
      askStructured({
        provider: this.id,
        role: request.role,
        schema: request.schema,
        messages: request.messages,
        nullOptionalsFrom: plainJsonSchema(request.schema),
        errors: this.errors,
        maxTokens: request.maxOutputTokens ?? Math.min(DEFAULT_MAX_OUTPUT_TOKENS, this.maxOutputTokens),
        outputCap: this.maxOutputTokens,
        retry: this.retry,
        call: (messages, maxTokens) => this.attempt(messages, request.role, schema, request.seed, maxTokens),
      }),
    )
  }

  /** One streamed request (a long script takes minutes; a stream shows it is alive). */
  private async attempt(
    messages: ChatMessage[],
    role: string,
    schema: Record<string, unknown>,
    seed: number,
    maxTokens: number,
  ): Promise<RawAnswer> {
    const params: ChatCompletionCreateParamsStreaming = {
      ...this.params(messages, role, schema, seed, maxTokens),
      stream: true,
      stream_options: {include_usage: true},
    }
    const limiter = this.retry.limiter
    const inputEstimate = Math.ceil((JSON.stringify(params.messages).length + JSON.stringify(schema).length) / 4)
    const reservation = limiter ? await limiter.acquire({inputTokens: inputEstimate, outputTokens: maxTokens}) : null
    let text = ''
    let refusal = ''
    let finish: string | null = null
    let usage: Usage = {input_tokens: 0, output_tokens: 0}
    try {
      await consumeStream(
        (signal) => this.client.chat.completions.create(params, {signal}),
        streamLimits(this.timeoutMs, maxTokens),
        (chunk: ChatCompletionChunk) => {
          const choice = chunk.choices[0]
          if (choice?.delta.content) text += choice.delta.content
          if (choice?.delta.refusal) refusal += choice.delta.refusal
          if (choice?.finish_reason) finish = choice.finish_reason
          if (chunk.usage) usage = {input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens}
        },
      )
    } catch (error) {
      if (reservation) limiter!.release(reservation)
      throw error
    }
    if (!usage.output_tokens && text) usage = {...usage, output_tokens: Math.ceil(text.length / 4)}
    if (reservation) limiter!.settle(reservation, {inputTokens: usage.input_tokens || undefined, outputTokens: usage.output_tokens})
    const cut = finish === 'length'
    let problem: string | undefined
    if (refusal) problem = `the model refused: ${refusal}`
    else if (cut) problem = 'the answer was cut off at the token limit before it was complete'
    else if (!text) problem = 'the answer was empty'
    return {answer: text, usage, problem, cut}
  }
}

/** A whole chat completion (a batch output) as an answer, judged as a streamed one is. */
function rawOfCompletion(completion: ChatCompletion): RawAnswer {
  const choice = completion.choices?.[0]
  const text = choice?.message?.content ?? ''
  const refusal = choice?.message?.refusal ?? ''
  const usage: Usage = {input_tokens: completion.usage?.prompt_tokens ?? 0, output_tokens: completion.usage?.completion_tokens ?? 0}
  const cut = choice?.finish_reason === 'length'
  let problem: string | undefined
  if (refusal) problem = `the model refused: ${refusal}`
  else if (cut) problem = 'the answer was cut off at the token limit before it was complete'
  else if (!text) problem = 'the answer was empty'
  return {answer: text, usage, problem, cut}
}

// ---------------------------------------------------------------- transcriber

export interface WhisperTranscriberOptions extends ClientOptions {
  /** Default 'whisper-1': the only OpenAI model that returns verbose_json with segment timestamps. */
  model?: string
  /** Chunks of a large MP3 transcribed at once, default 3. */
  concurrency?: number
}

/** What is kept (and cached) of one verbose_json answer. */
const WhisperAnswer = z.object({
  duration: z.number().finite().nonnegative().optional(),
  text: z.string().optional(),
  segments: z.array(z.looseObject({start: z.number().finite(), end: z.number().finite(), text: z.string()})).optional(),
})
type WhisperAnswer = z.infer<typeof WhisperAnswer>

/** Whisper's prompt is capped at about 224 tokens: the paper's title, not its vocabulary. */
const PROMPT_MAX_CHARACTERS = 200

export function whisperPrompt(paperTitle: string): string {
  const title = paperTitle.trim().replace(/\s+/g, ' ')
  if (!title || title === UNKNOWN_TITLE) return ''
  return title.length > PROMPT_MAX_CHARACTERS ? title.slice(0, PROMPT_MAX_CHARACTERS).replace(/\s+\S*$/, '') : title
}

export class WhisperTranscriber implements Transcriber {
  readonly id: string
  private readonly client: OpenAI
  private readonly model: string
  private readonly cache?: ResponseCache
  private readonly concurrency: number
  private readonly errors: ErrorContext

  constructor(options: WhisperTranscriberOptions) {
    this.model = options.model ?? 'whisper-1'
    this.id = `openai:${this.model}`
    this.cache = options.cache
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 3))
    const {client, timeout} = makeClient(options, 600_000)
    this.client = client
    this.errors = {provider: this.id, vendor: 'openai', secrets: [options.apiKey], timeoutMs: timeout}
  }

  /**
   * The transcript, with `usage.audio_seconds` the audio actually uploaded (chunks
   * answered from the cache cost nothing, so a fully cached run reports 0).
   */
  async transcribe(request: TranscriptionRequest): Promise<TranscriptionResult> {
    const prompt = whisperPrompt(request.title)
    const size = (await stat(request.audioPath)).size
    const name = path.basename(request.audioPath)

    if (size <= WHISPER_MAX_BYTES) {
      const bytes = await readFile(request.audioPath)
      const upload: Upload = {name, sha256: createHash('sha256').update(bytes).digest('hex'), file: () => toFile(bytes, name)}
      const {answer, cached} = await this.transcribeUpload(upload, prompt)
      const segments = offsetSegments(answer, 0)
      const duration = durationOf(answer, request.durationSeconds, segments)
      return {source: 'whisper', duration_seconds: duration, segments, usage: audioUsage(cached ? 0 : duration)}
    }

    if (!(await isMpegAudio(request.audioPath))) {
      const mib = (size / 1024 / 1024).toFixed(1)
      throw new ProviderError(
        `${this.id}: ${name} is too large for Whisper (${mib} MiB, the limit is 25 MiB) and only MP3 files can be split`,
        {provider: this.id, hint: `Convert it to MP3 (e.g. \`ffmpeg -i "${name}" -b:a 64k episode.mp3\`), then run again.`},
      )
    }

    const stem = name.replace(/\.[^.]+$/, '')
    const results: Array<{startSeconds: number; durationSeconds: number; answer: WhisperAnswer; cached: boolean}> = []
    const inFlight = new Set<Promise<void>>()
    let failure: {error: unknown} | null = null
    try {
      // Chunks are uploaded as slices of the file, never read into memory: three 24 MiB
      // chunks in flight, each copied several times on its way into a request body, took
      // over 400 MB for a two-hour episode (BENCHMARKS.md, "Real length").
      const file = await openAsBlob(request.audioPath)
      for await (const chunk of mp3ChunkRanges(request.audioPath, {maxBytes: DEFAULT_CHUNK_BYTES})) {
        if (failure) break
        const partName = `${stem}.part${chunk.index + 1}.mp3`
        const upload: Upload = {
          name: partName,
          sha256: chunk.sha256,
          file: () =>
            new File(
              chunk.ranges.map((range) => file.slice(range.start, range.end)),
              partName,
              {type: 'audio/mpeg'},
            ),
        }
        const task = this.transcribeUpload(upload, prompt).then(
          ({answer, cached}) => {
            results[chunk.index] = {startSeconds: chunk.startSeconds, durationSeconds: chunk.durationSeconds, answer, cached}
          },
          (error: unknown) => {
            failure ??= {error}
          },
        )
        const tracked: Promise<void> = task.finally(() => inFlight.delete(tracked))
        inFlight.add(tracked)
        // Backpressure: the next chunk is read only when a slot is free.
        while (inFlight.size >= this.concurrency) await Promise.race(inFlight)
      }
    } catch (error) {
      await Promise.all(inFlight)
      throw new ProviderError(`${this.id}: cannot split ${name} for Whisper: ${(error as Error).message}`, {
        provider: this.id,
        hint: 'Convert it to a constant-bitrate MP3 (e.g. `ffmpeg -i in -b:a 64k out.mp3`), then run again.',
        cause: error,
      })
    }
    await Promise.all(inFlight)
    if (failure) {
      // The chunks transcribed before the failure were paid for.
      const paid = results.reduce((n, part) => n + (part && !part.cached ? (part.answer.duration ?? part.durationSeconds) : 0), 0)
      const error = toProviderError((failure as {error: unknown}).error, this.errors)
      throw paid > 0 ? error.withUsage(audioUsage(round3(paid))) : error
    }

    const segments: TranscriptSegment[] = []
    for (const part of results) segments.push(...offsetSegments(part.answer, part.startSeconds))
    const last = results.at(-1)
    const answered = last ? last.startSeconds + (last.answer.duration ?? last.durationSeconds) : 0
    const uploaded = results.reduce((n, part) => n + (part.cached ? 0 : (part.answer.duration ?? part.durationSeconds)), 0)
    return {
      source: 'whisper',
      duration_seconds: round3(answered > 0 ? answered : request.durationSeconds),
      segments,
      usage: audioUsage(round3(uploaded)),
    }
  }

  /** One upload (cached by the bytes' SHA-256): the verbose_json answer. */
  private async transcribeUpload(upload: Upload, prompt: string): Promise<{answer: WhisperAnswer; cached: boolean}> {
    const key = {
      provider: 'openai',
      model: this.model,
      base_url: this.client.baseURL,
      kind: 'transcription',
      audio_sha256: upload.sha256,
      response_format: 'verbose_json',
      prompt,
    }
    const cached = WhisperAnswer.safeParse(await cacheGet(this.cache, key))
    if (cached.success && cached.data.segments) return {answer: cached.data, cached: true}

    let raw: unknown
    try {
      raw = await withTransportRetry(async () =>
        this.client.audio.transcriptions.create({
          file: await upload.file(),
          model: this.model,
          response_format: 'verbose_json',
          timestamp_granularities: ['segment'],
          ...(prompt ? {prompt} : {}),
        }),
      )
    } catch (error) {
      throw toProviderError(error, this.errors)
    }
    const parsed = WhisperAnswer.safeParse(raw)
    if (!parsed.success || !parsed.data.segments) {
      throw new ProviderError(`${this.id}: the transcription of ${upload.name} has no segment timestamps`, {
        provider: this.id,
        hint: 'Use model whisper-1 (the only OpenAI model that returns verbose_json segments), or a server that returns them.',
      })
    }
    const answer: WhisperAnswer = {
      duration: parsed.data.duration,
      text: parsed.data.text,
      segments: parsed.data.segments.map((s) => ({start: s.start, end: s.end, text: s.text})),
    }
    await cacheSet(this.cache, key, answer)
    return {answer, cached: false}
  }
}

/** One file to send to Whisper: its name, the SHA-256 of its bytes (the cache key), and how to make the upload (again on a retry). */
interface Upload {
  name: string
  sha256: string
  file: () => File | Promise<File>
}

function audioUsage(seconds: number): Usage {
  return {input_tokens: 0, output_tokens: 0, audio_seconds: seconds}
}

function offsetSegments(answer: WhisperAnswer, offset: number): TranscriptSegment[] {
  const out: TranscriptSegment[] = []
  for (const segment of answer.segments ?? []) {
    const text = segment.text.trim()
    if (!text) continue
    const start = round3(Math.max(0, segment.start) + offset)
    const end = round3(Math.max(start, segment.end + offset))
    out.push({start, end, speaker: null, text})
  }
  return out
}

function durationOf(answer: WhisperAnswer, fallback: number, segments: TranscriptSegment[]): number {
  if (answer.duration !== undefined && answer.duration > 0) return answer.duration
  if (fallback > 0) return fallback
  return segments.at(-1)?.end ?? 0
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}

/** Whether the file's first bytes after its ID3v2 tags are an MPEG audio frame (or it is named .mp3 and unrecognised). */
async function isMpegAudio(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length)
      const {bytesRead} = await handle.read(buffer, 0, length, offset)
      return buffer.subarray(0, bytesRead)
    }
    let offset = 0
    for (let tag = id3v2Size(await read(0, 10)); tag > 0; tag = id3v2Size(await read(offset, 10))) offset += tag
    const kind = sniff(await read(offset, 16))
    if (kind === 'mp3') return true
    return kind === 'unknown' && path.extname(file).toLowerCase() === '.mp3'
  } finally {
    await handle.close()
  }
}

// --------------------------------------------------------------------- speech

export interface OpenAISpeechOptions extends ClientOptions {
  /** Default 'tts-1'. */
  model?: string
}

export const OPENAI_VOICES = ['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer'] as const

const CachedSpeech = z.object({audio_base64: z.string().min(1), characters: z.number().int().nonnegative()})

export class OpenAISpeech implements SpeechSynthesizer {
  readonly id: string
  readonly voices: readonly string[] = OPENAI_VOICES
  private readonly client: OpenAI
  private readonly model: string
  private readonly cache?: ResponseCache
  private readonly errors: ErrorContext

  constructor(options: OpenAISpeechOptions) {
    this.model = options.model ?? 'tts-1'
    this.id = `openai:${this.model}`
    this.cache = options.cache
    // 4,096 characters of speech can take a while to render.
    const {client, timeout} = makeClient(options, 300_000)
    this.client = client
    this.errors = {provider: this.id, vendor: 'openai', secrets: [options.apiKey], timeoutMs: timeout}
  }

  async synthesize(request: SpeechRequest): Promise<SpeechAnswer> {
    const {text, voice} = request
    if (text.length > SPEECH_MAX_CHARACTERS) {
      throw new Error(
        `OpenAISpeech.synthesize: the text has ${text.length} characters, over the ${SPEECH_MAX_CHARACTERS} one request takes; split it first`,
      )
    }
    if (!text.trim()) throw new Error('OpenAISpeech.synthesize: the text is empty')
    const key = {provider: 'openai', model: this.model, base_url: this.client.baseURL, kind: 'speech', voice, input: text}
    const cached = CachedSpeech.safeParse(await cacheGet(this.cache, key))
    if (cached.success) {
      const audio = new Uint8Array(Buffer.from(cached.data.audio_base64, 'base64'))
      if (isMp3(audio)) return {audio, characters: cached.data.characters, cached: true}
    }

    let audio: Uint8Array
    try {
      audio = await withTransportRetry(async () => {
        const response = await this.client.audio.speech.create({model: this.model, voice, input: text, response_format: 'mp3'})
        return new Uint8Array(await response.arrayBuffer())
      })
    } catch (error) {
      throw toProviderError(error, this.errors)
    }
    if (!isMp3(audio)) {
      throw new ProviderError(`${this.id}: the speech answer is not an MP3 (${audio.length} bytes without MPEG audio frames)`, {
        provider: this.id,
        hint: 'The server did not return MP3 audio: check the model name and base_url.',
      })
    }
    const answer = {audio, characters: text.length}
    await cacheSet(this.cache, key, {audio_base64: Buffer.from(audio).toString('base64'), characters: answer.characters})
    return answer
  }
}

function isMp3(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false
  try {
    mp3DurationSeconds(bytes)
    return true
  } catch {
    return false
  }
}
