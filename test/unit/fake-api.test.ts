import Anthropic from '@anthropic-ai/sdk'
import {zodOutputFormat} from '@anthropic-ai/sdk/helpers/zod'
import OpenAI, {toFile} from 'openai'
import {zodResponseFormat} from 'openai/helpers/zod'
import {parseBuffer} from 'music-metadata'
import {readFileSync} from 'node:fs'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {classifyMessages, conceptsMessages, judgeMessages} from '../../src/training/messages.js'
import {mp3DurationSeconds as framesSeconds} from '../../src/media/mp3-frames.js'
import {generatorMessages, paperValues} from '../../src/training/prompt.js'
import {refineMessages} from '../../src/training/optimise/llm.js'
import {JudgeAnswer, KeyConceptsAnswer, RefineAnswer, ScriptAnswer, SegmentLabelsAnswer} from '../../src/core/schemas/answers.js'
import {type PromptSpec, type StyleProfile} from '../../src/core/schemas/common.js'
import {FAKE_KEYS, mp3DurationSeconds, silentMp3, startFakeApi, type FakeApi} from '../helpers/fake-api.js'
import {mediaFixture, probed} from '../helpers/media-fixtures.js'

const ANTHROPIC_MODEL = 'claude-sonnet-5-5'

let api: FakeApi
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  api = await startFakeApi()
  openai = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, maxRetries: 2})
  anthropic = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL})
})
afterAll(async () => {
  await api.close()
})
afterEach(() => {
  api.reset()
  api.setLatency(0)
  api.setMsPerOutputToken(0)
  api.setRateLimits({})
  api.setUnboundedAnswers(false)
})

const PAPER = [
  'Title: Sleep Spindles and Memory Consolidation',
  'We recorded Electroencephalography from forty participants during overnight sleep.',
  'Sleep spindles are short bursts of oscillatory activity that appear during non-REM sleep.',
  'Participants learned word pairs before sleep and were tested again the next morning.',
  'Spindle density predicted how many word pairs each participant remembered.',
  'Targeted memory reactivation increased spindle density in the Hippocampus-linked regions.',
  'The effect was strongest for word pairs that were learned late in the evening.',
  'These findings suggest that spindles help transfer memories from the Hippocampus to the cortex.',
  'Electroencephalography remains the most practical way to measure spindles at scale.',
].join('\n')

const PROMPT: PromptSpec = {
  version: 1,
  target_words: 300,
  length: null,
  segment_plan: [
    {label: 'intro', share: 0.1},
    {label: 'background', share: 0.2},
    {label: 'method', share: 0.2},
    {label: 'findings', share: 0.3},
    {label: 'discussion', share: 0.1},
    {label: 'outro', share: 0.1},
  ],
  speakers: [
    {name: 'Alex', role: 'host: opens, asks the questions, keeps it moving, closes'},
    {name: 'Sam', role: 'guest: explains the research in plain words'},
  ],
  style: {
    words_per_minute: 150,
    questions_per_minute: 1.5,
    mean_sentence_words: 14,
    tone: 'conversational',
    analogies: 'one analogy per idea',
  },
  must_cover_concepts: 3,
  instructions: ['Stay faithful to the paper: no claims it does not make.'],
}

