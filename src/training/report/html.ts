/**
 * The HTML report of a run: one self-contained page (inline CSS and SVG, no
 * script, no network) rendered from a RunView. Pure and deterministic: the same
 * view gives the same bytes, so the page can be regenerated at any time.
 */
import {
  SEGMENT_LABELS,
  STOP_REASON_TEXT,
  type LabelShares,
  type LossBreakdown,
  type RoleUsage,
  type SegmentLabel,
} from '../../core/schemas/common.js'
import {lineDiff, withContext} from './diff.js'
import {reportStylesheet} from './style.js'
import {styleElement} from './template.js'
import type {RunState, RunView, TrialView} from './view.js'

const METRICS = ['duration', 'coverage', 'structure', 'quality', 'rouge'] as const
type Metric = (typeof METRICS)[number]
type LossKey = keyof LossBreakdown

const METRIC_TITLES: Record<LossKey, string> = {
  total: 'Total',
  duration: 'Duration',
  coverage: 'Coverage',
  structure: 'Structure',
  quality: 'Quality',
  rouge: 'ROUGE',
}

const METRIC_HINTS: Record<LossKey, string> = {
  total: 'weighted sum of the five losses',
  duration: 'script length vs the episode',
  coverage: 'key concepts not explained',
  structure: 'segment order and shares',
  quality: 'judge scores (engagement, clarity, accuracy)',
  rouge: 'word overlap with the transcript',
}

const STATE_TEXT: Record<RunState, string> = {
  running: 'Running',
  finished: 'Finished',
  failed: 'Failed',
  interrupted: 'Interrupted',
}

// ------------------------------------------------------------------ helpers

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}
const esc = escapeHtml

/** A relative link to a file of the run folder; each segment is URL-encoded so it stays a path. */
function runHref(...segments: string[]): string {
  return esc(segments.map((s) => encodeURIComponent(s)).join('/'))
}

function loss(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(3)
}

