/**
 * How studio writes numbers for people, in the terminal and in the HTML report alike.
 * Files keep full precision; only what is shown is rounded here.
 */

/**
 * US dollars: "$0.00" for nothing, four decimals below a cent (so that a cheap run does
 * not read as free), two from a cent up; `unknown` when the price of a model is not known.
 */
export function formatUsd(value: number | null, unknown = 'unknown'): string {
  if (value === null || !Number.isFinite(value)) return unknown
  if (value === 0) return '$0.00'
  return Math.abs(value) < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`
}

/** A whole number with thousands separators: 12,345. */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

/** A number with at most `digits` decimals and no trailing zeros: 0.25, 3, 0.333. */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '—'
  const fixed = value.toFixed(digits)
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

/** A share as a percentage: 0.228 -> "22.8%" (one decimal by default). */
export function formatPercent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`
}

/** Seconds as m:ss or h:mm:ss; "-" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-'
  const total = Math.round(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`
}
