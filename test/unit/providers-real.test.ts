/**
 * The SDK-backed providers end to end against the local fake OpenAI + Anthropic
 * server: request shapes, the one corrective retry, recovery from rate limits,
 * outages, dropped and cut-off responses, error mapping without keys, the response
 * cache, and Whisper's split of an MP3 over the upload limit.
 */
import {createHash} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {AnthropicLanguageModel} from '../../src/providers/anthropic.js'
import {OpenAIChatModel, OpenAISpeech, WhisperTranscriber} from '../../src/providers/openai.js'
import {plainJsonSchema, toJsonSchema, validateAnswer} from '../../src/providers/structured.js'
import type {ChatMessage, ResponseCache, Task} from '../../src/core/providers.js'
import {ProviderError} from '../../src/core/errors.js'
import {WHISPER_MAX_BYTES, joinMp3, splitMp3} from '../../src/media/mp3-frames.js'
import {judgeMessages as trainerJudgeMessages} from '../../src/training/messages.js'
import {JudgeAnswer} from '../../src/core/schemas/answers.js'
import {Transcript} from '../../src/core/schemas/common.js'
import {FAKE_KEYS, startFakeApi, type FakeApi, type RecordedRequest} from '../helpers/fake-api.js'
import {buildSilentMp3} from '../helpers/media.js'

class MemoryCache implements ResponseCache {
  readonly entries = new Map<string, unknown>()
  async get(key: unknown): Promise<unknown> {
    return this.entries.get(JSON.stringify(key))
  }
  async set(key: unknown, value: unknown): Promise<void> {
    this.entries.set(JSON.stringify(key), structuredClone(value))
  }
}

const PAPER = `Deep Sea Vents and Microbial Mats\n\nAbstract\n${'Microbial mats near hydrothermal vents fix carbon with chemosynthesis. '.repeat(90)}`
const PAPER_TITLE = 'Deep Sea Vents and Microbial Mats'

function judgeMessages(paper = PAPER, script = 'Host: Today, chemosynthesis.'): ChatMessage[] {
  return [
    {role: 'system', content: 'You judge podcast scripts. Answer with JSON.'},
    {role: 'user', content: `Key concepts:\n- chemosynthesis\n- microbial mats\n\nPaper:\n${paper}`, cache: true},
    {role: 'user', content: `Script:\n${script}`},
  ]
}

const request = (seed = 7, messages = judgeMessages()) => ({
  role: 'judge' as const,
  messages,
  schema: JudgeAnswer,
  // Real providers read the messages; the task is only for the mock.
  task: {kind: 'key-concepts', paper: '', max: 5} satisfies Task,
  seed,
})

/** A JSON schema, as far as these tests read one. */
interface SchemaNode {
  type?: string
  additionalProperties?: boolean
  required?: string[]
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
  anyOf?: SchemaNode[]
}

// What the fake API recorded of each kind of request, as far as these tests read it.
interface TextBlock {
  type: string
  text: string
  cache_control?: {type: string}
}
interface AnthropicBody {
  system?: string
  messages: Array<{role: string; content: TextBlock[]}>
  output_config?: {format: {type: string; schema: SchemaNode}}
  tool_choice?: {type: string; name: string}
  tools?: Array<{name: string; input_schema: SchemaNode}>
}
interface OpenAIChatBody {
  messages: Array<{role: string; content: string}>
  response_format: {type: string; json_schema: {name: string; strict: boolean; schema: SchemaNode}}
  seed?: number
  temperature?: number
}
/** A multipart upload: its fields, and its file's name and size. */
interface UploadBody {
  fields: Record<string, string>
  file: {name: string; bytes: number; sha256: string}
}

const anthropicBody = (r: RecordedRequest) => r.body as AnthropicBody
const openaiBody = (r: RecordedRequest) => r.body as OpenAIChatBody
const uploadBody = (r: RecordedRequest) => r.body as UploadBody
const only = (api: FakeApi, suffix: string) => api.requests.filter((r) => r.path.endsWith(suffix))

