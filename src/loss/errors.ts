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
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'undefined') return 'undefined'
  if (typeof value === 'boolean' || typeof value === 'bigint' || typeof value === 'symbol') return `${typeof value} ${value.toString()}`
  return 'a function'
}
