import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {formatPercent} from '../../src/core/format.js'
import {STOP_REASON_TEXT} from '../../src/core/schemas/common.js'
import {LOSSES} from '../../src/loss/registry.js'
import {LOSS_NAMES} from '../../src/loss/weights.js'
import {band, reportModel, runHref, type Kpi, type ReportModel} from '../../src/training/report/model.js'
import {loadRunView, selectBest, type RunView} from '../../src/training/report/view.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
let view: RunView
let held: RunView
let model: ReportModel

beforeAll(async () => {
  root = await makeTempDir('studio-report-model-')
  const [plain, holdout] = await Promise.all([
    mockTrainingRun(root),
    mockTrainingRun(root, {holdout: 1, outputDir: path.join(root, 'holdout')}),
  ])
  view = await loadRunView(plain.runDir, {host: os.hostname()})
  held = await loadRunView(holdout.runDir, {host: os.hostname()})
  model = reportModel(view)
})
afterAll(async () => {
  await removeDir(root)
})

function kpi(m: ReportModel, label: RegExp): Kpi {
  const card = m.header.kpis.find((k) => label.test(k.label))
  expect(card, String(label)).toBeDefined()
  return card!
}

/** Chooses the best trial again, as loadRunView does, after a test has edited the trials. */
function reselect(copy: RunView): RunView {
  return Object.assign(copy, selectBest(copy.trials, null))
}

/** The plain run with every pair held out: three validation pairs, enough to choose on alone. */
function allValidation(): RunView {
  const copy = structuredClone(view)
  copy.manifest.validation_pairs = copy.manifest.pairs.map((p) => p.id)
  copy.trials.forEach((t, i) => {
    for (const p of t.results.pairs) p.split = 'validation'
    // Trial 1 best on validation, the last best on training.
    t.results.validation_mean_losses = {...t.results.mean_losses, total: i === 1 ? 0.1 : 0.3}
    t.results.mean_losses = {...t.results.mean_losses, total: i === copy.trials.length - 1 ? 0.05 : 0.2}
  })
  return reselect(copy)
}