/** A number with at most `digits` decimals, without trailing zeros. */
function num(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '—'
  const fixed = value.toFixed(digits)
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

function int(value: number): string {
  const sign = value < 0 ? '-' : ''
  return sign + String(Math.round(Math.abs(value))).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

function usd(value: number | null): string {
  if (value === null) return 'unknown'
  if (value === 0) return '$0.00'
  return value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`
}

function percent(share: number, digits = 0): string {
  return `${(share * 100).toFixed(digits)}%`
}

function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? null : date
}

/** "2026-11-23 10:15:00 UTC": the same on every machine. */
function time(value: string | null | undefined): string {
  const date = parseTime(value)
  if (!date) return value ? esc(value) : '—'
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

function elapsed(from: string, to: string | null): string | null {
  const start = parseTime(from)
  const end = parseTime(to)
  if (!start || !end) return null
  const seconds = Math.max(0, (end.getTime() - start.getTime()) / 1000)
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** A round step near range/count: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(range: number, count: number): number {
  const raw = range / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / power
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
  return nice * power
}

function niceAxis(max: number): {max: number; ticks: number[]} {
  const top = max > 0 && Number.isFinite(max) ? max : 0.1
  const step = niceStep(top, 4)
  const steps = Math.max(1, Math.ceil(top / step - 1e-9))
  const ticks = Array.from({length: steps + 1}, (_, i) => Number((i * step).toPrecision(12)))
  return {max: steps * step, ticks}
}

function trialLabel(trial: TrialView): string {
  return `Trial ${trial.results.index}`
}

// ------------------------------------------------------------------- charts

/** One line of a chart: the training pairs' means, and the validation pairs' when the run has them. */
interface Series {
  name: string
  className: string
  values: number[]
}

interface ChartOptions {
  key: LossKey
  title: string
  trials: number[]
  series: Series[]
  best: number | null
  /** The loss the best trial was chosen by, labelled above its point (large charts). */
  bestLoss?: number
  width: number
  height: number
  large: boolean
}

function chartSvg(options: ChartOptions): string {
  const {key, trials, series, best, width, height, large} = options
  const margin = large ? {left: 56, right: 20, top: 24, bottom: 46} : {left: 34, right: 8, top: 20, bottom: 32}
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v))
  const axis = niceAxis(Math.max(0, ...all))
  const n = trials.length
  const x = (i: number) => (n <= 1 ? margin.left + plotW / 2 : margin.left + (i * plotW) / (n - 1))
  const y = (v: number) => margin.top + plotH - (v / axis.max) * plotH
  const font = large ? 13 : 10
  const radius = n > 40 ? 2.5 : large ? 5 : 3.5
  const titleId = `chart-${key}-title`
  const out: string[] = []
  out.push(
    `<svg class="chart${large ? ' chart-large' : ''}" data-chart="${key}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${titleId}" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="${titleId}">${esc(options.title)}</title>`,
  )
  // Grid and y axis.
  for (const tick of axis.ticks) {
    const ty = y(tick).toFixed(1)
    out.push(
      `<line class="grid${tick === 0 ? ' axis' : ''}" x1="${margin.left}" x2="${width - margin.right}" y1="${ty}" y2="${ty}"/>`,
      `<text class="tick" x="${margin.left - (large ? 10 : 5)}" y="${ty}" text-anchor="end" dominant-baseline="middle" font-size="${font}">${Number(tick.toPrecision(6))}</text>`,
    )
  }
  // X axis: trial numbers, thinned out when they would collide.
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / (large ? 34 : 22)))))
  trials.forEach((trial, i) => {
    if (i % every !== 0 && i !== best) return
    out.push(
      `<text class="tick${i === best ? ' tick-best' : ''}" x="${x(i).toFixed(1)}" y="${margin.top + plotH + font + 6}" text-anchor="middle" font-size="${font}">${trial}</text>`,
    )
  })
  out.push(
    `<text class="axis-label" x="${margin.left + plotW / 2}" y="${height - 4}" text-anchor="middle" font-size="${font}">trial</text>`,
  )
  out.push(
    large
      ? `<text class="axis-label" transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="${font}">loss</text>`
      : `<text class="axis-label" x="${margin.left - 5}" y="${margin.top - 10}" text-anchor="end" font-size="${font}">loss</text>`,
  )
  // Series areas, then the best trial's band over them, then lines and points on top.
  const points = series.map((s) => s.values.map((v, i) => [x(i), y(v)] as const))
  const base = (margin.top + plotH).toFixed(1)
  series.forEach((s, k) => {
    const pts = points[k]!
    if (pts.length < 2) return
    const line = pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')
    out.push(
      `<polygon class="area ${s.className}" points="${pts[0]![0].toFixed(1)},${base} ${line} ${pts[pts.length - 1]![0].toFixed(1)},${base}"/>`,
    )
  })
  if (best !== null && n > 1) {
    const bx = x(best)
    const half = Math.min(large ? 20 : 10, plotW / (n - 1) / 2)
    out.push(
      `<rect class="best-band" x="${(bx - half).toFixed(1)}" y="${margin.top}" width="${(2 * half).toFixed(1)}" height="${plotH}" rx="3"/>`,
    )
  }
  series.forEach((s, k) => {
    const pts = points[k]!
    if (pts.length > 1)
      out.push(`<polyline class="line ${s.className}" points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`)
    pts.forEach(([px, py], i) => {
      const isBest = i === best
      out.push(
        `<circle class="pt ${s.className}${isBest ? ' best' : ''}" data-trial="${trials[i]}" data-series="${esc(s.name)}" cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${isBest ? radius + (large ? 2.5 : 1.5) : radius}">` +
          `<title>Trial ${trials[i]}${isBest ? ' (best)' : ''}: ${METRIC_TITLES[key].toLowerCase()} ${s.name} loss ${loss(s.values[i])}</title></circle>`,
      )
    })
  })
  if (large && best !== null && options.bestLoss !== undefined) {
    const value = options.bestLoss
    out.push(
      `<text class="best-label" x="${x(best).toFixed(1)}" y="${(y(value) - 12).toFixed(1)}" text-anchor="middle" font-size="${font}">best ${loss(value)}</text>`,
    )
  }
  out.push('</svg>')
  return out.join('')
}

