/** A small seeded PRNG: the mock must give byte-identical results for the same seed. */
import {createHash} from 'node:crypto'

/** --seed when none is given, for training and for `studio generate` alike. */
export const DEFAULT_SEED = 42

export type Random = () => number

/** mulberry32, seeded from a hash of all parts so that each (seed, pair, trial) has its own stream. */
export function seededRandom(...parts: Array<string | number>): Random {
  let state = createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0)
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!
}
