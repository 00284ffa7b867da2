/**
 * The only things the trainer knows about the outside world. Real SDK-backed
 * providers and the offline mock implement the same interfaces, so mock mode runs
 * exactly the trainer code that real mode runs.
 */
import type {z} from 'zod'

import type {KeyConcept, PromptSpec, ROLES, StyleProfile, Transcript} from './schemas/common.js'
import type {Script} from './schemas/answers.js'

export type Role = (typeof ROLES)[number]

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
  /**
   * The conversation up to and including this message will be sent again unchanged
   * (the judge's paper, on every trial): a provider that caches prompt prefixes on
   * request (Anthropic) is asked to cache it. Prefixes that are not re-sent are not
   * marked, since writing a cache entry costs more than the plain input.
   */
  cache?: boolean
}

export interface Usage {
  /** API requests this answer took, when more than one (a corrective retry makes 2). */
  calls?: number
  input_tokens: number
  output_tokens: number
  /** Of input_tokens: written to and read from Anthropic's prompt cache (billed differently). */
  cache_write_tokens?: number
  cache_read_tokens?: number
  /** Of cache_write_tokens: written with the one-hour lifetime (billed at 2x the input price, not 1.25x). */
  cache_write_1h_tokens?: number
  /** Transcription: seconds of audio sent. */
  audio_seconds?: number
  /** Speech: characters synthesised. */
  characters?: number
  /** Answered through a batch API: billed at the batch price (half the synchronous one). */
  batch?: boolean
}

/**
 * The structured form of what a request's messages ask. Real models read the
 * messages and ignore this; the mock reads this instead of parsing prose, so that
 * its answers are honest local work on the same inputs.
 */
export type Task =
  | {kind: 'classify-segments'; segments: Array<{index: number; start: number; end: number; text: string}>; duration_seconds: number}
  | {kind: 'key-concepts'; paper: string; max: number}
  /** `target_words`: the length asked of this paper's script (the prompt's length rule applied to the paper), as the rendered prompt says it. */
  | {kind: 'generate-script'; prompt: PromptSpec; target_words: number; title: string; paper: string; concepts: KeyConcept[]}
  | {kind: 'judge'; script: Script; paper: string; concepts: KeyConcept[]; reference_style: StyleProfile}
  /** The LLM refiner's request; the mock answers it by returning the rule-based refinement it is given. */
  | {kind: 'refine'; current: PromptSpec; proposal: PromptSpec; proposal_changes: string[]}

export interface StructuredRequest<T> {
  role: Role
  messages: ChatMessage[]
  schema: z.ZodType<T>
  task: Task
  /** Sampling seed, sent to APIs that accept one. */
  seed: number
  /**
   * The most output tokens this answer may take (the API's max_tokens), sized by the
   * caller from what it asks for; the provider's default (DEFAULT_MAX_OUTPUT_TOKENS,
   * at most the model's cap) when absent. An answer cut at it is an OutputLimitError.
   */
  maxOutputTokens?: number
  /**
   * How long the prefixes marked `cache` should stay cached: '1h' when they are sent
   * again more than five minutes later (a trial longer than Anthropic's default
   * lifetime), '5m' (the default) otherwise.
   */
  cacheTtl?: CacheTtl
}

export type CacheTtl = '5m' | '1h'

export interface RequestLimit {
  /** Input tokens one request may carry (cache reads excepted on Anthropic). */
  inputTokens?: number
  /** Input tokens plus max_tokens of one request. */
  totalTokens?: number
}

/** max_tokens of a request that does not say: enough for every answer but a long script. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 16_000

export interface StructuredAnswer<T> {
  value: T
  usage: Usage
  /** Served from the response cache: nothing was paid for it. */
  cached?: boolean
}

export interface LanguageModel {
  /** Provider and model, e.g. "mock" or "anthropic:claude-...": recorded in run.json. */
  readonly id: string
  /**
   * The most output tokens one answer of this model can have: its max_tokens cap, or
   * less when the account's output tokens per minute are fewer (a request over a
   * minute's limit is refused every time). Longer scripts are written in parts.
   */
  readonly maxOutputTokens: number
  /**
   * The largest single request the account admits, when its rate limits set one: input
   * tokens (Anthropic's input tokens per minute) and input + max_tokens together
   * (OpenAI's tokens per minute). Callers fit what they send under it (the judge's
   * paper is condensed); a request over it fails at once, naming the limit.
   */
  readonly requestLimit?: RequestLimit
  /** Present when the model's API has a batch API (both real providers; not the mock). */
  readonly batch?: BatchSupport
  structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>>
}

