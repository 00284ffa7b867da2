/**
 * What a run will call and roughly what it will cost, before it makes any call:
 * for --dry-run, and for --max-cost to stop before a trial would exceed the budget.
 * Pure: token counts are estimated from text lengths (about 4 characters a token)
 * and episode durations (speech at about 150 words a minute).
 */
import {stat} from 'node:fs/promises'

import {costUsd} from '../providers/prices.js'
import {describeError, StudioError} from '../core/errors.js'
import type {Providers} from '../core/providers.js'
import {audioDurationSeconds} from '../media/audio.js'
import {checkEpisodeDuration, DEFAULT_SIZE_LIMITS, type SizeLimits} from '../media/limits.js'
import {DEFAULT_CHUNK_BYTES} from '../media/mp3-frames.js'
import type {PaperTextCache} from '../media/paper-cache.js'
import {readPaper, type Paper} from '../media/paper.js'
import {readSidecar} from '../media/sidecar.js'
import {CHARS_PER_TOKEN, DEFAULT_TOKEN_BUDGETS} from './budget.js'
import {MAX_KEY_CONCEPTS} from './stages/analyse.js'
import {judgeOutputTokens} from './stages/evaluate.js'
import {inputAllowance} from './fit-request.js'
import {expectedScriptTokens, partsNeeded} from './write-script.js'
import type {PairFiles} from '../core/schemas/inputs.js'
import {ROLES, type RefinerMode, type UsageRole} from '../core/schemas/common.js'

export const WORDS_PER_MINUTE = 150
const CHARS_PER_WORD = 6

export interface PairEstimateInput {
  id: string
  paperChars: number
  durationSeconds: number
  episodeBytes: number
  /** A sidecar transcript: no transcription call. */
  hasSidecar: boolean
}

export interface RoleEstimate {
  role: UsageRole
  model: string
  calls: number
  input_tokens: number
  output_tokens: number
  audio_seconds: number
  characters: number
  /** Of input_tokens, read from the prompt cache (a script's parts after the first): 0.1x the price, and outside Anthropic's input tokens per minute. */
  cache_read_tokens: number
  /** Of input_tokens, written to the prompt cache (a script's first part): 1.25x the price. */
  cache_write_tokens: number
  /** null when the model has no price in the table. */
  cost_usd: number | null
  /** The same calls through the batch APIs (--batch): half the token price for the roles that batch. */
  batch_cost_usd: number | null
}

export interface RunEstimate {
  roles: RoleEstimate[]
  /** The calls of the ingest, of one trial and of one refinement (for the wall-time estimate). */
  phases: {ingest: RoleEstimate[]; trial: RoleEstimate[]; refine: RoleEstimate[]}
  calls: number
  cost_usd: number | null
  /** Parts of the run, for --max-cost: the ingest and analysis, one trial, one refinement. */
  ingest_cost_usd: number | null
  trial_cost_usd: number | null
  refine_cost_usd: number | null
  /** The same, with --batch: the model roles at the batch price, transcription and speech as above. */
  batch: {cost_usd: number | null; ingest_cost_usd: number | null; trial_cost_usd: number | null; refine_cost_usd: number | null}
}

export interface RunEstimateInput {
  pairs: PairEstimateInput[]
  maxTrials: number
  refiner: RefinerMode
  tts: boolean
  /** Model id (`provider:model`) per role. */
  models: Record<UsageRole, string>
  /** What the account's rate limits allow one request (see requestShape); none under --mock. */
  shape?: RequestShape
}

/**
 * The largest requests the account admits, as they shape the calls: a script whose
 * answer is over `generateOutputCap` is written in parts, and the judge's paper is
 * condensed so that its request stays within `judgeInputAllowance`.
 */
export interface RequestShape {
  generateOutputCap: number
  judgeInputAllowance: number | null
}

/** The judge's max_tokens with the most key concepts a pair can have. */
const JUDGE_OUTPUT_TOKENS = judgeOutputTokens(MAX_KEY_CONCEPTS)

/** The request shape of the run's models: from their caps and the account's limits. */
export function requestShape(providers: Providers): RequestShape {
  const judge = providers.languageModel('judge')
  return {
    generateOutputCap: providers.languageModel('generate').maxOutputTokens,
    judgeInputAllowance: inputAllowance(judge, JUDGE_OUTPUT_TOKENS),
  }
}

