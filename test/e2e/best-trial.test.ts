/**
 * The best trial of a run with validation pairs, by the rule of loss/selection.ts: the
 * pooled loss of every pair with 1 or 2 validation pairs, the validation loss with 3 or
 * more. Every view must say so with the same trial, the same number and the same rule: the
 * terminal summary, training_report.json, `training status` (text and JSON), `training
 * report` (text and JSON), `training list-runs`, the calibrated prompt's header and the
 * HTML report, which also carry the verdict on the best trial.
 *
 * Each run is one where the choices by training, validation and pooled loss disagree (the
 * first test of each block checks it), so a view that reads another loss shows another
 * number and, choosing for itself, another trial. Which mock runs disagree depends on the
 * mock writer: if it changes, look for another seed with the same property.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Registry, TrainingReport} from '../../src/core/schemas/files.js'
import type {RunStatus} from '../../src/training/report/status.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {makeDoubledPairs} from '../helpers/more-pairs.js'

interface Run {
  out: string
  runDir: string
  cli: CliResult
  report: TrainingReport
}

async function train(out: string, args: string[]): Promise<Run> {
  const cli = await runCli(['training', 'run', '--mock', '--max-trials', '4', '--threshold', '0', '--output-dir', out, ...args])
  expect(cli.code, cli.stderr).toBe(0)
  const runDir = path.join(out, 'latest')
  const report = TrainingReport.parse(JSON.parse(await readFile(path.join(runDir, 'training_report.json'), 'utf8')))
  return {out, runDir, cli, report}
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
const lowest = (values: number[]) => values.indexOf(Math.min(...values))

/** What each loss would choose, computed here from the report's per-pair losses, independently of loss/selection.ts. */
function choices(report: TrainingReport) {
  const train = report.trials.map((t) => t.mean_losses.total)
  const validation = report.trials.map((t) => t.validation_mean_losses!.total)
  const pooled = report.trials.map((t) => mean(t.pairs.map((p) => p.losses.total)))
  return {train, validation, pooled, byTrain: lowest(train), byValidation: lowest(validation), byPooled: lowest(pooled)}
}

const percent = (first: number, best: number) => `${(((first - best) / first) * 100).toFixed(1)}%`
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The views of one run, each checked against the expected best trial, loss name, loss and rule. */
function viewsAgree(get: () => Run, expected: () => {index: number; loss: number; by: string; name: string; kpi: string; rule: string}) {
  it('is named in training_report.json, with its rule and its verdict', () => {
    const {report} = get()
    const {index, by, rule} = expected()
    expect(report.best_trial).toMatchObject({index, selected_by: by, selection_rule: rule})
    const pairs = report.trials[index]!.pairs.filter((p) => by === 'pooled' || p.split === by)
    expect(report.verdict).toMatchObject({split: by, pairs: pairs.length})
    expect(report.verdict!.checks.map((c) => c.measure)).toEqual(['coverage', 'quality', 'rouge1'])
    for (const c of report.verdict!.checks) expect(c.met, c.measure).toBe(c.value > c.threshold)
    expect(report.verdict!.excellent).toBe(report.verdict!.checks.every((c) => c.met))
  })

  it('is reported with its loss, its rule and the verdict by the terminal summary', () => {
    const {cli, report} = get()
    const {index, loss, name, rule, by: split} = expected()
    const first = choices(report)[split === 'pooled' ? 'pooled' : 'validation'][0]!
    const by = name === 'validation loss' ? `${name} (${report.validation_pairs.join(', ')})` : name
    expect(cli.stdout).toContain(`Best trial: ${index} (${by} ${loss.toFixed(4)}, ${percent(first, loss)} below trial 0)`)
    expect(cli.stdout).toMatch(new RegExp(`^${index} \\*`, 'm'))
    expect(cli.stdout).toContain(`\n${rule}\n`)
    expect(cli.stdout).toContain(`Verdict: ${report.verdict!.summary} (best trial, on its ${report.verdict!.pairs} `)
    for (const c of report.verdict!.checks) expect(cli.stdout).toMatch(new RegExp(`^${c.title} .* ${c.met ? 'yes' : 'no'}$`, 'm'))
  })

  it('is reported the same by training status, as text and as JSON', async () => {
    const {runDir, report} = get()
    const {index, loss, name, rule, by} = expected()
    const text = await runCli(['training', 'status', runDir])
    expect(text.stdout).toContain(`Best:     trial ${index} (${name} ${loss.toFixed(4)}`)
    expect(text.stdout).toContain(`Rule:     ${rule}`)
    expect(text.stdout).toContain(`Verdict: ${report.verdict!.summary}`)
    const status = JSON.parse((await runCli(['training', 'status', runDir, '--json'])).stdout) as RunStatus
    expect(status.best_trial).toMatchObject({index, total: loss, selected_by: by, rule})
    expect(status.verdict).toEqual(report.verdict)
  })

  it('is reported the same by training report, as text and as JSON', async () => {
    const {runDir, report} = get()
    const {index, by, rule} = expected()
    const text = await runCli(['training', 'report', runDir])
    expect(text.stdout).toContain(rule)
    expect(text.stdout).toContain(`Verdict: ${report.verdict!.summary}`)
    const json = JSON.parse((await runCli(['training', 'report', runDir, '--json'])).stdout) as Record<string, unknown>
    expect(json).toMatchObject({best_trial: index, selected_by: by, selection_rule: rule, verdict: report.verdict})
  })

  it('is reported the same by list-runs and the calibrated prompt', async () => {
    const {out, runDir} = get()
    const {index, loss, by, name} = expected()
    const registry = Registry.parse(JSON.parse((await runCli(['training', 'list-runs', '--output-dir', out, '--json'])).stdout))
    expect(registry.runs[0]).toMatchObject({best_trial: index, selected_by: by, best_loss: loss})
    const text = await runCli(['training', 'list-runs', '--output-dir', out])
    expect(text.stdout).toMatch(new RegExp(`^run-\\S+ .* ${index} .* ${by} `, 'm'))
    const prompt = await readFile(path.join(runDir, 'calibrated_prompt.md'), 'utf8')
    expect(prompt).toContain(`best trial: ${index}; ${name}: ${loss.toFixed(4)}`)
  })

  it('is reported the same by the HTML report: its card, its improvement, its rule, the verdict and the best trial marked', async () => {
    const {runDir, report} = get()
    const {index, loss, kpi, rule, by} = expected()
    const page = (await readFile(path.join(runDir, 'training_report.html'), 'utf8')).replace(/\s+/g, ' ')
    expect(page).toMatch(new RegExp(`<div class="kpi-label">\\s*${kpi}\\s*</div>\\s*<div class="kpi-value">\\s*${loss.toFixed(3)}`))
    const first = choices(report)[by === 'pooled' ? 'pooled' : 'validation'][0]!
    expect(page).toMatch(new RegExp(`<div class="kpi-value">\\s*${escapeRegExp(percent(first, loss))}`))
    expect(page).toMatch(new RegExp(`data-prompt-trial="${index}" open`))
    expect(page).toContain(`<p class="lead">${rule.replace(/'/g, '&#39;')} `)
    expect(page).toContain(`data-verdict="${report.verdict!.excellent ? 'excellent' : 'not-yet'}"`)
    expect(page).toContain(`<b>Verdict: ${report.verdict!.summary}</b>`)
  })
}