function chartsSection(view: RunView): string {
  const {trials, bestTrial, best: selected} = view
  const indices = trials.map((t) => t.results.index)
  const weights = view.manifest.config.weights
  const withValidation = trials.some((t) => t.results.validation_mean_losses)
  const series = (key: LossKey): Series[] => [
    {name: 'train', className: `s-${key}`, values: trials.map((t) => t.results.mean_losses[key])},
    ...(withValidation
      ? [
          {
            name: 'validation',
            className: `s-${key} s-validation`,
            values: trials.map((t) => t.results.validation_mean_losses?.[key] ?? Number.NaN),
          },
        ]
      : []),
  ]
  let body: string
  if (trials.length === 0) {
    body = `<p class="empty">No trial has completed yet: the charts appear once trial 0 has been scored on every pair.</p>`
  } else {
    const best = bestTrial === null ? null : trials[bestTrial]
    const total = chartSvg({
      key: 'total',
      title: `Mean total loss per trial${best ? `; best: trial ${best.results.index}` : ''}`,
      trials: indices,
      series: series('total'),
      best: bestTrial,
      ...(selected ? {bestLoss: selected.loss} : {}),
      width: 1000,
      height: 300,
      large: true,
    })
    const small = METRICS.map((metric: Metric) => {
      // The best trial's losses on the split that chose it.
      const bestValue =
        best && selected?.selectedBy === 'validation' ? best.results.validation_mean_losses?.[metric] : best?.results.mean_losses[metric]
      return (
        `<figure class="small-chart">` +
        `<figcaption><span class="metric-name"><i class="swatch s-${metric}"></i>${METRIC_TITLES[metric]}</span>` +
        `<span class="metric-meta">weight ${num(weights[metric], 2)} · best ${loss(bestValue)}</span></figcaption>` +
        chartSvg({
          key: metric,
          title: `Mean ${METRIC_TITLES[metric]} loss per trial (${METRIC_HINTS[metric]})`,
          trials: indices,
          series: series(metric),
          best: bestTrial,
          width: 180,
          height: 130,
          large: false,
        }) +
        `<p class="metric-hint">${esc(METRIC_HINTS[metric])}</p>` +
        `</figure>`
      )
    }).join('')
    body =
      `<div class="total-chart"><figure>${total}</figure>` +
      `<ul class="legend"><li><i class="swatch s-total"></i>train (mean over ${withValidation ? 'training ' : ''}pairs)</li>` +
      (withValidation
        ? `<li><i class="swatch swatch-validation"></i>validation (${esc(view.manifest.validation_pairs.join(', '))}; chooses the best trial)</li>`
        : '') +
      `<li><i class="swatch swatch-best"></i>best trial</li></ul></div>` +
      `<div class="small-multiples">${small}</div>`
  }
  const over = view.manifest.validation_pairs.length
    ? 'Mean loss over the training pairs (solid) and the validation pairs (dashed)'
    : 'Mean loss over all pairs'
  return section('loss', 'Loss per trial', `${over}, lower is better. Every loss is in [0, 1]; y axes start at 0.`, body)
}

// ------------------------------------------------------------------- tables

function pairIds(view: RunView): string[] {
  const ids = view.manifest.pairs.map((p) => p.id)
  for (const trial of view.trials) for (const p of trial.results.pairs) if (!ids.includes(p.pair_id)) ids.push(p.pair_id)
  return ids
}

function pairResult(trial: TrialView | undefined, pairId: string) {
  return trial?.results.pairs.find((p) => p.pair_id === pairId)
}

function trialHeaders(view: RunView, first: string): string {
  const cells = view.trials.map(
    (t, i) =>
      `<th class="num${i === view.bestTrial ? ' best' : ''}" scope="col">${t.results.index}${i === view.bestTrial ? '<span class="star" title="best trial"> ★</span>' : ''}</th>`,
  )
  return `<thead><tr><th scope="col">${first}</th>${cells.join('')}</tr></thead>`
}