type Tally = Omit<RoleEstimate, 'cost_usd' | 'batch_cost_usd'>

/** The roles whose calls --batch sends through a batch API: every language-model role; transcription and speech stay synchronous. */
const BATCHED_ROLES: ReadonlySet<UsageRole> = new Set<UsageRole>(ROLES)

/** A tally's cost, at the batch price when `batch` and its role batches. */
function tallyCost(t: Tally, batch: boolean): number | null {
  return costUsd(t.model, {...t, batch: batch && BATCHED_ROLES.has(t.role)})
}

/** Calls of one role for one pair: once per run (`ingest`: transcription and analysis) or in every trial. */
interface PairCalls {
  phase: 'ingest' | 'trial'
  role: UsageRole
  calls: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens?: number
  cache_write_tokens?: number
  audio_seconds?: number
  characters?: number
}

/** The tokens one pair costs, for --dry-run's table per pair. */
export interface PairTokenEstimate {
  id: string
  /** Transcription and analysis (classify, concepts): once per run. */
  ingest: {input_tokens: number; output_tokens: number}
  /** Its script and its judging (generate, judge): in every trial. */
  per_trial: {input_tokens: number; output_tokens: number}
}

function tokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN)
}

function sumCost(tallies: Tally[], batch = false): number | null {
  let total = 0
  for (const t of tallies) {
    const cost = tallyCost(t, batch)
    if (cost === null) return null
    total += cost
  }
  return total
}

export function estimateRun(input: RunEstimateInput): RunEstimate {
  const ingest = new Map<UsageRole, Tally>()
  const trial = new Map<UsageRole, Tally>()
  const refinement = new Map<UsageRole, Tally>()
  const add = (
    into: Map<UsageRole, Tally>,
    role: UsageRole,
    calls: number,
    inputTokens: number,
    outputTokens: number,
    extra: {audio_seconds?: number; characters?: number; cache_read_tokens?: number; cache_write_tokens?: number} = {},
  ) => {
    const t = into.get(role) ?? {
      role,
      model: input.models[role],
      calls: 0,
      input_tokens: 0,
      output_tokens: 0,
      audio_seconds: 0,
      characters: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    }
    t.calls += calls
    t.input_tokens += inputTokens
    t.output_tokens += outputTokens
    t.audio_seconds += extra.audio_seconds ?? 0
    t.characters += extra.characters ?? 0
    t.cache_read_tokens += extra.cache_read_tokens ?? 0
    t.cache_write_tokens += extra.cache_write_tokens ?? 0
    into.set(role, t)
  }

  for (const pair of input.pairs) {
    for (const c of pairCalls(pair, input.tts, input.shape))
      add(c.phase === 'ingest' ? ingest : trial, c.role, c.calls, c.input_tokens, c.output_tokens, c)
  }
  if (input.refiner === 'rule-based+llm') add(refinement, 'refine', 1, 4000, 1500)

  const refinements = Math.max(0, input.maxTrials - 1)
  const all = new Map<UsageRole, Tally>()
  const scale = (from: Map<UsageRole, Tally>, times: number) => {
    for (const t of from.values()) {
      add(all, t.role, t.calls * times, t.input_tokens * times, t.output_tokens * times, {
        audio_seconds: t.audio_seconds * times,
        characters: t.characters * times,
        cache_read_tokens: t.cache_read_tokens * times,
        cache_write_tokens: t.cache_write_tokens * times,
      })
    }
  }
  scale(ingest, 1)
  scale(trial, input.maxTrials)
  scale(refinement, refinements)

  const priced = (tallies: Map<UsageRole, Tally>) =>
    [...tallies.values()].map((t) => ({...t, cost_usd: tallyCost(t, false), batch_cost_usd: tallyCost(t, true)}))
  const roles = priced(all)
  const costs = (batch: boolean) => ({
    cost_usd: sumCost([...all.values()], batch),
    ingest_cost_usd: sumCost([...ingest.values()], batch),
    trial_cost_usd: sumCost([...trial.values()], batch),
    refine_cost_usd: sumCost([...refinement.values()], batch),
  })
  return {
    roles,
    phases: {ingest: priced(ingest), trial: priced(trial), refine: priced(refinement)},
    calls: roles.reduce((n, r) => n + r.calls, 0),
    ...costs(false),
    batch: costs(true),
  }
}