let api: FakeApi
let dir: string

beforeAll(async () => {
  api = await startFakeApi()
  dir = await mkdtemp(path.join(tmpdir(), 'studio-providers-real-'))
})

afterAll(async () => {
  await api?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

beforeEach(() => api.reset())

const anthropic = (options: Partial<ConstructorParameters<typeof AnthropicLanguageModel>[0]> = {}) =>
  new AnthropicLanguageModel({apiKey: FAKE_KEYS.anthropic, model: 'claude-sonnet-4-6', baseURL: api.anthropicBaseURL, ...options})

const openai = (options: Partial<ConstructorParameters<typeof OpenAIChatModel>[0]> = {}) =>
  new OpenAIChatModel({apiKey: FAKE_KEYS.openai, model: 'gpt-test', baseURL: api.openaiBaseURL, ...options})

describe('structured JSON schema for OpenAI strict mode', () => {
  it('closes every object, requires every property and makes optional ones nullable', () => {
    const schema = z.object({a: z.string().optional(), b: z.array(z.object({c: z.number().nullable(), d: z.boolean().optional()}))})
    const json = toJsonSchema(schema) as SchemaNode
    expect(json.additionalProperties).toBe(false)
    expect(json.required).toEqual(['a', 'b'])
    expect(json.properties!.a).toEqual({anyOf: [{type: 'string'}, {type: 'null'}]})
    expect(json.properties!.b!.items!.additionalProperties).toBe(false)
    expect(json.properties!.b!.items!.required).toEqual(['c', 'd'])
    // The nulls strict mode forces are dropped again before zod sees them; real nulls stay.
    const checked = validateAnswer('{"a": null, "b": [{"c": null, "d": null}]}', schema, plainJsonSchema(schema))
    expect(checked).toEqual({ok: true, value: {b: [{c: null}]}})
  })
})

describe('AnthropicLanguageModel', () => {
  it('asks with output_config.format, no temperature, the paper block marked for prompt caching', async () => {
    const model = anthropic()
    expect(model.id).toBe('anthropic:claude-sonnet-4-6')
    const answer = await model.structured(request())
    expect(JudgeAnswer.parse(answer.value)).toEqual(answer.value)
    const [sent] = only(api, '/v1/messages')
    const body = anthropicBody(sent!)
    expect(body.output_config!.format.type).toBe('json_schema')
    expect(body.output_config!.format.schema.properties!.engagement).toBeDefined()
    expect(body).not.toHaveProperty('temperature')
    expect(body).not.toHaveProperty('tool_choice')
    expect(body.system).toBe('You judge podcast scripts. Answer with JSON.')
    // The two user messages are one turn of two blocks; the paper's block is the cache breakpoint.
    expect(body.messages).toHaveLength(1)
    const [paperBlock, scriptBlock] = body.messages[0]!.content
    expect(paperBlock!.text).toContain('Paper:\nDeep Sea Vents')
    expect(paperBlock!.cache_control).toEqual({type: 'ephemeral'})
    expect(scriptBlock!.text).toBe('Script:\nHost: Today, chemosynthesis.')
    expect(scriptBlock!.cache_control).toBeUndefined()
    expect(answer.usage.input_tokens).toBeGreaterThan(0)
    expect(answer.usage.cache_write_tokens).toBeGreaterThan(0)
    expect(answer.usage.cache_read_tokens).toBe(0)
    expect(answer.cached).toBeUndefined()
  })

  it('marks no block when no message asks for caching, however long', async () => {
    await anthropic().structured(request(1, [{role: 'user', content: `Paper:\n${PAPER}\n\nScript:\nHost: hi.`}]))
    const body = anthropicBody(only(api, '/v1/messages')[0]!)
    expect(body.messages[0]!.content[0]!.cache_control).toBeUndefined()
  })

  it("caches the trainer's judge request up to the paper, so the next trial's judge call reads it", async () => {
    const style = {
      words: 300,
      duration_seconds: 120,
      words_per_minute: 150,
      mean_sentence_words: 12,
      questions_per_minute: 1,
      speaker_turns: 8,
      turns_per_minute: 4,
      speakers: ['Host', 'Guest'],
    }
    const concepts = [{term: 'chemosynthesis', weight: 1}]
    const script = (text: string) => ({segments: [{label: 'intro' as const, lines: [{speaker: 'Host', text}]}]})
    const model = anthropic()
    const trial1 = await model.structured(request(1, trainerJudgeMessages(script('Today, chemosynthesis.'), PAPER, concepts, style)))
    const trial2 = await model.structured(
      request(1, trainerJudgeMessages(script('Back to the vents and their mats.'), PAPER, concepts, style)),
    )
    const [first, second] = only(api, '/v1/messages').map((r) => anthropicBody(r).messages[0]!.content)
    expect(first![0]!.text).toContain(PAPER)
    expect(first![0]!.cache_control).toEqual({type: 'ephemeral'})
    expect(second![0]).toEqual(first![0])
    expect(first![1]!.text).not.toBe(second![1]!.text)
    expect(trial1.usage.cache_write_tokens).toBeGreaterThan(PAPER.length / 4)
    expect(trial2.usage.cache_read_tokens).toBe(trial1.usage.cache_write_tokens)
  })

  it('reads the cached paper prefix when the next trial judges another script, and counts it in input_tokens', async () => {
    const model = anthropic()
    const first = await model.structured(request(1))
    const second = await model.structured(request(1, judgeMessages(PAPER, 'Host: A new script about microbial mats.')))
    expect(first.usage.cache_write_tokens).toBeGreaterThan(PAPER.length / 4)
    expect(second.usage.cache_read_tokens).toBe(first.usage.cache_write_tokens)
    expect(second.usage.cache_write_tokens).toBe(0)
    expect(second.usage.input_tokens).toBeGreaterThan(second.usage.cache_read_tokens!)
  })

  it("tool mode forces the 'answer' tool", async () => {
    const answer = await anthropic({structuredMode: 'tool'}).structured(request())
    expect(JudgeAnswer.safeParse(answer.value).success).toBe(true)
    const body = anthropicBody(only(api, '/v1/messages')[0]!)
    expect(body.tool_choice).toEqual({type: 'tool', name: 'answer'})
    expect(body.tools![0]!.input_schema.type).toBe('object')
    expect(body).not.toHaveProperty('output_config')
  })

  it('retries a wrong answer once with the validation problems, then succeeds', async () => {
    api.failNext({kind: 'bad-answer'}, {path: '/v1/messages'})
    const answer = await anthropic().structured(request())
    // The fake's judge scores hash the whole conversation, so only validity is comparable here.
    expect(JudgeAnswer.safeParse(answer.value).success).toBe(true)
    expect(answer.usage.output_tokens).toBeGreaterThan(1)
    expect(answer.usage.calls).toBe(2)
    const sent = only(api, '/v1/messages')
    expect(sent).toHaveLength(2)
    const retry = anthropicBody(sent[1]!).messages
    expect(retry).toHaveLength(3)
    expect(retry[1]!.role).toBe('assistant')
    expect(retry[1]!.content[0]!.text).toContain('oops')
    expect(retry[2]!.content[0]!.text).toMatch(/did not match the required JSON schema/)
    expect(retry[2]!.content[0]!.text).toMatch(/engagement/)
  })

  it('fails with a ProviderError after two wrong answers', async () => {
    api.failNext({kind: 'bad-answer'}, {path: '/v1/messages', count: 2})
    const error = await anthropic()
      .structured(request())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect((error as ProviderError).message).toMatch(/^anthropic:claude-sonnet-4-6: the judge answer did not match its schema twice: /)
    expect(only(api, '/v1/messages')).toHaveLength(2)
    // Both rejected answers were paid for.
    const usage = (error as ProviderError).usage!
    expect(usage.calls).toBe(2)
    expect(usage.input_tokens).toBeGreaterThan(2 * (PAPER.length / 4) - 10)
    expect(usage.output_tokens).toBeGreaterThan(0)
  })

  it('counts a rejected answer when the corrective retry then fails', async () => {
    api.failNext({kind: 'bad-answer'}, {path: '/v1/messages'})
    api.failNext({kind: 'status', status: 400}, {path: '/v1/messages'})
    const error = (await anthropic()
      .structured(request())
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.status).toBe(400)
    expect(error.usage?.calls).toBeUndefined()
    expect(error.usage?.input_tokens).toBeGreaterThan(PAPER.length / 4 - 10)
  })

  it('recovers from 429, 529, a dropped connection and a cut-off body with the same answer', async () => {
    const expected = (await anthropic().structured(request())).value
    for (const fault of [
      {kind: 'status', status: 429, retryAfterSeconds: 0},
      {kind: 'status', status: 529},
      {kind: 'drop'},
      {kind: 'truncate'},
      {kind: 'invalid-json'},
    ] as const) {
      api.reset()
      api.failNext(fault, {path: '/v1/messages'})
      const answer = await anthropic().structured(request())
      expect(answer.value, fault.kind).toEqual(expected)
      expect(only(api, '/v1/messages').length, fault.kind).toBe(2)
    }
  })

  it('maps a rejected key to a ProviderError without the key', async () => {
    const key = 'sk-test-ant-wrong-0123456789abcdef'
    const error = (await anthropic({apiKey: key})
      .structured(request())
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.status).toBe(401)
    expect(error.hint).toMatch(/ANTHROPIC_API_KEY/)
    for (const text of [error.message, error.hint ?? '', String((error.cause as Error)?.message), String((error.cause as Error)?.stack)]) {
      expect(text).not.toContain(key)
      expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{8,}/)
    }
  })

  it('maps an outage that outlasts the retries to a ProviderError with status', async () => {
    api.failNext({kind: 'status', status: 529, retryAfterSeconds: 0}, {path: '/v1/messages', count: 2})
    const error = (await anthropic({retryPolicy: {maxRetries: 1, baseDelayMs: 20, maxDelayMs: 100}})
      .structured(request())
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.status).toBe(529)
    expect(error.hint).toMatch(/try again later/)
  })

  it('answers a repeated call from the cache', async () => {
    const cache = new MemoryCache()
    const first = await anthropic({cache}).structured(request())
    const second = await anthropic({cache}).structured(request())
    expect(second).toEqual({...first, cached: true})
    expect(only(api, '/v1/messages')).toHaveLength(1)
    // A different seed is a different request.
    await anthropic({cache}).structured(request(8))
    expect(only(api, '/v1/messages')).toHaveLength(2)
  })
})

describe('OpenAIChatModel', () => {
  it('asks for a strict json_schema answer with seed and temperature 0', async () => {
    const model = openai()
    expect(model.id).toBe('openai:gpt-test')
    const answer = await model.structured(request(42))
    expect(JudgeAnswer.safeParse(answer.value).success).toBe(true)
    const body = openaiBody(only(api, '/chat/completions')[0]!)
    expect(body.response_format.type).toBe('json_schema')
    expect(body.response_format.json_schema.strict).toBe(true)
    expect(body.response_format.json_schema.name).toBe('studio_judge')
    expect(body.response_format.json_schema.schema.additionalProperties).toBe(false)
    expect(body.seed).toBe(42)
    expect(body.temperature).toBe(0)
    // As given, and without the cache hint (OpenAI caches prefixes by itself and rejects unknown fields).
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'user'])
    for (const message of body.messages) expect(Object.keys(message).sort()).toEqual(['content', 'role'])
    expect(answer.usage.input_tokens).toBeGreaterThan(0)
  })

  it('retries a wrong answer once, then fails after a second one', async () => {
    api.failNext({kind: 'bad-answer'}, {path: '/chat/completions'})
    await openai().structured(request())
    const sent = only(api, '/chat/completions')
    expect(sent).toHaveLength(2)
    const retry = openaiBody(sent[1]!).messages
    expect(retry.at(-2)).toMatchObject({role: 'assistant'})
    expect(retry.at(-1)!.content).toMatch(/did not match the required JSON schema/)

    api.reset()
    api.failNext({kind: 'bad-answer'}, {path: '/chat/completions', count: 2})
    await expect(openai().structured(request())).rejects.toThrow(/openai:gpt-test: the judge answer did not match its schema twice/)
  })

  it('recovers from 429, 500, a dropped connection and a cut-off body', async () => {
    const expected = (await openai().structured(request())).value
    for (const fault of [
      {kind: 'status', status: 429, retryAfterSeconds: 0},
      {kind: 'status', status: 500},
      {kind: 'drop'},
      {kind: 'truncate'},
    ] as const) {
      api.reset()
      api.failNext(fault, {path: '/chat/completions'})
      expect((await openai().structured(request())).value, fault.kind).toEqual(expected)
      expect(only(api, '/chat/completions').length, fault.kind).toBe(2)
    }
  })

  it('maps a rejected key to a ProviderError without the key', async () => {
    const key = 'sk-test-proj-wrongwrong0123456789'
    const error = (await openai({apiKey: key})
      .structured(request())
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.status).toBe(401)
    expect(error.provider).toBe('openai:gpt-test')
    expect(error.hint).toMatch(/OPENAI_API_KEY/)
    for (const text of [error.message, error.hint ?? '', String((error.cause as Error)?.stack)]) expect(text).not.toContain(key)
  })

  it('maps a rate limit that outlasts the retries to a ProviderError with status 429', async () => {
    api.failNext({kind: 'status', status: 429, retryAfterSeconds: 0}, {path: '/chat/completions'})
    const error = (await openai({retryPolicy: {maxRetries: 0, baseDelayMs: 20, maxDelayMs: 100}})
      .structured(request())
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.status).toBe(429)
    expect(error.message).toMatch(/rate limit or quota/)
  })

  it('caches answers and ignores an invalid cached value', async () => {
    const cache = new MemoryCache()
    const first = await openai({cache}).structured(request())
    expect(await openai({cache}).structured(request())).toEqual({...first, cached: true})
    expect(only(api, '/chat/completions')).toHaveLength(1)
    for (const keyText of cache.entries.keys())
      cache.entries.set(keyText, {value: {nonsense: true}, usage: {input_tokens: 1, output_tokens: 1}})
    expect((await openai({cache}).structured(request())).value).toEqual(first.value)
    expect(only(api, '/chat/completions')).toHaveLength(2)
  })
})

