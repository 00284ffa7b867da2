import {describe, expect, it} from 'vitest'
import {z} from 'zod'

import {mockProviders} from '../../src/providers/mock/index.js'
import type {LanguageModel, StructuredAnswer, StructuredRequest} from '../../src/core/providers.js'
import {initialPrompt, promptHash} from '../../src/training/prompt.js'
import {
  buildEvidence,
  buildHistory,
  checkRefinedPrompt,
  durationError,
  proposeNext,
  refine,
  refineWithModel,
  RefinementRejectedError,
  structureDiff,
  weakestDimension,
  type HistoryEntry,
  type Refinement,
} from '../../src/training/optimise/index.js'
import {AggregateProfile, PairTrialResult, TrialResults} from '../../src/core/schemas/files.js'
import {LossBreakdown, type PromptSpec, type SegmentLabel} from '../../src/core/schemas/common.js'
import {RefineAnswer} from '../../src/core/schemas/answers.js'
import {parseJson} from '../helpers/json.js'
import {normalizeWeights} from '../../src/loss/index.js'

// ------------------------------------------------------------------ fixtures

const PROFILE = AggregateProfile.parse({
  pairs: 3,
  sequence: ['intro', 'background', 'method', 'findings', 'discussion', 'outro'],
  word_shares: {intro: 0.08, background: 0.2, method: 0.25, findings: 0.27, discussion: 0.15, outro: 0.05},
  time_shares: {intro: 0.08, background: 0.2, method: 0.25, findings: 0.27, discussion: 0.15, outro: 0.05},
  duration_seconds: 600,
  words: 1500,
  words_per_minute: 150,
  mean_sentence_words: 14,
  questions_per_minute: 1.2,
  turns_per_minute: 4,
  speakers: ['Alex', 'Sam'],
})
const PROMPT = initialPrompt(PROFILE)

const USAGE = {by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}}

function losses(total: number, partial: Partial<LossBreakdown> = {}): LossBreakdown {
  return LossBreakdown.parse({duration: 0.1, coverage: 0.2, structure: 0.3, quality: 0.4, rouge: 0.5, ...partial, total})
}

interface PairOptions {
  split?: 'train' | 'validation'
  generated_seconds?: number
  reference_seconds?: number
  missed?: string[]
  reference_sequence?: SegmentLabel[]
  generated_sequence?: SegmentLabel[]
  judge?: {engagement: number; clarity: number; accuracy: number; weakest_dimension_reason: string}
}

function pair(id: string, total: number, options: PairOptions = {}): PairTrialResult {
  const missed = options.missed ?? ['sparse attention']
  return PairTrialResult.parse({
    pair_id: id,
    status: 'ok',
    split: options.split ?? 'train',
    script_file: `${id}_script.txt`,
    losses: losses(total),
    details: {
      generated_words: 1200,
      generated_seconds: options.generated_seconds ?? 480,
      reference_seconds: options.reference_seconds ?? 600,
      reference_words_per_minute: 150,
      concepts_total: 8,
      concepts_explained: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].slice(0, 8 - missed.length),
      concepts_missed: missed,
      generated_sequence: options.generated_sequence ?? ['intro', 'method', 'findings', 'outro'],
      reference_sequence: options.reference_sequence ?? ['intro', 'background', 'method', 'findings', 'discussion', 'outro'],
      generated_word_shares: {intro: 0.1, method: 0.4, findings: 0.4, outro: 0.1},
      generated_questions_per_minute: 0.7,
      generated_mean_sentence_words: 18,
      judge: options.judge ?? {engagement: 70, clarity: 55, accuracy: 80, weakest_dimension_reason: 'long sentences full of jargon'},
      rouge: {rouge1: 0.3, rouge2: 0.1, rougeL: 0.2},
    },
    usage: USAGE,
  })
}

function trial(pairs: PairTrialResult[], index = 0): TrialResults {
  const train = pairs.filter((p) => p.split === 'train')
  const mean = train.reduce((s, p) => s + p.losses.total, 0) / Math.max(1, train.length)
  return TrialResults.parse({
    index,
    dir: `trial_${String(index).padStart(3, '0')}_x`,
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:01:00.000Z',
    prompt_sha256: promptHash(PROMPT),
    mean_losses: losses(mean),
    validation_mean_losses: null,
    pairs,
    usage: USAGE,
  })
}

