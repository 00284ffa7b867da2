/**
 * A chart of one loss per trial as inline SVG: the training pairs' mean solid, the
 * validation pairs' dashed, all pairs pooled dotted (when that chose the best trial), the best trial's point larger and in the best colour over a
 * band. The y axis starts at 0 and ends at a round number above the highest value.
 */
import {formatLoss, type Chart} from './model.js'
import {html, type Html} from './template.js'

export type ChartSize = 'large' | 'small'

const LAYOUT = {
  large: {width: 1000, height: 300, margin: {left: 56, right: 20, top: 24, bottom: 46}, font: 13, tickGap: 10, labelEvery: 34},
  small: {width: 180, height: 130, margin: {left: 34, right: 8, top: 20, bottom: 32}, font: 10, tickGap: 5, labelEvery: 22},
} as const

/** A round step near range/count: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(range: number, count: number): number {
  const raw = range / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / power
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
  return nice * power
}

/** About four round ticks from 0 to at least `max`. */
export function niceAxis(max: number): {max: number; ticks: number[]} {
  const top = max > 0 && Number.isFinite(max) ? max : 0.1
  const step = niceStep(top, 4)
  const steps = Math.max(1, Math.ceil(top / step - 1e-9))
  const ticks = Array.from({length: steps + 1}, (_, i) => Number((i * step).toPrecision(12)))
  return {max: steps * step, ticks}
}

const fixed = (value: number) => value.toFixed(1)

/** `trials` are the trials' indices, `best` the best trial's position among them. */
export function chartSvg(chart: Chart, trials: number[], best: number | null, size: ChartSize): Html {
  const {width, height, margin, font, tickGap, labelEvery} = LAYOUT[size]
  const large = size === 'large'
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const axis = niceAxis(Math.max(0, ...chart.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v))))
  const n = trials.length
  const x = (i: number) => (n <= 1 ? margin.left + plotW / 2 : margin.left + (i * plotW) / (n - 1))
  const y = (v: number) => margin.top + plotH - (v / axis.max) * plotH
  const radius = n > 40 ? 2.5 : large ? 5 : 3.5
  const titleId = `chart-${chart.key}-title`
  const base = fixed(margin.top + plotH)

  const grid = axis.ticks.map((tick) => {
    const ty = fixed(y(tick))
    return html`<line class="grid${tick === 0 ? ' axis' : ''}" x1="${margin.left}" x2="${width - margin.right}" y1="${ty}" y2="${ty}" />
      <text class="tick" x="${margin.left - tickGap}" y="${ty}" text-anchor="end" dominant-baseline="middle" font-size="${font}">
        ${Number(tick.toPrecision(6))}
      </text>`
  })
  // Trial numbers, thinned out when they would collide; the best trial's always shows.
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / labelEvery))))
  const xTicks = trials.map((trial, i) =>
    i % every === 0 || i === best
      ? html`<text
          class="tick${i === best ? ' tick-best' : ''}"
          x="${fixed(x(i))}"
          y="${margin.top + plotH + font + 6}"
          text-anchor="middle"
          font-size="${font}"
        >
          ${trial}
        </text>`
      : null,
  )
  const yLabel = large
    ? html`<text class="axis-label" transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="${font}"
        >loss</text
      >`
    : html`<text class="axis-label" x="${margin.left - 5}" y="${margin.top - 10}" text-anchor="end" font-size="${font}">loss</text>`

  const series = chart.series.map((s) => ({
    ...s,
    className: `s-${chart.key}${s.split === 'train' ? '' : ` s-${s.split}`}`,
    points: s.values.map((v, i) => ({x: x(i), y: y(v), value: v, trial: trials[i]!, best: i === best})),
  }))
  const polyline = (points: Array<{x: number; y: number}>) => points.map((p) => `${fixed(p.x)},${fixed(p.y)}`).join(' ')
  const areas = series.map((s) =>
    s.points.length < 2
      ? null
      : html`<polygon
          class="area ${s.className}"
          points="${fixed(s.points[0]!.x)},${base} ${polyline(s.points)} ${fixed(s.points.at(-1)!.x)},${base}"
        />`,
  )
  const half = n > 1 ? Math.min(large ? 20 : 10, plotW / (n - 1) / 2) : 0
  const band =
    best !== null && n > 1
      ? html`<rect class="best-band" x="${fixed(x(best) - half)}" y="${margin.top}" width="${fixed(2 * half)}" height="${plotH}" rx="3" />`
      : null
  const lines = series.map((s) => [
    s.points.length > 1 ? html`<polyline class="line ${s.className}" points="${polyline(s.points)}" />` : null,
    s.points.map(
      (p) =>
        html`<circle
          class="pt ${s.className}${p.best ? ' best' : ''}"
          data-trial="${p.trial}"
          data-series="${s.split}"
          cx="${fixed(p.x)}"
          cy="${fixed(p.y)}"
          r="${p.best ? radius + (large ? 2.5 : 1.5) : radius}"
        >
          <title>Trial ${p.trial}${p.best ? ' (best)' : ''}: ${chart.name.toLowerCase()} ${s.split} loss ${formatLoss(p.value)}</title>
        </circle>`,
    ),
  ])
  // At either end of the axis the label sits beside the point, inside the chart, rather than centred over it.
  const edge = best === null || n <= 1 ? null : best === 0 ? 'start' : best === n - 1 ? 'end' : null
  const labelX = best === null ? 0 : x(best) + (edge === 'start' ? 10 : edge === 'end' ? -10 : 0)
  const bestLabel =
    best !== null && chart.bestLabel !== null
      ? html`<text
          class="best-label"
          x="${fixed(labelX)}"
          y="${fixed(y(chart.bestLabel) - 12)}"
          text-anchor="${edge ?? 'middle'}"
          font-size="${font}"
        >
          best ${formatLoss(chart.bestLabel)}
        </text>`
      : null

  return html`<svg
    class="chart${large ? ' chart-large' : ''}"
    data-chart="${chart.key}"
    viewBox="0 0 ${width} ${height}"
    role="img"
    aria-labelledby="${titleId}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="${titleId}">${chart.caption}</title>
    ${grid} ${xTicks}
    <text class="axis-label" x="${margin.left + plotW / 2}" y="${height - 4}" text-anchor="middle" font-size="${font}">trial</text>
    ${yLabel} ${areas} ${band} ${lines} ${bestLabel}
  </svg>`
}