describe('OpenAI endpoints through the official SDK', () => {
  it('transcribes an espeak-ng + lame MP3 (with an ID3v2 tag) in verbose_json with segments and its real duration', async () => {
    // tagged.mp3: espeak-ng speech (a.wav) encoded by lame with --add-id3v2; ffprobe timed both when they were made.
    const bytes = readFileSync(mediaFixture('tagged.mp3'))
    expect(bytes.toString('latin1', 0, 3)).toBe('ID3')
    const expected = probed('tagged.mp3').duration_seconds

    const answer = await openai.audio.transcriptions.create({
      file: await toFile(bytes, 'speech.mp3'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
      prompt: 'spindles',
    })
    expect(answer.duration).toBeGreaterThan(5)
    expect(Math.abs(answer.duration - expected) / expected).toBeLessThan(0.02)
    expect(Math.abs(answer.duration - probed('a.wav').duration_seconds) / expected).toBeLessThan(0.02)
    expect(answer.segments!.length).toBe(Math.max(1, Math.round(answer.duration / 5)))
    expect(answer.segments![0]!.start).toBe(0)
    expect(answer.segments!.at(-1)!.end).toBeCloseTo(answer.duration, 1)
    expect(answer.text.split(' ').length).toBeGreaterThan(10)

    const recorded = api.requests[0]!
    expect(recorded.api).toBe('openai')
    expect(recorded.path).toBe('/v1/audio/transcriptions')
    expect(recorded.body).toMatchObject({
      fields: {model: 'whisper-1', response_format: 'verbose_json', 'timestamp_granularities[]': 'segment', prompt: 'spindles'},
      file: {name: 'speech.mp3', bytes: bytes.length},
    })

    // Deterministic: the same upload gives the same transcript.
    const again = await openai.audio.transcriptions.create({
      file: await toFile(bytes, 'speech.mp3'),
      model: 'whisper-1',
      response_format: 'verbose_json',
    })
    expect(again.text).toBe(answer.text)
  })

  it('parses MP3 durations from frames (MPEG 1 and 2) and falls back to bytes / 16000 otherwise', async () => {
    expect(mp3DurationSeconds(silentMp3(12))).toBeCloseTo(12, 1)
    expect(mp3DurationSeconds(Buffer.from('not audio at all'))).toBeNull()
    const answer = await openai.audio.transcriptions.create({
      file: await toFile(Buffer.alloc(32_000, 1), 'x.wav'),
      model: 'whisper-1',
      response_format: 'verbose_json',
    })
    expect(answer.duration).toBe(2)
  })

  it('answers a json_schema chat completion that the SDK parses, with usage and system_fingerprint from the seed', async () => {
    const segments = Array.from({length: 20}, (_, i) => ({
      index: i,
      start: i * 5,
      end: i * 5 + 5,
      text: `Segment number ${i} of the talk.`,
    }))
    const completion = await openai.chat.completions.parse({
      model: 'gpt-5.5-mini',
      messages: classifyMessages(segments),
      response_format: zodResponseFormat(SegmentLabelsAnswer, 'labels'),
      seed: 42,
    })
    const parsed = completion.choices[0]!.message.parsed!
    expect(parsed.labels.map((l) => l.index)).toEqual(segments.map((s) => s.index))
    expect(parsed.labels[0]!.label).toBe('intro')
    expect(parsed.labels.at(-1)!.label).toBe('outro')
    expect(new Set(parsed.labels.map((l) => l.label))).toEqual(
      new Set(['intro', 'background', 'method', 'findings', 'discussion', 'outro']),
    )
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(50)
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens)
    expect(completion.system_fingerprint).toBe('fp_fake_seed_42')

    const concepts = await openai.chat.completions.parse({
      model: 'gpt-5.5-mini',
      messages: conceptsMessages(PAPER, 5),
      response_format: zodResponseFormat(KeyConceptsAnswer, 'concepts'),
    })
    const terms = concepts.choices[0]!.message.parsed!.concepts
    expect(terms.length).toBe(5)
    expect(terms.map((t) => t.term)).toContain('Electroencephalography')
    expect(terms[0]!.importance).toBe(1)
    expect(terms.map((t) => t.importance)).toEqual([...terms.map((t) => t.importance)].sort((a, b) => b - a))
  })

  it('speaks an MP3 that lasts words / 150 minutes, by its frames and by an independent reader', async () => {
    const input = Array.from({length: 60}, (_, i) => `word${i}`).join(' ')
    const response = await openai.audio.speech.create({model: 'gpt-4o-mini-tts', voice: 'alloy', input, response_format: 'mp3'})
    expect(response.headers.get('content-type')).toBe('audio/mpeg')
    const bytes = Buffer.from(await response.arrayBuffer())
    const expected = (60 / 150) * 60
    expect(Math.abs(framesSeconds(bytes) - expected) / expected).toBeLessThan(0.05)
    const {format} = await parseBuffer(bytes, {mimeType: 'audio/mpeg'}, {duration: true})
    expect(format.codec).toBe('MPEG 1 Layer 3')
    expect(Math.abs(format.duration! - expected) / expected).toBeLessThan(0.05)

    await expect(openai.audio.speech.create({model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'x'.repeat(4097)})).rejects.toMatchObject({
      status: 400,
      param: 'input',
    })
  })

  it('rejects an upload over 25 MiB with a 413', async () => {
    const big = Buffer.alloc(26_214_401)
    await expect(openai.audio.transcriptions.create({file: await toFile(big, 'big.mp3'), model: 'whisper-1'})).rejects.toMatchObject({
      status: 413,
    })
    expect(api.requests).toHaveLength(1)
  })
})