describe('reportModel: the header', () => {
  it('reports the best trial by its mean total loss without validation pairs', () => {
    const best = view.best!
    expect(best.selectedBy).toBe('train')
    expect(kpi(model, /^Best/)).toEqual({
      label: 'Best total loss',
      value: view.trials[best.position]!.results.mean_losses.total.toFixed(3),
      of: null,
      note: `Trial ${best.index}`,
      best: true,
    })
  })

  it('reports the best trial by the pooled loss that chose it with --holdout 1, and says so', () => {
    const best = held.best!
    expect(best.selectedBy).toBe('pooled')
    const m = reportModel(held)
    expect(kpi(m, /^Best/)).toMatchObject({label: 'Best pooled loss', value: best.loss.toFixed(3), note: `Trial ${best.index}`})
    expect(kpi(m, /^Improvement$/)).toMatchObject({
      value: formatPercent(best.improvement!),
      note: `lower than trial 0 (${best.firstLoss.toFixed(3)})`,
    })
    // The pooled series is drawn on the total chart, where the best label sits.
    expect(m.charts!.selectedBy).toBe('pooled')
    expect(m.charts!.total.series.map((s) => s.split)).toEqual(['train', 'validation', 'pooled'])
    const pooled = held.trials.map((t) => t.results.pairs.reduce((sum, p) => sum + p.losses.total, 0) / t.results.pairs.length)
    m.charts!.total.series[2]!.values.forEach((v, i) => expect(v).toBeCloseTo(pooled[i]!, 12))
    expect(m.charts!.total.bestLabel).toBe(best.loss)
    expect(best.loss).toBeCloseTo(pooled[best.position]!, 12)
    // Each loss's card reports the best trial's mean of that loss over every pair.
    const pairs = held.trials[best.position]!.results.pairs
    for (const chart of m.charts!.losses) {
      expect(chart.best, chart.key).toBeCloseTo(pairs.reduce((sum, p) => sum + p.losses[chart.key], 0) / pairs.length, 12)
      expect(chart.series.map((s) => s.split)).toEqual(['train', 'validation'])
    }
    expect(m.best).toMatchObject({index: best.index, selectedBy: 'pooled', rule: best.rule, verdict: held.verdict})
    expect(m.best!.rule).toContain('only 1 validation pair, too few to choose on alone')
  })

  it('reports the best trial by the validation loss that chose it with 3 validation pairs, and says so', () => {
    const copy = allValidation()
    const best = copy.best!
    expect(best).toMatchObject({selectedBy: 'validation', index: 1, loss: 0.1})
    const m = reportModel(copy)
    expect(kpi(m, /^Best/)).toMatchObject({label: 'Best validation loss', value: '0.100', note: 'Trial 1'})
    expect(m.charts!.total.series.map((s) => s.split)).toEqual(['train', 'validation'])
    expect(m.charts!.total.bestLabel).toBe(0.1)
    const validation = copy.trials[1]!.results.validation_mean_losses!
    for (const chart of m.charts!.losses) expect(chart.best, chart.key).toBe(validation[chart.key])
    expect(m.best).toMatchObject({index: 1, selectedBy: 'validation', rule: best.rule})
    expect(m.best!.verdict).toMatchObject({split: 'validation', pairs: 3})
  })

  it('says trial 0 is still the best when no later trial beat it, and that a first loss of 0 leaves nothing to improve', () => {
    const copy = reselect({...structuredClone(view), trials: structuredClone(view.trials.slice(0, 1))})
    expect(kpi(reportModel(copy), /^Improvement$/)).toMatchObject({value: '0%', note: 'trial 0 is still the best'})
    copy.trials[0]!.results.mean_losses.total = 0
    reselect(copy)
    expect(kpi(reportModel(copy), /^Improvement$/)).toMatchObject({value: '—', note: 'trial 0 already has a loss of 0'})
  })

  it('names every stop reason in the words every view uses', () => {
    for (const reason of ['max_trials', 'converged', 'budget'] as const) {
      const copy = structuredClone(view)
      copy.report!.stop_reason = reason
      expect(kpi(reportModel(copy), /^Trials$/).note).toBe(`stop: ${STOP_REASON_TEXT[reason]}`)
    }
  })

  it('counts cost, calls and tokens with the shared formatting', () => {
    const copy = structuredClone(view)
    copy.usage.total = {calls: 1234, input_tokens: 1_000_000, output_tokens: 234_567, cost_usd: 0.004}
    expect(kpi(reportModel(copy), /^Cost$/)).toMatchObject({value: '$0.0040', note: '1,234 calls · 1,234,567 tokens'})
    copy.usage.total.cost_usd = null
    expect(kpi(reportModel(copy), /^Cost$/).value).toBe('unknown')
  })

  it('has a notice for a run that is not finished, with the trials it shows', () => {
    expect(model.header.notice).toBeNull()
    const copy = structuredClone(view)
    copy.state = 'interrupted'
    copy.manifest.error = 'stopped by SIGINT'
    expect(reportModel(copy).header.notice).toEqual({state: 'interrupted', trials: 3, error: 'stopped by SIGINT'})
  })
})

describe('reportModel: losses come from the registry', () => {
  it('has a chart per registered loss, in registry order, titled and described by the registry', () => {
    expect(model.charts!.losses.map((c) => c.key)).toEqual(LOSS_NAMES)
    for (const [i, loss] of LOSSES.entries()) {
      const chart = model.charts!.losses[i]!
      expect(chart).toMatchObject({name: loss.title, summary: loss.summary, weight: view.manifest.config.weights[loss.name]})
      expect(chart.series[0]!.values).toEqual(view.trials.map((t) => t.results.mean_losses[loss.name]))
    }
    expect(model.charts!.total.series.map((s) => s.split)).toEqual(['train'])
  })

  it('lists every registered loss, then the total, in the tables, the best trial\u2019s chips and the weights', () => {
    const keys = [...LOSS_NAMES, 'total']
    for (const detail of model.pairs!.details) expect(detail.rows.map((r) => r.key)).toEqual(keys)
    for (const card of model.best!.cards) expect(card.losses.map((l) => l.key)).toEqual(keys)
    expect(model.config.weights.map((w) => w.key)).toEqual(LOSS_NAMES)
    expect(model.config.weights.reduce((sum, w) => sum + w.share, 0)).toBeCloseTo(1, 9)
  })
})