/** One request of a batch: its custom_id and the body the vendor's batch API takes for it. */
export interface BatchRequestLine {
  customId: string
  body: unknown
}

/** What became of one request of an ended batch. */
export type BatchItemResult = {ok: true; body: unknown} | {ok: false; kind: 'errored' | 'expired' | 'canceled'; reason: string}

/** A batch as its provider reports it. */
export interface BatchProgress {
  /** The provider's own word for its state: in_progress, validating, finalizing, ended, completed... */
  status: string
  /** No request will change any more: the results can be read. */
  ended: boolean
  /** Requests finished (succeeded or failed) of `total`. */
  done: number
  total: number
  failed: number
  /** What the provider said about a batch that failed whole. */
  note?: string
}

/**
 * A provider's batch API (Anthropic Message Batches, OpenAI Batch): requests go in at
 * once, are run within 24 hours at about half the price, and come back by custom_id.
 */
export interface BatchClient {
  /** The vendor and server, e.g. "anthropic:https://api.anthropic.com". */
  readonly id: string
  /** Creates a batch of these requests; its id. */
  submit(lines: BatchRequestLine[]): Promise<string>
  progress(batchId: string): Promise<BatchProgress>
  /** The results of an ended batch by custom_id; a request missing from them did not run. */
  results(batchId: string): Promise<Map<string, BatchItemResult>>
  cancel(batchId: string): Promise<void>
}

/** One structured request made ready for a batch. */
export interface PreparedCall<T> {
  /** Requests of one group go in one batch (OpenAI's batches hold one model). */
  group: string
  /** sha256 of the request as the response cache keys it: the same after a restart, so it names the request in a batch. */
  hash: string
  body: unknown
  /** The response cache's answer, if it has one. */
  cached(): Promise<StructuredAnswer<T> | null>
  /** A batch result as the answer (schema-valid, stored in the cache), or why it cannot be used and what it cost. */
  accept(body: unknown): Promise<{ok: true; answer: StructuredAnswer<T>} | {ok: false; reason: string; usage?: Usage}>
}

export interface BatchSupport {
  readonly client: BatchClient
  prepare<T>(request: StructuredRequest<T>): PreparedCall<T>
}

export interface TranscriptionRequest {
  audioPath: string
  durationSeconds: number
  /** The paper's title ('' when unknown): real transcribers pass it as a spelling hint. */
  title: string
  /**
   * The paper's body text, for a transcriber that needs all of it (the mock speaks it).
   * A function because the paper may still be being extracted when the transcription starts.
   */
  paperText: () => Promise<string>
  seed: number
}

/** A transcript, with what producing it cost when the transcriber knows (cache hits cost nothing). */
export type TranscriptionResult = Transcript & {usage?: Usage}

export interface Transcriber {
  readonly id: string
  transcribe(request: TranscriptionRequest): Promise<TranscriptionResult>
}

export interface SpeechRequest {
  /** At most SPEECH_MAX_CHARACTERS (OpenAI TTS caps input at 4,096 characters); callers split longer text. */
  text: string
  voice: string
}

export interface SpeechAnswer {
  /** A complete MP3 file (MPEG audio frames, possibly with an ID3 tag). */
  audio: Uint8Array
  characters: number
  cached?: boolean
}

export interface SpeechSynthesizer {
  readonly id: string
  /** The voices it offers, in the order speakers are given them (first speaker, first voice). */
  readonly voices: readonly string[]
  synthesize(request: SpeechRequest): Promise<SpeechAnswer>
}

export const SPEECH_MAX_CHARACTERS = 4096

/**
 * A content-addressed store of provider answers. The key is any JSON value (the
 * provider, model, every request parameter, a sample index, hashes of input files);
 * the cache hashes its canonical JSON. Implementations never store errors or empty answers.
 */
export interface ResponseCache {
  /** The stored value, or undefined on a miss. */
  get(key: unknown): Promise<unknown>
  set(key: unknown, value: unknown): Promise<void>
}

export interface Providers {
  transcriber: Transcriber
  languageModel(role: Role): LanguageModel
  /** Present when the run makes audio (--tts). */
  speech?: SpeechSynthesizer
}
