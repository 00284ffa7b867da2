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
