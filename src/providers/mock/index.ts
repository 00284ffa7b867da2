/**
 * The offline provider: no keys, no network, deterministic for a given seed. Its writer
 * and judge have a hidden personality (personality.ts), chosen by `writer`.
 */
import {clampJudgeScores, clampKeyConcepts, clampScript, clampSegmentLabels} from '../../core/answer-bounds.js'
import {OutputLimitError} from '../../core/errors.js'
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  type LanguageModel,
  type Providers,
  type StructuredAnswer,
  type StructuredRequest,
  type Task,
} from '../../core/providers.js'
import type {JudgeAnswer, KeyConceptsAnswer, Script, SegmentLabelsAnswer} from '../../core/schemas/answers.js'
import type {MockWriter} from '../../core/schemas/common.js'
import {classifySegments} from './classify.js'
import {extractKeyConcepts} from './concepts.js'
import {generateScript} from './generate.js'
import {judgeScript} from './judge.js'
import {personalityOf, type Personality} from './personality.js'
import {MockSpeech} from './speech.js'
import {MockTranscriber} from './transcriber.js'

/** Rough token count so that usage figures in mock mode are plausible, not zero. */
function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

/** The mock's output cap: that of the default Claude model it stands in for. */
export const MOCK_OUTPUT_CAP = 64_000

class MockLanguageModel implements LanguageModel {
  readonly id = 'mock'

  /** writer undefined: drawn from each request's seed, the run's --seed. */
  constructor(
    private readonly writer: MockWriter | undefined,
    readonly maxOutputTokens: number = MOCK_OUTPUT_CAP,
  ) {}

  private personality(seed: number): Personality {
    return personalityOf(this.writer ?? seed)
  }

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> {
    const {task} = request
    let answer: unknown
    switch (task.kind) {
      case 'classify-segments':
        answer = {labels: classifySegments(task.segments, task.duration_seconds)}
        break
      case 'key-concepts':
        answer = {concepts: extractKeyConcepts(task.paper, task.max).map((c) => ({term: c.term, importance: c.weight}))}
        break
      case 'generate-script':
        answer = generateScript(
          this.personality(request.seed),
          {prompt: task.prompt, targetWords: task.target_words, title: task.title, paper: task.paper, concepts: task.concepts},
          request.seed,
        )
        break
      case 'judge':
        answer = judgeScript(this.personality(request.seed), task.script, task.paper, task.concepts, task.reference_style)
        break
      case 'refine':
        // No language to rewrite offline: the mock accepts the rule-based proposal as is.
        answer = {prompt: task.proposal, changes: task.proposal_changes}
        break
    }
    // The same validation a real answer gets: the mock cannot hand the trainer a malformed value,
    // nor one the trainer would have to bring back within bounds.
    const value = request.schema.parse(answer)
    const notes = outOfRange(task, value)
    if (notes.length) throw new Error(`mock ${task.kind} answer out of range: ${notes.join('; ')}`)
    const input = request.messages.reduce((n, m) => n + approximateTokens(m.content), 0)
    const output = approximateTokens(JSON.stringify(answer))
    // Output limits as the real providers meet them: an answer longer than its max_tokens is
    // cut and asked again once at the model's cap (both paid); longer than the cap, it fails.
    const asked = Math.min(request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS, this.maxOutputTokens)
    if (output > this.maxOutputTokens) {
      const paid = asked < this.maxOutputTokens ? asked + this.maxOutputTokens : asked
      throw new OutputLimitError(`mock: the ${request.role} answer did not fit in ${this.maxOutputTokens} output tokens and was cut off`, {
        provider: this.id,
        maxOutputTokens: this.maxOutputTokens,
        usage: {input_tokens: input * (paid > asked ? 2 : 1), output_tokens: paid, ...(paid > asked ? {calls: 2} : {})},
      })
    }
    if (output > asked) return {value, usage: {input_tokens: 2 * input, output_tokens: asked + output, calls: 2}}
    return {value, usage: {input_tokens: input, output_tokens: output}}
  }
}

/** What core/answer-bounds.ts would change in a (schema-valid) mock answer: nothing, or the mock has a bug. */
function outOfRange(task: Task, value: unknown): string[] {
  switch (task.kind) {
    case 'classify-segments':
      return clampSegmentLabels(value as SegmentLabelsAnswer, task.segments.length).notes
    case 'key-concepts':
      return clampKeyConcepts(value as KeyConceptsAnswer).notes
    case 'generate-script':
      return clampScript(value as Script).notes
    case 'judge':
      return clampJudgeScores(value as JudgeAnswer).notes
    case 'refine':
      // Its answer is the rule-based proposal, a PromptSpec already.
      return []
  }
}

export interface MockOptions {
  /** Voice scripts (--tts) with the mock speech. */
  tts?: boolean
  /** The simulated writer (--mock-writer): `identity`, or the seed of a drawn personality; default: the run's --seed. */
  writer?: MockWriter
  /** The language model's output cap (default MOCK_OUTPUT_CAP): lower it to see scripts written in parts. */
  maxOutputTokens?: number
}

export function mockProviders(options: MockOptions = {}): Providers {
  const transcriber = new MockTranscriber()
  const model = new MockLanguageModel(options.writer, options.maxOutputTokens)
  return {transcriber, languageModel: () => model, ...(options.tts ? {speech: new MockSpeech()} : {})}
}
