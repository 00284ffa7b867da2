/**
 * The fake's batch APIs, through the official SDKs: what a batch client sees of
 * Anthropic's Message Batches and OpenAI's Files + Batch (statuses, partial errors,
 * expiry, cancel, JSONL results).
 */
import Anthropic from '@anthropic-ai/sdk'
import OpenAI, {toFile} from 'openai'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {FAKE_KEYS, startFakeApi, type FakeApi} from '../helpers/fake-api.js'

let api: FakeApi
let anthropic: Anthropic
let openai: OpenAI

const schema = {type: 'object', properties: {answer: {type: 'string'}}, required: ['answer'], additionalProperties: false}
const params = (text: string) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 200,
  messages: [{role: 'user' as const, content: text}],
  output_config: {format: {type: 'json_schema' as const, schema}},
})
const line = (id: string, model = 'gpt-4o-mini') =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model,
      max_completion_tokens: 200,
      messages: [{role: 'user', content: id}],
      response_format: {type: 'json_schema', json_schema: {name: 'a', strict: true, schema}},
    },
  })

async function settle<T extends {processing_status?: string; status?: string}>(get: () => Promise<T>, done: (b: T) => boolean): Promise<T> {
  for (;;) {
    const batch = await get()
    if (done(batch)) return batch
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  api = await startFakeApi()
  anthropic = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
  openai = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, maxRetries: 0})
})
afterAll(async () => api.close())
beforeEach(() => {
  api.reset()
  api.setBatchDelay(30)
})

describe('fake Anthropic Message Batches', () => {
  it('is in progress, then ends with one JSONL result per custom_id, a request errored and one expired', async () => {
    api.failBatchRequests('errored', 1)
    api.failBatchRequests('expired', 1)
    const created = await anthropic.messages.batches.create({
      requests: ['a', 'b', 'c', 'd'].map((id) => ({custom_id: id, params: params(id)})),
    })
    expect(created).toMatchObject({type: 'message_batch', processing_status: 'in_progress', results_url: null})
    expect(created.request_counts.processing).toBe(4)
    const ended = await settle(
      () => anthropic.messages.batches.retrieve(created.id),
      (b) => b.processing_status === 'ended',
    )
    expect(ended.request_counts).toEqual({processing: 0, succeeded: 2, errored: 1, canceled: 0, expired: 1})
    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = []
    for await (const result of await anthropic.messages.batches.results(created.id)) results.push(result)
    expect(results.map((r) => r.custom_id).sort()).toEqual(['a', 'b', 'c', 'd'])
    const of = (type: string) => results.filter((r) => r.result.type === type)
    expect(of('expired')).toHaveLength(1)
    expect(of('errored')[0]!.result).toMatchObject({type: 'errored', error: {type: 'error', error: {type: 'api_error'}}})
    const ok = of('succeeded')[0]!.result as {message: Anthropic.Message}
    const text = ok.message.content[0]!
    expect(text.type === 'text' && JSON.parse(text.text)).toHaveProperty('answer')
  })

  it('refuses a custom_id outside ^[a-zA-Z0-9_-]{1,64}$ and duplicates; bad params end errored, not refused', async () => {
    await expect(anthropic.messages.batches.create({requests: [{custom_id: 'a/b', params: params('x')}]})).rejects.toMatchObject({
      status: 400,
    })
    await expect(
      anthropic.messages.batches.create({
        requests: [
          {custom_id: 'a', params: params('x')},
          {custom_id: 'a', params: params('y')},
        ],
      }),
    ).rejects.toThrow(/Duplicate custom_id/)
    const created = await anthropic.messages.batches.create({requests: [{custom_id: 'bad', params: {...params('x'), max_tokens: 0}}]})
    await settle(
      () => anthropic.messages.batches.retrieve(created.id),
      (b) => b.processing_status === 'ended',
    )
    for await (const result of await anthropic.messages.batches.results(created.id)) expect(result.result.type).toBe('errored')
  })

  it('cancels a pending batch: its requests end canceled', async () => {
    api.holdBatches(true)
    const created = await anthropic.messages.batches.create({requests: [{custom_id: 'a', params: params('x')}]})
    await anthropic.messages.batches.cancel(created.id)
    const ended = await settle(
      () => anthropic.messages.batches.retrieve(created.id),
      (b) => b.processing_status === 'ended',
    )
    expect(ended.request_counts.canceled).toBe(1)
    expect(ended.cancel_initiated_at).not.toBeNull()
  })
})

describe('fake OpenAI Batch API', () => {
  const upload = async (text: string) => openai.files.create({file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch'})

  it('validates, runs and completes: outputs in the output file, failures in the error file', async () => {
    api.failBatchRequests('errored', 1)
    const file = await upload(['a', 'b', 'c'].map((id) => line(id)).join('\n'))
    expect(file).toMatchObject({purpose: 'batch', status: 'processed'})
    const created = await openai.batches.create({input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h'})
    expect(created.status).toBe('validating')
    const done = await settle(
      () => openai.batches.retrieve(created.id),
      (b) => b.status === 'completed',
    )
    expect(done.request_counts).toEqual({total: 3, completed: 2, failed: 1})
    const output = (await (await openai.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(output).toHaveLength(2)
    expect(output[0]).toMatchObject({response: {status_code: 200, body: {object: 'chat.completion'}}, error: null})
    const errors = (await (await openai.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(errors[0]).toMatchObject({response: {status_code: 500}})
  })

  it('expires requests not run in the window, and refuses transcription as a batch endpoint', async () => {
    api.failBatchRequests('expired', 1)
    const file = await upload([line('a'), line('b')].join('\n'))
    const created = await openai.batches.create({input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h'})
    const done = await settle(
      () => openai.batches.retrieve(created.id),
      (b) => b.status === 'expired',
    )
    const errors = (await (await openai.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(errors[0]).toMatchObject({response: null, error: {code: 'batch_expired'}})
    await expect(
      openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/audio/transcriptions' as '/v1/chat/completions',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({status: 400})
  })

  it('fails a batch whose file mixes models or repeats a custom_id; cancels a pending one', async () => {
    const mixed = await upload([line('a'), line('b', 'gpt-4o')].join('\n'))
    const created = await openai.batches.create({input_file_id: mixed.id, endpoint: '/v1/chat/completions', completion_window: '24h'})
    const failed = await settle(
      () => openai.batches.retrieve(created.id),
      (b) => b.status === 'failed',
    )
    expect(failed.errors?.data?.[0]).toMatchObject({code: 'model_mismatch', line: 2})
    api.holdBatches(true)
    const file = await upload(line('a'))
    const pending = await openai.batches.create({input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h'})
    expect((await openai.batches.cancel(pending.id)).status).toBe('cancelling')
    const cancelled = await settle(
      () => openai.batches.retrieve(pending.id),
      (b) => b.status === 'cancelled',
    )
    expect(cancelled.error_file_id).not.toBeNull()
  })
})
