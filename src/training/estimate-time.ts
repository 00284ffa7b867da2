/**
 * How long a run will take, before it starts: for --dry-run, next to the cost.
 *
 * Two things bound each phase (the ingest, a trial, a refinement): the account's rate
 * limits (a phase cannot send its requests and tokens faster than the per-minute
 * limits of each provider allow; providers run in parallel) and the models' own
 * speed (each pair's calls follow one another, --concurrency pairs at once; a call
 * takes a second or so plus its output at the model's streaming speed). The phase
 * takes the longer of the two; the run, every phase as many times as it runs.
 */
import type {UsageRole} from '../core/schemas/common.js'
import type {BatchRounds, RoleEstimate, RunEstimate} from './estimate.js'

/** Output tokens a second a current model streams (Claude Sonnet, GPT-4o: 50-80; the slower end). */
export const OUTPUT_TOKENS_PER_SECOND = 50
/** Time to first token and the request's own overhead, plus reading the input. */
const CALL_OVERHEAD_SECONDS = 1.5
const INPUT_TOKENS_PER_SECOND = 20_000
/** Whisper transcribes about 30x faster than real time; chunks go in parallel. */
const TRANSCRIPTION_SPEEDUP = 30

type ProviderName = 'anthropic' | 'openai'

/** An account's per-minute limits (the shape of rate_limits in studio.config.json); a limit left out does not bind. */
export interface RateLimits {
  requests_per_minute?: number
  input_tokens_per_minute?: number
  output_tokens_per_minute?: number
  tokens_per_minute?: number
}

export interface TimeEstimateInput {
  estimate: Pick<RunEstimate, 'phases'>
  pairs: number
  maxTrials: number
  concurrency: number
  /** The provider behind each role; null for the mock (no limits, no latency worth counting). */
  providerOf: Record<UsageRole, ProviderName | null>
  limits: Partial<Record<ProviderName, RateLimits>>
}

export interface PhaseTime {
  seconds: number
  /** What decides the phase's length, in words. */
  bound_by: string
}

export interface TimeEstimate {
  seconds: number
  ingest: PhaseTime
  trial: PhaseTime
  refine: PhaseTime | null
  /** What decides the length of a trial (the phase that repeats), in words. */
  bound_by: string
}

const LIMIT_NAMES: Array<{key: keyof RateLimits; words: string}> = [
  {key: 'requests_per_minute', words: 'requests per minute'},
  {key: 'input_tokens_per_minute', words: 'input tokens per minute'},
  {key: 'output_tokens_per_minute', words: 'output tokens per minute'},
  {key: 'tokens_per_minute', words: 'tokens per minute'},
]

function callSeconds(role: RoleEstimate): number {
  if (role.calls === 0) return 0
  if (role.role === 'transcribe') return role.audio_seconds / TRANSCRIPTION_SPEEDUP + CALL_OVERHEAD_SECONDS
  if (role.role === 'speech') return role.calls * CALL_OVERHEAD_SECONDS * 2
  return role.calls * CALL_OVERHEAD_SECONDS + role.input_tokens / INPUT_TOKENS_PER_SECOND + role.output_tokens / OUTPUT_TOKENS_PER_SECOND
}

