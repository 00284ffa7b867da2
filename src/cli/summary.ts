/** The per-trial loss table and the verdict shared by `training run`, `training report` and `training status`. */
import {formatInteger, formatUsd} from '../core/format.js'
import type {LossBreakdown} from '../core/schemas/common.js'
import type {SelectionSplit} from '../loss/selection.js'
import {formatMeasure, type Verdict} from '../loss/verdict.js'
import {LOSS_NAMES} from '../loss/weights.js'
import {renderTable} from './table.js'

/** Training losses per trial, one column per registered loss; a `validation` column (total over validation pairs) when there are any. */
export function renderTrialTable(
  trials: Array<{index: number; mean_losses: LossBreakdown; validation_mean_losses?: LossBreakdown | null}>,
  bestIndex: number | null,
): string {
  const f = (value: number) => value.toFixed(4)
  const withValidation = trials.some((t) => t.validation_mean_losses)
  const rows = trials.map((t) => [
    `${t.index}${t.index === bestIndex ? ' *' : ''}`,
    ...LOSS_NAMES.map((name) => f(t.mean_losses[name])),
    f(t.mean_losses.total),
    ...(withValidation ? [t.validation_mean_losses ? f(t.validation_mean_losses.total) : '-'] : []),
  ])
  const headers = ['trial', ...LOSS_NAMES, 'total', ...(withValidation ? ['validation'] : [])]
  return renderTable(headers, rows, [false, ...headers.slice(1).map(() => true)])
}

export function formatUsage(usage: {calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null}): string {
  return `${usage.calls} calls, ${formatInteger(usage.input_tokens)} input + ${formatInteger(usage.output_tokens)} output tokens, ${formatUsd(usage.cost_usd, 'cost unknown')}`
}

const VERDICT_PAIRS: Record<SelectionSplit, string> = {train: 'training', validation: 'validation', pooled: 'training and validation'}

/** The verdict on the best trial: overall, then each threshold with the value measured, met or not. */
export function renderVerdict(verdict: Verdict | null): string {
  if (!verdict) return 'Verdict: none yet (no trial has finished)'
  const rows = verdict.checks.map((c) => [
    c.title,
    formatMeasure(c.measure, c.value),
    `> ${formatMeasure(c.measure, c.threshold, true)}`,
    c.met ? 'yes' : 'no',
  ])
  const pairs = `${verdict.pairs} ${VERDICT_PAIRS[verdict.split]} pair${verdict.pairs === 1 ? '' : 's'}`
  return [
    `Verdict: ${verdict.summary} (best trial, on its ${pairs})`,
    renderTable(['measure', 'best trial', 'excellent', 'met'], rows, [false, true, true, false]),
  ].join('\n')
}
