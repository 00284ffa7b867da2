/**
 * The step rule against simulated writers whose responses are known in closed form, so that
 * each property of the optimiser (base, revert, response model, probes, weights, stop) can be
 * checked without the mock provider.
 */
import {describe, expect, it} from 'vitest'

import {LossBreakdown, type PromptSpec, type SegmentLabel} from '../../src/core/schemas/common.js'
import {AggregateProfile, PairTrialResult, TrialResults} from '../../src/core/schemas/files.js'
import {normalizeWeights, totalLoss, type Weights} from '../../src/loss/index.js'
import {askedWords, fitLengthModel} from '../../src/training/length-model.js'
import {proposeNext, type OptimiserTrial} from '../../src/training/optimise/index.js'
import {initialPrompt, promptHash} from '../../src/training/prompt.js'

const LABELS: SegmentLabel[] = ['intro', 'method', 'findings', 'outro']
const PROFILE = AggregateProfile.parse({
  pairs: 4,
  sequence: LABELS,
  word_shares: {intro: 0.1, method: 0.4, findings: 0.4, outro: 0.1},
  time_shares: {intro: 0.1, method: 0.4, findings: 0.4, outro: 0.1},
  duration_seconds: 480,
  words: 1200,
  words_per_minute: 150,
  mean_sentence_words: 8,
  questions_per_minute: 2,
  turns_per_minute: 4,
  speakers: ['Host', 'Guest'],
})

interface Writer {
  /** delivered words = scale * asked^exponent */
  scale: number
  exponent: number
  questionRatio: number
  /** null: follows the ask times sentenceRatio; a number: always this length. */
  fixedSentence: number | null
  sentenceRatio: number
  stretch: Partial<Record<SegmentLabel, number>>
  /** The judge's ideals. */
  idealSentence: number
  idealQuestions: number
  /** Key concepts per paper (trial 0 asks for 3). */
  concepts?: number
}

const PAPERS = [
  {id: 'a', paperWords: 2000, referenceWords: 700},
  {id: 'b', paperWords: 4000, referenceWords: 1100},
  {id: 'c', paperWords: 6000, referenceWords: 1500},
  {id: 'd', paperWords: 8000, referenceWords: 1900},
]
const PAPER_WORDS = Object.fromEntries(PAPERS.map((p) => [p.id, p.paperWords]))
const LENGTH_MODEL = fitLengthModel(PAPERS.map((p) => ({paperWords: p.paperWords, episodeWords: p.referenceWords})))

/** A judge's score falls smoothly around its ideal: Gaussian in the log of the ratio (as LLM judges rate "a bit long" barely lower). */
function closeness(value: number, ideal: number): number {
  return Math.exp(-0.5 * (Math.log(value / ideal) / 0.4) ** 2)
}