function phaseTime(
  roles: RoleEstimate[],
  input: TimeEstimateInput,
  /** Roles of one pair that run one after the other; the others run alongside. */
  sequential: ReadonlyArray<UsageRole>,
  /** The phase has one call for the whole run, not a chain per pair. */
  once = false,
): PhaseTime {
  const pairs = Math.max(1, input.pairs)
  const perPair = (role: RoleEstimate) => callSeconds(role) / (once ? 1 : pairs)
  const chain = roles.filter((r) => sequential.includes(r.role)).reduce((n, r) => n + perPair(r), 0)
  const alongside = Math.max(0, ...roles.filter((r) => !sequential.includes(r.role)).map(perPair))
  const waves = once ? 1 : Math.ceil(pairs / Math.max(1, input.concurrency))
  const latency = waves * Math.max(chain, alongside)
  let best: PhaseTime = {
    seconds: latency,
    bound_by: once ? 'the model' : `the models' speed at --concurrency ${input.concurrency}`,
  }
  for (const provider of ['anthropic', 'openai'] as const) {
    const limits = input.limits[provider]
    if (!limits) continue
    const mine = roles.filter((r) => input.providerOf[r.role] === provider && r.role !== 'transcribe' && r.role !== 'speech')
    const used = {
      requests_per_minute: mine.reduce((n, r) => n + r.calls, 0),
      // Anthropic does not count prompt-cache reads against input tokens per minute.
      input_tokens_per_minute: mine.reduce((n, r) => n + r.input_tokens - (provider === 'anthropic' ? r.cache_read_tokens : 0), 0),
      output_tokens_per_minute: mine.reduce((n, r) => n + r.output_tokens, 0),
      tokens_per_minute: mine.reduce((n, r) => n + r.input_tokens + r.output_tokens, 0),
    }
    for (const {key, words} of LIMIT_NAMES) {
      const limit = limits[key]
      if (!limit) continue
      const seconds = (used[key] / limit) * 60
      if (seconds > best.seconds) best = {seconds, bound_by: `${provider} ${words} (${limit.toLocaleString('en-US')})`}
    }
  }
  return {seconds: Math.round(best.seconds), bound_by: best.bound_by}
}

export function estimateTime(input: TimeEstimateInput): TimeEstimate {
  const {phases} = input.estimate
  const ingest = phaseTime(phases.ingest, input, ['transcribe', 'classify'])
  const trial = phaseTime(phases.trial, input, ['generate', 'speech', 'judge'])
  const refine = phases.refine.length ? phaseTime(phases.refine, input, ['refine'], true) : null
  const refinements = Math.max(0, input.maxTrials - 1)
  const seconds = ingest.seconds + input.maxTrials * trial.seconds + refinements * (refine?.seconds ?? 0)
  return {seconds, ingest, trial, refine, bound_by: trial.bound_by}
}

/**
 * Both batch APIs promise results within 24 hours; Anthropic says most batches end within
 * an hour, and OpenAI's often do too. A --batch run waits for its batches one round after
 * the other, so its wall time is counted in rounds: likely an hour each, at worst a day.
 */
export const BATCH_LIKELY_SECONDS = 60 * 60
export const BATCH_WINDOW_SECONDS = 24 * 60 * 60

export interface BatchTimeEstimate {
  rounds: BatchRounds
  /** An hour a round, plus the synchronous transcription. */
  likely_seconds: number
  /** The 24-hour window a round, plus the synchronous transcription. */
  worst_seconds: number
}

/** A --batch run's wall time: its rounds of batches, and the transcription that stays synchronous. */
export function estimateBatchTime(rounds: BatchRounds, transcriptionSeconds: number): BatchTimeEstimate {
  return {
    rounds,
    likely_seconds: Math.round(rounds.total * BATCH_LIKELY_SECONDS + transcriptionSeconds),
    worst_seconds: Math.round(rounds.total * BATCH_WINDOW_SECONDS + transcriptionSeconds),
  }
}

/** The synchronous transcription of a run (the only ingest calls --batch does not batch). */
export function transcriptionSeconds(estimate: Pick<RunEstimate, 'phases'>, concurrency: number, pairs: number): number {
  const role = estimate.phases.ingest.find((r) => r.role === 'transcribe')
  if (!role) return 0
  return Math.round((callSeconds(role) / Math.max(1, pairs)) * Math.ceil(pairs / Math.max(1, concurrency)))
}

/** "about 2 h 5 min", "about 40 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 90) return `about ${minutes} min`
  const hours = Math.round(minutes / 60)
  if (hours < 72) return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`
  return `about ${Math.round(hours / 24)} days`
}