function pairsSection(view: RunView): string {
  if (view.trials.length === 0) return section('pairs', 'Loss per pair', null, '<p class="empty">No trial has completed yet.</p>')
  const ids = pairIds(view)
  const rows = ids.map((id) => {
    const values = view.trials.map((t) => pairResult(t, id)?.losses.total)
    const present = values.filter((v): v is number => v !== undefined)
    const min = present.length > 0 ? Math.min(...present) : null
    const cells = view.trials.map((t, i) => {
      const result = pairResult(t, id)
      const cls = ['num', i === view.bestTrial ? 'best' : '', result && result.losses.total === min && present.length > 1 ? 'row-min' : '']
        .filter(Boolean)
        .join(' ')
      if (!result) return `<td class="${cls}">—</td>`
      return `<td class="${cls}"><a href="${runHref(t.results.dir, result.script_file)}" title="Open the script of ${esc(id)} in trial ${t.results.index}">${loss(result.losses.total)}</a></td>`
    })
    const held = view.manifest.validation_pairs.includes(id)
      ? ' <span class="split-tag" title="held out of refinement">validation</span>'
      : ''
    return `<tr data-pair="${esc(id)}"><th scope="row" class="pair-id">${esc(id)}${held}</th>${cells.join('')}</tr>`
  })
  const meanCells = view.trials.map(
    (t, i) => `<td class="num${i === view.bestTrial ? ' best' : ''}">${loss(t.results.mean_losses.total)}</td>`,
  )
  const validationRow = view.manifest.validation_pairs.length
    ? `<tr data-row="validation-mean"><th scope="row">Validation mean</th>${view.trials.map((t, i) => `<td class="num${i === view.bestTrial ? ' best' : ''}">${loss(t.results.validation_mean_losses?.total)}</td>`).join('')}</tr>`
    : ''
  const summary =
    `<div class="table-wrap"><table class="data pair-totals" data-table="pair-totals">${trialHeaders(view, 'Pair \\ trial')}` +
    `<tbody>${rows.join('')}</tbody><tfoot><tr><th scope="row">${validationRow ? 'Training mean' : 'Mean'}</th>${meanCells.join('')}</tr>${validationRow}</tfoot></table></div>`

  const details = ids
    .map((id) => {
      const keys: LossKey[] = [...METRICS, 'total']
      const body = keys
        .map((key) => {
          const cells = view.trials.map((t, i) => {
            const value = pairResult(t, id)?.losses[key]
            return `<td class="num${i === view.bestTrial ? ' best' : ''}">${loss(value)}</td>`
          })
          return `<tr class="${key === 'total' ? 'total-row' : ''}"><th scope="row"><i class="swatch s-${key}"></i>${METRIC_TITLES[key]}</th>${cells.join('')}</tr>`
        })
        .join('')
      const scripts = view.trials
        .map((t, i) => {
          const result = pairResult(t, id)
          return `<td class="num${i === view.bestTrial ? ' best' : ''}">${result ? `<a href="${runHref(t.results.dir, result.script_file)}">script</a>` : '—'}</td>`
        })
        .join('')
      return (
        `<details class="pair-detail"><summary><span class="pair-id">${esc(id)}</span><span class="muted">every loss per trial</span></summary>` +
        `<div class="table-wrap"><table class="data" data-pair-table="${esc(id)}">${trialHeaders(view, 'Loss \\ trial')}` +
        `<tbody>${body}<tr class="script-row"><th scope="row">Script</th>${scripts}</tr></tbody></table></div></details>`
      )
    })
    .join('')
  return section(
    'pairs',
    'Loss per pair',
    'Total loss of each pair in each trial; click a value to open that script. The lowest value of each row is marked; the best trial is highlighted.',
    summary + `<h3>All losses, pair by pair</h3>${details}`,
  )
}

// -------------------------------------------------------------- best trial

/** Band widths of a label sequence: the label's share split over its occurrences, or equal widths. */
function bandWidths(sequence: SegmentLabel[], shares: LabelShares | undefined): number[] {
  const counts = new Map<SegmentLabel, number>()
  for (const label of sequence) counts.set(label, (counts.get(label) ?? 0) + 1)
  const raw = sequence.map((label) => {
    const share = shares?.[label]
    return share === undefined ? Number.NaN : share / (counts.get(label) ?? 1)
  })
  const sum = raw.reduce((a, b) => a + b, 0)
  if (!Number.isFinite(sum) || sum <= 0) return sequence.map(() => 1 / sequence.length)
  return raw.map((w) => w / sum)
}

function bands(name: string, sequence: SegmentLabel[], shares: LabelShares | undefined): string {
  if (sequence.length === 0)
    return `<div class="band-row"><span class="band-name">${name}</span><div class="band empty-band">no segments</div></div>`
  const widths = bandWidths(sequence, shares)
  const segs = sequence
    .map((label, i) => {
      const w = widths[i] ?? 0
      return `<span class="seg l-${esc(label)}" style="width:${(w * 100).toFixed(2)}%" title="${esc(label)} · ${percent(w)}">${esc(label)}</span>`
    })
    .join('')
  return `<div class="band-row"><span class="band-name">${name}</span><div class="band" data-band="${name.toLowerCase()}">${segs}</div></div>`
}

