/**
 * The two batch APIs behind one BatchClient interface (core/providers.ts):
 * Anthropic's Message Batches (`messages.batches.create/retrieve/results`) and
 * OpenAI's Batch API (a JSONL file uploaded with purpose "batch", then `/v1/batches`
 * on `/v1/chat/completions`; outputs and errors come back as JSONL files).
 * Transcription is not among the endpoints OpenAI batches, so it stays synchronous.
 *
 * The SDKs retry connection errors, 408, 409, 429 and 5xx here (these calls are few
 * and small); every failure becomes a ProviderError with a hint and no key in it.
 */
import Anthropic from '@anthropic-ai/sdk'
import OpenAI, {toFile} from 'openai'

import {DEFAULT_RETRY_POLICY, type RetryPolicy} from './rate-limit.js'
import {toProviderError, type ErrorContext} from './structured.js'
import type {BatchClient, BatchItemResult, BatchProgress, BatchRequestLine} from '../core/providers.js'

interface BatchClientOptions {
  apiKey: string
  baseURL?: string
  timeoutMs: number
  retryPolicy?: RetryPolicy
  errors: ErrorContext
}

async function mapped<T>(errors: ErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw toProviderError(error, errors)
  }
}

export class AnthropicBatchClient implements BatchClient {
  readonly id: string
  private readonly client: Anthropic
  private readonly errors: ErrorContext

  constructor(options: BatchClientOptions) {
    this.client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs,
      maxRetries: (options.retryPolicy ?? DEFAULT_RETRY_POLICY).maxRetries,
    })
    this.id = `anthropic:${this.client.baseURL}`
    this.errors = {...options.errors, provider: `${options.errors.provider} (Message Batches)`}
  }

  async submit(lines: BatchRequestLine[]): Promise<string> {
    const requests = lines.map((line) => ({custom_id: line.customId, params: line.body as Anthropic.MessageCreateParamsNonStreaming}))
    return (await mapped(this.errors, () => this.client.messages.batches.create({requests}))).id
  }

  async progress(batchId: string): Promise<BatchProgress> {
    const batch = await mapped(this.errors, () => this.client.messages.batches.retrieve(batchId))
    const counts = batch.request_counts
    const failed = counts.errored + counts.canceled + counts.expired
    return {
      status: batch.processing_status,
      ended: batch.processing_status === 'ended',
      done: counts.succeeded + failed,
      total: counts.processing + counts.succeeded + failed,
      failed,
    }
  }

  async results(batchId: string): Promise<Map<string, BatchItemResult>> {
    return mapped(this.errors, async () => {
      const out = new Map<string, BatchItemResult>()
      for await (const item of await this.client.messages.batches.results(batchId)) {
        const result = item.result
        if (result.type === 'succeeded') out.set(item.custom_id, {ok: true, body: result.message})
        else if (result.type === 'errored') {
          const error = result.error.error
          out.set(item.custom_id, {ok: false, kind: 'errored', reason: `${error.type}: ${error.message}`})
        } else out.set(item.custom_id, {ok: false, kind: result.type, reason: `the request was ${result.type}`})
      }
      return out
    })
  }

  async cancel(batchId: string): Promise<void> {
    await mapped(this.errors, () => this.client.messages.batches.cancel(batchId))
  }
}

/** OpenAI's batch states after which nothing changes. */
const OPENAI_ENDED = new Set(['completed', 'failed', 'expired', 'cancelled'])

interface OutputLine {
  custom_id?: unknown
  response?: {status_code?: unknown; body?: unknown} | null
  error?: {code?: string | null; message?: string | null} | null
}

export class OpenAIBatchClient implements BatchClient {
  readonly id: string
  private readonly client: OpenAI
  private readonly errors: ErrorContext

  constructor(options: BatchClientOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs,
      maxRetries: (options.retryPolicy ?? DEFAULT_RETRY_POLICY).maxRetries,
    })
    this.id = `openai:${this.client.baseURL}`
    this.errors = {...options.errors, provider: `${options.errors.provider} (Batch API)`}
  }

  async submit(lines: BatchRequestLine[]): Promise<string> {
    const text = lines
      .map((line) => JSON.stringify({custom_id: line.customId, method: 'POST', url: '/v1/chat/completions', body: line.body}))
      .join('\n')
    return mapped(this.errors, async () => {
      // A Buffer through toFile, never a stream: the SDK can retry it.
      const file = await this.client.files.create({file: await toFile(Buffer.from(`${text}\n`), 'studio-batch.jsonl'), purpose: 'batch'})
      const batch = await this.client.batches.create({input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h'})
      return batch.id
    })
  }

  async progress(batchId: string): Promise<BatchProgress> {
    const batch = await mapped(this.errors, () => this.client.batches.retrieve(batchId))
    const counts = batch.request_counts ?? {total: 0, completed: 0, failed: 0}
    const why = (batch.errors?.data ?? []).map((e) => `${e.line ? `line ${e.line}: ` : ''}${e.message ?? e.code ?? ''}`).join('; ')
    return {
      status: batch.status,
      ended: OPENAI_ENDED.has(batch.status),
      done: counts.completed + counts.failed,
      total: counts.total,
      failed: counts.failed,
      // A batch whose input file was refused fails whole, before any request runs.
      ...(batch.status === 'failed' ? {note: `the batch failed: ${why || 'no reason given'}`} : {}),
    }
  }

  async results(batchId: string): Promise<Map<string, BatchItemResult>> {
    return mapped(this.errors, async () => {
      const batch = await this.client.batches.retrieve(batchId)
      const out = new Map<string, BatchItemResult>()
      for (const fileId of [batch.output_file_id, batch.error_file_id]) {
        if (!fileId) continue
        const text = await (await this.client.files.content(fileId)).text()
        for (const raw of text.split('\n')) {
          if (!raw.trim()) continue
          const line = JSON.parse(raw) as OutputLine
          if (typeof line.custom_id !== 'string') continue
          out.set(line.custom_id, resultOf(line))
        }
      }
      return out
    })
  }

  async cancel(batchId: string): Promise<void> {
    await mapped(this.errors, () => this.client.batches.cancel(batchId))
  }
}

function resultOf(line: OutputLine): BatchItemResult {
  const status = line.response?.status_code
  if (status === 200) return {ok: true, body: line.response!.body}
  if (line.error) {
    const code = line.error.code ?? ''
    const kind = code === 'batch_expired' ? 'expired' : code === 'batch_cancelled' ? 'canceled' : 'errored'
    return {ok: false, kind, reason: `${code}: ${line.error.message ?? ''}`}
  }
  const body = line.response?.body as {error?: {message?: string}} | undefined
  return {
    ok: false,
    kind: 'errored',
    reason: `${typeof status === 'number' ? status : 'no status'}: ${body?.error?.message ?? 'no message'}`,
  }
}
