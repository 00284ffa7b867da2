/** Loss names, default weights, weight normalisation and the `name=value,...` parser. */
import {LossArgumentError, formatValue} from './losses.js'

export const LOSS_NAMES = ['duration', 'coverage', 'structure', 'quality', 'rouge'] as const
export type LossName = (typeof LOSS_NAMES)[number]
export type Weights = Record<LossName, number>
export type Losses = Record<LossName, number>

export const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze({
  duration: 0.25,
  coverage: 0.25,
  structure: 0.2,
  quality: 0.2,
  rouge: 0.1,
})

function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name)
}

const VALID_NAMES = LOSS_NAMES.join(', ')

/**
 * Missing (or undefined) keys take their DEFAULT_WEIGHTS value; then every
 * weight is divided by the sum so that they sum to 1.
 * @throws LossArgumentError on an unknown key, a negative, NaN or infinite
 *   weight, or when all weights are zero.
 */
export function normalizeWeights(weights?: Partial<Weights>): Weights {
  const fn = 'normalizeWeights'
  if (weights !== undefined && (typeof weights !== 'object' || weights === null || Array.isArray(weights))) {
    throw new LossArgumentError(`${fn}: weights must be an object, got ${formatValue(weights)}`)
  }
  const given: Partial<Record<string, unknown>> = weights ?? {}
  for (const key of Object.keys(given)) {
    if (!isLossName(key)) {
      throw new LossArgumentError(`${fn}: unknown weight ${JSON.stringify(key)}; valid names: ${VALID_NAMES}`)
    }
  }
  const merged = {...DEFAULT_WEIGHTS}
  for (const name of LOSS_NAMES) {
    const value = given[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new LossArgumentError(`${fn}: weight ${name} must be a finite number >= 0, got ${formatValue(value)}`)
    }
    merged[name] = value
  }
  let sum = 0
  for (const name of LOSS_NAMES) sum += merged[name]
  if (sum === 0) throw new LossArgumentError(`${fn}: weights must not all be 0`)
  const out = {} as Weights
  for (const name of LOSS_NAMES) out[name] = merged[name] / sum
  return out
}

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * Parse `"duration=0.3,rouge=0.2"` into `{duration: 0.3, rouge: 0.2}`.
 * Whitespace around names, values and items is ignored. The result is not
 * normalised (pass it to normalizeWeights / totalLoss).
 * @throws LossArgumentError on an empty spec or item, an item without `=`,
 *   an unknown name, a value that is not a decimal number, a negative or
 *   non-finite value, or a duplicate name.
 */
export function parseWeights(spec: string): Partial<Weights> {
  const fn = 'parseWeights'
  if (typeof spec !== 'string') throw new LossArgumentError(`${fn}: spec must be a string, got ${formatValue(spec)}`)
  if (spec.trim() === '') {
    throw new LossArgumentError(`${fn}: spec is empty; expected name=value pairs separated by commas, e.g. "duration=0.3,rouge=0.2"`)
  }
  const out: Partial<Weights> = {}
  spec.split(',').forEach((rawItem, index) => {
    const item = rawItem.trim()
    const where = `item ${index + 1} (${JSON.stringify(rawItem)})`
    if (item === '') throw new LossArgumentError(`${fn}: ${where} is empty; expected name=value`)
    const eq = item.indexOf('=')
    if (eq < 0) throw new LossArgumentError(`${fn}: ${where} must look like name=value`)
    const name = item.slice(0, eq).trim()
    const text = item.slice(eq + 1).trim()
    if (!isLossName(name)) {
      throw new LossArgumentError(`${fn}: unknown weight name ${JSON.stringify(name)} in ${where}; valid names: ${VALID_NAMES}`)
    }
    if (!NUMBER_RE.test(text)) {
      throw new LossArgumentError(`${fn}: weight ${name} must be a number, got ${JSON.stringify(text)}`)
    }
    const value = Number(text)
    if (!Number.isFinite(value)) throw new LossArgumentError(`${fn}: weight ${name} must be finite, got ${JSON.stringify(text)}`)
    if (value < 0) throw new LossArgumentError(`${fn}: weight ${name} must be >= 0, got ${text}`)
    if (name in out) throw new LossArgumentError(`${fn}: weight ${name} is given more than once`)
    out[name] = value === 0 ? 0 : value // turn -0 into 0
  })
  return out
}
