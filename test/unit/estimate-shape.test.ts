import {describe, expect, it} from 'vitest'

import {estimateRun, type PairEstimateInput} from '../../src/training/estimate.js'
import {estimateTime} from '../../src/training/estimate-time.js'
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