/** Scores a prompt the way a trial would, against the writer's closed-form response. */
function simulate(index: number, prompt: PromptSpec, writer: Writer, weights: Weights): TrialResults {
  const planned: Partial<Record<SegmentLabel, number>> = {}
  for (const step of prompt.segment_plan) planned[step.label] = (planned[step.label] ?? 0) + step.share
  const raw = Object.fromEntries(Object.entries(planned).map(([l, s]) => [l, s * (writer.stretch[l as SegmentLabel] ?? 1)]))
  const sum = Object.values(raw).reduce((a, b) => a + b, 0)
  const delivered = Object.fromEntries(Object.entries(raw).map(([l, s]) => [l, s / sum])) as Partial<Record<SegmentLabel, number>>
  const tv = 0.5 * LABELS.reduce((s, l) => s + Math.abs((delivered[l] ?? 0) - (PROFILE.word_shares[l] ?? 0)), 0)
  const questions = prompt.style.questions_per_minute * writer.questionRatio
  const sentence = writer.fixedSentence ?? prompt.style.mean_sentence_words * writer.sentenceRatio
  const engagement = 40 + 60 * closeness(questions, writer.idealQuestions)
  const clarity = 40 + 60 * closeness(sentence, writer.idealSentence)
  const pairs = PAPERS.map((paper) => {
    const asked = askedWords(prompt, paper.paperWords)
    const words = Math.round(writer.scale * asked ** writer.exponent)
    const total = writer.concepts ?? 10
    const covered = Math.min(total, prompt.must_cover_concepts)
    const partial = {
      duration: Math.min(1, Math.abs(words - paper.referenceWords) / paper.referenceWords),
      coverage: 1 - covered / total,
      structure: tv / 2,
      quality: 1 - (engagement + clarity + 90) / 300,
      rouge: 0.7,
    }
    return PairTrialResult.parse({
      pair_id: paper.id,
      status: 'ok',
      split: 'train',
      script_file: `${paper.id}_script.txt`,
      losses: {...partial, total: totalLoss(partial, weights)},
      details: {
        asked_words: asked,
        generated_words: words,
        generated_seconds: (words / 150) * 60,
        reference_seconds: (paper.referenceWords / 150) * 60,
        reference_words_per_minute: 150,
        concepts_total: total,
        concepts_explained: [],
        concepts_missed: Array.from({length: total - covered}, (_, i) => `c${i}`),
        generated_sequence: LABELS,
        reference_sequence: LABELS,
        generated_word_shares: delivered,
        generated_questions_per_minute: questions,
        generated_mean_sentence_words: sentence,
        judge: {engagement, clarity, accuracy: 90, weakest_dimension_reason: 'x'},
        rouge: {rouge1: 0.3, rouge2: 0.3, rougeL: 0.3},
      },
      usage: {by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}},
    })
  })
  const keys = ['duration', 'coverage', 'structure', 'quality', 'rouge', 'total'] as const
  const mean_losses = LossBreakdown.parse(
    Object.fromEntries(keys.map((k) => [k, pairs.reduce((s, p) => s + p.losses[k], 0) / pairs.length])),
  )
  return TrialResults.parse({
    index,
    dir: `trial_${index}`,
    started_at: '2026-12-04T00:00:00Z',
    finished_at: '2026-12-04T00:00:00Z',
    prompt_sha256: promptHash(prompt),
    mean_losses,
    validation_mean_losses: null,
    pairs,
    failed: [],
    usage: {by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}},
  })
}

/** Runs the step rule for up to `count` trials; returns the trials and why it stopped, if it did. */
function train(writer: Writer, count = 8, weights: Weights = normalizeWeights()) {
  const trials: OptimiserTrial[] = []
  let prompt = initialPrompt(PROFILE, LENGTH_MODEL)
  let step: OptimiserTrial['step'] = null
  let stop: string | null = null
  for (let i = 0; i < count; i++) {
    trials.push({index: i, prompt, step, results: simulate(i, prompt, writer, weights)})
    if (i + 1 === count) break
    const outcome = proposeNext({trials, profile: PROFILE, weights, paperWords: PAPER_WORDS})
    if (outcome.kind === 'stop') {
      stop = outcome.reason
      break
    }
    prompt = outcome.prompt
    step = outcome.step
  }
  return {trials, stop, totals: trials.map((t) => t.results.mean_losses.total)}
}

const IDENTITY: Writer = {
  scale: 1,
  exponent: 1,
  questionRatio: 1,
  fixedSentence: null,
  sentenceRatio: 1,
  stretch: {},
  idealSentence: 8,
  idealQuestions: 2,
}

