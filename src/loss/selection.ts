/**
 * The one rule for which loss chooses the best trial and is reported for it. Every view
 * (the trainer, the terminal summary, `training status`, `training report`, the HTML
 * report, calibrated_prompt.md and the run registry) asks this module, so they cannot
 * disagree.
 *
 * - Without validation pairs: the training pairs' mean total loss.
 * - With at least MIN_VALIDATION_PAIRS validation pairs scored in every trial: the
 *   validation pairs' mean total loss, the point of training being a prompt that works on
 *   papers it was not tuned on. Trials within VALIDATION_TIE_TOLERANCE of the lowest
 *   count as tied, and the lower training loss breaks the tie.
 * - With 1 or 2: the pooled mean total loss over every scored pair of the trial, training
 *   and validation alike, each pair weighted equally. One or two papers are too few to
 *   choose on alone: with --holdout 1 the "best" trial was whichever draw happened to
 *   suit one paper, a lucky draw rather than a better prompt.
 *
 * Otherwise ties go to the earlier trial.
 */
import {bestTrialIndex} from './convergence.js'

export type SelectionSplit = 'train' | 'validation' | 'pooled'

/** Fewer validation pairs than this, and trials are compared on all their pairs instead. */
export const MIN_VALIDATION_PAIRS = 3

/**
 * Two validation losses this close (absolute) count as tied. The total is a weighted mean in
 * [0, 1] and the judged quality loss carries weight 0.2 by default, so 0.002 is what a shift
 * of one point in all three judge scores (0..100) on every pair moves the total by. LLM
 * judges score in whole points and move by a few points between identical calls, so a
 * difference below that is the judge's noise, not a better prompt; the training loss, over
 * more pairs, is then the better witness.
 */
export const VALIDATION_TIE_TOLERANCE = 0.002

/** How views name the loss a best trial was chosen by. */
export const SELECTION_LOSS_NAME: Readonly<Record<SelectionSplit, string>> = Object.freeze({
  train: 'mean total loss',
  validation: 'validation loss',
  pooled: 'pooled loss (training + validation pairs)',
})

/** A scored pair as selection needs it (TrialResults' and training_report.json's pairs both fit). */
export interface PairLoss {
  split: 'train' | 'validation'
  losses: {total: number}
}

/** What selection needs of a trial: its index, its mean total losses and its scored pairs. */
export interface TrialLosses {
  index: number
  mean_losses: {total: number}
  validation_mean_losses: {total: number} | null
  /** Every pair scored in the trial (failed pairs are not among them). */
  pairs: readonly PairLoss[]
}

/** A selection made earlier and written down (training_report.json's best_trial), to be reported as it was made. */
export interface RecordedSelection {
  index: number
  selected_by: SelectionSplit
}

function validationCount(trial: TrialLosses): number {
  let n = 0
  for (const p of trial.pairs) if (p.split === 'validation') n++
  return n
}

function heldOut(trials: readonly TrialLosses[]): boolean {
  return trials.some((t) => t.validation_mean_losses !== null || t.pairs.some((p) => p.split === 'validation'))
}

/**
 * The fewest validation pairs scored in any trial (0 without a holdout). The fewest, because
 * every trial must be compared on the same kind of loss: one trial whose validation mean
 * rests on 2 pairs (a provider failed on the third) is as easy to hijack as a holdout of 2.
 */
export function validationPairsScored(trials: readonly TrialLosses[]): number {
  if (!heldOut(trials)) return 0
  return trials.length === 0 ? 0 : Math.min(...trials.map(validationCount))
}

/** Which series trials are compared on (see the module comment). */
export function selectionSplit(trials: readonly TrialLosses[]): SelectionSplit {
  if (!heldOut(trials)) return 'train'
  return validationPairsScored(trials) >= MIN_VALIDATION_PAIRS ? 'validation' : 'pooled'
}

/** The pairs of a trial a split's loss is the mean over. */
export function selectionPairs<P extends {split: 'train' | 'validation'}>(pairs: readonly P[], split: SelectionSplit): P[] {
  return split === 'pooled' ? [...pairs] : pairs.filter((p) => p.split === split)
}

