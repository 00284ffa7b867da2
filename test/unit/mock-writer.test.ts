import {readFile} from 'node:fs/promises'

import {describe, expect, it} from 'vitest'

import {buildProviders} from '../../src/cli/providers.js'
import {runPaths} from '../../src/core/layout.js'
import {RunConfig, RunManifest} from '../../src/core/schemas/files.js'

import type {Script} from '../../src/core/schemas/answers.js'
import {ScriptAnswer} from '../../src/core/schemas/answers.js'
import {SEGMENT_LABELS, type KeyConcept, type PromptSpec, type SegmentLabel, type StyleProfile} from '../../src/core/schemas/common.js'
import {countWords, isQuestion, mentions, normaliseForMatch, sentences} from '../../src/core/text.js'
import {rougeScores} from '../../src/loss/index.js'
import {stripMarkdown} from '../../src/media/markdown.js'
import {extractKeyConcepts} from '../../src/providers/mock/concepts.js'
import {generateScript, planDelivery, type WriteRequest} from '../../src/providers/mock/generate.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {judgeScript} from '../../src/providers/mock/judge.js'
import {paperSentences} from '../../src/providers/mock/paper-sections.js'
import {
  deliveredRate,
  deliveredWords,
  drawPersonality,
  IDENTITY,
  RANGES,
  rateToAsk,
  wordsToAsk,
  type Personality,
} from '../../src/providers/mock/personality.js'
import {MockTranscriber} from '../../src/providers/mock/transcriber.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {syntheticPaper} from '../helpers/synthetic-pairs.js'
import {mockTrainingRun} from '../helpers/training.js'

const PAPER = stripMarkdown(syntheticPaper(3, 1800).markdown)
const CONCEPTS: KeyConcept[] = extractKeyConcepts(PAPER, 12)
const WPM = 150

function prompt(overrides: Partial<PromptSpec['style']> & {must_cover?: number; shares?: number[]} = {}): PromptSpec {
  const labels: SegmentLabel[] = ['intro', 'background', 'method', 'findings', 'discussion', 'outro']
  const shares = overrides.shares ?? [0.06, 0.2, 0.25, 0.25, 0.16, 0.08]
  return {
    version: 1,
    target_words: 900,
    length: null,
    segment_plan: labels.map((label, i) => ({label, share: shares[i]!})),
    speakers: [
      {name: 'Ana', role: 'host'},
      {name: 'Ben', role: 'guest'},
    ],
    style: {
      words_per_minute: WPM,
      questions_per_minute: overrides.questions_per_minute ?? 2,
      mean_sentence_words: overrides.mean_sentence_words ?? 14,
      tone: 'curious',
      analogies: 'some',
    },
    must_cover_concepts: overrides.must_cover ?? 5,
    instructions: [],
  }
}

function request(spec: PromptSpec, targetWords: number, paper = PAPER): WriteRequest {
  return {prompt: spec, targetWords, title: 'Retrieval over contracts', paper, concepts: CONCEPTS}
}

/** What the trainer measures of a script (evaluate.ts, analyse.ts styleProfile), at the prompt's pace. */
function measure(script: Script) {
  const text = script.segments.flatMap((s) => s.lines.map((l) => l.text)).join('\n')
  const words = countWords(text)
  const all = sentences(text)
  const perLabel = new Map<SegmentLabel, number>()
  for (const segment of script.segments) {
    const n = segment.lines.reduce((sum, l) => sum + countWords(l.text), 0)
    perLabel.set(segment.label, (perLabel.get(segment.label) ?? 0) + n)
  }
  return {
    words,
    questionsPerMinute: all.filter(isQuestion).length / (words / WPM),
    meanSentenceWords: words / all.length,
    shares: new Map([...perLabel].map(([label, n]) => [label, n / words])),
    explained: CONCEPTS.filter((c) => mentions(normaliseForMatch(text), c.term)).map((c) => c.term),
  }
}

const quiet = (p: Personality): Personality => ({...p, noise: {length: 0, rate: 0}})

function findWriter(test: (p: Personality) => boolean): Personality {
  for (let seed = 1; seed < 500; seed++) {
    const p = drawPersonality(seed)
    if (test(p)) return p
  }
  throw new Error('no such writer among the first 500 seeds')
}

