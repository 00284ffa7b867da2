/**
 * A loss added to the registry shows up in the HTML report with no change to the
 * report. Only the report is under test: the run is made with the real registry, given
 * a sixth loss's values, and rendered by a report module graph that imports a registry
 * with a sixth entry.
 */
import os from 'node:os'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {loadRunView, type RunView} from '../../src/training/report/view.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
let view: RunView
let page = ''

/** Every loss breakdown of the view gets a `pace` of 0.5, and the run a weight for it. */
function addPace(v: RunView): void {
  const add = (losses: object | null) => losses && Object.assign(losses, {pace: 0.5})
  for (const trial of v.trials) {
    add(trial.results.mean_losses)
    add(trial.results.validation_mean_losses)
    for (const pair of trial.results.pairs) add(pair.losses)
  }
  Object.assign(v.manifest.config.weights, {pace: 0.1})
}

beforeAll(async () => {
  root = await makeTempDir('studio-report-new-loss-')
  const outcome = await mockTrainingRun(root)
  view = await loadRunView(outcome.runDir, {host: os.hostname()})
  addPace(view)
  vi.doMock('../../src/loss/registry.js', async (importOriginal) => {
    const actual = await importOriginal<typeof import('../../src/loss/registry.js')>()
    const pace = {
      name: 'pace',
      title: 'Pace',
      defaultWeight: 0.1,
      summary: 'questions per minute vs the episode',
      description: 'questions per minute against the episode',
      compute: () => 0.5,
    }
    return {...actual, LOSSES: [...actual.LOSSES, pace]}
  })
  vi.resetModules()
  const {renderReportHtml} = await import('../../src/training/report/html.js')
  page = renderReportHtml(view).replace(/\s*([<>])\s*/g, '$1')
})
afterAll(async () => {
  vi.doUnmock('../../src/loss/registry.js')
  await removeDir(root)
})

describe('the HTML report with a sixth registered loss', () => {
  it('draws its chart, captioned from the registry', () => {
    expect(page).toContain('data-chart="pace"')
    expect(page).toContain('<span class="metric-name"><i class="swatch s-pace"></i>Pace</span>')
    expect(page).toContain('<p class="metric-hint">questions per minute vs the episode</p>')
  })

  it('gives it a row in every pair\u2019s table, a chip on every best-trial card and a weight bar', () => {
    const rows = page.match(/<th scope="row"><i class="swatch s-pace"><\/i>Pace<\/th>/g) ?? []
    expect(rows).toHaveLength(view.manifest.pairs.length)
    const chips = page.match(/<i class="swatch s-pace"><\/i>Pace<b>0\.500<\/b>/g) ?? []
    expect(chips).toHaveLength(view.trials[view.best!.position]!.results.pairs.length)
    expect(page).toMatch(/<div class="weight"><span class="meter-name"><i class="swatch s-pace"><\/i>Pace<\/span>/)
  })

  it('gives it a colour of its own and six small charts in a row', () => {
    const colour = /\.s-pace\{--c:(#[0-9a-f]{6})\}/.exec(page)?.[1]
    expect(colour).toBeDefined()
    const others = [...page.matchAll(/\.s-([a-z]+)\{--c:(#[0-9a-f]{6})\}/g)].filter((m) => m[1] !== 'pace').map((m) => m[2])
    expect(others).toHaveLength(5)
    expect(others).not.toContain(colour)
    expect(page).toContain(':root{--loss-columns:6}')
  })
})