function meter(name: string, value: number): string {
  const v = Math.max(0, Math.min(100, value))
  return `<div class="meter"><span class="meter-name">${name}</span><span class="meter-bar"><span style="width:${v.toFixed(1)}%"></span></span><span class="meter-value">${num(value, 1)}</span></div>`
}

function bestSection(view: RunView): string {
  const best = view.bestTrial === null ? undefined : view.trials[view.bestTrial]
  if (!best) return section('best', 'Best trial', null, '<p class="empty">No trial has completed yet.</p>')
  const legend = `<ul class="legend label-legend">${SEGMENT_LABELS.map((l) => `<li><i class="swatch l-${l}"></i>${l}</li>`).join('')}</ul>`
  const cards = best.results.pairs
    .map((pair) => {
      const d = pair.details
      const analysis = view.analyses[pair.pair_id]
      const chips = (terms: string[], cls: string) => terms.map((t) => `<li class="chip ${cls}">${esc(t)}</li>`).join('')
      const lossChips = [...METRICS, 'total' as const]
        .map(
          (key) =>
            `<span class="loss-chip${key === 'total' ? ' loss-total' : ''}"><i class="swatch s-${key}"></i>${METRIC_TITLES[key]} <b>${loss(pair.losses[key])}</b></span>`,
        )
        .join('')
      const explained = d.concepts_explained.length
      return (
        `<article class="pair-card" data-best-pair="${esc(pair.pair_id)}">` +
        `<header><h3>${esc(pair.pair_id)}${pair.split === 'validation' ? ' <span class="split-tag" title="held out of refinement">validation</span>' : ''}</h3><a class="button" href="${runHref(best.results.dir, pair.script_file)}">Open script</a></header>` +
        `<div class="loss-chips">${lossChips}</div>` +
        `<div class="bands">${bands('Reference', d.reference_sequence, analysis?.structure.word_shares)}${bands('Generated', d.generated_sequence, d.generated_word_shares)}</div>` +
        `<div class="pair-grid">` +
        `<div><h4>Concepts <span class="muted">${explained} of ${d.concepts_total} explained</span></h4>` +
        (explained > 0 ? `<ul class="chips">${chips(d.concepts_explained, 'chip-ok')}</ul>` : '') +
        (d.concepts_missed.length > 0
          ? `<ul class="chips">${chips(d.concepts_missed, 'chip-missed')}</ul>`
          : `<p class="muted small">No concept missed.</p>`) +
        `</div>` +
        `<div><h4>Judge</h4>${meter('Engagement', d.judge.engagement)}${meter('Clarity', d.judge.clarity)}${meter('Accuracy', d.judge.accuracy)}` +
        `<blockquote>${esc(d.judge.weakest_dimension_reason)}</blockquote></div>` +
        `<div><h4>Numbers</h4><dl class="facts">` +
        `<dt>Length</dt><dd>${int(d.generated_words)} words · ${num(d.generated_seconds / 60, 1)} min <span class="muted">vs ${num(d.reference_seconds / 60, 1)} min</span></dd>` +
        `<dt>Questions</dt><dd>${num(d.generated_questions_per_minute, 2)} per minute</dd>` +
        `<dt>Sentences</dt><dd>${num(d.generated_mean_sentence_words, 1)} words on average</dd>` +
        `<dt>ROUGE</dt><dd>1: ${d.rouge.rouge1.toFixed(3)} · 2: ${d.rouge.rouge2.toFixed(3)} · L: ${d.rouge.rougeL.toFixed(3)}</dd>` +
        `</dl></div></div></article>`
      )
    })
    .join('')
  return section(
    'best',
    `Best trial: ${trialLabel(best)}`,
    'Reference vs generated segment sequence of each pair (band widths are word shares), concepts the judge found explained or missed, and the judge\u2019s scores.',
    legend + cards,
  )
}

// ------------------------------------------------------------------ prompts