function entry(index: number, total: number, prompt: PromptSpec = {...PROMPT, target_words: 1000 + index}): HistoryEntry {
  return {index, sha256: promptHash(prompt), prompt, mean_losses: losses(total)}
}

const TRIAL = trial([
  pair('alpha', 0.3),
  pair('beta', 0.5, {missed: ['graph', 'kernel']}),
  pair('gamma', 0.4),
  pair('delta', 0.5),
  pair('eps', 0.1),
])

/** A line of the history in a refine request: one earlier trial, as JSON. */
const HistoryLine = z.object({trial: z.number().int().nonnegative()})
const trialOf = (line: string): number => parseJson(line, HistoryLine).trial

/** A LanguageModel that records each request and answers with `answer(request)`. */
class FakeModel implements LanguageModel {
  readonly id = 'fake'
  readonly maxOutputTokens = 64_000
  readonly requests: Array<StructuredRequest<unknown>> = []
  constructor(private readonly answer: (request: StructuredRequest<unknown>) => unknown) {}

  async structured<T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> {
    this.requests.push(request)
    return {value: request.schema.parse(this.answer(request)), usage: {input_tokens: 100, output_tokens: 20}}
  }
}

/** The proposal with a new tone and roles: what a real model would typically do. */
function rewrite(proposal: PromptSpec, change: (p: PromptSpec) => void = () => {}): PromptSpec {
  const next = structuredClone(proposal)
  next.style.tone = 'warm and concrete'
  next.speakers = next.speakers.map((s) => ({...s, role: `${s.role}; uses everyday examples`}))
  change(next)
  return next
}

/** The step rule's proposal after one trial (TRIAL with PROMPT). */
function ruleProposal(results: TrialResults = TRIAL): Refinement & {evidence: string[]} {
  const outcome = proposeNext({
    trials: [{index: 0, prompt: PROMPT, step: null, results}],
    profile: PROFILE,
    weights: normalizeWeights(),
    paperWords: {},
  })
  if (outcome.kind !== 'proposal') throw new Error('expected a proposal')
  return {prompt: outcome.prompt, changes: outcome.changes, evidence: outcome.evidence}
}

/** A trial whose training mean total is `total`, scored with `prompt`. */
function trialWith(index: number, total: number, prompt: PromptSpec): TrialResults {
  return {...trial(TRIAL.pairs, index), prompt_sha256: promptHash(prompt), mean_losses: losses(total)}
}

// ------------------------------------------------------------------- history

describe('buildHistory', () => {
  it('keeps the 20 best of 25 prompts, worst first and best last', () => {
    const totals = Array.from({length: 25}, (_, i) => ((i * 7) % 25) / 50) // a permutation of 0, 0.02, ..., 0.48
    const history = buildHistory(totals.map((t, i) => entry(i, t)))
    expect(history).toHaveLength(20)
    const kept = history.map((h) => h.mean_losses.total)
    expect(kept).toEqual([...kept].sort((a, b) => b - a))
    expect(kept.at(-1)).toBe(0)
    expect(Math.max(...kept)).toBe(0.38) // 0.40 .. 0.48 are the 5 worst, dropped
    expect(
      buildHistory(
        totals.map((t, i) => entry(i, t)),
        5,
      ).map((h) => h.mean_losses.total),
    ).toEqual([0.08, 0.06, 0.04, 0.02, 0])
  })

  it('skips repeated prompts by hash, keeping the best-scoring occurrence', () => {
    const same = {...PROMPT, target_words: 777}
    const history = buildHistory([entry(0, 0.5), entry(1, 0.4, same), entry(2, 0.3), entry(3, 0.2, same), entry(4, 0.6, same)])
    expect(history.map((h) => h.index)).toEqual([0, 2, 3])
    expect(history.filter((h) => h.sha256 === promptHash(same))).toEqual([
      {index: 3, sha256: promptHash(same), prompt: same, mean_losses: losses(0.2)},
    ])
  })

  it('puts the earlier of equally good trials nearer the end (the one the report calls best), and is idempotent', () => {
    const history = buildHistory([entry(0, 0.5), entry(1, 0.2), entry(2, 0.2), entry(3, 0.2, {...PROMPT, target_words: 1001})])
    // Trial 3 repeats trial 1's prompt at the same loss: the earlier occurrence is kept.
    expect(history.map((h) => h.index)).toEqual([0, 2, 1])
    expect(buildHistory(history)).toEqual(history)
  })

  it('rejects a max below 1', () => {
    expect(() => buildHistory([], 0)).toThrow(RangeError)
  })
})

