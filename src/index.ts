/**
 * studio as a library: score your own texts with the same losses the trainer
 * uses, read and validate studio's files, or drive a training run from code.
 *
 * Importing this module loads only the loss functions and the zod schemas;
 * the trainer and the mock provider (which pull in pdf-parse and
 * music-metadata) are re-exported as lazily loaded functions.
 */
export * from './loss/index.js'
export * as schemas from './core/schemas/index.js'
export {CorruptFileError, EXIT, InputError, StudioError} from './core/errors.js'
export type {Providers, LanguageModel, Transcriber} from './core/providers.js'
export type {TrainingEvent, TrainingOptions, TrainingOutcome} from './training/run/trainer.js'
export type {SizeLimits} from './media/limits.js'

import type {MockWriter} from './core/schemas/common.js'
import type {SizeLimits} from './media/limits.js'
import type {PairsListing} from './core/schemas/inputs.js'
import type {Providers} from './core/providers.js'
import type {TrainingOptions, TrainingOutcome} from './training/run/trainer.js'

/** Runs a training run (see TRAINING.md); the same code path as `studio training run`. */
export async function runTraining(options: TrainingOptions): Promise<TrainingOutcome> {
  const trainer = await import('./training/run/trainer.js')
  return trainer.runTraining(options)
}

/**
 * The pairs and orphans in a folder, as `studio training list-pairs --json` prints them;
 * `limits` are the size limits (default: 200 pages, 240 minutes).
 */
export async function listPairs(pairsDir: string, options: {limits?: SizeLimits} = {}): Promise<PairsListing> {
  const list = await import('./training/stages/list-pairs.js')
  return list.listPairs(pairsDir, options)
}

/**
 * The deterministic offline providers that `--mock` uses. `writer` is `--mock-writer`:
 * `identity`, or the seed of a simulated writer's hidden personality (default: each call's
 * seed, the run's `seed`); pass the same as the run's `mockWriter` so that run.json records it.
 */
export async function mockProviders(options: {writer?: MockWriter; tts?: boolean} = {}): Promise<Providers> {
  const mock = await import('./providers/mock/index.js')
  return mock.mockProviders(options)
}