function diffBlock(before: string, after: string): string {
  const lines = withContext(lineDiff(before, after), 3)
  if (!lines.some((l) => l.kind === 'added' || l.kind === 'removed'))
    return '<p class="muted small">Same system prompt as the previous trial.</p>'
  const html = lines
    .map((line) => {
      if (line.kind === 'gap') return `<span class="d-gap">⋯ ${line.lines} unchanged line${line.lines === 1 ? '' : 's'}</span>`
      const mark = line.kind === 'added' ? '+' : line.kind === 'removed' ? '−' : ' '
      return `<span class="d-${line.kind}"><span class="d-mark">${mark}</span>${esc(line.text) || ' '}</span>`
    })
    .join('')
  return `<pre class="diff">${html}</pre>`
}

function promptsSection(view: RunView): string {
  if (view.trials.length === 0) return section('prompts', 'Prompts', null, '<p class="empty">No trial has completed yet.</p>')
  const items = view.trials
    .map((trial, i) => {
      const isBest = i === view.bestTrial
      const previous = i > 0 ? view.trials[i - 1] : undefined
      const changes = trial.prompt.changes
      const changesHtml =
        changes.length > 0
          ? `<ul class="changes">${changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>`
          : `<p class="muted small">${i === 0 ? 'The initial prompt, built from the reference episodes.' : 'No change listed.'}</p>`
      const diff = previous
        ? `<h4>Diff vs trial ${previous.results.index}</h4>${diffBlock(previous.prompt.rendered.system, trial.prompt.rendered.system)}`
        : ''
      return (
        `<details class="prompt${isBest ? ' best' : ''}" data-prompt-trial="${trial.results.index}"${isBest ? ' open' : ''}>` +
        `<summary><span class="prompt-title">${trialLabel(trial)}${isBest ? ' <span class="badge badge-best">best</span>' : ''}</span>` +
        `<span class="muted">total ${loss(trial.results.mean_losses.total)} · ${changes.length} change${changes.length === 1 ? '' : 's'} · <code>${esc(trial.prompt.sha256.slice(0, 12))}</code></span></summary>` +
        `<div class="prompt-body"><p class="files">Files: <a href="${runHref(trial.results.dir, 'prompt.json')}">prompt.json</a> · <a href="${runHref(trial.results.dir, 'results.json')}">results.json</a></p>` +
        `<h4>Changes</h4>${changesHtml}${diff}` +
        `<details class="nested"><summary>Full system prompt</summary><pre class="prompt-text">${esc(trial.prompt.rendered.system)}</pre></details>` +
        `<details class="nested"><summary>User message template</summary><pre class="prompt-text">${esc(trial.prompt.rendered.user_template)}</pre></details>` +
        `</div></details>`
      )
    })
    .join('')
  return section(
    'prompts',
    'Prompts',
    'The system prompt of each trial, what the refiner changed and the line diff to the previous trial (added lines green, removed red).',
    items,
  )
}

// -------------------------------------------------------------------- usage

function usageSection(view: RunView): string {
  const row = (name: string, u: RoleUsage, cls = '') =>
    `<tr class="${cls}"><th scope="row">${name}</th><td class="num">${int(u.calls)}</td><td class="num">${int(u.input_tokens)}</td><td class="num">${int(u.output_tokens)}</td><td class="num">${usd(u.cost_usd)}</td></tr>`
  const roles = Object.entries(view.usage.by_role).filter((e): e is [string, RoleUsage] => e[1] !== undefined)
  const body =
    roles.length > 0
      ? roles.map(([role, u]) => row(esc(role), u)).join('')
      : `<tr><td colspan="5" class="muted">No model call recorded yet.</td></tr>`
  const table =
    `<div class="table-wrap"><table class="data usage" data-table="usage"><thead><tr><th scope="col">Role</th><th class="num" scope="col">Calls</th><th class="num" scope="col">Input tokens</th><th class="num" scope="col">Output tokens</th><th class="num" scope="col">Cost</th></tr></thead>` +
    `<tbody>${body}</tbody><tfoot>${row('Total', view.usage.total)}</tfoot></table></div>`
  const perTrial =
    view.trials.length > 0
      ? `<h3>Per trial <span class="muted">(generation and judging)</span></h3><div class="table-wrap"><table class="data usage"><thead><tr><th scope="col">Trial</th><th class="num" scope="col">Calls</th><th class="num" scope="col">Input tokens</th><th class="num" scope="col">Output tokens</th><th class="num" scope="col">Cost</th></tr></thead><tbody>` +
        view.trials.map((t, i) => row(String(t.results.index), t.results.usage.total, i === view.bestTrial ? 'best' : '')).join('') +
        `</tbody></table></div>`
      : ''
  return section(
    'usage',
    'Usage and cost',
    'Model calls of the whole run so far, by role. A cost is unknown when a model\u2019s price is.',
    table + perTrial,
  )
}