describe('Anthropic messages through the official SDK', () => {
  it('answers messages.parse with output_config.format (zod helper) as parsed_output', async () => {
    const [system, user] = generatorMessages(
      PROMPT,
      paperValues(PROMPT, {title: 'Sleep Spindles', paper: PAPER, concepts: [{term: 'sleep spindles', weight: 1}], paperWords: 2000}),
    )
    const message = await anthropic.messages.parse({
      model: ANTHROPIC_MODEL,
      max_tokens: 4096,
      system: system!.content,
      messages: [{role: 'user', content: user!.content}],
      output_config: {format: zodOutputFormat(ScriptAnswer)},
    })
    const script = ScriptAnswer.parse(message.parsed_output)
    expect(script.segments.map((s) => s.label)).toEqual(PROMPT.segment_plan.map((p) => p.label))
    expect(script.segments[0]!.lines[0]!.speaker).toBe('Alex')
    expect(new Set(script.segments.flatMap((s) => s.lines.map((l) => l.speaker)))).toEqual(new Set(['Alex', 'Sam']))
    const words = script.segments.flatMap((s) => s.lines).reduce((n, l) => n + l.text.split(/\s+/).length, 0)
    expect(words).toBeGreaterThan(270)
    expect(words).toBeLessThan(330)
    expect(JSON.stringify(script)).toContain('spindle')
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: ANTHROPIC_MODEL,
      stop_reason: 'end_turn',
      stop_sequence: null,
    })

    const body = api.requests[0]!.body as {output_config: {format: {type: string; schema: {properties: object}}}}
    expect(body.output_config.format.type).toBe('json_schema')
    expect(Object.keys(body.output_config.format.schema.properties)).toEqual(['segments'])
    expect(api.requests[0]!.headers['anthropic-version']).toBeTruthy()
  })

  it('answers a forced tool_choice with a tool_use block, and caches prompt prefixes as Anthropic does', async () => {
    const script = {segments: [{label: 'intro' as const, lines: [{speaker: 'Alex', text: 'Today: sleep spindles and the Hippocampus.'}]}]}
    const style: StyleProfile = {
      words: 100,
      duration_seconds: 40,
      words_per_minute: 150,
      mean_sentence_words: 12,
      questions_per_minute: 1,
      speaker_turns: 4,
      turns_per_minute: 6,
      speakers: ['Alex'],
    }
    const [system, paper, scriptMessage] = judgeMessages(
      script,
      PAPER,
      [
        {term: 'sleep spindles', weight: 1},
        {term: 'Hippocampus', weight: 0.5},
        {term: 'Electroencephalography', weight: 0.3},
      ],
      style,
    )
    // The paper block is the cache breakpoint: the prefix is the tool, the system prompt and the paper.
    const request = (systemText = system!.content, scriptText = scriptMessage!.content) =>
      anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 1024,
        system: systemText,
        messages: [
          {
            role: 'user',
            content: [
              {type: 'text', text: paper!.content, cache_control: {type: 'ephemeral'}},
              {type: 'text', text: scriptText},
            ],
          },
        ],
        tools: [{name: 'judge', description: 'Score the script', input_schema: z.toJSONSchema(JudgeAnswer) as Anthropic.Tool.InputSchema}],
        tool_choice: {type: 'tool', name: 'judge'},
      })
    const first = await request()
    expect(first.stop_reason).toBe('tool_use')
    const block = first.content[0]!
    if (block.type !== 'tool_use') throw new Error(`expected tool_use, got ${block.type}`)
    expect(block.name).toBe('judge')
    const judged = JudgeAnswer.parse(block.input)
    expect(judged.concepts_explained).toEqual(['sleep spindles', 'Hippocampus'])
    for (const score of [judged.engagement, judged.clarity, judged.accuracy]) expect(score).toBeGreaterThanOrEqual(70)
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(Math.ceil((system!.content.length + paper!.content.length) / 4))
    expect(first.usage.cache_read_input_tokens).toBe(0)

    // Another script after the same prefix: the prefix is read from the cache.
    const second = await request(system!.content, 'Script:\nAlex: Another take on sleep spindles.')
    expect(second.usage.cache_creation_input_tokens).toBe(0)
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens)
    expect(second.usage.input_tokens).toBeLessThan(first.usage.input_tokens + 20)

    // The same paper block after another system prompt is another prefix: written anew.
    const third = await request(`${system!.content} Be strict.`)
    expect(third.usage.cache_read_input_tokens).toBe(0)
    expect(third.usage.cache_creation_input_tokens).toBeGreaterThan(first.usage.cache_creation_input_tokens!)
  })

  it('answers the refiner with the proposal of its last line', async () => {
    const proposal = {...PROMPT, target_words: 320}
    const profile = {
      pairs: 1,
      sequence: ['intro' as const],
      word_shares: {},
      time_shares: {},
      duration_seconds: 60,
      words: 150,
      words_per_minute: 150,
      mean_sentence_words: 12,
      questions_per_minute: 1,
      turns_per_minute: 4,
      speakers: ['Alex', 'Sam'],
    }
    const [system, user] = refineMessages({
      optimiser: [],
      current: PROMPT,
      proposal: {prompt: proposal, changes: ['longer']},
      history: [],
      evidence: [],
      profile,
    })
    const message = await anthropic.messages.parse({
      model: ANTHROPIC_MODEL,
      max_tokens: 4096,
      system: system!.content,
      messages: [{role: 'user', content: user!.content}],
      output_config: {format: zodOutputFormat(RefineAnswer)},
    })
    // The answer's prompt has no length rule: that stays the optimiser's.
    const {length: _length, ...withoutLength} = proposal
    expect(message.parsed_output).toEqual({prompt: withoutLength, changes: []})
  })
})