describe('WhisperTranscriber', () => {
  it('uploads a small file once, as verbose_json with segment timestamps and the paper title as prompt', async () => {
    const file = path.join(dir, 'small.mp3')
    await writeFile(file, buildSilentMp3(30))
    const cache = new MemoryCache()
    const whisper = new WhisperTranscriber({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, cache})
    expect(whisper.id).toBe('openai:whisper-1')
    const transcript = await whisper.transcribe({
      audioPath: file,
      durationSeconds: 30,
      title: PAPER_TITLE,
      paperText: async () => PAPER,
      seed: 1,
    })
    expect(Transcript.parse(transcript)).toEqual({...transcript, usage: undefined})
    expect(transcript.source).toBe('whisper')
    expect(transcript.duration_seconds).toBeGreaterThan(29)
    expect(transcript.segments.length).toBeGreaterThan(2)
    expect(transcript.segments[0]!.speaker).toBeNull()
    const [upload] = only(api, '/audio/transcriptions')
    const form = uploadBody(upload!)
    expect(form.fields.response_format).toBe('verbose_json')
    expect(form.fields['timestamp_granularities[]']).toBe('segment')
    expect(form.fields.prompt).toBe('Deep Sea Vents and Microbial Mats')
    expect(form.file.name).toBe('small.mp3')

    expect(transcript.usage?.audio_seconds).toBeCloseTo(30, 0)
    const again = await whisper.transcribe({
      audioPath: file,
      durationSeconds: 30,
      title: PAPER_TITLE,
      paperText: async () => PAPER,
      seed: 2,
    })
    expect(again).toEqual({...transcript, usage: {input_tokens: 0, output_tokens: 0, audio_seconds: 0}})
    expect(only(api, '/audio/transcriptions')).toHaveLength(1)
  })

  it('recovers from a cut-off answer and a 503', async () => {
    const file = path.join(dir, 'retry.mp3')
    await writeFile(file, buildSilentMp3(12))
    const whisper = new WhisperTranscriber({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL})
    const expected = await whisper.transcribe({audioPath: file, durationSeconds: 12, title: '', paperText: async () => '', seed: 1})
    api.reset()
    api.failNext({kind: 'truncate'}, {path: '/audio/transcriptions'})
    api.failNext({kind: 'status', status: 503, retryAfterSeconds: 0}, {path: '/audio/transcriptions'})
    expect(await whisper.transcribe({audioPath: file, durationSeconds: 12, title: '', paperText: async () => '', seed: 1})).toEqual(
      expected,
    )
    expect(only(api, '/audio/transcriptions')).toHaveLength(3)
  })

  it('splits an MP3 over 25 MiB at frame boundaries and merges the chunks in order', async () => {
    // ~28 MB: 720 s of 320 kbit/s frames, joined from short pieces the way TTS output is.
    const piece = buildSilentMp3(60, {bitrateKbps: 320})
    const {bytes, durationSeconds} = joinMp3(Array.from({length: 12}, () => piece))
    expect(bytes.length).toBeGreaterThan(WHISPER_MAX_BYTES)
    const file = path.join(dir, 'long.mp3')
    await writeFile(file, bytes)
    const chunks: Array<{startSeconds: number; durationSeconds: number; sha256: string}> = []
    for await (const chunk of splitMp3(file)) {
      const digest = createHash('sha256').update(chunk.bytes).digest('hex')
      chunks.push({startSeconds: chunk.startSeconds, durationSeconds: chunk.durationSeconds, sha256: digest})
    }

    const cache = new MemoryCache()
    const whisper = new WhisperTranscriber({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, cache})
    // Both answers wait until both uploads have arrived: with one upload at a time, the
    // first would wait out the timeout and maxConcurrent would be 1.
    api.holdUntil(2)
    const transcript = await whisper.transcribe({
      audioPath: file,
      durationSeconds,
      title: PAPER_TITLE,
      paperText: async () => PAPER,
      seed: 1,
    })
    const uploads = only(api, '/audio/transcriptions')
    expect(uploads).toHaveLength(2)
    expect(api.maxConcurrent).toBe(2)
    for (const upload of uploads) expect(uploadBody(upload).file.bytes).toBeLessThan(25 * 1024 * 1024)
    expect(uploads.map((u) => uploadBody(u).file.name).sort()).toEqual(['long.part1.mp3', 'long.part2.mp3'])
    // Uploaded as slices of the file, byte for byte the chunks splitMp3 reads.
    const sent = Object.fromEntries(uploads.map((u) => [uploadBody(u).file.name, uploadBody(u).file.sha256]))
    expect([sent['long.part1.mp3'], sent['long.part2.mp3']]).toEqual(chunks.map((c) => c.sha256))

    const {usage, ...plain} = transcript
    expect(Transcript.parse(transcript)).toEqual(plain)
    expect(usage?.audio_seconds).toBeCloseTo(durationSeconds, 0)
    const starts = transcript.segments.map((s) => s.start)
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThan(starts[i - 1]!)
    // The second chunk's segments begin where the first chunk ends.
    const boundary = chunks[1]!.startSeconds
    expect(boundary).toBeCloseTo(chunks[0]!.durationSeconds, 6)
    const firstOfSecond = transcript.segments.find((s) => s.start >= boundary - 0.001)!
    expect(firstOfSecond.start).toBeCloseTo(boundary, 2)
    const lastOfFirst = transcript.segments[transcript.segments.indexOf(firstOfSecond) - 1]!
    expect(lastOfFirst.end).toBeLessThanOrEqual(boundary + 0.01)
    expect(transcript.duration_seconds).toBeCloseTo(durationSeconds, 0)
    expect(transcript.segments.at(-1)!.end).toBeCloseTo(durationSeconds, 0)

    // A second run uploads nothing.
    expect(await whisper.transcribe({audioPath: file, durationSeconds, title: PAPER_TITLE, paperText: async () => PAPER, seed: 1})).toEqual(
      {...plain, usage: {...usage, audio_seconds: 0}},
    )
    expect(only(api, '/audio/transcriptions')).toHaveLength(2)

    // concurrency 1: one upload at a time, same transcript.
    api.reset()
    api.setLatency(150)
    const serial = new WhisperTranscriber({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, concurrency: 1})
    expect(await serial.transcribe({audioPath: file, durationSeconds, title: PAPER_TITLE, paperText: async () => PAPER, seed: 1})).toEqual(
      transcript,
    )
    api.setLatency(0)
    expect(only(api, '/audio/transcriptions')).toHaveLength(2)
    expect(api.maxConcurrent).toBe(1)
  })

  it('refuses a non-MP3 file over the limit, saying to convert it to MP3', async () => {
    const file = path.join(dir, 'big.wav')
    const wav = Buffer.alloc(WHISPER_MAX_BYTES + 1024)
    wav.write('RIFF', 0, 'latin1')
    wav.write('WAVE', 8, 'latin1')
    await writeFile(file, wav)
    const whisper = new WhisperTranscriber({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL})
    const error = (await whisper
      .transcribe({audioPath: file, durationSeconds: 100, title: '', paperText: async () => '', seed: 1})
      .catch((e: unknown) => e)) as ProviderError
    expect(error).toBeInstanceOf(ProviderError)
    expect(error.message).toMatch(/too large for Whisper/)
    expect(error.hint).toMatch(/MP3/)
    expect(api.requests).toHaveLength(0)
  })
})

