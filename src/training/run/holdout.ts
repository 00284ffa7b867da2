/**
 * Validation pairs: kept out of refinement so that the best trial is chosen on
 * pairs the refiner never saw, which is what makes overfitting visible.
 */
import {InputError} from '../../core/errors.js'
import {seededRandom} from '../../core/random.js'

export interface HoldoutRequest {
  /** --holdout N: N pairs drawn with the run's seed. */
  count?: number
  /** --holdout-ids a,b: these pairs. */
  ids?: string[]
  seed: number
}

/** Fails early, before any work, on requests no folder could satisfy. */
export function checkHoldoutRequest(request: HoldoutRequest, discoveredIds: string[]): void {
  if (request.count !== undefined && request.ids !== undefined) {
    throw new InputError('Use either --holdout or --holdout-ids, not both', {
      hint: '--holdout 1 draws one validation pair; --holdout-ids a,b names them.',
    })
  }
  if (request.count !== undefined && (!Number.isInteger(request.count) || request.count < 1)) {
    throw new InputError(`--holdout must be a whole number of at least 1, got ${request.count}`)
  }
  if (request.ids) {
    const unknown = request.ids.filter((id) => !discoveredIds.includes(id))
    if (unknown.length) {
      throw new InputError(
        `--holdout-ids names ${unknown.length === 1 ? 'a pair' : 'pairs'} not in the pairs folder: ${unknown.join(', ')}`,
        {
          hint: `Pairs found: ${discoveredIds.join(', ')}.`,
        },
      )
    }
  }
}

/** The validation pairs among the usable ones, sorted; [] without a holdout. */
export function selectValidationPairs(request: HoldoutRequest, usableIds: string[]): string[] {
  if (request.count === undefined && request.ids === undefined) return []
  const ids = [...usableIds].sort()
  const wanted = request.ids ? request.ids.filter((id) => ids.includes(id)) : null
  const count = wanted ? wanted.length : request.count!
  if (ids.length < 2 || count >= ids.length) {
    throw new InputError(`A holdout of ${count} pair(s) leaves no pair to train on: ${ids.length} usable pair(s)`, {
      hint: 'Validation needs at least 2 usable pairs and one left for training: lower --holdout, or add pairs.',
    })
  }
  if (wanted) return wanted.sort()
  // A seeded shuffle: the same seed and pairs always hold out the same ones.
  const random = seededRandom(request.seed, 'holdout')
  const shuffled = [...ids]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  return shuffled.slice(0, count).sort()
}
