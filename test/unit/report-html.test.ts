import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {formatPercent} from '../../src/core/format.js'
import {STOP_REASON_TEXT} from '../../src/core/schemas/common.js'
import {LOSS_NAMES} from '../../src/loss/weights.js'
import {lineDiff, withContext} from '../../src/training/report/diff.js'
import {renderReportHtml} from '../../src/training/report/html.js'
import {escapeHtml} from '../../src/training/report/template.js'
import {loadRunView, selectBest, type RunView} from '../../src/training/report/view.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

const CHARTS = ['total', 'duration', 'coverage', 'structure', 'quality', 'rouge']

let root = ''
let view: RunView
let html = ''

beforeAll(async () => {
  root = await makeTempDir('studio-report-html-')
  const outcome = await mockTrainingRun(root)
  view = await loadRunView(outcome.runDir, {host: os.hostname()})
  html = render(view)
})
afterAll(async () => {
  await removeDir(root)
})

/**
 * The page without the whitespace around its tags, which the templates' layout adds and
 * a browser ignores, so that assertions can name markup exactly.
 */
function render(view: RunView): string {
  return renderReportHtml(view).replace(/\s*([<>])\s*/g, '$1')
}

/** The markup of each `<svg data-chart="...">`, by chart name. */
function charts(page: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const match of page.matchAll(/<svg\b[^>]*\bdata-chart="([^"]+)"[\s\S]*?<\/svg>/g)) out.set(match[1]!, match[0])
  return out
}

/** data-trial of every point of a chart, and those of the points marked best. */
function points(svg: string): {all: number[]; best: number[]} {
  const circles = [...svg.matchAll(/<circle\b([^>]*)>/g)].map((m) => m[1]!)
  const trialOf = (attrs: string) => Number(/data-trial="(\d+)"/.exec(attrs)?.[1])
  return {
    all: circles.map(trialOf),
    best: circles.filter((attrs) => /class="[^"]*\bbest\b/.test(attrs)).map(trialOf),
  }
}

/** The markup of the header's KPI card with this label. */
function kpi(page: string, label: string): string {
  const card = page.split('<div class="kpi ').find((part) => part.includes(`<div class="kpi-label">${label}</div>`))
  expect(card, label).toBeDefined()
  return card!
}

function copyView(): RunView {
  return structuredClone(view)
}

/** Chooses the best trial again, as loadRunView does, after a test has edited the trials. */
function reselect(copy: RunView): RunView {
  return Object.assign(copy, selectBest(copy.trials, null))
}