const reference: StyleProfile = {
  words: 900,
  duration_seconds: 360,
  words_per_minute: WPM,
  mean_sentence_words: 12,
  questions_per_minute: 2,
  speaker_turns: 40,
  turns_per_minute: 6,
  speakers: ['Ana', 'Ben'],
}

describe('personalities', () => {
  it('are drawn deterministically from their seed', () => {
    expect(drawPersonality(17)).toEqual(drawPersonality(17))
    expect(drawPersonality(17)).not.toEqual(drawPersonality(18))
    expect(drawPersonality(17).writer).toBe(17)
  })

  it('span the documented ranges, in the documented proportions', () => {
    const drawn = Array.from({length: 600}, (_, i) => drawPersonality(i + 1))
    const share = (test: (p: Personality) => boolean) => drawn.filter(test).length / drawn.length
    for (const kind of ['proportional', 'saturating', 'tapering']) expect(share((p) => p.length.kind === kind)).toBeCloseTo(1 / 3, 1)
    expect(share((p) => p.questions.kind === 'ignores')).toBeGreaterThan(0.13)
    expect(share((p) => p.questions.kind === 'ignores')).toBeLessThan(0.27)
    expect(share((p) => p.sentences.kind === 'ignores')).toBeGreaterThan(0.13)
    expect(share((p) => p.sentences.kind === 'ignores')).toBeLessThan(0.27)

    /** Every value within [low, high], and the draws reaching both ends (within a tenth of the range). */
    const spans = (values: number[], [low, high]: readonly [number, number]) => {
      const margin = (high - low) / 10
      expect(Math.min(...values)).toBeGreaterThanOrEqual(low)
      expect(Math.max(...values)).toBeLessThanOrEqual(high)
      expect(Math.min(...values)).toBeLessThan(low + margin)
      expect(Math.max(...values)).toBeGreaterThan(high - margin)
    }
    spans(
      drawn.map((p) => p.length.factor),
      RANGES.lengthFactor,
    )
    spans(
      drawn.flatMap((p) => (p.length.kind === 'saturating' ? [p.length.cap] : [])),
      RANGES.saturationCap,
    )
    spans(
      drawn.flatMap((p) => (p.length.kind === 'tapering' ? [p.length.exponent] : [])),
      RANGES.taperExponent,
    )
    spans(
      drawn.flatMap((p) => (p.questions.kind === 'proportional' ? [p.questions.factor] : [])),
      RANGES.questionFactor,
    )
    spans(
      drawn.flatMap((p) => (p.sentences.kind === 'proportional' ? [p.sentences.factor] : [])),
      RANGES.sentenceFactor,
    )
    spans(
      drawn.map((p) => p.coverage.asked),
      RANGES.askedCoverage,
    )
    spans(
      drawn.map((p) => p.coverage.unasked),
      RANGES.unaskedCoverage,
    )
    spans(
      drawn.map((p) => p.judge!.questionsPerMinute),
      RANGES.judgeQuestions,
    )
    spans(
      drawn.map((p) => p.judge!.meanSentenceWords),
      RANGES.judgeSentence,
    )
    const logs = drawn.flatMap((p) => SEGMENT_LABELS.map((label) => Math.log(p.segmentFactors[label])))
    const sd = Math.sqrt(logs.reduce((sum, x) => sum + x * x, 0) / logs.length)
    expect(sd).toBeGreaterThan(0.3)
    expect(sd).toBeLessThan(0.4)
  })

  it('have response functions that the inverses undo', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const p = drawPersonality(seed)
      for (const wanted of [300, 900, 2400]) {
        const ask = wordsToAsk(p.length, wanted)
        if (ask === null) expect(p.length.kind === 'saturating' && wanted >= p.length.cap).toBe(true)
        else expect(deliveredWords(p.length, ask)).toBeCloseTo(wanted, 6)
      }
      const ask = rateToAsk(p.questions, 2.5)
      if (ask === null) expect(p.questions.kind).toBe('ignores')
      else expect(deliveredRate(p.questions, ask)).toBeCloseTo(2.5, 9)
    }
  })
})