describe('faults, keys and concurrency', () => {
  const ask = () => anthropic.messages.create({model: ANTHROPIC_MODEL, max_tokens: 256, messages: [{role: 'user', content: 'Hello'}]})

  it('a 429 with retry-after 0 is retried by the SDK', async () => {
    api.failNext({kind: 'status', status: 429, retryAfterSeconds: 0}, {path: '/v1/chat/completions'})
    const completion = await openai.chat.completions.create({model: 'gpt-5.5-mini', messages: [{role: 'user', content: 'Hi'}]})
    expect(completion.choices[0]!.message.content).toContain('fake answer')
    expect(api.requests).toHaveLength(2)
  })

  it('a 529 overloaded_error and a dropped connection are retried', async () => {
    api.failNext({kind: 'status', status: 529}, {path: /messages/})
    await ask()
    expect(api.requests).toHaveLength(2)
    api.reset()
    api.failNext({kind: 'drop'})
    await ask()
    expect(api.requests).toHaveLength(2)
  })

  it('gives 401 in each API format for another key, without echoing the key', async () => {
    const wrongOpenAI = 'sk-test-wrong-openai-abcdefghijklmnop'
    const badOpenAI = new OpenAI({apiKey: wrongOpenAI, baseURL: api.openaiBaseURL, maxRetries: 0})
    const openaiError = await badOpenAI.chat.completions
      .create({model: 'm', messages: [{role: 'user', content: 'x'}]})
      .catch((e: unknown) => e)
    expect(openaiError).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((openaiError as Error).message).not.toContain(wrongOpenAI)
    expect((openaiError as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key')

    const wrongAnthropic = 'sk-test-ant-wrong-abcdefghijklmnop'
    const badAnthropic = new Anthropic({apiKey: wrongAnthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    const anthropicError = await badAnthropic.messages
      .create({model: ANTHROPIC_MODEL, max_tokens: 10, messages: [{role: 'user', content: 'x'}]})
      .catch((e: unknown) => e)
    expect(anthropicError).toBeInstanceOf(Anthropic.AuthenticationError)
    expect((anthropicError as Error).message).not.toContain(wrongAnthropic)
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: {type: 'authentication_error'},
    })
  })

  it('truncate, invalid-json and bad-answer surface as the SDKs would see them', async () => {
    api.failNext({kind: 'truncate'})
    await expect(ask()).rejects.toThrow(/terminated/)
    api.failNext({kind: 'invalid-json'})
    await expect(ask()).rejects.toThrow()
    api.failNext({kind: 'bad-answer'})
    await expect(
      anthropic.messages.parse({
        model: ANTHROPIC_MODEL,
        max_tokens: 256,
        messages: [{role: 'user', content: 'x'}],
        output_config: {format: zodOutputFormat(SegmentLabelsAnswer)},
      }),
    ).rejects.toThrow(/Failed to parse structured output/)
    expect(api.requests).toHaveLength(3)
  })

  it('uses options.answer when it returns a value', async () => {
    const custom = await startFakeApi({answer: (q) => (q.kind === 'classify' ? {labels: [{index: 0, label: 'findings'}]} : undefined)})
    try {
      const client = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: custom.openaiBaseURL})
      const completion = await client.chat.completions.parse({
        model: 'm',
        messages: classifyMessages([{index: 0, start: 0, end: 5, text: 'hello'}]),
        response_format: zodResponseFormat(SegmentLabelsAnswer, 'labels'),
      })
      expect(completion.choices[0]!.message.parsed).toEqual({labels: [{index: 0, label: 'findings'}]})
    } finally {
      await custom.close()
    }
  })

  it('counts requests in flight with latency', async () => {
    api.setLatency(150)
    const started = Date.now()
    await Promise.all(Array.from({length: 5}, () => ask()))
    expect(api.maxConcurrent).toBe(5)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    api.reset()
    expect(api.maxConcurrent).toBe(0)
  })
})