describe('OpenAISpeech', () => {
  it('returns MP3 bytes, caches them, and rejects text over the limit', async () => {
    const cache = new MemoryCache()
    const speech = new OpenAISpeech({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, cache})
    expect(speech.id).toBe('openai:tts-1')
    expect(speech.voices).toEqual(['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer'])
    const text = 'Welcome to the show. Today we talk about microbial mats near deep sea vents.'
    const answer = await speech.synthesize({text, voice: 'nova'})
    expect(answer.characters).toBe(text.length)
    expect(answer.audio[0]).toBe(0xff)
    expect(answer.audio.length).toBeGreaterThan(1000)
    const body = only(api, '/audio/speech')[0]!.body
    expect(body).toMatchObject({model: 'tts-1', voice: 'nova', input: text, response_format: 'mp3'})

    expect(answer.cached).toBeUndefined()
    expect(await speech.synthesize({text, voice: 'nova'})).toEqual({...answer, cached: true})
    expect(only(api, '/audio/speech')).toHaveLength(1)

    await expect(speech.synthesize({text: 'x'.repeat(4097), voice: 'nova'})).rejects.toThrow(/4097 characters, over the 4096/)
    expect(only(api, '/audio/speech')).toHaveLength(1)
  })

  it('recovers from a cut-off body and rejects audio that is not MP3', async () => {
    const speech = new OpenAISpeech({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL})
    api.failNext({kind: 'truncate'}, {path: '/audio/speech'})
    const answer = await speech.synthesize({text: 'A short line to speak.', voice: 'alloy'})
    expect(answer.audio[0]).toBe(0xff)
    expect(only(api, '/audio/speech')).toHaveLength(2)
    api.failNext({kind: 'bad-answer'}, {path: '/audio/speech'})
    await expect(speech.synthesize({text: 'Another line.', voice: 'alloy'})).rejects.toThrow(/not an MP3/)
  })
})
