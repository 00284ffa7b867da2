/** Convergence test and best-trial choice over a history of total losses. */
import {LossArgumentError, formatValue} from './errors.js'

function validateTotals(fn: string, totals: unknown): number[] {
  if (!Array.isArray(totals)) throw new LossArgumentError(`${fn}: totals must be an array of numbers, got ${formatValue(totals)}`)
  totals.forEach((value: unknown, i: number) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new LossArgumentError(`${fn}: totals[${i}] must be a finite number, got ${formatValue(value)}`)
    }
  })
  return totals as number[]
}

function mean(values: number[], from: number, to: number): number {
  let sum = 0
  for (let i = from; i < to; i++) sum += values[i] ?? 0
  return sum / (to - from)
}

/**
 * With window w and threshold t, and n = totals.length:
 * false if n < 2w; otherwise prev = mean(totals[n-2w .. n-w-1]) and
 * last = mean(totals[n-w .. n-1]), and the run has converged when the last window is no
 * worse than the one before (last <= prev) and improved on it by less than t, relatively:
 * (prev - last) / prev < t. When prev <= 0 (and so last <= prev, losses being >= 0 in
 * practice), nothing is left to improve: converged.
 *
 * A window that got worse is not convergence: the refiner may have overshot and the next
 * trials can still come back below, so stopping there would end the run on its worst
 * stretch. Threshold 0 never converges (no improvement is below 0), except on a loss of 0.
 * @param options.window integer >= 1, default 2
 * @param options.threshold finite number >= 0, default 0.05
 * @throws LossArgumentError on an invalid window or threshold, or a total
 *   that is not a finite number.
 */
export function hasConverged(totals: number[], options?: {window?: number; threshold?: number}): boolean {
  const fn = 'hasConverged'
  const list = validateTotals(fn, totals)
  const window = options?.window ?? 2
  const threshold = options?.threshold ?? 0.05
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 1) {
    throw new LossArgumentError(`${fn}: window must be an integer >= 1, got ${formatValue(window)}`)
  }
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new LossArgumentError(`${fn}: threshold must be a finite number >= 0, got ${formatValue(threshold)}`)
  }
  const n = list.length
  if (n < 2 * window) return false
  const prev = mean(list, n - 2 * window, n - window)
  const last = mean(list, n - window, n)
  if (last > prev) return false
  if (prev <= 0) return true
  return (prev - last) / prev < threshold
}

/**
 * Index of the lowest total; ties go to the earliest trial.
 * @throws LossArgumentError on an empty array or a total that is not a finite number.
 */
export function bestTrialIndex(totals: number[]): number {
  const fn = 'bestTrialIndex'
  const list = validateTotals(fn, totals)
  if (list.length === 0) throw new LossArgumentError(`${fn}: totals must not be empty`)
  let best = 0
  for (let i = 1; i < list.length; i++) {
    if ((list[i] as number) < (list[best] as number)) best = i
  }
  return best
}