describe('streaming as the real APIs send it', () => {
  const QUESTION = 'Tell me, in a few words, why sleep spindles matter for memory consolidation.'
  const params = {model: ANTHROPIC_MODEL, max_tokens: 512, messages: [{role: 'user' as const, content: QUESTION}]}
  const judgeTool = {name: 'judge', description: 'Score', input_schema: z.toJSONSchema(JudgeAnswer) as Anthropic.Tool.InputSchema}
  const judgeUser = `Key concepts:\n- sleep spindles\n- Hippocampus\n\nScript:\nAlex: sleep spindles help the Hippocampus.`

  it('Anthropic: events in the real order, ping included, over text/event-stream', async () => {
    const response = await fetch(`${api.anthropicBaseURL}/v1/messages`, {
      method: 'POST',
      headers: {'x-api-key': FAKE_KEYS.anthropic, 'anthropic-version': '2023-06-01', 'content-type': 'application/json'},
      body: JSON.stringify({...params, stream: true}),
    })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await response.text()
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
      event: m[1]!,
      data: JSON.parse(m[2]!) as Record<string, unknown>,
    }))
    const names = events.map((e) => e.event)
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping'])
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    expect(names.filter((n) => n === 'content_block_delta').length).toBeGreaterThanOrEqual(3)
    for (const e of events) expect(e.data.type).toBe(e.event)
    expect(events[0]!.data.message).toMatchObject({content: [], stop_reason: null, usage: {output_tokens: 1, cache_read_input_tokens: 0}})
    expect(events[1]!.data.content_block).toEqual({type: 'text', text: ''})
    expect(events.at(-2)!.data).toMatchObject({delta: {stop_reason: 'end_turn'}})
    expect((events.at(-2)!.data.usage as {output_tokens: number}).output_tokens).toBeGreaterThan(1)
  })

  it('Anthropic: messages.stream() text deltas join to the non-streamed answer, with the same usage', async () => {
    const plain = await anthropic.messages.create(params)
    const deltas: string[] = []
    const stream = anthropic.messages.stream(params).on('text', (delta) => deltas.push(delta))
    const message = await stream.finalMessage()
    expect(deltas.length).toBeGreaterThan(2)
    const first = plain.content[0]!
    const plainText = first.type === 'text' ? first.text : ''
    expect(deltas.join('')).toBe(plainText)
    expect(message.content).toEqual([{type: 'text', text: plainText}])
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage).toMatchObject({
      input_tokens: plain.usage.input_tokens,
      output_tokens: plain.usage.output_tokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    })

    // create({stream: true}): the raw events, ping filtered out by the SDK.
    const raw = await anthropic.messages.create({...params, stream: true})
    const types: string[] = []
    let joined = ''
    for await (const event of raw) {
      types.push(event.type)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') joined += event.delta.text
    }
    expect(joined).toBe(plainText)
    expect(types[0]).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
  })

  it('Anthropic: a streamed tool_use and a streamed structured answer parse like the non-streamed ones', async () => {
    const request = {
      model: 'claude-haiku-4-5',
      max_tokens: 1024,
      messages: [{role: 'user' as const, content: judgeUser}],
      tools: [judgeTool],
      tool_choice: {type: 'tool' as const, name: 'judge'},
    }
    const plain = await anthropic.messages.create(request)
    const pieces: string[] = []
    const message = await anthropic.messages
      .stream(request)
      .on('inputJson', (piece) => pieces.push(piece))
      .finalMessage()
    expect(pieces.length).toBeGreaterThan(2)
    expect(message.stop_reason).toBe('tool_use')
    // The id differs (the request differs by `stream`), the tool and its input do not.
    expect(message.content[0]).toMatchObject({type: 'tool_use', name: 'judge', input: (plain.content[0] as Anthropic.ToolUseBlock).input})
    expect(JSON.parse(pieces.join(''))).toEqual((plain.content[0] as Anthropic.ToolUseBlock).input)

    const parsed = await anthropic.messages
      .stream({
        ...params,
        output_config: {format: zodOutputFormat(KeyConceptsAnswer)},
        messages: [{role: 'user', content: `Paper:\n${PAPER}`}],
      })
      .finalMessage()
    expect(KeyConceptsAnswer.parse(parsed.parsed_output).concepts.length).toBeGreaterThan(0)
  })

  it('OpenAI: chat.completions.stream() and create({stream: true}) with include_usage', async () => {
    const request = {model: 'gpt-4o', messages: [{role: 'user' as const, content: QUESTION}]}
    const plain = await openai.chat.completions.create(request)
    const deltas: string[] = []
    const completion = await openai.chat.completions
      .stream({...request, stream_options: {include_usage: true}})
      .on('content', (delta) => deltas.push(delta))
      .finalChatCompletion()
    expect(deltas.length).toBeGreaterThan(2)
    expect(deltas.join('')).toBe(plain.choices[0]!.message.content)
    expect(completion.choices[0]!.message.content).toBe(plain.choices[0]!.message.content)
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage).toMatchObject({prompt_tokens: plain.usage!.prompt_tokens, completion_tokens: plain.usage!.completion_tokens})

    const chunks = []
    for await (const chunk of await openai.chat.completions.create({...request, stream: true, stream_options: {include_usage: true}}))
      chunks.push(chunk)
    expect(chunks[0]!.choices[0]!.delta).toMatchObject({role: 'assistant', content: ''})
    expect(chunks.at(-2)!.choices[0]).toMatchObject({delta: {}, finish_reason: 'stop'})
    expect(chunks.at(-1)!.choices).toEqual([])
    expect(chunks.at(-1)!.usage).toEqual(plain.usage)
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true)
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(plain.choices[0]!.message.content)

    // Without include_usage: no usage anywhere; with a zod response_format: parsed at the end.
    const bare = []
    for await (const chunk of await openai.chat.completions.create({...request, stream: true})) bare.push(chunk)
    expect(bare.every((c) => !('usage' in c))).toBe(true)
    const parsed = await openai.chat.completions
      .stream({model: 'gpt-4o', messages: conceptsMessages(PAPER, 3), response_format: zodResponseFormat(KeyConceptsAnswer, 'concepts')})
      .finalChatCompletion()
    expect(parsed.choices[0]!.message.parsed!.concepts).toHaveLength(3)
  })

  it('faults apply to streams; a stream cut mid-way rejects with "terminated" and is retried by neither SDK', async () => {
    const retrying = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL}) // default retries
    const deltas: string[] = []
    api.failNext({kind: 'truncate'})
    const error = await retrying.messages
      .stream(params)
      .on('text', (delta) => deltas.push(delta))
      .finalMessage()
      .catch((e: unknown) => e)
    // The helper wraps undici's TypeError('terminated') in an AnthropicError (not an APIConnectionError).
    expect(error).toBeInstanceOf(Anthropic.AnthropicError)
    expect(error).not.toBeInstanceOf(Anthropic.APIConnectionError)
    expect((error as Error).message).toBe('terminated')
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    expect(deltas.length).toBeGreaterThan(0) // cut after some deltas
    expect(api.requests).toHaveLength(1)

    api.failNext({kind: 'truncate'})
    const raw = await retrying.messages.create({...params, stream: true})
    const rawError = await (async () => {
      for await (const _event of raw);
    })().catch((e: unknown) => e)
    expect(rawError).toBeInstanceOf(TypeError)
    expect((rawError as Error).message).toBe('terminated')

    const retryingOpenAI = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL})
    const request = {model: 'gpt-4o', messages: [{role: 'user' as const, content: QUESTION}]}
    api.failNext({kind: 'truncate'})
    const openaiError = await retryingOpenAI.chat.completions
      .stream(request)
      .finalChatCompletion()
      .catch((e: unknown) => e)
    expect(openaiError).toBeInstanceOf(OpenAI.OpenAIError)
    expect(openaiError).not.toBeInstanceOf(OpenAI.APIConnectionError)
    expect((openaiError as Error).message).toBe('terminated')
    expect((openaiError as Error).cause).toBeInstanceOf(TypeError)
    api.failNext({kind: 'truncate'})
    const chunks = await retryingOpenAI.chat.completions.create({...request, stream: true})
    const openaiRaw = await (async () => {
      for await (const _chunk of chunks);
    })().catch((e: unknown) => e)
    expect(openaiRaw).toBeInstanceOf(TypeError)
    expect(api.requests).toHaveLength(4)

    // status: the error JSON, not SSE (an APIError, which the SDKs retry); drop: before any answer (APIConnectionError, retried too).
    const noRetry = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    api.failNext({kind: 'status', status: 529})
    await expect(noRetry.messages.stream(params).finalMessage()).rejects.toMatchObject({
      status: 529,
      error: {error: {type: 'overloaded_error'}},
    })
    api.failNext({kind: 'drop'})
    await expect(noRetry.messages.stream(params).finalMessage()).rejects.toBeInstanceOf(Anthropic.APIConnectionError)
    expect(api.requests).toHaveLength(6)
  })
})