describe('the identity writer', () => {
  it.each([
    [300, 1.5, 10],
    [900, 2, 14],
    [2400, 3, 20],
    // Longer than the paper (about 1,800 words): it recycles the paper rather than stop short.
    [6000, 1, 12],
  ])('delivers %i words, %f questions a minute and %i-word sentences as asked', (words, questions, sentenceWords) => {
    const spec = prompt({questions_per_minute: questions, mean_sentence_words: sentenceWords})
    const script = ScriptAnswer.parse(generateScript(IDENTITY, request(spec, words), 42))
    const m = measure(script)
    expect(Math.abs(m.words / words - 1)).toBeLessThan(0.03)
    expect(Math.abs(m.questionsPerMinute / questions - 1)).toBeLessThan(0.1)
    expect(Math.abs(m.meanSentenceWords / sentenceWords - 1)).toBeLessThan(0.1)
    for (const step of spec.segment_plan) expect(Math.abs(m.shares.get(step.label)! - step.share)).toBeLessThan(0.03)
  })

  it('explains exactly the concepts it is asked to cover, and the judge reports them', () => {
    for (const cover of [0, 3, 8, CONCEPTS.length]) {
      const script = generateScript(IDENTITY, request(prompt({must_cover: cover}), 900), 42)
      const asked = CONCEPTS.slice(0, cover).map((c) => c.term)
      expect(measure(script).explained).toEqual(asked)
      expect(judgeScript(IDENTITY, script, PAPER, CONCEPTS, reference).concepts_explained).toEqual(asked)
    }
  })

  it('names the speakers as the prompt does, the host asking the questions', () => {
    const script = generateScript(IDENTITY, request(prompt(), 900), 42)
    const lines = script.segments.flatMap((s) => s.lines)
    expect(new Set(lines.map((l) => l.speaker))).toEqual(new Set(['Ana', 'Ben']))
    for (const line of lines) if (line.speaker === 'Ben') expect(sentences(line.text).some(isQuestion)).toBe(false)
  })
})

