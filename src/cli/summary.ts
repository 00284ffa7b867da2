/** The per-trial loss table shared by `training run`, `training report` and `training status`. */
import type {LossBreakdown} from '../core/schemas/common.js'
import {renderTable} from './table.js'

/** Training losses per trial; a `validation` column (total over validation pairs) when there are any. */
export function renderTrialTable(
  trials: Array<{index: number; mean_losses: LossBreakdown; validation_mean_losses?: LossBreakdown | null}>,
  bestIndex: number | null,
): string {
  const f = (value: number) => value.toFixed(4)
  const withValidation = trials.some((t) => t.validation_mean_losses)
  const rows = trials.map((t) => [
    `${t.index}${t.index === bestIndex ? ' *' : ''}`,
    f(t.mean_losses.duration),
    f(t.mean_losses.coverage),
    f(t.mean_losses.structure),
    f(t.mean_losses.quality),
    f(t.mean_losses.rouge),
    f(t.mean_losses.total),
    ...(withValidation ? [t.validation_mean_losses ? f(t.validation_mean_losses.total) : '-'] : []),
  ])
  const headers = ['trial', 'duration', 'coverage', 'structure', 'quality', 'rouge', 'total', ...(withValidation ? ['validation'] : [])]
  return renderTable(headers, rows, [false, ...headers.slice(1).map(() => true)])
}

export function formatUsage(usage: {calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null}): string {
  const cost = usage.cost_usd === null ? 'cost unknown' : `$${usage.cost_usd.toFixed(4)}`
  return `${usage.calls} calls, ${usage.input_tokens.toLocaleString('en-US')} input + ${usage.output_tokens.toLocaleString('en-US')} output tokens, ${cost}`
}