describe('output limits', () => {
  it('Anthropic cuts at max_tokens, streamed or not, with stop_reason max_tokens', async () => {
    const request = {
      model: ANTHROPIC_MODEL,
      max_tokens: 5,
      messages: [{role: 'user' as const, content: 'A question that deserves a long answer'}],
    }
    const plain = await anthropic.messages.create(request)
    expect(plain.stop_reason).toBe('max_tokens')
    expect(plain.usage.output_tokens).toBe(5)
    expect(plain.content).toEqual([{type: 'text', text: 'This is a fake answe', citations: null}]) // 5 * 4 characters
    const streamed = await anthropic.messages.stream(request).finalMessage()
    expect(streamed).toMatchObject({
      stop_reason: 'max_tokens',
      usage: {output_tokens: 5},
      content: [{type: 'text', text: 'This is a fake answe'}],
    })
  })

  it('a cut tool_use: empty input not streamed, the partial object streamed', async () => {
    const request = {
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages: [{role: 'user' as const, content: 'Script:\nAlex: hello.'}],
      tools: [{name: 'judge', description: 'Score', input_schema: z.toJSONSchema(JudgeAnswer) as Anthropic.Tool.InputSchema}],
      tool_choice: {type: 'tool' as const, name: 'judge'},
    }
    const plain = await anthropic.messages.create(request)
    expect(plain.stop_reason).toBe('max_tokens')
    expect(plain.content[0]).toMatchObject({type: 'tool_use', name: 'judge', input: {}})
    const pieces: string[] = []
    const streamed = await anthropic.messages
      .stream(request)
      .on('inputJson', (piece) => pieces.push(piece))
      .finalMessage()
    expect(streamed.stop_reason).toBe('max_tokens')
    expect(pieces.join('')).toHaveLength(40)
    expect(streamed.content[0]).toMatchObject({type: 'tool_use', input: {concepts_explained: []}})
  })

  it('OpenAI cuts at max_completion_tokens (or max_tokens) with finish_reason length', async () => {
    const request = {model: 'gpt-4o', messages: [{role: 'user' as const, content: 'A question that deserves a long answer'}]}
    const plain = await openai.chat.completions.create({...request, max_completion_tokens: 3})
    expect(plain.choices[0]).toMatchObject({finish_reason: 'length', message: {content: 'This is a fa'}})
    expect(plain.usage!.completion_tokens).toBe(3)
    const legacy = await openai.chat.completions.create({...request, max_tokens: 3})
    expect(legacy.choices[0]!.finish_reason).toBe('length')
    const streamed = await openai.chat.completions
      .stream({...request, max_completion_tokens: 3, stream_options: {include_usage: true}})
      .finalChatCompletion()
    expect(streamed.choices[0]).toMatchObject({finish_reason: 'length', message: {content: 'This is a fa'}})
    expect(streamed.usage!.completion_tokens).toBe(3)
    // A limit the answer fits in changes nothing.
    expect((await openai.chat.completions.create({...request, max_completion_tokens: 500})).choices[0]!.finish_reason).toBe('stop')
  })

  it('rejects max_tokens above the model cap with each API’s 400', async () => {
    const noRetry = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    const error = await noRetry.messages
      .stream({model: 'claude-sonnet-4-6', max_tokens: 70_000, messages: [{role: 'user', content: 'x'}]})
      .finalMessage()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: 'max_tokens: 70000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-6',
      },
    })
    // A dated snapshot has its model's cap; a model in no key has none.
    await expect(
      noRetry.messages
        .stream({model: 'claude-haiku-4-5-20251001', max_tokens: 64_001, messages: [{role: 'user', content: 'x'}]})
        .finalMessage(),
    ).rejects.toMatchObject({status: 400})
    const uncapped = await noRetry.messages
      .stream({model: ANTHROPIC_MODEL, max_tokens: 200_000, messages: [{role: 'user', content: 'x'}]})
      .finalMessage()
    expect(uncapped.stop_reason).toBe('end_turn')

    const noRetryOpenAI = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, maxRetries: 0})
    await expect(
      noRetryOpenAI.chat.completions.create({
        model: 'gpt-4o-2024-08-06',
        max_completion_tokens: 20_000,
        messages: [{role: 'user', content: 'x'}],
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'max_completion_tokens',
      message:
        '400 max_completion_tokens is too large: 20000. This model supports at most 16384 completion tokens, whereas you provided 20000.',
    })
    await expect(
      noRetryOpenAI.chat.completions.create({model: 'gpt-5', max_tokens: 10, messages: [{role: 'user', content: 'x'}]}),
    ).rejects.toMatchObject({
      status: 400,
      param: 'max_tokens',
    })

    // Own caps replace the defaults; with no limit given, OpenAI cuts at the cap.
    const custom = await startFakeApi({modelMaxOutputTokens: {'tiny-model': 2}})
    try {
      const client = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: custom.openaiBaseURL, maxRetries: 0})
      const cut = await client.chat.completions.create({model: 'tiny-model', messages: [{role: 'user', content: 'x'}]})
      expect(cut.choices[0]).toMatchObject({finish_reason: 'length', message: {content: 'This is '}})
      const free = await client.chat.completions.create({
        model: 'gpt-4o',
        max_completion_tokens: 20_000,
        messages: [{role: 'user', content: 'x'}],
      })
      expect(free.choices[0]!.finish_reason).toBe('stop')
    } finally {
      await custom.close()
    }
  })
})