describe('drawn writers', () => {
  it('a proportional writer delivers its factor times the words asked', () => {
    const writer = findWriter((p) => p.length.kind === 'proportional' && Math.abs(p.length.factor - 1) > 0.2)
    const factor = writer.length.kind === 'proportional' ? writer.length.factor : NaN
    for (const asked of [400, 1200, 3000]) {
      const words = measure(generateScript(writer, request(prompt(), asked), 42)).words
      // Call noise is at most 3%.
      expect(Math.abs(words / (factor * asked) - 1)).toBeLessThan(0.035)
    }
  })

  it('a saturating writer never goes past its cap, and a tapering one falls shorter the more is asked', () => {
    const saturating = quiet(findWriter((p) => p.length.kind === 'saturating' && p.length.cap < 1500))
    const cap = saturating.length.kind === 'saturating' ? saturating.length.cap : NaN
    expect(measure(generateScript(saturating, request(prompt(), 20_000), 42)).words).toBeLessThanOrEqual(Math.ceil(cap))
    const tapering = quiet(findWriter((p) => p.length.kind === 'tapering' && p.length.exponent > 0.25))
    const ratio = (asked: number) => measure(generateScript(tapering, request(prompt(), asked), 42)).words / asked
    expect(ratio(4000)).toBeLessThan(ratio(1000) * 0.75)
  })

  it('a writer that ignores the asked sentence length keeps its own', () => {
    const writer = quiet(findWriter((p) => p.sentences.kind === 'ignores'))
    const natural = writer.sentences.kind === 'ignores' ? writer.sentences.value : NaN
    const short = measure(generateScript(writer, request(prompt({mean_sentence_words: 6}), 1200), 42)).meanSentenceWords
    const long = measure(generateScript(writer, request(prompt({mean_sentence_words: 30}), 1200), 42)).meanSentenceWords
    expect(Math.abs(short / natural - 1)).toBeLessThan(0.05)
    expect(Math.abs(long / natural - 1)).toBeLessThan(0.05)
  })

  it('a writer that follows the asked question rate scales it by its factor', () => {
    const writer = quiet(findWriter((p) => p.questions.kind === 'proportional'))
    const factor = writer.questions.kind === 'proportional' ? writer.questions.factor : NaN
    const rate = measure(generateScript(writer, request(prompt({questions_per_minute: 2}), 1500), 42)).questionsPerMinute
    expect(Math.abs(rate / (2 * factor) - 1)).toBeLessThan(0.1)
  })

  it('distorts the planned shares by its segment factors', () => {
    const writer = quiet(drawPersonality(5))
    const spec = prompt()
    const m = measure(generateScript(writer, request(spec, 1500), 42))
    const weights = spec.segment_plan.map((s) => s.share * writer.segmentFactors[s.label])
    const sum = weights.reduce((a, b) => a + b, 0)
    spec.segment_plan.forEach((step, i) => expect(Math.abs(m.shares.get(step.label)! - weights[i]! / sum)).toBeLessThan(0.02))
  })

  it('explains what it decided to, and the judge reports what is in the script', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const writer = drawPersonality(seed)
      const req = request(prompt({must_cover: 6}), 1200)
      const script = generateScript(writer, req, 42)
      const decided = planDelivery(writer, req, 42).explained
      expect(measure(script).explained).toEqual(decided)
      expect(judgeScript(writer, script, PAPER, CONCEPTS, reference).concepts_explained).toEqual(decided)
    }
  })

  it('answer the same call identically, and another call differently', async () => {
    const writer = drawPersonality(9)
    const req = request(prompt(), 1000)
    expect(generateScript(writer, req, 42)).toEqual(generateScript(writer, req, 42))
    expect(generateScript(writer, req, 42)).not.toEqual(generateScript(writer, req, 43))
    expect(generateScript(writer, req, 42)).not.toEqual(generateScript(writer, {...req, targetWords: 1001}, 42))

    const model = mockProviders({writer: 9}).languageModel('generate')
    const call = () =>
      model.structured({
        role: 'generate',
        messages: [],
        schema: ScriptAnswer,
        task: {kind: 'generate-script', prompt: req.prompt, target_words: 1000, title: req.title, paper: req.paper, concepts: req.concepts},
        seed: 42,
      })
    const [a, b] = await Promise.all([call(), call()])
    expect(a).toEqual(b)
    expect(a.value).toEqual(generateScript(writer, req, 42))
  })

  it('default to the personality drawn from the call seed', async () => {
    const req = request(prompt(), 1000)
    const answer = await mockProviders()
      .languageModel('generate')
      .structured({
        role: 'generate',
        messages: [],
        schema: ScriptAnswer,
        task: {kind: 'generate-script', prompt: req.prompt, target_words: 1000, title: req.title, paper: req.paper, concepts: req.concepts},
        seed: 11,
      })
    expect(answer.value).toEqual(generateScript(drawPersonality(11), req, 11))
  })
})

describe('the judge', () => {
  it('scores engagement and clarity highest at its hidden ideals', () => {
    const judge = findWriter((p) => Math.abs(p.judge!.questionsPerMinute - 2) > 0.6 && Math.abs(p.judge!.meanSentenceWords - 12) > 3)
    const ideals = judge.judge!
    const score = (questions: number, sentenceWords: number) => {
      const script = generateScript(
        IDENTITY,
        request(prompt({questions_per_minute: questions, mean_sentence_words: sentenceWords}), 1500),
        42,
      )
      return judgeScript(judge, script, PAPER, CONCEPTS, reference)
    }
    const atIdeal = score(ideals.questionsPerMinute, ideals.meanSentenceWords)
    // The reference episode's style is not what this judge likes.
    const atReference = score(reference.questions_per_minute, reference.mean_sentence_words)
    expect(atIdeal.engagement).toBeGreaterThan(95)
    expect(atIdeal.clarity).toBeGreaterThan(95)
    expect(atIdeal.engagement).toBeGreaterThan(atReference.engagement)
    expect(atIdeal.clarity).toBeGreaterThan(atReference.clarity)
    for (const factor of [0.5, 0.8, 1.25, 2]) {
      expect(score(ideals.questionsPerMinute * factor, ideals.meanSentenceWords).engagement).toBeLessThan(atIdeal.engagement)
      expect(score(ideals.questionsPerMinute, ideals.meanSentenceWords * factor).clarity).toBeLessThan(atIdeal.clarity)
    }
  })

  it('of the identity writer likes the reference episode style', () => {
    const script = generateScript(IDENTITY, request(prompt({questions_per_minute: 2, mean_sentence_words: 12}), 1500), 42)
    const answer = judgeScript(IDENTITY, script, PAPER, CONCEPTS, reference)
    expect(answer.engagement).toBeGreaterThan(95)
    expect(answer.clarity).toBeGreaterThan(95)
  })
})

