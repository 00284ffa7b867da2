/**
 * What the registry's entries add up to: the loss names and default weights, weight
 * normalisation, the `name=value,...` parser of --weights, and the weighted total.
 * Everything here is derived from LOSSES, so a new entry there is picked up by all of it.
 */
import {formatValue, LossArgumentError} from './errors.js'
import {clamp01} from './losses.js'
import {LOSSES, type LossInputs, type LossName, type Losses, type Weights} from './registry.js'

/** The loss names in registry order. */
export const LOSS_NAMES: readonly LossName[] = Object.freeze(LOSSES.map((loss) => loss.name))

export const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze(Object.fromEntries(LOSSES.map((l) => [l.name, l.defaultWeight])) as Weights)

export function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name)
}

const validNames = () => LOSS_NAMES.join(', ')

/** Every registered loss of one script. */
export function computeLosses(inputs: LossInputs): Losses {
  return Object.fromEntries(LOSSES.map((loss) => [loss.name, loss.compute(inputs)])) as Losses
}

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
      throw new LossArgumentError(`${fn}: unknown weight ${JSON.stringify(key)}; valid names: ${validNames()}`)
    }
  }
  const merged: Weights = {...DEFAULT_WEIGHTS}
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
      throw new LossArgumentError(`${fn}: unknown weight name ${JSON.stringify(name)} in ${where}; valid names: ${validNames()}`)
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

/**
 * `Σ normalizeWeights(weights)[k] * losses[k]` over {@link LOSS_NAMES},
 * clamped to [0, 1] against floating-point error.
 * @throws LossArgumentError if a loss is missing, unknown or outside [0, 1],
 *   or the weights are invalid (see normalizeWeights).
 */
export function totalLoss(losses: Losses, weights?: Partial<Weights>): number {
  const fn = 'totalLoss'
  if (typeof losses !== 'object' || losses === null)
    throw new LossArgumentError(`${fn}: losses must be an object, got ${formatValue(losses)}`)
  for (const key of Object.keys(losses)) {
    if (!isLossName(key)) throw new LossArgumentError(`${fn}: unknown loss ${JSON.stringify(key)}; valid names: ${validNames()}`)
  }
  const w = normalizeWeights(weights)
  let total = 0
  for (const name of LOSS_NAMES) {
    const value: unknown = losses[name]
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
      throw new LossArgumentError(`${fn}: losses.${name} must be a number in [0, 1], got ${formatValue(value)}`)
    }
    total += w[name] * value
  }
  return clamp01(total)
}