describe('the best trial of a run with 1 validation pair: pooled', () => {
  let run: Run

  beforeAll(async () => {
    run = await train(await makeTempDir('studio-e2e-best-pooled-'), ['--holdout', '1', '--seed', '20'])
  })
  afterAll(async () => {
    await removeDir(run.out)
  })

  const expected = () => {
    const c = choices(run.report)
    return {
      index: c.byPooled,
      loss: c.pooled[c.byPooled]!,
      by: 'pooled',
      name: 'pooled loss (training + validation pairs)',
      kpi: 'Best pooled loss',
      rule: `Best trial chosen by the pooled loss of ${run.report.pairs.length} pairs (training + validation): only 1 validation pair, too few to choose on alone.`,
    }
  }

  it('is a run where the training, validation and pooled losses each choose another trial (what makes this test able to fail)', () => {
    const {byTrain, byValidation, byPooled} = choices(run.report)
    expect(run.report.validation_pairs).toHaveLength(1)
    expect(new Set([byTrain, byValidation, byPooled]).size).toBe(3)
  })

  it('is not the lucky draw of the one validation pair', () => {
    expect(run.report.best_trial.index).not.toBe(choices(run.report).byValidation)
  })

  viewsAgree(() => run, expected)
})

describe('the best trial of a run with 3 validation pairs: validation', () => {
  let run: Run
  let root = ''

  beforeAll(async () => {
    root = await makeTempDir('studio-e2e-best-validation-')
    const pairsDir = path.join(root, 'pairs')
    await makeDoubledPairs(pairsDir)
    run = await train(path.join(root, 'out'), ['--pairs-dir', pairsDir, '--holdout', '3', '--seed', '6'])
  })
  afterAll(async () => {
    await removeDir(root)
  })

  const expected = () => {
    const c = choices(run.report)
    return {
      index: c.byValidation,
      loss: c.validation[c.byValidation]!,
      by: 'validation',
      name: 'validation loss',
      kpi: 'Best validation loss',
      rule: 'Best trial chosen by the validation loss of 3 pairs, validation losses within 0.002 of the lowest counting as tied and the training loss breaking ties.',
    }
  }

  it('is a run where the validation loss chooses another trial than the training and pooled losses, and no other trial is within 0.002 of it', () => {
    const {byTrain, byValidation, byPooled, validation} = choices(run.report)
    expect(run.report.validation_pairs).toHaveLength(3)
    expect(byValidation).not.toBe(byTrain)
    expect(byValidation).not.toBe(byPooled)
    expect(validation.filter((v) => v - validation[byValidation]! <= 0.002)).toHaveLength(1)
  })

  viewsAgree(() => run, expected)
})
