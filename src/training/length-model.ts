/**
 * How long a script should be for a given paper. Human episodes about longer papers tend
 * to run longer, so one length for every paper leaves the duration loss a floor. The
 * length model is fitted on the training pairs (episode words against paper words) and
 * the prompt's length rule turns its prediction into the number of words asked of the
 * writer, correcting for how the writer responds to a length request.
 */
import type {LengthModel, LengthRule, PromptSpec} from '../core/schemas/common.js'
import {round} from '../core/text.js'

/** A linear fit is used only with at least this many training pairs... */
export const MIN_PAIRS_FOR_FIT = 3
/** ...and when it explains at least this share of the variance of episode lengths. */
export const MIN_R2 = 0.5
/** The fewest and most words a script is ever asked for. */
export const MIN_ASKED_WORDS = 50
export const MAX_ASKED_WORDS = 30_000

export interface LengthPoint {
  paperWords: number
  episodeWords: number
}

/**
 * Episode words as `intercept + slope * paper words` by least squares when at least
 * MIN_PAIRS_FOR_FIT pairs give a positive slope with R² >= MIN_R2; otherwise the mean
 * episode length for every paper. `note` says which and why.
 */
export function fitLengthModel(points: readonly LengthPoint[]): LengthModel {
  const usable = points.filter((p) => p.episodeWords > 0 && Number.isFinite(p.paperWords) && p.paperWords >= 0)
  const n = usable.length
  const meanWords = n ? usable.reduce((s, p) => s + p.episodeWords, 0) / n : MIN_ASKED_WORDS
  const meanPaper = n ? usable.reduce((s, p) => s + p.paperWords, 0) / n : 0
  const lengths = usable.map((p) => p.episodeWords)
  const bounds = {
    min_words: round(Math.max(MIN_ASKED_WORDS / 2, n ? Math.min(...lengths) / 2 : MIN_ASKED_WORDS), 1),
    max_words: round(Math.min(MAX_ASKED_WORDS, n ? Math.max(...lengths) * 2 : MAX_ASKED_WORDS), 1),
  }
  const mean = (note: string, r2: number | null): LengthModel => ({
    kind: 'mean',
    intercept: round(meanWords, 1),
    slope: 0,
    mean_words: round(Math.max(meanWords, 1), 1),
    mean_paper_words: round(meanPaper, 1),
    ...bounds,
    r2,
    pairs: n,
    note,
  })
  if (n < MIN_PAIRS_FOR_FIT) {
    return mean(
      `${n} training pair(s), too few to fit episode length against paper length (${MIN_PAIRS_FOR_FIT} needed): every paper gets the mean`,
      null,
    )
  }
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (const p of usable) {
    sxx += (p.paperWords - meanPaper) ** 2
    sxy += (p.paperWords - meanPaper) * (p.episodeWords - meanWords)
    syy += (p.episodeWords - meanWords) ** 2
  }
  if (sxx === 0) return mean('every training paper has the same length: every paper gets the mean', null)
  const slope = sxy / sxx
  const intercept = meanWords - slope * meanPaper
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy)
  if (slope <= 0) {
    return mean(`longer papers did not have longer episodes (slope ${round(slope, 4)}): every paper gets the mean`, round(r2, 4))
  }
  if (r2 < MIN_R2) {
    return mean(
      `paper length explains only ${Math.round(r2 * 100)}% of episode length (below ${MIN_R2 * 100}%): every paper gets the mean`,
      round(r2, 4),
    )
  }
  return {
    kind: 'linear',
    intercept: round(intercept, 1),
    slope: round(slope, 6),
    mean_words: round(meanWords, 1),
    mean_paper_words: round(meanPaper, 1),
    ...bounds,
    r2: round(r2, 4),
    pairs: n,
    note: `fitted on ${n} training pairs: episode words = ${round(intercept, 1)} + ${round(slope, 4)} x paper words (R² ${round(r2, 2)})`,
  }
}

/** The episode length the model predicts for a paper of `paperWords` words, within its bounds. */
export function predictWords(model: LengthModel, paperWords: number): number {
  const raw = model.kind === 'linear' ? model.intercept + model.slope * paperWords : model.mean_words
  return Math.min(model.max_words, Math.max(model.min_words, raw))
}

/** The words asked of a paper's script under a length rule, for a typical paper `target_words`. */
export function askedWordsFor(targetWords: number, rule: LengthRule | null, paperWords: number): number {
  if (!rule) return targetWords
  const relative = predictWords(rule.model, paperWords) / rule.model.mean_words
  const asked = Math.round(targetWords * relative ** rule.exponent)
  return Math.min(MAX_ASKED_WORDS, Math.max(MIN_ASKED_WORDS, asked))
}

/** The words a prompt asks of a paper of `paperWords` words. */
export function askedWords(prompt: PromptSpec, paperWords: number): number {
  return askedWordsFor(prompt.target_words, prompt.length, paperWords)
}

/** The length rule in words, for calibrated_prompt.md and the report. */
export function describeLengthRule(prompt: PromptSpec): string {
  const rule = prompt.length
  if (!rule) return `every paper is asked for ${prompt.target_words} words`
  const {model} = rule
  const predicted =
    model.kind === 'linear'
      ? `the length model predicts the episode at ${model.intercept} + ${round(model.slope, 4)} x the paper's words (kept within ${Math.round(model.min_words)}..${Math.round(model.max_words)})`
      : `the length model gives every paper the training episodes' mean, ${Math.round(model.mean_words)} words`
  const scaling =
    model.kind === 'mean'
      ? `the script is asked for ${prompt.target_words} words`
      : `the script is asked for ${prompt.target_words} x (prediction / ${Math.round(model.mean_words)})^${round(rule.exponent, 3)} words`
  return `${predicted}; ${scaling}, which corrects for how the writer answered length requests in training (${model.note})`
}