describe('latency and rate limits', () => {
  const ask = (client: Anthropic = anthropic, content = 'Hello', max_tokens = 256) =>
    client.messages.create({model: ANTHROPIC_MODEL, max_tokens, messages: [{role: 'user', content}]})

  it('msPerOutputToken adds output_tokens × ms; a stream sends its first deltas early', async () => {
    api.setMsPerOutputToken(10)
    let started = performance.now()
    const message = await ask()
    const tokens = message.usage.output_tokens // "This is a fake answer to: Hello": 8 tokens
    expect(performance.now() - started).toBeGreaterThanOrEqual(tokens * 10 - 5)

    started = performance.now()
    let first = 0
    const streamed = await anthropic.messages
      .stream({model: ANTHROPIC_MODEL, max_tokens: 256, messages: [{role: 'user', content: 'Hello'}]})
      .once('text', () => (first = performance.now() - started))
      .finalMessage()
    const total = performance.now() - started
    expect(streamed.usage.output_tokens).toBe(tokens)
    expect(total).toBeGreaterThanOrEqual(tokens * 10 - 5)
    expect(first).toBeLessThan(total * 0.6)
  })

  it('a request over the requests limit gets a 429 with retry-after and the rate-limit headers', async () => {
    api.setRateLimits({anthropic: {requestsPerMinute: 2}, openai: {requestsPerMinute: 1, tokensPerMinute: 100_000}})
    const noRetry = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    const ok = await noRetry.messages
      .create({model: ANTHROPIC_MODEL, max_tokens: 10, messages: [{role: 'user', content: 'x'}]})
      .withResponse()
    expect(ok.response.headers.get('anthropic-ratelimit-requests-limit')).toBe('2')
    expect(ok.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1')
    await ask(noRetry)
    const error = await ask(noRetry).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    const rateLimited = error as InstanceType<typeof Anthropic.RateLimitError>
    expect(rateLimited.status).toBe(429)
    expect(rateLimited.headers.get('retry-after')).toBe('30') // 2 per minute: one every 30 s
    expect(rateLimited.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0')
    expect(rateLimited.error).toMatchObject({type: 'error', error: {type: 'rate_limit_error'}})
    expect(rateLimited.message).toContain('of 2 requests per minute')

    const noRetryOpenAI = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, maxRetries: 0})
    const first = await noRetryOpenAI.chat.completions.create({model: 'gpt-4o', messages: [{role: 'user', content: 'x'}]}).withResponse()
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(Number(first.response.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(99_000)
    const openaiError = await noRetryOpenAI.chat.completions
      .create({model: 'gpt-4o', messages: [{role: 'user', content: 'x'}]})
      .catch((e: unknown) => e)
    expect(openaiError).toBeInstanceOf(OpenAI.RateLimitError)
    expect(openaiError).toMatchObject({status: 429, code: 'rate_limit_exceeded', type: 'requests'})
    expect((openaiError as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('60')
    expect((openaiError as InstanceType<typeof OpenAI.RateLimitError>).headers.get('x-ratelimit-reset-requests')).toMatch(
      /^\d+(\.\d+)?s$|^1m0s$/,
    )

    expect(api.stats).toMatchObject({requests: 5, rateLimited: 2})
    expect(api.stats.byPath['/v1/messages']).toMatchObject({requests: 3, rateLimited: 1})
    expect(api.stats.byPath['/v1/chat/completions']).toMatchObject({requests: 2, rateLimited: 1})
  })

  it('input tokens refill continuously: a 429 turns into an answer once the bucket has refilled', async () => {
    // 6000 input tokens per minute: 100 per second.
    api.setRateLimits({anthropic: {inputTokensPerMinute: 6000}})
    const noRetry = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    await ask(noRetry, 'x'.repeat(4 * 5970)) // leaves 30
    const error = await ask(noRetry, 'y'.repeat(4 * 50)).catch((e: unknown) => e) // 20 short: 0.2 s
    expect(error).toMatchObject({status: 429})
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('1')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const message = await ask(noRetry, 'y'.repeat(4 * 50))
    expect(message.usage.input_tokens).toBe(50)
    expect(api.stats).toMatchObject({requests: 3, rateLimited: 1, inputTokens: 6020})
  })

  it('output is charged at max_tokens on arrival and settled to the real output; cache reads are free; a request over the capacity is refused every time', async () => {
    api.setRateLimits({anthropic: {outputTokensPerMinute: 600, inputTokensPerMinute: 100}})
    const noRetry = new Anthropic({apiKey: FAKE_KEYS.anthropic, baseURL: api.anthropicBaseURL, maxRetries: 0})
    // Two at once with max_tokens 400: the second does not fit while the first (answering for 8 * 10 ms) is charged 400.
    api.setMsPerOutputToken(10)
    const both = await Promise.allSettled([ask(noRetry, 'a', 400), ask(noRetry, 'b', 400)])
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    // Settled to the 8 real tokens: another 400 fits now.
    api.setMsPerOutputToken(0)
    await ask(noRetry, 'c', 400)

    // Cache reads do not count against input tokens.
    const cached = () =>
      noRetry.messages.create({
        model: ANTHROPIC_MODEL,
        max_tokens: 10,
        messages: [{role: 'user', content: [{type: 'text', text: 'p'.repeat(4 * 60), cache_control: {type: 'ephemeral'}}]}],
      })
    expect((await cached()).usage.cache_creation_input_tokens).toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) expect((await cached()).usage.cache_read_input_tokens).toBeGreaterThan(0)

    // 400 input tokens > the 100 of the bucket: refused even with the bucket full, and again on a retry; nothing charged.
    api.reset()
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await ask(noRetry, 'z'.repeat(4 * 400)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Anthropic.RateLimitError)
      expect((error as Error).message).toContain('of 100 input tokens per minute')
    }
    expect(api.stats).toMatchObject({rateLimited: 2, tooLarge: 2})
    await ask(noRetry, 'small') // the bucket is still full
    // max_tokens over the output limit: refused the same way.
    const overOutput = await ask(noRetry, 'a', 601).catch((e: unknown) => e)
    expect((overOutput as Error).message).toContain('of 600 output tokens per minute')
  })

  it('OpenAI: a request over the TPM limit is "Request too large", without retry-after', async () => {
    api.setRateLimits({openai: {tokensPerMinute: 1000}})
    const noRetry = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: api.openaiBaseURL, maxRetries: 0})
    const error = await noRetry.chat.completions
      .create({model: 'gpt-4o', max_completion_tokens: 800, messages: [{role: 'user', content: 'x'.repeat(4 * 300)}]})
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as Error).message).toMatch(
      /Request too large for gpt-4o .* Limit 1000, Requested 1\d{3}\. The input or output tokens must be reduced/,
    )
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBeNull()
    expect(api.stats.tooLarge).toBe(1)
    // Within the limit it goes through.
    await noRetry.chat.completions.create({model: 'gpt-4o', max_completion_tokens: 100, messages: [{role: 'user', content: 'hello'}]})
  })
})

