/** An in-process mock training run on the bundled pairs, as several tests need one. */
import path from 'node:path'

import {mockProviders} from '../../src/providers/mock/index.js'
import {runTraining, type TrainingOptions, type TrainingOutcome} from '../../src/training/run/trainer.js'
import {EXAMPLE_PAIRS} from './cli.js'

/** `studio training run --mock --max-trials 3` into <root>/out, with any option overridden. */
export function mockTrainingRun(root: string, overrides: Partial<TrainingOptions> = {}): Promise<TrainingOutcome> {
  return runTraining({
    pairsDir: EXAMPLE_PAIRS,
    outputDir: path.join(root, 'out'),
    maxTrials: 3,
    seed: 42,
    window: 2,
    threshold: 0.05,
    concurrency: 4,
    mock: true,
    providers: mockProviders(),
    toolVersion: 'test',
    ...overrides,
  })
}
