import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {checkHoldoutRequest, selectValidationPairs} from '../../src/training/run/holdout.js'
import * as refineModule from '../../src/training/optimise/index.js'
import {AggregateProfile, type TrialResults} from '../../src/core/schemas/files.js'
import {readJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

vi.mock('../../src/training/optimise/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof refineModule>()
  return {...original, refine: vi.fn(original.refine)}
})

describe('selectValidationPairs', () => {
  const ids = ['a', 'b', 'c', 'd', 'e']

  it('draws the same pairs for the same seed, sorted, and different ones for other seeds', () => {
    const first = selectValidationPairs({count: 2, seed: 42}, ids)
    expect(first).toHaveLength(2)
    expect(first).toEqual([...first].sort())
    expect(selectValidationPairs({count: 2, seed: 42}, [...ids].reverse())).toEqual(first)
    const seen = new Set(Array.from({length: 20}, (_, seed) => selectValidationPairs({count: 2, seed}, ids).join(',')))
    expect(seen.size).toBeGreaterThan(3)
  })

  it('takes named pairs as given, and none without a holdout', () => {
    expect(selectValidationPairs({ids: ['d', 'b'], seed: 1}, ids)).toEqual(['b', 'd'])
    expect(selectValidationPairs({seed: 1}, ids)).toEqual([])
  })

  it('refuses to leave no pair to train on', () => {
    expect(() => selectValidationPairs({count: 1, seed: 1}, ['a'])).toThrow(
      'A holdout of 1 pair(s) leaves no pair to train on: 1 usable pair(s)',
    )
    expect(() => selectValidationPairs({count: 5, seed: 1}, ids)).toThrow(/leaves no pair to train on/)
  })

  it('checks requests before any work: both flags, a bad count, unknown ids', () => {
    expect(() => checkHoldoutRequest({count: 1, ids: ['a'], seed: 1}, ids)).toThrow('Use either --holdout or --holdout-ids, not both')
    expect(() => checkHoldoutRequest({count: 0, seed: 1}, ids)).toThrow('--holdout must be a whole number of at least 1, got 0')
    expect(() => checkHoldoutRequest({ids: ['x', 'y'], seed: 1}, ids)).toThrow('--holdout-ids names pairs not in the pairs folder: x, y')
  })
})

describe('the refiner and validation pairs', () => {
  let root = ''
  beforeAll(async () => {
    root = await makeTempDir('studio-holdout-')
  })
  afterAll(async () => {
    await removeDir(root)
  })

  it('never receives the results of validation pairs', async () => {
    const refine = vi.mocked(refineModule.refine)
    refine.mockClear()
    const outcome = await mockTrainingRun(root, {holdout: 1, refiner: 'rule-based+llm'})
    const validation = outcome.report.validation_pairs
    expect(validation).toHaveLength(1)
    expect(refine).toHaveBeenCalledTimes(2)
    for (const [input] of refine.mock.calls) {
      for (const {results} of input.trials) {
        const trial: TrialResults = results
        expect(trial.pairs.map((p) => p.pair_id).sort()).toEqual(outcome.report.pairs.filter((id) => !validation.includes(id)))
        expect(trial.pairs.every((p) => p.split === 'train')).toBe(true)
        expect(trial.validation_mean_losses).toBeNull()
      }
      expect(JSON.stringify(input)).not.toContain(validation[0])
    }
    // The aggregate profile the prompt is built from comes from training pairs only.
    const profile = await readJson(path.join(outcome.runDir, 'aggregate_profile.json'), AggregateProfile)
    expect(profile.pairs).toBe(outcome.report.pairs.length - 1)
  })
})
