/**
 * With validation pairs, the best trial is chosen, and reported, by its validation loss.
 * Every view must say so with the same trial and the same number: the terminal summary,
 * training_report.json, `training status` (text and JSON), `training list-runs`, the
 * calibrated prompt's header and the HTML report. In this mock run the trial with the
 * best validation loss has the worst training loss, so a view that reads the training
 * loss shows a different number (and, choosing for itself, a different trial).
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Registry, TrainingReport} from '../../src/core/schemas/files.js'
import type {RunStatus} from '../../src/training/report/status.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let out = ''
let run: CliResult
let report: TrainingReport
let runDir = ''

beforeAll(async () => {
  out = await makeTempDir('studio-e2e-best-')
  // A writer (drawn from seed 25) for which the two losses disagree on the bundled pairs; the first test checks it still does.
  run = await runCli(['training', 'run', '--mock', '--mock-writer', '25', '--max-trials', '4', '--holdout', '1', '--output-dir', out])
  expect(run.code, run.stderr).toBe(0)
  runDir = path.join(out, 'latest')
  report = TrainingReport.parse(JSON.parse(await readFile(path.join(runDir, 'training_report.json'), 'utf8')))
})
afterAll(async () => {
  await removeDir(out)
})

/** The best trial as the rule says: lowest validation total, the earlier on a tie. */
function expected() {
  const validation = report.trials.map((t) => t.validation_mean_losses!.total)
  const best = validation.indexOf(Math.min(...validation))
  const train = report.trials.map((t) => t.mean_losses.total)
  return {
    index: best,
    loss: validation[best]!,
    percent: `${(((validation[0]! - validation[best]!) / validation[0]!) * 100).toFixed(1)}%`,
    trainBest: train.indexOf(Math.min(...train)),
  }
}

describe('the best trial of a run with validation pairs', () => {
  it('is a run where the validation and training losses disagree (what makes this test able to fail)', () => {
    const {index, trainBest} = expected()
    expect(report.validation_pairs).toHaveLength(1)
    expect(index).not.toBe(trainBest)
    expect(report.trials[index]!.mean_losses.total).not.toBeCloseTo(expected().loss, 3)
  })

  it('is chosen by validation loss in training_report.json', () => {
    expect(report.best_trial).toMatchObject({index: expected().index, selected_by: 'validation'})
  })

  it('is reported with its validation loss by the terminal summary', () => {
    const {index, loss, percent} = expected()
    expect(run.stdout).toContain(
      `Best trial: ${index} (validation loss (${report.validation_pairs[0]}) ${loss.toFixed(4)}, ${percent} below trial 0)`,
    )
    expect(run.stdout).toMatch(new RegExp(`^${index} \\*`, 'm'))
  })

  it('is reported the same by training status, as text and as JSON', async () => {
    const {index, loss, percent} = expected()
    const text = await runCli(['training', 'status', runDir])
    expect(text.stdout).toContain(`Best:     trial ${index} (validation loss ${loss.toFixed(4)}, ${percent} below trial 0)`)
    const json = await runCli(['training', 'status', runDir, '--json'])
    const status = JSON.parse(json.stdout) as RunStatus
    expect(status.best_trial).toMatchObject({index, total: loss, selected_by: 'validation'})
  })

  it('is reported the same by list-runs and the calibrated prompt', async () => {
    const {index, loss} = expected()
    const list = await runCli(['training', 'list-runs', '--output-dir', out, '--json'])
    const registry = Registry.parse(JSON.parse(list.stdout))
    expect(registry.runs[0]).toMatchObject({best_trial: index, selected_by: 'validation', best_loss: loss})
    const prompt = await readFile(path.join(runDir, 'calibrated_prompt.md'), 'utf8')
    expect(prompt).toContain(`best trial: ${index}; validation loss: ${loss.toFixed(4)}`)
  })

  it('is reported the same by the HTML report: its card, its improvement and the best trial marked', async () => {
    const {index, loss, percent} = expected()
    const page = (await readFile(path.join(runDir, 'training_report.html'), 'utf8')).replace(/\s+/g, ' ')
    expect(page).toMatch(
      new RegExp(`<div class="kpi-label">\\s*Best validation loss\\s*</div>\\s*<div class="kpi-value">\\s*${loss.toFixed(3)}`),
    )
    expect(page).toMatch(new RegExp(`<div class="kpi-value">\\s*${percent.replace('.', '\\.')}`))
    expect(page).toMatch(new RegExp(`data-prompt-trial="${index}" open`))
  })
})
