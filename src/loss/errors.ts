/** The loss library's one error, and how its messages show a bad value. */

/** Thrown for any invalid argument to the loss library. */
export class LossArgumentError extends Error {
  override name = 'LossArgumentError'
}

/** Render a value for an error message: numbers and strings as-is, others by type. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'undefined' : `${typeof value} ${String(value)}`
}