// ------------------------------------------------------------------ evidence

describe('structureDiff', () => {
  it('says identical for equal sequences', () => {
    expect(structureDiff(['intro', 'method'], ['intro', 'method'])).toMatchObject({missing: [], extra: [], moved: [], text: 'identical'})
  })

  it('lists missing and extra labels in an LCS alignment', () => {
    const diff = structureDiff(
      ['intro', 'background', 'method', 'findings', 'discussion', 'outro'],
      ['intro', 'method', 'findings', 'outro'],
    )
    expect(diff.missing).toEqual(['background', 'discussion'])
    expect(diff.extra).toEqual([])
    expect(diff.text).toBe('intro -background method findings -discussion outro')
    expect(structureDiff([], ['intro']).text).toBe('+intro')
    expect(structureDiff(['intro'], []).text).toBe('-intro')
  })

  it('names labels out of order as moved', () => {
    const diff = structureDiff(
      ['intro', 'background', 'method', 'findings', 'outro'],
      ['intro', 'method', 'background', 'findings', 'outro', 'discussion'],
    )
    expect(diff.ops.map((o) => o.op)).toEqual(['same', 'missing', 'same', 'extra', 'same', 'same', 'extra'])
    expect(diff).toMatchObject({missing: ['background'], extra: ['background', 'discussion'], moved: ['background']})
    expect(diff.text).toBe('intro -background method +background findings outro +discussion (moved: background)')
  })
})

describe('buildEvidence', () => {
  it('takes the worst pairs by total loss, equal totals by pair id', () => {
    expect(buildEvidence(TRIAL).map((e) => e.pair_id)).toEqual(['beta', 'delta', 'gamma'])
    expect(buildEvidence(TRIAL, 1).map((e) => e.pair_id)).toEqual(['beta'])
    expect(buildEvidence(TRIAL, 10)).toHaveLength(5)
    expect(buildEvidence(TRIAL, 0)).toEqual([])
  })

  it('never includes validation pairs', () => {
    const withValidation = trial([...TRIAL.pairs, pair('held-out', 0.99, {split: 'validation'})])
    expect(buildEvidence(withValidation, 10).map((e) => e.pair_id)).not.toContain('held-out')
  })

  it('gives concepts missed, sequences and diff, duration error and the weakest judge dimension', () => {
    const [beta] = buildEvidence(TRIAL, 1)
    expect(beta).toEqual({
      pair_id: 'beta',
      losses: losses(0.5),
      concepts_total: 8,
      concepts_missed: ['graph', 'kernel'],
      reference_sequence: ['intro', 'background', 'method', 'findings', 'discussion', 'outro'],
      generated_sequence: ['intro', 'method', 'findings', 'outro'],
      structure_diff: structureDiff(
        ['intro', 'background', 'method', 'findings', 'discussion', 'outro'],
        ['intro', 'method', 'findings', 'outro'],
      ),
      duration_error: {generated_seconds: 480, reference_seconds: 600, seconds: -120, percent: -20},
      weakest_dimension: {dimension: 'clarity', score: 55, reason: 'long sentences full of jargon'},
    })
  })

  it('computes signed duration errors, null percent without a reference duration', () => {
    expect(durationError(660.04, 600)).toEqual({generated_seconds: 660, reference_seconds: 600, seconds: 60, percent: 10})
    expect(durationError(12, 0)).toEqual({generated_seconds: 12, reference_seconds: 0, seconds: 12, percent: null})
  })

  it('picks the lowest judge score, the first of engagement, clarity, accuracy on ties', () => {
    expect(weakestDimension({engagement: 90, clarity: 80, accuracy: 40, weakest_dimension_reason: 'r'})).toEqual({
      dimension: 'accuracy',
      score: 40,
      reason: 'r',
    })
    expect(weakestDimension({engagement: 60, clarity: 60, accuracy: 60, weakest_dimension_reason: 'r'}).dimension).toBe('engagement')
    expect(weakestDimension({engagement: 70, clarity: 50, accuracy: 50, weakest_dimension_reason: 'r'}).dimension).toBe('clarity')
  })
})

// --------------------------------------------------------------- LLM refiner