/** The calls one pair makes: the single definition of the estimate's formulas (TRAINING.md, "--dry-run"). */
function pairCalls(pair: PairEstimateInput, tts: boolean, shape?: RequestShape): PairCalls[] {
  const calls: PairCalls[] = []
  const spokenWords = (pair.durationSeconds / 60) * WORDS_PER_MINUTE
  const transcriptChars = spokenWords * CHARS_PER_WORD
  const paperTokens = tokens(pair.paperChars)
  if (!pair.hasSidecar) {
    const uploads = Math.max(1, Math.ceil(pair.episodeBytes / DEFAULT_CHUNK_BYTES))
    calls.push({
      phase: 'ingest',
      role: 'transcribe',
      calls: uploads,
      input_tokens: 0,
      output_tokens: 0,
      audio_seconds: pair.durationSeconds,
    })
  }
  // One label (about a dozen tokens of JSON) per ~5 s segment.
  const labels = Math.ceil(pair.durationSeconds / 5) * 12
  calls.push({phase: 'ingest', role: 'classify', calls: 1, input_tokens: tokens(transcriptChars) + 300, output_tokens: labels})
  const conceptCalls = Math.max(1, Math.ceil(paperTokens / DEFAULT_TOKEN_BUDGETS.concepts))
  calls.push({
    phase: 'ingest',
    role: 'concepts',
    calls: conceptCalls,
    input_tokens: paperTokens + 200 * conceptCalls,
    output_tokens: 300 * conceptCalls,
  })

  const generateInput = Math.min(paperTokens, DEFAULT_TOKEN_BUDGETS.generate) + 600
  const scriptTokens = expectedScriptTokens(spokenWords)
  const parts = shape ? partsNeeded(spokenWords, shape.generateOutputCap) : 1
  if (parts === 1) {
    calls.push({phase: 'trial', role: 'generate', calls: 1, input_tokens: generateInput, output_tokens: scriptTokens})
  } else {
    // In parts (write-script.ts): each sends the prompt and paper (cached: written by the
    // first, read by the others) and the script so far (as text, on average half of it).
    const soFar = Math.ceil(((scriptTokens * 0.7) / 2) * parts)
    calls.push({
      phase: 'trial',
      role: 'generate',
      calls: parts,
      input_tokens: generateInput * parts + soFar + 300 * parts,
      output_tokens: scriptTokens + 200 * (parts - 1),
      cache_write_tokens: generateInput,
      cache_read_tokens: generateInput * (parts - 1),
    })
  }
  // The judge reads the script as text (about two thirds of its JSON) and answers briefly;
  // its paper is condensed when the account's limit on one request's input says so.
  const judgeWhole = Math.min(paperTokens, DEFAULT_TOKEN_BUDGETS.judge) + Math.ceil(scriptTokens * 0.7) + 300
  const judgeInput = shape?.judgeInputAllowance ? Math.min(judgeWhole, shape.judgeInputAllowance) : judgeWhole
  calls.push({phase: 'trial', role: 'judge', calls: 1, input_tokens: judgeInput, output_tokens: 400})
  if (tts) {
    const characters = Math.ceil(spokenWords * CHARS_PER_WORD)
    const requests = Math.max(1, Math.ceil((spokenWords * CHARS_PER_WORD) / 4000))
    calls.push({phase: 'trial', role: 'speech', calls: requests, input_tokens: 0, output_tokens: 0, characters})
  }
  return calls
}

/**
 * --dry-run's tokens per pair: what each pair's transcription and analysis take once, and
 * its script and judging in every trial; from the same formulas as estimateRun.
 */
