/**
 * The report page's stylesheet: report.css, followed by the rules that depend on the
 * loss registry and the segment labels. Those are generated so that a newly registered
 * loss gets a colour (its charts, chips, swatches and weight bar) without an edit here.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {SEGMENT_LABELS, type SegmentLabel} from '../../core/schemas/common.js'
import {LOSSES} from '../../loss/registry.js'

/**
 * Loss colours by registry position, distinct from the total's indigo and the best
 * trial's amber; a loss past the end of the palette takes its colours again from the start.
 */
const LOSS_PALETTE = ['#0284c7', '#059669', '#7c3aed', '#db2777', '#0d9488', '#65a30d', '#c2410c', '#475569'] as const

const LABEL_COLOURS: Record<SegmentLabel, {background: string; text: string}> = {
  intro: {background: '#6366f1', text: '#ffffff'},
  background: {background: '#0ea5e9', text: '#ffffff'},
  method: {background: '#10b981', text: '#ffffff'},
  findings: {background: '#f59e0b', text: '#3b2300'},
  discussion: {background: '#ec4899', text: '#ffffff'},
  outro: {background: '#8b5cf6', text: '#ffffff'},
}

/** Past this many small charts side by side they become unreadable, so they wrap into even rows. */
const MAX_CHART_COLUMNS = 6

function generatedRules(): string {
  const losses = LOSSES.map((loss, i) => {
    const colour = LOSS_PALETTE[i % LOSS_PALETTE.length]!
    return `.s-${loss.name}{--c:${colour}}.swatch.s-${loss.name}{background:${colour}}`
  })
  const rows = Math.max(1, Math.ceil(LOSSES.length / MAX_CHART_COLUMNS))
  const labels = SEGMENT_LABELS.map((l) => `.l-${l}{background:${LABEL_COLOURS[l].background};color:${LABEL_COLOURS[l].text}}`)
  return [`:root{--loss-columns:${Math.ceil(LOSSES.length / rows)}}`, ...losses, ...labels].join('\n')
}

/**
 * report.css is read from beside this module: in src/ when running from source, and in
 * dist/ beside the chunk this module is bundled into, where scripts/bundle.mjs copies it.
 */
export function reportStylesheet(): string {
  const file = new URL('./report.css', import.meta.url)
  let css: string
  try {
    css = readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`the report stylesheet is missing: ${fileURLToPath(file)} (reinstall studio)`, {cause: error})
  }
  return `${css}${generatedRules()}\n`
}