describe('bounds the APIs do not enforce', () => {
  it('unboundedAnswers: concept importance on 1-10 and a judge score of 104, never rejected by the API', async () => {
    api.setUnboundedAnswers(true)
    const request = {
      model: 'gpt-4o',
      messages: conceptsMessages(PAPER, 5),
      response_format: {
        type: 'json_schema' as const,
        json_schema: {name: 'concepts', strict: true, schema: z.toJSONSchema(KeyConceptsAnswer) as Record<string, unknown>},
      },
    }
    const concepts = await openai.chat.completions.create(request)
    const importance = (JSON.parse(concepts.choices[0]!.message.content!) as {concepts: Array<{importance: number}>}).concepts.map(
      (c) => c.importance,
    )
    expect(importance[0]).toBe(10)
    expect(importance.every((value) => value > 1 && value <= 10)).toBe(true)
    // A bound (as studio's schemas once had: importance at most 1) is caught only on the client, by the SDK's zod helper.
    const bounded = z.object({concepts: z.array(z.object({term: z.string(), importance: z.number().min(0).max(1)}))})
    await expect(
      openai.chat.completions.parse({...request, response_format: zodResponseFormat(bounded, 'concepts')}),
    ).rejects.toBeInstanceOf(z.ZodError)

    const judged = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 1024,
      messages: [{role: 'user', content: 'Script:\nAlex: hello.'}],
      tools: [{name: 'judge', description: 'Score', input_schema: z.toJSONSchema(JudgeAnswer) as Anthropic.Tool.InputSchema}],
      tool_choice: {type: 'tool', name: 'judge'},
    })
    const input = (judged.content[0] as Anthropic.ToolUseBlock).input as {engagement: number; clarity: number}
    expect(input.engagement).toBe(104)
    expect(input.clarity).toBeLessThanOrEqual(100)

    // Off again: the 0-1 scale; the option does the same as the setter.
    api.setUnboundedAnswers(false)
    const again = await openai.chat.completions.create(request)
    expect((JSON.parse(again.choices[0]!.message.content!) as {concepts: Array<{importance: number}>}).concepts[0]!.importance).toBe(1)
    const unbounded = await startFakeApi({unboundedAnswers: true})
    try {
      const client = new OpenAI({apiKey: FAKE_KEYS.openai, baseURL: unbounded.openaiBaseURL})
      const answer = await client.chat.completions.create(request)
      expect((JSON.parse(answer.choices[0]!.message.content!) as {concepts: Array<{importance: number}>}).concepts[0]!.importance).toBe(10)
    } finally {
      await unbounded.close()
    }
  })
})