describe('mock transcripts', () => {
  it('retell the paper instead of copying it, with ROUGE against a script from the paper as a real episode has', async () => {
    const transcript = await new MockTranscriber().transcribe({
      audioPath: 'x.mp3',
      durationSeconds: 240,
      title: '',
      paperText: () => Promise.resolve(PAPER),
      seed: 42,
    })
    const text = transcript.segments.map((s) => s.text).join('\n')
    expect(countWords(text)).toBeGreaterThan(500)
    const paper = new Set(paperSentences(PAPER).map((s) => s.text))
    const copied = sentences(text).filter((s) => paper.has(s))
    expect(copied.length).toBeLessThan(sentences(text).length * 0.1)
    const script = generateScript(IDENTITY, request(prompt(), countWords(text)), 42)
    const rouge1 = rougeScores(text, script.segments.flatMap((s) => s.lines.map((l) => l.text)).join('\n'), {stem: true}).rouge1.fmeasure
    expect(rouge1).toBeGreaterThan(0.2)
    expect(rouge1).toBeLessThan(0.5)
  })
})

describe("a run's writer", () => {
  async function generated(providers: ReturnType<typeof mockProviders>, seed: number): Promise<Script> {
    const req = request(prompt(), 1000)
    const answer = await providers.languageModel('generate').structured({
      role: 'generate',
      messages: [],
      schema: ScriptAnswer,
      task: {kind: 'generate-script', prompt: req.prompt, target_words: 1000, title: req.title, paper: req.paper, concepts: req.concepts},
      seed,
    })
    return answer.value
  }

  it('is recorded in run.json, and resuming builds the same writer', async () => {
    const root = await makeTempDir('studio-mock-writer-')
    try {
      const chosen = await mockTrainingRun(root, {maxTrials: 1, providers: mockProviders({writer: 'identity'}), mockWriter: 'identity'})
      const manifest = RunManifest.parse(JSON.parse(await readFile(runPaths(chosen.runDir).manifest, 'utf8')))
      expect(manifest.config.mock_writer).toBe('identity')
      const resumed = await buildProviders({mock: true, mockWriter: 3, resumeDir: chosen.runDir, cache: false, tts: false})
      expect(await generated(resumed.providers, 42)).toEqual(generateScript(IDENTITY, request(prompt(), 1000), 42))

      const byDefault = await mockTrainingRun(`${root}/default`, {maxTrials: 1, seed: 5})
      const config = RunManifest.parse(JSON.parse(await readFile(runPaths(byDefault.runDir).manifest, 'utf8'))).config
      expect(config.mock_writer).toBe(5)
    } finally {
      await removeDir(root)
    }
  })

  it('of a run.json from before writers were recorded is the one drawn from its seed', async () => {
    const {mock_writer: _writer, ...old} = RunConfig.parse({
      pairs_dir: '/p',
      output_dir: '/o',
      max_trials: 3,
      mock: true,
      seed: 8,
      weights: {duration: 0.25, coverage: 0.25, structure: 0.2, quality: 0.2, rouge: 0.1},
      window: 2,
      threshold: 0.05,
      concurrency: 4,
      holdout: null,
      holdout_ids: null,
      refiner: 'rule-based',
    })
    expect(RunConfig.parse(old).mock_writer).toBeNull()
    // No writer recorded: the mock draws it from each call's seed, which is the run's.
    expect(await generated(mockProviders({writer: RunConfig.parse(old).mock_writer ?? undefined}), 8)).toEqual(
      generateScript(drawPersonality(8), request(prompt(), 1000), 8),
    )
  })
})
