/** The per-trial loss table shared by `training run`, `training report` and `training status`. */
import type {LossBreakdown} from '../training/schemas.js'
import {renderTable} from './table.js'

export function renderTrialTable(trials: Array<{index: number; mean_losses: LossBreakdown}>, bestIndex: number | null): string {
  const f = (value: number) => value.toFixed(4)
  const rows = trials.map((t) => [
    `${t.index}${t.index === bestIndex ? ' *' : ''}`,
    f(t.mean_losses.duration),
    f(t.mean_losses.coverage),
    f(t.mean_losses.structure),
    f(t.mean_losses.quality),
    f(t.mean_losses.rouge),
    f(t.mean_losses.total),
  ])
  return renderTable(['trial', 'duration', 'coverage', 'structure', 'quality', 'rouge', 'total'], rows, [false, true, true, true, true, true, true])
}

export function formatUsage(usage: {calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null}): string {
  const cost = usage.cost_usd === null ? 'cost unknown' : `$${usage.cost_usd.toFixed(4)}`
  return `${usage.calls} calls, ${usage.input_tokens.toLocaleString('en-US')} input + ${usage.output_tokens.toLocaleString('en-US')} output tokens, ${cost}`
}