// ------------------------------------------------------------ configuration

function configSection(view: RunView): string {
  const m = view.manifest
  const c = m.config
  const facts: Array<[string, string]> = [
    ['Pairs folder', `<code>${esc(c.pairs_dir)}</code>`],
    ['Output folder', `<code>${esc(c.output_dir)}</code>`],
    ['Max trials', esc(c.max_trials)],
    ['Mock providers', c.mock ? 'yes' : 'no'],
    ['Seed', esc(m.seed)],
    ['Convergence', `window ${esc(c.window)}, threshold ${esc(num(c.threshold, 4))}`],
    ['Concurrency', esc(c.concurrency)],
    ['Transcriber', esc(m.providers.transcriber)],
    ['Language model', esc(m.providers.language_model)],
    ['Tool version', esc(m.tool_version)],
    ['Node version', esc(m.node_version)],
    ['Host', esc(m.host)],
  ]
  const totalWeight = METRICS.reduce((sum, k) => sum + c.weights[k], 0) || 1
  const weights = METRICS.map(
    (k) =>
      `<div class="weight"><span class="meter-name"><i class="swatch s-${k}"></i>${METRIC_TITLES[k]}</span><span class="meter-bar"><span class="s-${k}" style="width:${((c.weights[k] / totalWeight) * 100).toFixed(1)}%"></span></span><span class="meter-value">${num(c.weights[k], 3)}</span></div>`,
  ).join('')
  // Files of a pair, relative to the pairs folder they were found in.
  const root = c.pairs_dir.replace(/[\\/]+$/, '')
  const underPairs = (file: string) => (file.startsWith(`${root}/`) || file.startsWith(`${root}\\`) ? file.slice(root.length + 1) : file)
  const pairs = m.pairs
    .map(
      (p) =>
        `<tr><th scope="row" class="pair-id">${esc(p.id)}</th><td>${esc(p.transcript_source)}</td><td><code>${esc(underPairs(p.pdf))}</code></td><td><code>${esc(underPairs(p.mp3))}</code></td></tr>`,
    )
    .join('')
  const files = [
    'run.json',
    ...(view.report ? ['training_report.json'] : []),
    ...(view.aggregate ? ['aggregate_profile.json'] : []),
    'events.jsonl',
  ]
    .map((f) => `<a href="${runHref(f)}">${f}</a>`)
    .join(' · ')
  const skipped =
    m.skipped.length > 0
      ? `<ul class="skipped">${m.skipped.map((s) => `<li><span class="pair-id">${esc(s.id)}</span>: ${esc(s.reason)}</li>`).join('')}</ul>`
      : '<p class="muted small">No pair was skipped.</p>'
  return section(
    'config',
    'Configuration',
    null,
    `<div class="config-grid"><div><h3>Run</h3><dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl></div>` +
      `<div><h3>Loss weights</h3>${weights}<h3>Skipped pairs</h3>${skipped}<h3>Files</h3><p class="files">${files}</p></div></div>` +
      `<h3>Pairs <span class="muted">(files relative to the pairs folder)</span></h3><div class="table-wrap"><table class="data"><thead><tr><th scope="col">Pair</th><th scope="col">Transcript</th><th scope="col">Paper</th><th scope="col">Episode</th></tr></thead><tbody>${pairs}</tbody></table></div>`,
  )
}

// ------------------------------------------------------------------- header

function stopReasonText(view: RunView): string {
  if (view.report) return STOP_REASON_TEXT[view.report.stop_reason]
  return view.state === 'running' ? 'still running' : view.state === 'finished' ? '—' : view.state
}