describe('refineWithModel', () => {
  const {evidence: optimiser, ...proposal} = ruleProposal()
  const history = buildHistory([entry(0, 0.45), entry(1, 0.25), entry(2, 0.35)])
  const input = {current: PROMPT, proposal, history, evidence: buildEvidence(TRIAL), optimiser, profile: PROFILE, seed: 7}

  it('starts from a rule-based proposal that actually changes the plan', () => {
    expect(proposal.changes.length).toBeGreaterThan(2)
    expect(proposal.prompt.segment_plan).not.toEqual(PROMPT.segment_plan)
  })

  it('sends the history best last, the evidence, the current prompt and the proposal', async () => {
    const model = new FakeModel((r) =>
      r.task.kind === 'refine' ? {prompt: rewrite(r.task.proposal), changes: ['tone: warmer, since clarity scored lowest']} : null,
    )
    const result = await refineWithModel(input, model)
    expect(model.requests).toHaveLength(1)
    const request = model.requests[0]!
    expect(request).toMatchObject({
      role: 'refine',
      seed: 7,
      schema: RefineAnswer,
      task: {kind: 'refine', current: PROMPT, proposal: proposal.prompt, proposal_changes: proposal.changes},
    })
    const [system, user] = request.messages
    expect(system!.role).toBe('system')
    expect(system!.content).toMatch(/same speakers/)
    expect(system!.content).toMatch(/Never invent paper content/)
    expect(user!.role).toBe('user')
    const text = user!.content
    const lines = text.split('\n').filter((l) => l.startsWith('{"trial":'))
    expect(lines.map(trialOf)).toEqual([0, 2, 1])
    expect(JSON.parse(lines[2]!)).toMatchObject({losses: {total: 0.25, duration: 0.1, coverage: 0.2}, prompt: {target_words: 1001}})
    expect(text).toContain('Pair beta: total loss 0.5')
    expect(text).toContain('key concepts missed (2 of 8): graph; kernel')
    expect(text).toContain('diff (-missing +extra): intro -background method findings -discussion outro')
    expect(text).toContain('script 480 s vs reference 600 s (-120 s, -20%)')
    expect(text).toContain('weakest judge dimension: clarity 55/100: long sentences full of jargon')
    expect(text.indexOf('Pair beta')).toBeLessThan(text.indexOf('Pair delta'))
    expect(text).not.toContain('Pair alpha')
    expect(text).toContain(JSON.stringify(PROMPT.speakers))
    for (const change of proposal.changes) expect(text).toContain(change)
    expect(text).toContain("The optimiser's reading of the trials:")
    expect(text).toMatch(/- weighted losses at the base, largest first: /)
    expect(text).toMatch(/- length: scripts delivered [\d.]+ x the words asked/)
    expect(text.indexOf('Current prompt:')).toBeLessThan(text.indexOf('Rule-based proposal'))

    expect(result.prompt).toEqual(rewrite(proposal.prompt))
    expect(result.changes).toEqual(['llm: tone: warmer, since clarity scored lowest'])
    expect(result.usage).toEqual({input_tokens: 100, output_tokens: 20})
  })

  it('rejects an answer that invents a speaker', async () => {
    const model = new FakeModel(
      (r) =>
        r.task.kind === 'refine' && {prompt: rewrite(r.task.proposal, (p) => p.speakers.push({name: 'Zoe', role: 'guest'})), changes: []},
    )
    const error = await refineWithModel(input, model).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RefinementRejectedError)
    expect((error as Error).message).toMatch(/speaker\(s\) "Zoe" not in the current prompt \(its speakers: Alex, Sam\)/)
    expect((error as RefinementRejectedError).usage).toEqual({input_tokens: 100, output_tokens: 20})
  })

  it('rejects an answer that renames or drops a speaker', async () => {
    const model = new FakeModel(
      (r) =>
        r.task.kind === 'refine' && {
          prompt: rewrite(r.task.proposal, (p) => (p.speakers = [{name: 'Alex', role: 'narrator'}])),
          changes: [],
        },
    )
    await expect(refineWithModel(input, model)).rejects.toThrow(/speaker\(s\) "Sam" of the current prompt missing/)
  })

  it('rejects segment shares summing to 0.7', async () => {
    const model = new FakeModel(
      (r) =>
        r.task.kind === 'refine' && {
          prompt: rewrite(
            r.task.proposal,
            (p) =>
              (p.segment_plan = [
                {label: 'intro', share: 0.2},
                {label: 'findings', share: 0.5},
              ]),
          ),
          changes: [],
        },
    )
    await expect(refineWithModel(input, model)).rejects.toThrow(/segment_plan shares sum to 0\.7, not 1/)
  })

  it('rejects target_words outside 50..30000', async () => {
    const model = new FakeModel(
      (r) => r.task.kind === 'refine' && {prompt: rewrite(r.task.proposal, (p) => (p.target_words = 40)), changes: []},
    )
    await expect(refineWithModel(input, model)).rejects.toThrow(/target_words 40 is outside 50\.\.30000/)
  })

  it('renormalises shares summing to 0.98, and says so', async () => {
    const plan = [
      {label: 'intro', share: 0.1},
      {label: 'method', share: 0.49},
      {label: 'findings', share: 0.39},
    ] as const
    const model = new FakeModel(
      (r) =>
        r.task.kind === 'refine' && {
          prompt: rewrite(r.task.proposal, (p) => (p.segment_plan = plan.map((s) => ({...s})))),
          changes: ['fewer segments'],
        },
    )
    const result = await refineWithModel(input, model)
    const shares = result.prompt.segment_plan.map((s) => s.share)
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9)
    expect(shares.map((s, i) => s / plan[i]!.share)).toEqual(shares.map((): unknown => expect.closeTo(1 / 0.98, 9)))
    expect(result.prompt.segment_plan.map((s) => s.label)).toEqual(['intro', 'method', 'findings'])
    expect(result.changes).toEqual(['llm: fewer segments', "llm: segment_plan shares renormalised: the answer's summed to 0.98"])
  })

  it("accepts the proposal's own plan as it is, and drops changes that only repeat the proposal's", async () => {
    const model = new FakeModel((r) => r.task.kind === 'refine' && {prompt: r.task.proposal, changes: r.task.proposal_changes})
    const result = await refineWithModel(input, model)
    expect(result.prompt).toEqual(proposal.prompt)
    expect(result.changes).toEqual([])
  })
})

