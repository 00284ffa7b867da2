/**
 * What a run will call and roughly what it will cost, before it makes any call:
 * for --dry-run, and for --max-cost to stop before a trial would exceed the budget.
 * Pure: token counts are estimated from text lengths (about 4 characters a token)
 * and episode durations (speech at about 150 words a minute).
 */
import {stat} from 'node:fs/promises'

import {costUsd} from '../providers/prices.js'
import type {Providers} from '../core/providers.js'
import {audioDurationSeconds} from '../media/audio.js'
import {DEFAULT_CHUNK_BYTES} from '../media/mp3-frames.js'
import {readPaper, type Paper} from '../media/paper.js'
import {CHARS_PER_TOKEN, DEFAULT_TOKEN_BUDGETS} from './budget.js'
import {expectedScriptTokens} from './write-script.js'
import type {PairFiles} from '../core/schemas/inputs.js'
import type {RefinerMode, UsageRole} from '../core/schemas/common.js'

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
  /** null when the model has no price in the table. */
  cost_usd: number | null
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
}

export interface RunEstimateInput {
  pairs: PairEstimateInput[]
  maxTrials: number
  refiner: RefinerMode
  tts: boolean
  /** Model id (`provider:model`) per role. */
  models: Record<UsageRole, string>
}

type Tally = Omit<RoleEstimate, 'cost_usd'>

function tokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN)
}

function sumCost(tallies: Tally[]): number | null {
  let total = 0
  for (const t of tallies) {
    const cost = costUsd(t.model, t)
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
    extra: {audio_seconds?: number; characters?: number} = {},
  ) => {
    const t = into.get(role) ?? {
      role,
      model: input.models[role],
      calls: 0,
      input_tokens: 0,
      output_tokens: 0,
      audio_seconds: 0,
      characters: 0,
    }
    t.calls += calls
    t.input_tokens += inputTokens
    t.output_tokens += outputTokens
    t.audio_seconds += extra.audio_seconds ?? 0
    t.characters += extra.characters ?? 0
    into.set(role, t)
  }

  for (const pair of input.pairs) {
    const spokenWords = (pair.durationSeconds / 60) * WORDS_PER_MINUTE
    const transcriptChars = spokenWords * CHARS_PER_WORD
    const paperTokens = tokens(pair.paperChars)
    if (!pair.hasSidecar)
      add(ingest, 'transcribe', Math.max(1, Math.ceil(pair.episodeBytes / DEFAULT_CHUNK_BYTES)), 0, 0, {
        audio_seconds: pair.durationSeconds,
      })
    // One label (about a dozen tokens of JSON) per ~5 s segment.
    add(ingest, 'classify', 1, tokens(transcriptChars) + 300, Math.ceil(pair.durationSeconds / 5) * 12)
    const conceptCalls = Math.max(1, Math.ceil(paperTokens / DEFAULT_TOKEN_BUDGETS.concepts))
    add(ingest, 'concepts', conceptCalls, paperTokens + 200 * conceptCalls, 300 * conceptCalls)

    const generateInput = Math.min(paperTokens, DEFAULT_TOKEN_BUDGETS.generate) + 600
    const scriptTokens = expectedScriptTokens(spokenWords)
    add(trial, 'generate', 1, generateInput, scriptTokens)
    // The judge reads the script as text (about two thirds of its JSON) and answers briefly.
    add(trial, 'judge', 1, Math.min(paperTokens, DEFAULT_TOKEN_BUDGETS.judge) + Math.ceil(scriptTokens * 0.7) + 300, 400)
    if (input.tts)
      add(trial, 'speech', Math.max(1, Math.ceil((spokenWords * CHARS_PER_WORD) / 4000)), 0, 0, {
        characters: Math.ceil(spokenWords * CHARS_PER_WORD),
      })
  }
  if (input.refiner === 'rule-based+llm') add(refinement, 'refine', 1, 4000, 1500)

  const refinements = Math.max(0, input.maxTrials - 1)
  const all = new Map<UsageRole, Tally>()
  const scale = (from: Map<UsageRole, Tally>, times: number) => {
    for (const t of from.values()) {
      add(all, t.role, t.calls * times, t.input_tokens * times, t.output_tokens * times, {
        audio_seconds: t.audio_seconds * times,
        characters: t.characters * times,
      })
    }
  }
  scale(ingest, 1)
  scale(trial, input.maxTrials)
  scale(refinement, refinements)

  const priced = (tallies: Map<UsageRole, Tally>) => [...tallies.values()].map((t) => ({...t, cost_usd: costUsd(t.model, t)}))
  const roles = priced(all)
  return {
    roles,
    phases: {ingest: priced(ingest), trial: priced(trial), refine: priced(refinement)},
    calls: roles.reduce((n, r) => n + r.calls, 0),
    cost_usd: sumCost([...all.values()]),
    ingest_cost_usd: sumCost([...ingest.values()]),
    trial_cost_usd: sumCost([...trial.values()]),
    refine_cost_usd: sumCost([...refinement.values()]),
  }
}

/**
 * The facts an estimate needs about each pair: paper length, episode duration and size.
 * A pair whose files cannot be read is left out: the run will skip it and say why.
 */
export async function pairEstimateInputs(
  pairs: ReadonlyArray<PairFiles>,
  read: (file: string) => Promise<Paper> = readPaper,
): Promise<PairEstimateInput[]> {
  const inputs = await Promise.all(
    pairs.map(async (pair) => {
      try {
        const [paper, durationSeconds, info] = await Promise.all([read(pair.pdf), audioDurationSeconds(pair.mp3), stat(pair.mp3)])
        return {id: pair.id, paperChars: paper.body.length, durationSeconds, episodeBytes: info.size, hasSidecar: pair.sidecar !== null}
      } catch {
        return null
      }
    }),
  )
  return inputs.filter((input): input is PairEstimateInput => input !== null)
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
