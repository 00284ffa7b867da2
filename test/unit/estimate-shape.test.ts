import {describe, expect, it} from 'vitest'

import {batchRounds, estimateRun, type PairEstimateInput} from '../../src/training/estimate.js'
import {BATCH_LIKELY_SECONDS, BATCH_WINDOW_SECONDS, estimateBatchTime, estimateTime} from '../../src/training/estimate-time.js'
import {costUsd} from '../../src/providers/prices.js'
import {partsNeeded} from '../../src/training/write-script.js'

// An hour-long episode (a ~9,000-word script, about 18,300 output tokens) and a 25-page paper.
const pair: PairEstimateInput = {id: 'hour', paperChars: 80_000, durationSeconds: 3600, episodeBytes: 3_600_000, hasSidecar: true}
const models = {
  transcribe: 'openai:whisper-1',
  classify: 'anthropic:claude-sonnet-4-6',
  concepts: 'anthropic:claude-sonnet-4-6',
  generate: 'anthropic:claude-sonnet-4-6',
  judge: 'anthropic:claude-sonnet-4-6',
  refine: 'anthropic:claude-sonnet-4-6',
  speech: 'openai:tts-1',
}
const base = {pairs: [pair], maxTrials: 1, refiner: 'rule-based' as const, tts: false, models}
const role = (estimate: ReturnType<typeof estimateRun>, name: string) => estimate.roles.find((r) => r.role === name)!

describe('the estimate under an account that caps one request', () => {
  it('counts the parts a script is written in, their cache writes and reads, and the judge paper condensed to fit', () => {
    const free = estimateRun(base)
    const tier1 = estimateRun({...base, shape: {generateOutputCap: 8000, judgeInputAllowance: 27_000}})
    expect(role(free, 'generate').calls).toBe(1)
    expect(role(tier1, 'generate').calls).toBe(partsNeeded(9000, 8000))
    expect(role(tier1, 'generate').calls).toBeGreaterThanOrEqual(4)
    // The paper goes with every part; after the first, it is read from the cache.
    const generate = role(tier1, 'generate')
    expect(generate.cache_write_tokens).toBe(role(free, 'generate').input_tokens)
    expect(generate.cache_read_tokens).toBe(generate.cache_write_tokens * (generate.calls - 1))
    expect(role(free, 'judge').input_tokens).toBeGreaterThan(27_000)
    expect(role(tier1, 'judge').input_tokens).toBe(27_000)
    // Cache reads cost a tenth: the parts cost more than one answer, but far less than the paper sent whole each time.
    const price = (e: ReturnType<typeof estimateRun>) => role(e, 'generate').cost_usd!
    expect(price(tier1)).toBeGreaterThan(price(free))
    expect(price(tier1)).toBeLessThan(price(free) * 1.5)
  })

  it("Anthropic's input tokens per minute leave cache reads out of the time estimate", () => {
    const tier1 = estimateRun({
      ...base,
      pairs: Array.from({length: 10}, (_, i) => ({...pair, id: `p${i}`})),
      shape: {generateOutputCap: 8000, judgeInputAllowance: 27_000},
    })
    const providerOf = Object.fromEntries(Object.keys(models).map((r) => [r, 'anthropic'])) as Parameters<
      typeof estimateTime
    >[0]['providerOf']
    const time = estimateTime({
      estimate: tier1,
      pairs: 10,
      maxTrials: 1,
      concurrency: 4,
      providerOf,
      limits: {anthropic: {input_tokens_per_minute: 30_000}},
    })
    const trial = tier1.phases.trial
    const charged = trial.reduce((n, r) => n + r.input_tokens - r.cache_read_tokens, 0)
    expect(time.trial.seconds).toBe(Math.round((charged / 30_000) * 60))
    expect(time.trial.bound_by).toBe('anthropic input tokens per minute (30,000)')
  })
})

describe('the estimate with --batch', () => {
  it('prices the model roles at half, transcription and speech in full', () => {
    const estimate = estimateRun({...base, pairs: [{...pair, hasSidecar: false}], tts: true, maxTrials: 3})
    for (const r of estimate.roles) {
      const batched = ['classify', 'concepts', 'generate', 'judge'].includes(r.role)
      expect(r.batch_cost_usd, r.role).toBeCloseTo(batched ? r.cost_usd! / 2 : r.cost_usd!, 12)
    }
    const whisper = role(estimate, 'transcribe').cost_usd! + role(estimate, 'speech').cost_usd!
    expect(estimate.batch.cost_usd).toBeCloseTo((estimate.cost_usd! - whisper) / 2 + whisper, 12)
    expect(estimate.batch.ingest_cost_usd! + 3 * estimate.batch.trial_cost_usd!).toBeCloseTo(estimate.batch.cost_usd!, 12)
    // The cache factors apply on top of the batch price, as the providers bill them.
    const parts = estimateRun({...base, shape: {generateOutputCap: 8000, judgeInputAllowance: null}})
    const generate = role(parts, 'generate')
    expect(generate.batch_cost_usd).toBeCloseTo(costUsd(generate.model, {...generate, batch: true})!, 12)
    expect(generate.batch_cost_usd).toBeCloseTo(generate.cost_usd! / 2, 12)
  })

  it('counts the rounds of batches a run waits for: the chunks of a long paper, the parts of a long script, the judge, the refiner', () => {
    const short: PairEstimateInput = {id: 'short', paperChars: 20_000, durationSeconds: 600, episodeBytes: 600_000, hasSidecar: true}
    expect(batchRounds([short], {maxTrials: 3, refiner: 'rule-based'})).toEqual({ingest: 1, per_trial: 2, per_refinement: 0, total: 7})
    // A 100-page paper: its concepts are asked chunk after chunk; an hour-long script in 8,000-token parts.
    const long: PairEstimateInput = {...pair, id: 'long', paperChars: 400_000}
    const rounds = batchRounds([short, long], {
      maxTrials: 3,
      refiner: 'rule-based+llm',
      shape: {generateOutputCap: 8000, judgeInputAllowance: null},
    })
    expect(rounds.ingest).toBe(2)
    expect(rounds.per_trial).toBe(partsNeeded(9000, 8000) + 1)
    expect(rounds.per_refinement).toBe(1)
    expect(rounds.total).toBe(2 + 3 * rounds.per_trial + 2)
    const time = estimateBatchTime(rounds, 120)
    expect(time.likely_seconds).toBe(rounds.total * BATCH_LIKELY_SECONDS + 120)
    expect(time.worst_seconds).toBe(rounds.total * BATCH_WINDOW_SECONDS + 120)
  })
})