/** The loss a trial is compared and reported by; +Infinity when the trial has none (never chosen then). */
export function selectionLoss(trial: TrialLosses, split: SelectionSplit): number {
  if (split === 'train') return trial.mean_losses.total
  if (split === 'validation') return trial.validation_mean_losses?.total ?? Number.POSITIVE_INFINITY
  if (trial.pairs.length === 0) return Number.POSITIVE_INFINITY
  let sum = 0
  for (const p of trial.pairs) sum += p.losses.total
  return sum / trial.pairs.length
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
  /** The pairs its selection loss is the mean over. */
  pairs: number
  /** The fewest validation pairs scored in a trial; 0 without a holdout. */
  validationPairs: number
  /** With validation selection, the trials (by index) whose validation loss tied with the lowest, when more than one did. */
  tied: number[]
  /** The rule that chose it, as one sentence for people. */
  rule: string
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function list(items: readonly number[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`
}

/** The rule a best trial was chosen by, as one sentence. */
export function selectionRule(best: Omit<BestTrial, 'rule'>): string {
  const by = `Best trial chosen by the ${best.selectedBy === 'train' ? 'mean total' : best.selectedBy} loss of ${plural(best.pairs, 'pair')}`
  if (best.selectedBy === 'train') return `${by}: no pair is held out for validation.`
  if (best.selectedBy === 'pooled') {
    const few =
      best.validationPairs === 0
        ? 'no validation pair was scored in every trial'
        : `only ${plural(best.validationPairs, 'validation pair')}`
    return `${by} (training + validation): ${few}, too few to choose on alone.`
  }
  if (best.validationPairs < MIN_VALIDATION_PAIRS) {
    // Only a selection recorded by an earlier studio, which chose on any number of validation pairs.
    return `${by}, as recorded when the run was made (studio now needs ${MIN_VALIDATION_PAIRS} validation pairs to choose on them alone).`
  }
  const ties = best.tied.length > 1 ? `; trials ${list(best.tied)} tied, and trial ${best.index} had the lowest training loss` : ''
  return `${by}, validation losses within ${VALIDATION_TIE_TOLERANCE} of the lowest counting as tied and the training loss breaking ties${ties}.`
}

/** The position of the best trial in a split, and the trials tied for it. */
function choose(trials: readonly TrialLosses[], series: readonly number[], split: SelectionSplit): {position: number; tied: number[]} {
  const finite = series.map((v) => (Number.isFinite(v) ? v : Number.MAX_VALUE))
  if (split !== 'validation') return {position: bestTrialIndex(finite), tied: []}
  const lowest = Math.min(...finite)
  // A hair of slack so that a difference of exactly the tolerance, in floating point, still counts as a tie.
  const tiedPositions = finite.flatMap((v, i) => (v - lowest <= VALIDATION_TIE_TOLERANCE + 1e-12 ? [i] : []))
  let position = tiedPositions[0]!
  for (const i of tiedPositions) if (trials[i]!.mean_losses.total < trials[position]!.mean_losses.total) position = i
  return {position, tied: tiedPositions.length > 1 ? tiedPositions.map((i) => trials[i]!.index) : []}
}

/**
 * The best of the trials, or null when there is none yet. With `recorded` (a finished run's
 * training_report.json), the trial and split written there are reported, so that a run made
 * under an earlier rule still reads as it was chosen, calibrated prompt included.
 */
export function bestTrial(trials: readonly TrialLosses[], recorded?: RecordedSelection | null): BestTrial | null {
  if (trials.length === 0) return null
  const validationPairs = validationPairsScored(trials)
  const split = recorded?.selected_by ?? selectionSplit(trials)
  const series = trials.map((t) => selectionLoss(t, split))
  let {position, tied} = choose(trials, series, split)
  const at = recorded ? trials.findIndex((t) => t.index === recorded.index) : -1
  if (at >= 0 && at !== position) {
    position = at
    tied = []
  }
  const trial = trials[position]!
  const loss = series[position]!
  const firstLoss = series[0]!
  const best = {
    position,
    index: trial.index,
    selectedBy: split,
    loss,
    firstLoss,
    improvement: firstLoss > 0 && Number.isFinite(firstLoss) ? (firstLoss - loss) / firstLoss : null,
    pairs: selectionPairs(trial.pairs, split).length,
    validationPairs,
    tied,
  }
  return {...best, rule: selectionRule(best)}
}