export function estimatePerPair(pairs: ReadonlyArray<PairEstimateInput>, shape?: RequestShape): PairTokenEstimate[] {
  return pairs.map((pair) => {
    const ingest = {input_tokens: 0, output_tokens: 0}
    const perTrial = {input_tokens: 0, output_tokens: 0}
    // Speech is counted in characters, transcription in seconds: neither adds tokens.
    for (const c of pairCalls(pair, false, shape)) {
      const into = c.phase === 'ingest' ? ingest : perTrial
      into.input_tokens += c.input_tokens
      into.output_tokens += c.output_tokens
    }
    return {id: pair.id, ingest, per_trial: perTrial}
  })
}

/**
 * How many batches a --batch run waits for, one after the other: a phase's next batch
 * goes out only when its previous one has answered (TRAINING.md, "Batch mode"). At ingest
 * a pair's classify call and its first concepts call share a batch, and the chunks of a
 * long paper follow one batch each; in a trial the parts of a long script follow one
 * another, then the judge; a refinement is one batch. The pair that needs the most decides.
 */
export interface BatchRounds {
  ingest: number
  per_trial: number
  per_refinement: number
  total: number
}

export function batchRounds(
  pairs: ReadonlyArray<PairEstimateInput>,
  options: {maxTrials: number; refiner: RefinerMode; shape?: RequestShape},
): BatchRounds {
  let ingest = 0
  let perTrial = 0
  for (const pair of pairs) {
    const calls = pairCalls(pair, false, options.shape)
    const count = (role: UsageRole) => calls.find((c) => c.role === role)?.calls ?? 0
    ingest = Math.max(ingest, count('concepts'), count('classify'))
    perTrial = Math.max(perTrial, count('generate') + count('judge'))
  }
  const perRefinement = options.refiner === 'rule-based+llm' ? 1 : 0
  const refinements = Math.max(0, options.maxTrials - 1)
  return {
    ingest,
    per_trial: perTrial,
    per_refinement: perRefinement,
    total: ingest + options.maxTrials * perTrial + refinements * perRefinement,
  }
}

/** A pair an estimate leaves out, and why: the reason the run would skip it with. */
export interface UnusablePair {
  id: string
  reason: string
  /** The fix for `reason` (the error's hint); absent when there is none. */
  hint?: string
}

/**
 * The facts an estimate needs about each pair: paper length, episode duration and size.
 * A pair whose files cannot be used (unreadable, or over the size limits) is left out, with
 * the reason the run would skip it with.
 */
export async function pairEstimateInputs(
  pairs: ReadonlyArray<PairFiles>,
  options: {read?: (file: string) => Promise<Paper>; limits?: SizeLimits; paperCache?: PaperTextCache | null} = {},
): Promise<{pairs: PairEstimateInput[]; skipped: UnusablePair[]}> {
  const limits = options.limits ?? DEFAULT_SIZE_LIMITS
  const read = options.read ?? ((file: string) => readPaper(file, limits, {cache: options.paperCache ?? null}))
  const outcomes = await Promise.all(
    pairs.map(async (pair): Promise<PairEstimateInput | UnusablePair> => {
      try {
        const [paper, durationSeconds, info] = await Promise.all([
          read(pair.pdf),
          audioDurationSeconds(pair.mp3).then((seconds) => checkEpisodeDuration(pair.mp3, seconds, limits)),
          stat(pair.mp3),
          pair.sidecar ? readSidecar(pair.sidecar.path, pair.sidecar.format, limits) : null,
        ])
        return {id: pair.id, paperChars: paper.body.length, durationSeconds, episodeBytes: info.size, hasSidecar: pair.sidecar !== null}
      } catch (error) {
        return {id: pair.id, reason: describeError(error), ...(error instanceof StudioError && error.hint ? {hint: error.hint} : {})}
      }
    }),
  )
  return {
    pairs: outcomes.filter((o): o is PairEstimateInput => 'paperChars' in o),
    skipped: outcomes.filter((o): o is UnusablePair => 'reason' in o),
  }
}

/** Model id per usage role, as the providers report them. */
export function modelIds(providers: Providers): Record<UsageRole, string> {
  return {
    classify: providers.languageModel('classify').id,
    concepts: providers.languageModel('concepts').id,
    generate: providers.languageModel('generate').id,
    judge: providers.languageModel('judge').id,
    refine: providers.languageModel('refine').id,
    transcribe: providers.transcriber.id,
    speech: providers.speech?.id ?? 'none',
  }
}