describe('checkRefinedPrompt', () => {
  const rounded = {
    ...PROMPT,
    segment_plan: [
      {label: 'intro', share: 0.3333},
      {label: 'method', share: 0.3333},
      {label: 'outro', share: 0.3333},
    ],
  } satisfies PromptSpec

  it("accepts a plan equal to the proposal's even when its 4-decimal shares miss 1 by 1e-4", () => {
    expect(checkRefinedPrompt(rounded, {current: PROMPT, proposal: rounded})).toEqual({prompt: rounded, notes: []})
  })

  it("renormalises the same plan when it is not the proposal's", () => {
    const {prompt, notes} = checkRefinedPrompt(rounded, {current: PROMPT, proposal: PROMPT})
    expect(prompt.segment_plan.map((s) => s.share)).toEqual([1 / 3, 1 / 3, 1 / 3].map((v): unknown => expect.closeTo(v, 12)))
    expect(notes).toEqual(["segment_plan shares renormalised: the answer's summed to 0.9999"])
  })

  it('lists every problem at once', () => {
    const bad = {
      ...PROMPT,
      target_words: 40_000,
      speakers: [
        {name: 'Alex', role: 'host'},
        {name: 'Alex', role: 'host'},
      ],
      segment_plan: [{label: 'intro', share: 0}],
    } satisfies PromptSpec
    const error = (() => {
      try {
        checkRefinedPrompt(bad, {current: PROMPT, proposal: PROMPT})
      } catch (e) {
        return e
      }
    })() as RefinementRejectedError
    expect(error.problems).toHaveLength(4)
    expect(error.message).toMatch(
      /^The LLM refiner's answer was rejected: segment_plan shares sum to 0, not 1 .*"Sam" of the current prompt missing; speaker\(s\) "Alex" listed more than once; target_words 40000 is outside 50\.\.30000$/,
    )
  })
})

// -------------------------------------------------------------------- refine