function header(view: RunView): string {
  const m = view.manifest
  // The loss that chose the best trial (loss/selection.ts) is the one reported for it.
  const selected = view.best
  const best = selected ? view.trials[selected.position] : undefined
  const first = view.trials[0]
  let improvement = '—'
  let improvementNote = 'needs a trial'
  if (selected && first) {
    if (selected.improvement !== null) {
      improvement = selected.improvement > 0 ? `${(selected.improvement * 100).toFixed(1)}%` : '0%'
      improvementNote =
        selected.improvement > 0
          ? `lower than trial ${first.results.index} (${loss(selected.firstLoss)})`
          : `trial ${first.results.index} is still the best`
    } else {
      improvementNote = `trial ${first.results.index} already has a loss of 0`
    }
  }
  const duration = elapsed(m.started_at, m.finished_at)
  const kpi = (label: string, value: string, note: string, cls = '') =>
    `<div class="kpi ${cls}"><div class="kpi-label">${label}</div><div class="kpi-value">${value}</div><div class="kpi-note">${note}</div></div>`
  const kpis = [
    kpi(
      selected?.selectedBy === 'validation' ? 'Best validation loss' : 'Best total loss',
      loss(selected?.loss),
      best ? `${esc(trialLabel(best))}` : 'no trial yet',
      'kpi-best',
    ),
    kpi('Improvement', esc(improvement), esc(improvementNote)),
    kpi('Trials', `${view.trials.length}<span class="kpi-of"> / ${esc(m.config.max_trials)}</span>`, `stop: ${esc(stopReasonText(view))}`),
    kpi('Pairs', String(m.pairs.length), m.skipped.length > 0 ? `${m.skipped.length} skipped` : 'none skipped'),
    kpi(
      'Cost',
      usd(view.usage.total.cost_usd),
      `${int(view.usage.total.calls)} calls · ${int(view.usage.total.input_tokens + view.usage.total.output_tokens)} tokens`,
    ),
  ].join('')
  const notice =
    view.state === 'running'
      ? `<div class="notice notice-running">This run is still going: the page shows the ${view.trials.length} trial${view.trials.length === 1 ? '' : 's'} completed when it was written.</div>`
      : view.state === 'interrupted'
        ? `<div class="notice notice-interrupted">The run was interrupted${m.error ? ` (${esc(m.error)})` : ''}: the page shows the ${view.trials.length} trial${view.trials.length === 1 ? '' : 's'} it completed.</div>`
        : view.state === 'failed'
          ? `<div class="notice notice-failed"><b>The run failed.</b> ${esc(m.error ?? 'No error was recorded.')}</div>`
          : ''
  return (
    `<header class="page-header">` +
    `<div class="title-row"><div><div class="eyebrow">studio · training report</div><h1>${esc(m.run_id)}</h1>` +
    `<p class="meta">Started ${time(m.started_at)} · ${m.finished_at ? `finished ${time(m.finished_at)}` : 'not finished'}${duration ? ` · took ${duration}` : ''} · seed ${esc(m.seed)}${m.config.mock ? ' · mock providers' : ''}</p></div>` +
    `<span class="badge state state-${view.state}" data-state="${view.state}">${STATE_TEXT[view.state]}</span></div>` +
    notice +
    `<div class="kpis">${kpis}</div>` +
    `<nav class="toc"><a href="#loss">Loss</a><a href="#pairs">Pairs</a><a href="#best">Best trial</a><a href="#prompts">Prompts</a><a href="#usage">Usage</a><a href="#config">Configuration</a></nav>` +
    `</header>`
  )
}

function section(id: string, title: string, lead: string | null, body: string): string {
  return `<section id="${id}" class="card"><h2>${esc(title)}</h2>${lead ? `<p class="lead">${esc(lead)}</p>` : ''}${body}</section>`
}

// --------------------------------------------------------------------- page

export function renderReportHtml(view: RunView): string {
  const m = view.manifest
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No script and nothing from the network: the page is safe to open from disk or mail around.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="generator" content="studio ${esc(m.tool_version)}">`,
    `<title>Training report · ${esc(m.run_id)}</title>`,
    String(styleElement(reportStylesheet())),
    '</head>',
    '<body>',
    '<main>',
    header(view),
    chartsSection(view),
    pairsSection(view),
    bestSection(view),
    promptsSection(view),
    usageSection(view),
    configSection(view),
    `<footer>Generated by studio ${esc(m.tool_version)} from <code>${esc(view.runDir)}</code>. Links are relative to this page: keep it in the run folder.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