describe('renderReportHtml on a finished mock run', () => {
  it('is a complete, self-contained page: no script, nothing from the network', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).toContain('</html>')
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<link\b/i)
    expect(html).not.toMatch(/\bsrc=/i)
    expect(html).not.toMatch(/@import|url\(/i)
    // The only absolute URL is the SVG namespace, which is never fetched.
    const urls = [...html.matchAll(/https?:\/\/[^\s"')<]+/g)].map((m) => m[0])
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']))
  })

  it('is deterministic', () => {
    expect(renderReportHtml(view)).toBe(renderReportHtml(structuredClone(view)))
  })

  it('shows the run in the header: id, state, best trial, improvement and stop reason', () => {
    const best = view.trials[view.best!.position]!
    expect(view.state).toBe('finished')
    expect(html).toContain(`<h1>${view.manifest.run_id}</h1>`)
    expect(html).toMatch(/class="badge state state-finished" data-state="finished">Finished</)
    expect(html).toContain(best.results.mean_losses.total.toFixed(3))
    const first = view.trials[0]!.results.mean_losses.total
    const improvement = ((first - best.results.mean_losses.total) / first) * 100
    expect(html).toContain(`${improvement.toFixed(1)}%`)
    expect(html).toContain(`stop: ${STOP_REASON_TEXT[view.report!.stop_reason]}`)
  })

  it('draws every chart with exactly one point per trial', () => {
    const found = charts(html)
    expect([...found.keys()].sort()).toEqual([...CHARTS].sort())
    const trialIndices = view.trials.map((t) => t.results.index)
    expect(trialIndices).toHaveLength(3)
    for (const [name, svg] of found) {
      expect(points(svg).all, name).toEqual(trialIndices)
      expect(svg, name).toMatch(/<title id="chart-[a-z]+-title">[^<]+<\/title>/)
      expect(svg, name).toContain('>trial</text>')
      expect(svg, name).toContain('>loss</text>')
    }
  })

  it('highlights the best trial in every chart and in the tables', () => {
    const best = view.trials[view.best!.position]!.results.index
    for (const [name, svg] of charts(html)) expect(points(svg).best, name).toEqual([best])
    // The best trial's column header in the per-pair tables carries the highlight.
    const headers = [...html.matchAll(/<th class="num best" scope="col">(\d+)/g)].map((m) => Number(m[1]))
    expect(headers.length).toBe(1 + view.manifest.pairs.length)
    expect(new Set(headers)).toEqual(new Set([best]))
    expect(html).toContain(`Best trial: Trial ${best}`)
    expect(html).toMatch(new RegExp(`data-prompt-trial="${best}" open>`))
  })

  it('has a row per pair with each trial\u2019s total loss, linked to the script', () => {
    for (const pair of view.manifest.pairs) {
      const row = new RegExp(`<tr data-pair="${pair.id}">([\\s\\S]*?)</tr>`).exec(html)?.[1]
      expect(row, pair.id).toBeDefined()
      for (const trial of view.trials) {
        const result = trial.results.pairs.find((p) => p.pair_id === pair.id)!
        expect(row).toContain(`href="${trial.results.dir}/${result.script_file}"`)
        expect(row).toContain(`>${result.losses.total.toFixed(3)}</a>`)
      }
    }
  })

  it('has a detail table per pair with each of the six losses per trial', () => {
    for (const pair of view.manifest.pairs) {
      const table = new RegExp(`<table class="data" data-pair-table="${pair.id}">([\\s\\S]*?)</table>`).exec(html)?.[1]
      expect(table, pair.id).toBeDefined()
      for (const name of ['Duration', 'Coverage', 'Structure', 'Quality', 'ROUGE', 'Total']) expect(table).toContain(`</i>${name}</th>`)
      for (const trial of view.trials) {
        const losses = trial.results.pairs.find((p) => p.pair_id === pair.id)!.losses
        for (const value of Object.values(losses)) expect(table).toContain(`>${value.toFixed(3)}</td>`)
      }
    }
  })

  it('shows the best trial\u2019s segment bands, concepts and judge for each pair', () => {
    const best = view.trials[view.best!.position]!
    for (const pair of best.results.pairs) {
      const card = new RegExp(`<article class="pair-card" data-best-pair="${pair.pair_id}">([\\s\\S]*?)</article>`).exec(html)?.[1]
      expect(card, pair.pair_id).toBeDefined()
      const band = (name: string) =>
        [...(new RegExp(`data-band="${name}">([\\s\\S]*?)</div>`).exec(card!)?.[1] ?? '').matchAll(/class="seg l-([a-z]+)"/g)].map(
          (m) => m[1],
        )
      expect(band('reference')).toEqual(pair.details.reference_sequence)
      expect(band('generated')).toEqual(pair.details.generated_sequence)
      for (const term of pair.details.concepts_explained) expect(card).toContain(`<li class="chip chip-ok">${term}</li>`)
      for (const term of pair.details.concepts_missed) expect(card).toContain(`<li class="chip chip-missed">${term}</li>`)
      expect(card).toContain(`href="${best.results.dir}/${pair.script_file}"`)
    }
    // Band widths follow word shares and fill the band.
    const widths = [...html.matchAll(/data-band="reference">([\s\S]*?)<\/div>/g)].map((m) =>
      [...m[1]!.matchAll(/width:([\d.]+)%/g)].reduce((sum, w) => sum + Number(w[1]), 0),
    )
    for (const total of widths) expect(total).toBeCloseTo(100, 0)
  })

  it('says how each paper\u2019s length was chosen, from the report\u2019s length model', () => {
    const note = view.report!.length_model!.note
    expect(note).toMatch(/training pair/)
    expect(html).toContain(`<p class="muted small">Length per paper: ${note.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}.</p>`)
  })

  it('shows each trial\u2019s prompt, its changes and a diff to the previous one', () => {
    for (const [i, trial] of view.trials.entries()) {
      expect(html).toContain(`data-prompt-trial="${trial.results.index}"`)
      for (const change of trial.prompt.changes) expect(html).toContain(`<li>${escapeHtml(change)}</li>`)
      if (i > 0) expect(html).toContain(`Diff vs trial ${view.trials[i - 1]!.results.index}`)
    }
    expect(html).toMatch(/<span class="d-added"><span class="d-mark">\+<\/span>/)
    expect(html).toMatch(/<span class="d-removed"><span class="d-mark">−<\/span>/)
  })

  it('shows usage and the configuration', () => {
    expect(html).toContain(`<tfoot><tr class=""><th scope="row">Total</th><td class="num">${view.usage.total.calls}</td>`)
    expect(html).toContain('$0.00')
    expect(html).toContain(`<code>${view.manifest.config.pairs_dir}</code>`)
    expect(html).toContain('<dt>Tool version</dt><dd>test</dd>')
    expect(html).toContain(`<dt>Node version</dt><dd>${process.version}</dd>`)
    expect(html).toContain('No pair was skipped.')
  })
})

describe('renderReportHtml on edited views', () => {
  it('escapes every string from the data', () => {
    const copy = copyView()
    const evil = '<script>alert("x")</script>'
    const trial = copy.trials[1]!
    trial.prompt.prompt.instructions.push(evil)
    trial.prompt.rendered.system += `\n- ${evil}`
    trial.prompt.changes.push(`added ${evil}`)
    trial.results.pairs[0]!.details.concepts_missed.push(evil)
    trial.results.pairs[0]!.details.judge.weakest_dimension_reason = evil
    copy.manifest.skipped.push({id: '<img src=x onerror=alert(1)>', reason: evil})
    copy.manifest.providers.language_model = evil
    copy.manifest.run_id = `run-<b>"'&`
    const page = render(copy)
    expect(page).not.toMatch(/<script/i)
    expect(page).not.toContain('<img')
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(page).toContain('<h1>run-&lt;b&gt;&quot;&#39;&amp;</h1>')
    // The injected instruction shows up, escaped, as an added line of the diff.
    expect(page).toContain('<span class="d-added"><span class="d-mark">+</span>- &lt;script&gt;')
  })

  it('escapes every string that comes from outside, in text and in attributes alike', () => {
    const copy = copyView()
    const evil = (what: string) => `${what}<x-evil a="'&">`
    const escaped = (what: string) => escapeHtml(evil(what))
    // One pair renamed everywhere it appears, and held out so that the legend names it too.
    const pair = copy.manifest.pairs[0]!
    const oldId = pair.id
    pair.id = evil('pair')
    copy.manifest.validation_pairs = [pair.id]
    for (const trial of copy.trials) {
      const result = trial.results.pairs.find((p) => p.pair_id === oldId)!
      result.pair_id = pair.id
      trial.results.validation_mean_losses = {...trial.results.mean_losses}
    }
    copy.analyses[pair.id] = copy.analyses[oldId]!
    reselect(copy)
    const best = copy.trials[copy.best!.position]!
    const card = best.results.pairs.find((p) => p.pair_id === pair.id)!
    card.details.judge.weakest_dimension_reason = evil('reason')
    card.details.concepts_explained.push(evil('explained'))
    card.details.concepts_missed.push(evil('missed'))
    best.prompt.rendered.system = evil('system')
    best.prompt.rendered.user_template = evil('user')
    best.prompt.changes.push(evil('change'))
    pair.pdf = path.join(copy.manifest.config.pairs_dir, evil('paper.pdf'))
    pair.mp3 = evil('/elsewhere/episode.mp3')
    copy.manifest.config.output_dir = evil('/out')
    copy.manifest.skipped.push({id: evil('skipped'), reason: evil('why')})
    copy.manifest.providers.transcriber = evil('transcriber')
    copy.manifest.tool_version = evil('version')
    copy.manifest.host = evil('host')
    copy.runDir = evil('/runs/run')
    const page = render(copy)

    expect(page).not.toContain('<x-evil')
    expect(page).toContain(`<tr data-pair="${escaped('pair')}"><th scope="row" class="pair-id">${escaped('pair')}`)
    expect(page).toContain(`title="Open the script of ${escaped('pair')} in trial`)
    expect(page).toContain(`data-pair-table="${escaped('pair')}"`)
    expect(page).toContain(`<article class="pair-card" data-best-pair="${escaped('pair')}"><header><h3>${escaped('pair')}`)
    expect(page).toContain(`validation (${escaped('pair')})`)
    expect(page).toContain(`<blockquote>${escaped('reason')}</blockquote>`)
    expect(page).toContain(`<li class="chip chip-ok">${escaped('explained')}</li>`)
    expect(page).toContain(`<li class="chip chip-missed">${escaped('missed')}</li>`)
    expect(page).toContain(`<pre class="prompt-text">${escaped('system')}</pre>`)
    expect(page).toContain(`<pre class="prompt-text">${escaped('user')}</pre>`)
    expect(page).toContain(`<span class="d-mark">+</span>${escaped('system')}</span>`)
    expect(page).toContain(`<li>${escaped('change')}</li>`)
    expect(page).toContain(`<td><code>${escaped('paper.pdf')}</code></td><td><code>${escaped('/elsewhere/episode.mp3')}</code></td>`)
    expect(page).toContain(`<dt>Output folder</dt><dd><code>${escaped('/out')}</code></dd>`)
    expect(page).toContain(`<li><span class="pair-id">${escaped('skipped')}</span>: ${escaped('why')}</li>`)
    expect(page).toContain(`<dt>Transcriber</dt><dd>${escaped('transcriber')}</dd>`)
    expect(page).toContain(`<meta name="generator" content="studio ${escaped('version')}"`)
    expect(page).toContain(`<dt>Host</dt><dd>${escaped('host')}</dd>`)
    expect(page).toContain(`from<code>${escaped('/runs/run')}</code>`)
  })

  it('keeps links inside the run folder: path segments are URL-encoded', () => {
    const copy = copyView()
    copy.trials[0]!.results.pairs[0]!.script_file = 'javascript:alert(1)'
    const page = render(copy)
    expect(page).not.toContain('href="javascript:')
    expect(page).toContain(`href="${copy.trials[0]!.results.dir}/javascript%3Aalert(1)"`)
  })

  it('renders a running run with no complete trial and no report', () => {
    const copy = copyView()
    copy.state = 'running'
    copy.manifest.status = 'running'
    copy.manifest.finished_at = null
    copy.report = null
    copy.trials = []
    reselect(copy)
    const page = render(copy)
    expect(page).toContain('data-state="running">Running<')
    expect(page).toContain('This run is still going')
    expect(page).toContain('No trial has completed yet')
    expect(page).toContain('still running')
    expect(page).not.toContain('<circle')
    expect(page).not.toContain('data-chart=')
    expect(page).toContain('</html>')
  })

  it('renders an interrupted run without a report, with the trials it completed', () => {
    const copy = copyView()
    copy.state = 'interrupted'
    copy.report = null
    copy.trials = copy.trials.slice(0, 2)
    reselect(copy)
    const page = render(copy)
    expect(page).toContain('data-state="interrupted">Interrupted<')
    expect(page).toContain('The run was interrupted')
    for (const [name, svg] of charts(page)) {
      expect(points(svg).all, name).toEqual([0, 1])
      expect(points(svg).best, name).toEqual([copy.best?.position ?? null])
    }
  })

  it('draws a single trial as a single point', () => {
    const copy = copyView()
    copy.report = null
    copy.trials = copy.trials.slice(0, 1)
    reselect(copy)
    const page = render(copy)
    for (const [name, svg] of charts(page)) {
      expect(points(svg).all, name).toEqual([0])
      expect(points(svg).best, name).toEqual([0])
      expect(svg, name).not.toContain('<polyline')
    }
    expect(page).toContain('trial 0 is still the best')
  })

  it('draws a dashed validation series, a dotted pooled total that chooses the best trial, and marks held-out pairs with 1 validation pair', () => {
    const copy = copyView()
    const held = copy.trials[0]!.results.pairs[0]!.pair_id
    copy.manifest.validation_pairs = [held]
    copy.trials.forEach((t, i) => {
      t.results.pairs[0]!.split = 'validation'
      t.results.validation_mean_losses = {...t.results.mean_losses, total: 0.5 + i / 100}
    })
    reselect(copy)
    expect(copy.best!.selectedBy).toBe('pooled')
    const page = render(copy)
    for (const [name, svg] of charts(page)) {
      const series = [...svg.matchAll(/data-series="([a-z]+)"/g)].map((m) => m[1])
      expect(
        series.filter((s) => s === 'train'),
        name,
      ).toHaveLength(3)
      expect(
        series.filter((s) => s === 'validation'),
        name,
      ).toHaveLength(3)
      // Only the total is chosen on: only its chart draws the pooled series.
      expect(
        series.filter((s) => s === 'pooled'),
        name,
      ).toHaveLength(name === 'total' ? 3 : 0)
      expect(svg, name).toMatch(/<polyline class="line s-[a-z]+ s-validation"/)
    }
    expect(charts(page).get('total')).toMatch(/<polyline class="line s-total s-pooled"/)
    expect(charts(page).get('total')).toContain('validation loss 0.510')
    expect(charts(page).get('total')).toContain(`total pooled loss ${copy.best!.loss.toFixed(3)}`)
    expect(page).toContain(`validation (${held})</li>`)
    expect(page).toContain('pooled (every pair; chooses the best trial)')
    expect(page).toContain('and the total over every pair pooled (dotted), which chose the best trial')
    expect(page).toMatch(/<tr data-row="validation-mean"><th scope="row">Validation mean<\/th><td class="num[^"]*">0\.500<\/td>/)
    expect(page).toContain('Training mean')
    expect(page.match(/class="split-tag"/g)?.length).toBeGreaterThanOrEqual(1)
    expect(html).not.toContain('s-validation"')
    expect(html).not.toContain('s-pooled"')
    expect(html).not.toContain('data-row="validation-mean"')
  })

  it('says the validation series chooses the best trial with 3 validation pairs, and draws no pooled series', () => {
    const copy = copyView()
    copy.manifest.validation_pairs = copy.manifest.pairs.map((p) => p.id)
    copy.trials.forEach((t, i) => {
      for (const p of t.results.pairs) p.split = 'validation'
      t.results.validation_mean_losses = {...t.results.mean_losses, total: 0.5 - i / 100}
    })
    reselect(copy)
    expect(copy.best!.selectedBy).toBe('validation')
    const page = render(copy)
    expect(page).toContain(`validation (${copy.manifest.validation_pairs.join(', ')}; chooses the best trial)`)
    expect(page).not.toContain('s-pooled"')
    expect(kpi(page, 'Best validation loss')).toContain(`<div class="kpi-value">${copy.best!.loss.toFixed(3)}</div>`)
    expect(page).toContain(`<p class="lead">${copy.best!.rule} Reference vs generated`)
  })

  it('gives the verdict on the best trial: overall, and each threshold met or not with its value', () => {
    const copy = copyView()
    const pairs = copy.trials[copy.best!.position]!.results.pairs
    for (const p of pairs) {
      p.details.concepts_total = 10
      p.details.concepts_explained = Array.from({length: 7}, (_, i) => `c${i}`)
      p.details.judge = {...p.details.judge, engagement: 80, clarity: 80, accuracy: 80}
      p.details.rouge = {...p.details.rouge, rouge1: 0.25}
    }
    reselect(copy)
    const page = render(copy)
    expect(page).toContain('data-verdict="not-yet"')
    expect(page).toContain(
      `<b>Verdict: not yet: coverage, ROUGE-1</b><span class="muted">(means over its ${pairs.length} training pairs)</span>`,
    )
    expect(page).toMatch(
      /<li class="unmet" data-check="coverage"><span class="verdict-mark">✗<\/span>coverage<b>70\.0%<\/b><span class="muted">excellent above 80%<\/span>/,
    )
    expect(page).toMatch(
      /<li class="met" data-check="quality"><span class="verdict-mark">✓<\/span>judged quality<b>80\.0<\/b><span class="muted">excellent above 75<\/span>/,
    )
    expect(page).toMatch(
      /<li class="unmet" data-check="rouge1"><span class="verdict-mark">✗<\/span>ROUGE-1<b>0\.250<\/b><span class="muted">excellent above 0\.40<\/span>/,
    )
    for (const p of pairs) {
      p.details.concepts_explained = Array.from({length: 9}, (_, i) => `c${i}`)
      p.details.rouge = {...p.details.rouge, rouge1: 0.45}
    }
    reselect(copy)
    const excellent = render(copy)
    expect(excellent).toContain('data-verdict="excellent"')
    expect(excellent).toContain('<b>Verdict: excellent</b>')
    expect(excellent).not.toContain('class="unmet"')
  })

  it('says a run stopped by --max-cost stopped for its budget, in the words every view uses', () => {
    const copy = copyView()
    copy.report!.stop_reason = 'budget'
    const page = render(copy)
    expect(page).toContain(`stop: ${STOP_REASON_TEXT.budget}`)
    expect(page).not.toContain('max trials')
  })

  it('shows a failed run\u2019s error and an unknown cost', () => {
    const copy = copyView()
    copy.state = 'failed'
    copy.manifest.error = 'model said <no>'
    copy.usage = {...copy.usage, total: {...copy.usage.total, cost_usd: null}}
    const page = render(copy)
    expect(page).toContain('<b>The run failed.</b>model said &lt;no&gt;')
    expect(page).toMatch(/<th scope="row">Total<\/th>(<td class="num">[^<]*<\/td>){3}<td class="num">unknown<\/td>/)
  })
})

describe('renderReportHtml on a run with validation pairs (--holdout 1)', () => {
  let held: RunView
  let page = ''

  beforeAll(async () => {
    // Seed 3 and 4 trials: the best trial's training, validation and pooled losses differ in the third decimal.
    const outcome = await mockTrainingRun(root, {holdout: 1, seed: 3, maxTrials: 4, threshold: 0, outputDir: path.join(root, 'holdout')})
    held = await loadRunView(outcome.runDir, {host: os.hostname()})
    page = render(held)
  })

  it('reports the best trial by the pooled loss that chose it, as the terminal does', () => {
    const best = held.best!
    expect(best.selectedBy).toBe('pooled')
    // Otherwise trial 0 would be best on every split and the test could not tell them apart.
    expect(best.position).toBeGreaterThan(0)
    const {mean_losses, validation_mean_losses} = held.trials[best.position]!.results
    expect(mean_losses.total.toFixed(3)).not.toBe(best.loss.toFixed(3))
    expect(validation_mean_losses!.total.toFixed(3)).not.toBe(best.loss.toFixed(3))

    const card = kpi(page, 'Best pooled loss')
    expect(card).toContain(`<div class="kpi-value">${best.loss.toFixed(3)}</div>`)
    expect(page).not.toContain('Best total loss')
    expect(page).not.toContain('Best validation loss')
    const improvement = kpi(page, 'Improvement')
    expect(improvement).toContain(`<div class="kpi-value">${formatPercent(best.improvement!)}</div>`)
    expect(improvement).toContain(`lower than trial 0 (${best.firstLoss.toFixed(3)})`)
    expect(charts(page).get('total')).toContain(`>best ${best.loss.toFixed(3)}</text>`)
    expect(page).toContain(`<p class="lead">${best.rule} Reference vs generated`)
  })

  it('captions each loss\u2019s chart with the best trial\u2019s loss over every pair', () => {
    const pairs = held.trials[held.best!.position]!.results.pairs
    for (const name of LOSS_NAMES) {
      const figure = page.split('<figure class="small-chart">').find((part) => part.includes(`data-chart="${name}"`))
      const pooled = pairs.reduce((sum, p) => sum + p.losses[name], 0) / pairs.length
      expect(/<figcaption>.*?<\/figcaption>/.exec(figure!)?.[0], name).toContain(`best ${pooled.toFixed(3)}`)
    }
  })
})

describe('lineDiff', () => {
  it('marks added and removed lines and folds long unchanged runs', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n')
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].join('\n')
    expect(lineDiff(before, after).filter((l) => l.kind !== 'same')).toEqual([
      {kind: 'removed', text: 'b'},
      {kind: 'added', text: 'B'},
      {kind: 'added', text: 'i'},
    ])
    expect(withContext(lineDiff('1\n2\n3\n4\n5\n6\n7\n8\n9', '1\n2\n3\n4\nX\n6\n7\n8\n9'), 1)).toEqual([
      {kind: 'gap', lines: 3},
      {kind: 'same', text: '4'},
      {kind: 'removed', text: '5'},
      {kind: 'added', text: 'X'},
      {kind: 'same', text: '6'},
      {kind: 'gap', lines: 3},
    ])
  })
})