describe('proposeNext', () => {
  it('learns a proportional length bias in about one step', () => {
    const {trials} = train({...IDENTITY, scale: 0.7}, 3)
    expect(trials[0]!.results.mean_losses.duration).toBeGreaterThan(0.25)
    expect(trials[1]!.results.mean_losses.duration).toBeLessThan(0.03)
  })

  it('learns a writer that under-delivers long requests (delivered = 3 x asked^0.8)', () => {
    const {trials} = train({...IDENTITY, scale: 3, exponent: 0.8}, 8)
    const best = Math.min(...trials.map((t) => t.results.mean_losses.duration))
    expect(trials[0]!.results.mean_losses.duration).toBeGreaterThan(0.1)
    expect(best).toBeLessThan(0.03)
    // The length rule's exponent moved toward 1 / 0.8.
    expect(trials.at(-1)!.prompt.length!.exponent).toBeGreaterThan(1.1)
  })

  it('moves the segment plan so that a stretching writer delivers the reference shares', () => {
    const {trials} = train({...IDENTITY, stretch: {intro: 2, method: 0.7}}, 4)
    expect(trials[0]!.results.mean_losses.structure).toBeGreaterThan(0.05)
    expect(Math.min(...trials.slice(1).map((t) => t.results.mean_losses.structure))).toBeLessThan(0.005)
  })

  it('probes sentence length toward the judge, not toward the human episodes', () => {
    // Humans speak 8-word sentences; this judge wants 14.
    const {trials} = train({...IDENTITY, idealSentence: 14}, 8)
    const asked = trials.map((t) => t.prompt.style.mean_sentence_words)
    expect(asked[0]).toBe(8)
    expect(Math.max(...asked)).toBeGreaterThan(10)
    const quality = trials.map((t) => t.results.mean_losses.quality)
    expect(Math.min(...quality)).toBeLessThan(quality[0]! - 0.02)
  })

  it('starts every step from the best trial so far, reverting a worse one', () => {
    const {trials} = train({...IDENTITY, scale: 0.8, idealSentence: 14}, 8)
    for (const trial of trials.slice(1)) {
      const before = trials.filter((t) => t.index < trial.index)
      const best = before.reduce((a, b) => (b.results.mean_losses.total < a.results.mean_losses.total ? b : a))
      expect(trial.step!.base_trial).toBe(best.index)
    }
  })

  it('leaves alone an instruction the writer ignores, once its probes show it', () => {
    const {trials} = train({...IDENTITY, fixedSentence: 11, idealSentence: 16}, 8)
    const sentenceProbes = trials.filter((t) => t.step?.probe?.knob === 'mean_sentence_words')
    // Up, then down: three different asks, and what the writer delivered did not move.
    expect(sentenceProbes.length).toBe(2)
    // Back to where it was, never pushed to a bound.
    expect(trials.at(-1)!.prompt.style.mean_sentence_words).toBe(8)
  })

  it('never acts on a component whose weight is 0', () => {
    const weights = normalizeWeights({duration: 0, quality: 0})
    const {trials} = train({...IDENTITY, scale: 0.6, idealSentence: 14, stretch: {intro: 2}}, 5, weights)
    for (const t of trials) {
      expect(t.prompt.target_words).toBe(trials[0]!.prompt.target_words)
      expect(t.prompt.length).toEqual(trials[0]!.prompt.length)
      expect(t.prompt.style.mean_sentence_words).toBe(8)
      expect(t.prompt.style.questions_per_minute).toBe(2)
      expect(t.step?.probe ?? null).toBeNull()
    }
    // Structure and coverage still move.
    expect(trials[1]!.prompt.must_cover_concepts).toBe(10)
  })

  it('with the identity writer, no trial is more than 2% worse than trial 0', () => {
    // Nothing to correct (3 concepts, all asked for): every trial after 0 is a probe.
    const {trials, totals} = train({...IDENTITY, concepts: 3}, 8)
    expect(trials.slice(1).every((t) => t.step?.probe)).toBe(true)
    for (const total of totals.slice(1)) expect(total).toBeLessThanOrEqual(totals[0]! * 1.02)
  })

  it('stops, saying why, when nothing is left to correct or probe', () => {
    const weights = normalizeWeights({quality: 0})
    const {trials, stop} = train(IDENTITY, 8, weights)
    expect(trials.length).toBeLessThan(8)
    expect(stop).toMatch(/quality has weight 0/)
  })

  it('is a pure function of the trials: the same trials give the same proposal', () => {
    const {trials} = train({...IDENTITY, scale: 0.8, idealSentence: 12}, 5)
    const input = {trials, profile: PROFILE, weights: normalizeWeights(), paperWords: PAPER_WORDS}
    expect(proposeNext(input)).toEqual(proposeNext(structuredClone(input)))
  })

  it('never reads validation pairs for its response model', () => {
    const {trials} = train({...IDENTITY, scale: 0.8}, 2)
    const poisoned = trials.map((t) => ({
      ...t,
      results: {
        ...t.results,
        pairs: [
          ...t.results.pairs,
          {
            ...t.results.pairs[0]!,
            pair_id: 'v',
            split: 'validation' as const,
            details: {...t.results.pairs[0]!.details, generated_words: 99_999},
          },
        ],
      },
    }))
    const clean = proposeNext({trials, profile: PROFILE, weights: normalizeWeights(), paperWords: PAPER_WORDS})
    const withValidation = proposeNext({trials: poisoned, profile: PROFILE, weights: normalizeWeights(), paperWords: PAPER_WORDS})
    expect(withValidation.kind === 'proposal' && withValidation.prompt.target_words).toBe(
      clean.kind === 'proposal' && clean.prompt.target_words,
    )
  })
})
