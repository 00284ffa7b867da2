/**
 * The optimisation history the LLM refiner sees (OPRO-style): earlier prompts with
 * their mean losses, best last, because models weigh what they read last most.
 */
import type {LossBreakdown, PromptSpec} from '../../core/schemas/common.js'

export interface HistoryEntry {
  /** Trial index (0-based, as the trial folders are numbered). */
  index: number
  /** promptHash(prompt): equal prompts have equal hashes. */
  sha256: string
  prompt: PromptSpec
  mean_losses: LossBreakdown
}

/** At most this many earlier prompts are shown to the refiner. */
export const MAX_HISTORY = 20

/** Better first: lower total, then the earlier trial (as bestTrialIndex breaks ties). */
function better(a: HistoryEntry, b: HistoryEntry): number {
  return a.mean_losses.total - b.mean_losses.total || a.index - b.index
}

/**
 * Dedupes the trials by prompt hash (keeping the best-scoring occurrence; on equal
 * totals the earliest trial), keeps the `max` best by mean total loss and orders them
 * worst first, best last. Equal totals put the earlier trial nearer the end, so the
 * last entry is always the trial the report calls best. Idempotent: building the
 * history of a history gives it back unchanged.
 */
export function buildHistory(trials: ReadonlyArray<HistoryEntry>, max: number = MAX_HISTORY): HistoryEntry[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`buildHistory: max must be an integer >= 1, got ${max}`)
  const byHash = new Map<string, HistoryEntry>()
  for (const trial of trials) {
    const seen = byHash.get(trial.sha256)
    if (!seen || better(trial, seen) < 0) byHash.set(trial.sha256, trial)
  }
  const kept = [...byHash.values()].sort(better).slice(0, max)
  return kept.reverse().map((t) => ({index: t.index, sha256: t.sha256, prompt: t.prompt, mean_losses: t.mean_losses}))
}
