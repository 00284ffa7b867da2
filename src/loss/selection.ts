/**
 * The one rule for which loss chooses the best trial and is reported for it. Every view
 * (the trainer, the terminal summary, `training status`, `training report`, the HTML
 * report and the run registry) asks this module, so they cannot disagree.
 *
 * With validation pairs (--holdout), trials are compared on the validation pairs' mean
 * total loss: the point of training is a prompt that works on papers it was not tuned
 * on. Without, on the training pairs' mean total loss. Ties go to the earlier trial.
 */
import {bestTrialIndex} from './convergence.js'

export type SelectionSplit = 'train' | 'validation'

/** How views name the loss a best trial was chosen by. */
export const SELECTION_LOSS_NAME: Readonly<Record<SelectionSplit, string>> = Object.freeze({
  train: 'mean total loss',
  validation: 'validation loss',
})

/** What selection needs of a trial: its index and its mean total losses. */
export interface TrialLosses {
  index: number
  mean_losses: {total: number}
  validation_mean_losses: {total: number} | null
}

/** Which series trials are compared on: validation when the trials have it. */
export function selectionSplit(trials: readonly TrialLosses[]): SelectionSplit {
  return trials.some((t) => t.validation_mean_losses !== null) ? 'validation' : 'train'
}

/** The loss a trial is compared and reported by. */
export function selectionLoss(trial: TrialLosses, split: SelectionSplit): number {
  return split === 'validation' ? (trial.validation_mean_losses?.total ?? Number.POSITIVE_INFINITY) : trial.mean_losses.total
}

/** The series convergence is judged on: one selection loss per trial, in order. */
export function selectionSeries(trials: readonly TrialLosses[]): number[] {
  const split = selectionSplit(trials)
  return trials.map((t) => selectionLoss(t, split))
}

export interface BestTrial {
  /** Position in the list given (trials are numbered from 0 and listed in order, so usually the index). */
  position: number
  /** The trial's own index. */
  index: number
  selectedBy: SelectionSplit
  /** Its selection loss. */
  loss: number
  /** The first trial's selection loss, the starting point. */
  firstLoss: number
  /** (first - best) / first: how much lower the best trial is than the first; null when the first is 0. */
  improvement: number | null
}

/** The best of the trials, or null when there is none yet. */
export function bestTrial(trials: readonly TrialLosses[]): BestTrial | null {
  if (trials.length === 0) return null
  const split = selectionSplit(trials)
  const series = trials.map((t) => selectionLoss(t, split))
  const position = bestTrialIndex(series.map((v) => (Number.isFinite(v) ? v : Number.MAX_VALUE)))
  const loss = series[position]!
  const firstLoss = series[0]!
  return {
    position,
    index: trials[position]!.index,
    selectedBy: split,
    loss,
    firstLoss,
    improvement: firstLoss > 0 && Number.isFinite(firstLoss) ? (firstLoss - loss) / firstLoss : null,
  }
}