describe('refine', () => {
  const base = {
    trials: [{index: 0, prompt: PROMPT, step: null, results: TRIAL}],
    profile: PROFILE,
    weights: normalizeWeights(),
    paperWords: {},
    seed: 42,
  }
  const proposed = (result: Awaited<ReturnType<typeof refine>>) => {
    if (result.kind !== 'proposal') throw new Error(`expected a proposal, got a stop: ${result.reason}`)
    return result
  }

  it("'rule-based' is the step rule", async () => {
    const result = proposed(await refine({...base, mode: 'rule-based'}))
    const {evidence: _evidence, ...rule} = ruleProposal()
    expect({prompt: result.prompt, changes: result.changes}).toEqual(rule)
    expect(result.usage).toBeNull()
  })

  it("'rule-based+llm' with the mock model gives the rule-based prompt and changes", async () => {
    const ruleBased = proposed(await refine({...base, mode: 'rule-based'}))
    const model = mockProviders().languageModel('refine')
    const result = proposed(await refine({...base, mode: 'rule-based+llm', model}))
    expect(result.prompt).toEqual(ruleBased.prompt)
    expect(promptHash(result.prompt)).toBe(promptHash(ruleBased.prompt))
    expect(result.changes).toEqual(ruleBased.changes)
    expect(result.usage!.input_tokens).toBeGreaterThan(0)
  })

  it("'rule-based+llm' appends the model's changes to the rule-based ones", async () => {
    const model = new FakeModel((r) => r.task.kind === 'refine' && {prompt: rewrite(r.task.proposal), changes: ['warmer tone']})
    const result = proposed(await refine({...base, mode: 'rule-based+llm', model}))
    const ruleBased = ruleProposal()
    expect(result.prompt).toEqual(rewrite(ruleBased.prompt))
    expect(result.changes).toEqual([...ruleBased.changes, 'llm: warmer tone'])
  })

  it('keeps the rule-based proposal when the model answer is rejected, and says why', async () => {
    const model = new FakeModel(
      (r) => r.task.kind === 'refine' && {prompt: rewrite(r.task.proposal, (p) => (p.speakers[0]!.name = 'Zoe')), changes: []},
    )
    const result = proposed(await refine({...base, mode: 'rule-based+llm', model}))
    const ruleBased = ruleProposal()
    expect(result.prompt).toEqual(ruleBased.prompt)
    expect(result.changes.slice(0, -1)).toEqual(ruleBased.changes)
    expect(result.changes.at(-1)).toMatch(
      /^llm: answer rejected, kept the rule-based proposal: speaker\(s\) "Zoe" not in the current prompt/,
    )
    expect(result.usage).toEqual({input_tokens: 100, output_tokens: 20})
  })

  it('lets provider errors through', async () => {
    const model = new FakeModel(() => {
      throw new Error('network down')
    })
    await expect(refine({...base, mode: 'rule-based+llm', model})).rejects.toThrow('network down')
  })

  it("needs a model in 'rule-based+llm' mode", async () => {
    await expect(refine({...base, mode: 'rule-based+llm'})).rejects.toThrow(/needs a language model/)
  })

  it('never shows validation pairs to either refiner', async () => {
    const held = pair('held-out', 0.99, {split: 'validation', generated_seconds: 60, missed: ['secret concept']})
    const withValidation = trial([...TRIAL.pairs, held])
    const model = new FakeModel((r) => r.task.kind === 'refine' && {prompt: r.task.proposal, changes: []})
    const result = proposed(
      await refine({...base, trials: [{index: 0, prompt: PROMPT, step: null, results: withValidation}], mode: 'rule-based+llm', model}),
    )
    expect(result.prompt).toEqual(ruleProposal().prompt)
    const text = model.requests[0]!.messages.map((m) => m.content).join('\n')
    expect(text).not.toContain('held-out')
    expect(text).not.toContain('secret concept')
  })

  it('passes the history through buildHistory (dedupe, best last)', async () => {
    const model = new FakeModel((r) => r.task.kind === 'refine' && {prompt: r.task.proposal, changes: []})
    const prompts = [0, 1, 2, 3].map((i) => ({...PROMPT, target_words: 1000 + i}))
    prompts[3] = prompts[0]!
    await refine({
      ...base,
      trials: [0.2, 0.6, 0.1, 0.4].map((total, i) => ({
        index: i,
        prompt: prompts[i]!,
        step: null,
        results: trialWith(i, total, prompts[i]!),
      })),
      mode: 'rule-based+llm',
      model,
    })
    const lines = model.requests[0]!.messages[1]!.content.split('\n').filter((l) => l.startsWith('{"trial":'))
    // Trial 3 repeats trial 0's prompt: the better of the two (trial 0) is kept.
    expect(lines.map(trialOf)).toEqual([1, 0, 2])
  })
})