describe('reportModel: tables', () => {
  it('marks the best trial\u2019s column and each row\u2019s lowest total, and links each script inside the run folder', () => {
    const {pairs} = model
    expect(pairs!.trials.filter((t) => t.best).map((t) => t.index)).toEqual([view.best!.index])
    for (const row of pairs!.rows) {
      const losses = row.cells.map((c) => c!.loss)
      expect(row.cells.filter((c) => c!.lowest).map((c) => c!.loss)).toEqual(losses.filter((l) => l === Math.min(...losses)))
      for (const [i, cell] of row.cells.entries()) {
        const trial = view.trials[i]!.results
        const file = trial.pairs.find((p) => p.pair_id === row.pairId)!.script_file
        expect(cell!.scriptHref).toBe(`${trial.dir}/${file}`)
      }
    }
    expect(pairs!.validationMean).toBeNull()
  })

  it('leaves a cell empty where a pair has no result, and marks no lowest value in a row of one', () => {
    const copy = structuredClone(view)
    const gone = copy.trials[0]!.results.pairs.shift()!
    copy.trials[1]!.results.pairs = copy.trials[1]!.results.pairs.filter((p) => p.pair_id !== gone.pair_id)
    copy.trials[2]!.results.pairs = copy.trials[2]!.results.pairs.filter((p) => p.pair_id !== gone.pair_id)
    copy.trials[2]!.results.pairs.push(gone)
    const row = reportModel(copy).pairs!.rows.find((r) => r.pairId === gone.pair_id)!
    expect(row.cells.map((c) => c && {lowest: c.lowest})).toEqual([null, null, {lowest: false}])
  })

  it('URL-encodes each segment of a link, so that no file name can leave the run folder or start a scheme', () => {
    expect(runHref('trial_000', 'javascript:alert(1)')).toBe('trial_000/javascript%3Aalert(1)')
    expect(runHref('trial_000', '../../etc/passwd')).toBe('trial_000/..%2F..%2Fetc%2Fpasswd')
  })

  it('lists usage by role, in total and per trial', () => {
    expect(model.usage.total).toEqual(view.usage.total)
    expect(model.usage.roles.map((r) => r.role)).toEqual(Object.keys(view.usage.by_role))
    expect(model.usage.trials.map((t) => [t.index, t.best])).toEqual(
      view.trials.map((t, i) => [t.results.index, i === view.best!.position]),
    )
  })
})

describe('reportModel: the best trial and the prompts', () => {
  it('splits each label\u2019s word share over its occurrences, and falls back to equal widths without shares', () => {
    const segments = band(['intro', 'findings', 'intro'], {intro: 0.5, findings: 0.5})
    expect(segments).toEqual([
      {label: 'intro', share: 0.25},
      {label: 'findings', share: 0.5},
      {label: 'intro', share: 0.25},
    ])
    expect(band(['intro', 'outro'], undefined).map((s) => s.share)).toEqual([0.5, 0.5])
    expect(band([], {})).toEqual([])
  })

  it('has a diff to the previous trial\u2019s prompt, and none when the prompt did not change', () => {
    expect(model.prompts[0]!.diff).toBeNull()
    expect(model.prompts[1]!.diff?.against).toBe(0)
    expect(model.prompts[1]!.diff?.lines?.some((l) => l.kind === 'added' || l.kind === 'removed')).toBe(true)
    const copy = structuredClone(view)
    copy.trials[1]!.prompt.rendered.system = copy.trials[0]!.prompt.rendered.system
    expect(reportModel(copy).prompts[1]!.diff).toEqual({against: 0, lines: null})
  })

  it('shows each trial\u2019s validation loss beside its training loss when there are validation pairs', () => {
    expect(model.prompts.every((p) => p.validationLoss === null)).toBe(true)
    const prompts = reportModel(held).prompts
    expect(prompts.map((p) => p.validationLoss)).toEqual(held.trials.map((t) => t.results.validation_mean_losses!.total))
  })

  it('is empty before the first trial', () => {
    const copy = reselect({...structuredClone(view), trials: [], report: null})
    const m = reportModel(copy)
    expect([m.charts, m.pairs, m.best, m.prompts, m.usage.trials]).toEqual([null, null, null, [], []])
    expect(kpi(m, /^Best/)).toMatchObject({value: '—', note: 'no trial yet'})
  })
})
