/**
 * "Adding a loss is one entry plus its function" (TRAINING.md, "Adding a loss"): this
 * test registers a sixth loss the way a contributor would, by adding one entry to
 * LOSSES, and checks that every part of studio picks it up with no other change: the
 * file schemas, --weights, the total, a whole training run, the terminal table, the
 * HTML report and the LLM refiner's prompt.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {renderTrialTable} from '../../src/cli/summary.js'
import {LossBreakdown, Weights as WeightsSchema} from '../../src/core/schemas/common.js'
import {TrainingReport, TrialResults} from '../../src/core/schemas/files.js'
import type * as Registry from '../../src/loss/registry.js'
import type {Weights} from '../../src/loss/registry.js'
import {DEFAULT_WEIGHTS, LOSS_NAMES, normalizeWeights, parseWeights, totalLoss} from '../../src/loss/weights.js'
import {refineMessages} from '../../src/training/optimise/llm.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

/** Questions per minute against the episode's, relative: a loss studio does not ship. */
const {PACE} = vi.hoisted(() => {
  const pace: Registry.LossDefinition = {
    name: 'pace',
    title: 'Pace',
    defaultWeight: 0.1,
    summary: 'questions per minute vs the episode',
    description:
      'how far the script asks questions more or less often than the episode: min(1, |generated - reference| / reference) per minute',
    compute: ({generated, reference}) =>
      Math.min(1, Math.abs(generated.questionsPerMinute - reference.questionsPerMinute) / Math.max(reference.questionsPerMinute, 0.1)),
  }
  return {PACE: pace}
})

/** The compile-time types know five losses; at run time, with the mock, there are six. */
const six = (value: object) => value as Record<string, number>
const asWeights = (value: Record<string, number>) => value as Partial<Weights>

vi.mock('../../src/loss/registry.js', async (importOriginal) => {
  const original = await importOriginal<typeof Registry>()
  return {...original, LOSSES: [...original.LOSSES, PACE]}
})

describe('a sixth loss, registered with one entry', () => {
  let root = ''
  beforeAll(async () => {
    root = await makeTempDir('studio-sixth-loss-')
  })
  afterAll(async () => {
    await removeDir(root)
  })

  it('is a loss name with its default weight, and --weights accepts it', () => {
    expect(LOSS_NAMES).toEqual(['duration', 'coverage', 'structure', 'quality', 'rouge', 'pace'])
    expect(DEFAULT_WEIGHTS).toMatchObject({pace: 0.1})
    expect(parseWeights('pace=0.5,rouge=0')).toEqual({pace: 0.5, rouge: 0})
    const weights = normalizeWeights(asWeights({pace: 1}))
    expect(Object.values(weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(() => parseWeights('tempo=1')).toThrow('valid names: duration, coverage, structure, quality, rouge, pace')
  })

  it('is part of every loss breakdown and weight set the files hold, and of the total', () => {
    const losses = {duration: 0.1, coverage: 0.2, structure: 0.3, quality: 0.4, rouge: 0.5, pace: 1}
    expect(() => LossBreakdown.parse({...losses, pace: undefined, total: 0})).toThrow(/pace/)
    expect(WeightsSchema.parse(DEFAULT_WEIGHTS)).toEqual(DEFAULT_WEIGHTS)
    const onlyPace = {duration: 0, coverage: 0, structure: 0, quality: 0, rouge: 0, pace: 1}
    expect(totalLoss(losses as Registry.Losses, asWeights(onlyPace))).toBe(1)
  })

  it('is scored, weighted and reported by a whole training run', async () => {
    const outcome = await mockTrainingRun(root, {maxTrials: 2, weights: asWeights({pace: 0.5})})
    const report = TrainingReport.parse(JSON.parse(await readFile(path.join(outcome.runDir, 'training_report.json'), 'utf8')))
    expect(six(report.weights).pace).toBeGreaterThan(0)
    for (const trial of report.trials) {
      const results = TrialResults.parse(JSON.parse(await readFile(path.join(outcome.runDir, trial.dir, 'results.json'), 'utf8')))
      for (const pair of results.pairs) {
        expect(six(pair.losses).pace).toBeGreaterThanOrEqual(0)
        expect(six(pair.losses).pace).toBeLessThanOrEqual(1)
        // The total is the weighted sum over all six, the new one included.
        const {total, ...parts} = pair.losses
        expect(total).toBeCloseTo(totalLoss(parts, report.weights), 12)
      }
      const mean = results.pairs.reduce((sum, p) => sum + six(p.losses).pace!, 0) / results.pairs.length
      expect(six(results.mean_losses).pace).toBeCloseTo(mean, 12)
    }

    const table = renderTrialTable(report.trials, report.best_trial.index)
    expect(table.split('\n')[0]).toMatch(/^trial\s+duration\s+coverage\s+structure\s+quality\s+rouge\s+pace\s+total$/)

    const html = await readFile(path.join(outcome.runDir, 'training_report.html'), 'utf8')
    expect(html).toContain('Pace')
    expect(html).toContain('questions per minute vs the episode')
  })

  it('is described to the LLM refiner with the others', () => {
    const [system] = refineMessages({
      optimiser: [],
      current: {} as never,
      proposal: {prompt: {} as never, changes: []},
      profile: {
        pairs: 1,
        sequence: [],
        word_shares: {},
        time_shares: {},
        duration_seconds: 60,
        words: 150,
        words_per_minute: 150,
        mean_sentence_words: 10,
        questions_per_minute: 1,
        turns_per_minute: 2,
        speakers: ['Host'],
      },
      history: [],
      evidence: [],
    })
    expect(system!.content).toContain('pace (how far the script asks questions more or less often than the episode')
    expect(system!.content).toContain('rouge (word overlap with the episode transcript')
  })
})
