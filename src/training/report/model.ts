/**
 * What the HTML report shows, computed from a RunView: numbers, words and links, no
 * markup. The decisions live here (which loss is reported for the best trial, which
 * cell is a row's lowest, what a stop reason is called), so they are tested without
 * parsing a page; html.ts only lays the model out.
 *
 * Losses come from the registry (loss/registry.ts) in its order, read when a model is
 * built: a newly registered loss gets its chart, chips, table rows and weight bar here.
 * Numbers that tables and charts show stay numbers (the template formats every loss the
 * same way, and the charts plot them); the header's cards are text.
 */
import {formatInteger, formatNumber, formatPercent, formatUsd} from '../../core/format.js'
import {RUN_FILES, TRIAL_FILES} from '../../core/layout.js'
import {STOP_REASON_TEXT, type LabelShares, type LossBreakdown, type RoleUsage, type SegmentLabel} from '../../core/schemas/common.js'
import {LOSSES} from '../../loss/registry.js'
import {selectionPairs, type BestTrial, type SelectionSplit} from '../../loss/selection.js'
import type {Verdict} from '../../loss/verdict.js'
import {lineDiff, withContext, type DiffGap, type DiffLine} from './diff.js'
import type {RunState, RunView, TrialView} from './view.js'

export type LossKey = keyof LossBreakdown

/** A loss as the report names it. */
export interface LossInfo {
  key: LossKey
  title: string
}

export interface ReportModel {
  runId: string
  toolVersion: string
  runDir: string
  /** Pairs held out of refinement (--holdout); empty without. */
  validationPairs: string[]
  header: Header
  /** Null until a trial has completed, as are the pair tables and the best trial. */
  charts: Charts | null
  pairs: PairTables | null
  best: BestTrialCards | null
  prompts: PromptEntry[]
  usage: UsageTables
  config: Config
}

// ------------------------------------------------------------------- header

export interface Header {
  state: RunState
  stateText: string
  started: string
  finished: string | null
  took: string | null
  seed: number
  mock: boolean
  notice: Notice | null
  kpis: Kpi[]
}

/** Why the page may show less than a whole run. */
export interface Notice {
  state: Exclude<RunState, 'finished'>
  /** Trials the page shows. */
  trials: number
  error: string | null
}

/** One card of the header. */
export interface Kpi {
  label: string
  value: string
  /** Set for a value out of a maximum: "/ 10". */
  of: string | null
  note: string
  best: boolean
}

// ------------------------------------------------------------------- charts

export interface Charts {
  /** The x axis: each trial's index. */
  trials: number[]
  /** Position of the best trial on the x axis. */
  best: number | null
  /** The validation pairs, when the trials have a validation series. */
  validationPairs: string[] | null
  /** The series that chose the best trial (a pooled series is drawn on the total chart when it did). */
  selectedBy: SelectionSplit | null
  total: Chart
  losses: LossChart[]
}

export interface Chart {
  key: LossKey
  /** The loss's title, for point tooltips. */
  name: string
  /** The chart's accessible title. */
  caption: string
  /** Training pairs first, then validation pairs when there are any. */
  series: Series[]
  /** The loss that chose the best trial, labelled above its point; null for no label. */
  bestLabel: number | null
}

export interface Series {
  split: SelectionSplit
  /** One mean loss per trial; NaN where a trial has none. */
  values: number[]
}

export interface LossChart extends Chart {
  summary: string
  weight: number
  /** The best trial's mean of this loss, on the split that chose it. */
  best: number | undefined
}

// ------------------------------------------------------------------- tables

export interface TrialColumn {
  index: number
  best: boolean
}

export interface PairTables {
  trials: TrialColumn[]
  rows: PairRow[]
  /** Mean total loss over the training pairs (all pairs without a holdout), per trial. */
  trainingMean: number[]
  /** Mean total loss over the validation pairs per trial; null without validation pairs. */
  validationMean: Array<number | undefined> | null
  details: PairDetail[]
}

export interface PairRow {
  pairId: string
  validation: boolean
  /** One per trial; null where the pair has no result in that trial. */
  cells: Array<PairCell | null>
}

export interface PairCell {
  loss: number
  scriptHref: string
  /** The lowest total loss of the row (marked only when the pair has more than one result). */
  lowest: boolean
}

/** Every loss of one pair in every trial. */
export interface PairDetail {
  pairId: string
  rows: Array<LossInfo & {values: Array<number | undefined>}>
  scripts: Array<string | null>
}

// --------------------------------------------------------------- best trial

export interface BestTrialCards {
  index: number
  selectedBy: SelectionSplit
  /** The rule that chose it, as one sentence (loss/selection.ts). */
  rule: string
  /** Against the thresholds of excellent training (loss/verdict.ts). */
  verdict: Verdict | null
  /** How each paper's length was chosen (the length model's note), when the run recorded it. */
  length: string | null
  /** Why the optimiser stopped, when it ran out of things to try. */
  stopDetail: string | null
  cards: BestPairCard[]
}

/** A segment of a sequence band; `share` is its width, the bands' shares summing to 1. */
export interface BandSegment {
  label: SegmentLabel
  share: number
}

export interface BestPairCard {
  pairId: string
  validation: boolean
  scriptHref: string
  losses: Array<LossInfo & {value: number | undefined}>
  reference: BandSegment[]
  generated: BandSegment[]
  concepts: {total: number; explained: string[]; missed: string[]}
  judge: {engagement: number; clarity: number; accuracy: number; reason: string}
  words: number
  minutes: number
  referenceMinutes: number
  questionsPerMinute: number
  sentenceWords: number
  rouge: {rouge1: number; rouge2: number; rougeL: number}
}

// ------------------------------------------------------------------ prompts

export interface PromptEntry {
  index: number
  best: boolean
  /** Mean total loss over the training pairs, and over the validation pairs when there are any. */
  loss: number
  validationLoss: number | null
  changes: string[]
  first: boolean
  sha: string
  promptHref: string
  resultsHref: string
  /** Against the previous trial's system prompt; lines null when it is the same. Null for the first trial. */
  diff: {against: number; lines: Array<DiffLine | DiffGap> | null} | null
  system: string
  userTemplate: string
}

// ------------------------------------------------------- usage and config

export interface UsageTables {
  roles: Array<{role: string; usage: RoleUsage}>
  total: RoleUsage
  trials: Array<TrialColumn & {usage: RoleUsage}>
}

export interface Config {
  facts: Array<{term: string; value: string; code: boolean}>
  weights: Array<LossInfo & {weight: number; share: number}>
  pairs: Array<{id: string; transcript: string; paper: string; episode: string}>
  /** hint: the fix recorded with the skip (null in runs written before hints were recorded, or when there is none). */
  skipped: Array<{id: string; reason: string; hint: string | null}>
  files: Array<{name: string; href: string}>
}

// ------------------------------------------------------------------ helpers

const STATE_TEXT: Record<RunState, string> = {
  running: 'Running',
  finished: 'Finished',
  failed: 'Failed',
  interrupted: 'Interrupted',
}

/** A loss as every table, card and chart label shows it: three decimals, "—" when there is none. */
export function formatLoss(value: number | undefined | null): string {
  return value === undefined || value === null || !Number.isFinite(value) ? '—' : value.toFixed(3)
}

/** The registered losses in registry order, then the total: the rows of every loss table. */
function lossesAndTotal(): LossInfo[] {
  return [...LOSSES.map((l) => ({key: l.name, title: l.title})), {key: 'total', title: 'Total'}]
}

/** A relative link to a file of the run folder; each segment is URL-encoded so it stays a path inside it. */
export function runHref(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s)).join('/')
}

function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? null : date
}

/** "2026-11-23 10:15:00 UTC": the same on every machine. */
function time(value: string): string {
  const date = parseTime(value)
  if (!date) return value || '—'
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

/** The losses a trial is reported by: the means over the pairs of the split that chose the best trial. */
function selectedLosses(trial: TrialView, split: SelectionSplit): LossBreakdown | null {
  if (split === 'validation') return trial.results.validation_mean_losses
  if (split === 'train') return trial.results.mean_losses
  return pooledLosses(trial)
}

/** Every loss's mean over all scored pairs of a trial, training and validation alike; null without a pair. */
function pooledLosses(trial: TrialView): LossBreakdown | null {
  const pairs = selectionPairs(trial.results.pairs, 'pooled')
  if (pairs.length === 0) return null
  const keys = Object.keys(pairs[0]!.losses) as LossKey[]
  return Object.fromEntries(keys.map((k) => [k, pairs.reduce((sum, p) => sum + (p.losses[k] ?? 0), 0) / pairs.length])) as LossBreakdown
}

// ------------------------------------------------------------------- header

function stopText(view: RunView): string {
  if (view.report) return STOP_REASON_TEXT[view.report.stop_reason]
  return view.state === 'running' ? 'still running' : view.state === 'finished' ? '—' : view.state
}

function header(view: RunView): Header {
  const m = view.manifest
  const best = view.best
  const first = view.trials[0]
  const usage = view.usage.total
  return {
    state: view.state,
    stateText: STATE_TEXT[view.state],
    started: time(m.started_at),
    finished: m.finished_at ? time(m.finished_at) : null,
    took: elapsed(m.started_at, m.finished_at),
    seed: m.seed,
    mock: m.config.mock,
    notice: view.state === 'finished' ? null : {state: view.state, trials: view.trials.length, error: m.error ?? null},
    kpis: [
      bestKpi(best),
      improvementKpi(best, first),
      {label: 'Trials', value: String(view.trials.length), of: `/ ${m.config.max_trials}`, note: `stop: ${stopText(view)}`, best: false},
      {
        label: 'Pairs',
        value: String(m.pairs.length),
        of: null,
        note: m.skipped.length > 0 ? `${m.skipped.length} skipped` : 'none skipped',
        best: false,
      },
      {
        label: 'Cost',
        value: formatUsd(usage.cost_usd),
        of: null,
        note: `${formatInteger(usage.calls)} calls · ${formatInteger(usage.input_tokens + usage.output_tokens)} tokens`,
        best: false,
      },
    ],
  }
}

/** The loss that chose the best trial is the one the card reports, and it says which it is. */
function bestKpi(best: BestTrial | null): Kpi {
  return {
    label:
      best?.selectedBy === 'validation' ? 'Best validation loss' : best?.selectedBy === 'pooled' ? 'Best pooled loss' : 'Best total loss',
    value: formatLoss(best?.loss),
    of: null,
    note: best ? `Trial ${best.index}` : 'no trial yet',
    best: true,
  }
}

function improvementKpi(best: BestTrial | null, first: TrialView | undefined): Kpi {
  const card = (value: string, note: string): Kpi => ({label: 'Improvement', value, of: null, note, best: false})
  if (!best || !first) return card('—', 'needs a trial')
  const trial = first.results.index
  if (best.improvement === null) return card('—', `trial ${trial} already has a loss of 0`)
  if (best.improvement <= 0) return card('0%', `trial ${trial} is still the best`)
  return card(formatPercent(best.improvement), `lower than trial ${trial} (${formatLoss(best.firstLoss)})`)
}

// ------------------------------------------------------------------- charts

function charts(view: RunView): Charts | null {
  const {trials, best} = view
  if (trials.length === 0) return null
  const withValidation = trials.some((t) => t.results.validation_mean_losses)
  const series = (key: LossKey): Series[] => [
    {split: 'train', values: trials.map((t) => t.results.mean_losses[key] ?? Number.NaN)},
    ...(withValidation
      ? [{split: 'validation' as const, values: trials.map((t) => t.results.validation_mean_losses?.[key] ?? Number.NaN)}]
      : []),
  ]
  // The pooled loss chose the best trial: draw it, so that the best label sits on the line it was read from.
  const pooled: Series[] =
    best?.selectedBy === 'pooled' ? [{split: 'pooled', values: trials.map((t) => pooledLosses(t)?.total ?? Number.NaN)}] : []
  const bestTrial = best ? trials[best.position] : undefined
  const bestLosses = bestTrial && best ? selectedLosses(bestTrial, best.selectedBy) : null
  return {
    trials: trials.map((t) => t.results.index),
    best: best?.position ?? null,
    validationPairs: withValidation ? view.manifest.validation_pairs : null,
    selectedBy: best?.selectedBy ?? null,
    total: {
      key: 'total',
      name: 'Total',
      caption: `Mean total loss per trial${best ? `; best: trial ${best.index}` : ''}`,
      series: [...series('total'), ...pooled],
      bestLabel: best?.loss ?? null,
    },
    losses: LOSSES.map((loss) => ({
      key: loss.name,
      name: loss.title,
      caption: `Mean ${loss.title} loss per trial (${loss.summary})`,
      series: series(loss.name),
      bestLabel: null,
      summary: loss.summary,
      weight: view.manifest.config.weights[loss.name] ?? 0,
      best: bestLosses?.[loss.name],
    })),
  }
}

// ------------------------------------------------------------------- tables

/** Every pair of the run, then any pair only the trials know of, in the order met. */
function pairIds(view: RunView): string[] {
  const ids = view.manifest.pairs.map((p) => p.id)
  for (const trial of view.trials) for (const p of trial.results.pairs) if (!ids.includes(p.pair_id)) ids.push(p.pair_id)
  return ids
}

function pairResult(trial: TrialView, pairId: string) {
  return trial.results.pairs.find((p) => p.pair_id === pairId)
}

function trialColumns(view: RunView): TrialColumn[] {
  return view.trials.map((t, i) => ({index: t.results.index, best: i === view.best?.position}))
}

function pairTables(view: RunView): PairTables | null {
  if (view.trials.length === 0) return null
  const ids = pairIds(view)
  const validation = view.manifest.validation_pairs
  const rows = ids.map((pairId): PairRow => {
    const results = view.trials.map((t) => pairResult(t, pairId))
    const present = results.flatMap((r) => (r ? [r.losses.total] : []))
    const lowest = present.length > 1 ? Math.min(...present) : null
    return {
      pairId,
      validation: validation.includes(pairId),
      cells: results.map((result, i) =>
        result
          ? {
              loss: result.losses.total,
              scriptHref: runHref(view.trials[i]!.results.dir, result.script_file),
              lowest: result.losses.total === lowest,
            }
          : null,
      ),
    }
  })
  const details = ids.map((pairId): PairDetail => {
    const results = view.trials.map((t) => pairResult(t, pairId))
    return {
      pairId,
      rows: lossesAndTotal().map((loss) => ({...loss, values: results.map((r) => r?.losses[loss.key])})),
      scripts: results.map((r, i) => (r ? runHref(view.trials[i]!.results.dir, r.script_file) : null)),
    }
  })
  return {
    trials: trialColumns(view),
    rows,
    trainingMean: view.trials.map((t) => t.results.mean_losses.total),
    validationMean: validation.length > 0 ? view.trials.map((t) => t.results.validation_mean_losses?.total) : null,
    details,
  }
}

// --------------------------------------------------------------- best trial

/** Band widths of a label sequence: the label's share split over its occurrences, or equal widths. */
export function band(sequence: SegmentLabel[], shares: LabelShares | undefined): BandSegment[] {
  const counts = new Map<SegmentLabel, number>()
  for (const label of sequence) counts.set(label, (counts.get(label) ?? 0) + 1)
  const raw = sequence.map((label) => {
    const share = shares?.[label]
    return share === undefined ? Number.NaN : share / (counts.get(label) ?? 1)
  })
  const sum = raw.reduce((a, b) => a + b, 0)
  if (!Number.isFinite(sum) || sum <= 0) return sequence.map((label) => ({label, share: 1 / sequence.length}))
  return sequence.map((label, i) => ({label, share: raw[i]! / sum}))
}

function bestTrialCards(view: RunView): BestTrialCards | null {
  const best = view.best
  const trial = best ? view.trials[best.position] : undefined
  if (!best || !trial) return null
  return {
    index: best.index,
    selectedBy: best.selectedBy,
    rule: best.rule,
    verdict: view.verdict,
    length: view.report?.length_model?.note ?? null,
    stopDetail: view.report?.stop_detail ?? null,
    cards: trial.results.pairs.map((pair): BestPairCard => {
      const d = pair.details
      return {
        pairId: pair.pair_id,
        validation: pair.split === 'validation',
        scriptHref: runHref(trial.results.dir, pair.script_file),
        losses: lossesAndTotal().map((loss) => ({...loss, value: pair.losses[loss.key]})),
        reference: band(d.reference_sequence, view.analyses[pair.pair_id]?.structure.word_shares),
        generated: band(d.generated_sequence, d.generated_word_shares),
        concepts: {total: d.concepts_total, explained: d.concepts_explained, missed: d.concepts_missed},
        judge: {
          engagement: d.judge.engagement,
          clarity: d.judge.clarity,
          accuracy: d.judge.accuracy,
          reason: d.judge.weakest_dimension_reason,
        },
        words: d.generated_words,
        minutes: d.generated_seconds / 60,
        referenceMinutes: d.reference_seconds / 60,
        questionsPerMinute: d.generated_questions_per_minute,
        sentenceWords: d.generated_mean_sentence_words,
        rouge: d.rouge,
      }
    }),
  }
}

// ------------------------------------------------------------------ prompts

function prompts(view: RunView): PromptEntry[] {
  return view.trials.map((trial, i): PromptEntry => {
    const previous = i > 0 ? view.trials[i - 1] : undefined
    const lines = previous ? withContext(lineDiff(previous.prompt.rendered.system, trial.prompt.rendered.system), 3) : []
    return {
      index: trial.results.index,
      best: i === view.best?.position,
      loss: trial.results.mean_losses.total,
      validationLoss: trial.results.validation_mean_losses?.total ?? null,
      changes: trial.prompt.changes,
      first: i === 0,
      sha: trial.prompt.sha256.slice(0, 12),
      promptHref: runHref(trial.results.dir, TRIAL_FILES.prompt),
      resultsHref: runHref(trial.results.dir, TRIAL_FILES.results),
      diff: previous
        ? {against: previous.results.index, lines: lines.some((l) => l.kind === 'added' || l.kind === 'removed') ? lines : null}
        : null,
      system: trial.prompt.rendered.system,
      userTemplate: trial.prompt.rendered.user_template,
    }
  })
}

// ------------------------------------------------------- usage and config

function usageTables(view: RunView): UsageTables {
  return {
    roles: Object.entries(view.usage.by_role).flatMap(([role, usage]) => (usage ? [{role, usage}] : [])),
    total: view.usage.total,
    trials: view.trials.map((t, i) => ({index: t.results.index, best: i === view.best?.position, usage: t.results.usage.total})),
  }
}

function config(view: RunView): Config {
  const m = view.manifest
  const c = m.config
  const fact = (term: string, value: string | number, code = false) => ({term, value: String(value), code})
  const weights = LOSSES.map((l) => ({key: l.name, title: l.title, weight: c.weights[l.name] ?? 0}))
  const totalWeight = weights.reduce((sum, w) => sum + w.weight, 0) || 1
  // Files of a pair, relative to the pairs folder they were found in.
  const root = c.pairs_dir.replace(/[\\/]+$/, '')
  const underPairs = (file: string) => (file.startsWith(`${root}/`) || file.startsWith(`${root}\\`) ? file.slice(root.length + 1) : file)
  const files = [
    RUN_FILES.manifest,
    ...(view.report ? [RUN_FILES.report] : []),
    ...(view.aggregate ? [RUN_FILES.aggregateProfile] : []),
    RUN_FILES.events,
  ]
  return {
    facts: [
      fact('Pairs folder', c.pairs_dir, true),
      fact('Output folder', c.output_dir, true),
      fact('Max trials', c.max_trials),
      fact('Mock providers', c.mock ? 'yes' : 'no'),
      fact('Seed', m.seed),
      fact('Convergence', `window ${c.window}, threshold ${formatNumber(c.threshold, 4)}`),
      fact('Concurrency', c.concurrency),
      fact('Transcriber', m.providers.transcriber),
      fact('Language model', m.providers.language_model),
      fact('Tool version', m.tool_version),
      fact('Node version', m.node_version),
      fact('Host', m.host),
    ],
    weights: weights.map((w) => ({...w, share: w.weight / totalWeight})),
    pairs: m.pairs.map((p) => ({id: p.id, transcript: p.transcript_source, paper: underPairs(p.pdf), episode: underPairs(p.mp3)})),
    skipped: m.skipped.map((s) => ({id: s.id, reason: s.reason, hint: s.hint ?? null})),
    files: files.map((name) => ({name, href: runHref(name)})),
  }
}

// --------------------------------------------------------------------- page

export function reportModel(view: RunView): ReportModel {
  return {
    runId: view.manifest.run_id,
    toolVersion: view.manifest.tool_version,
    runDir: view.runDir,
    validationPairs: view.manifest.validation_pairs,
    header: header(view),
    charts: charts(view),
    pairs: pairTables(view),
    best: bestTrialCards(view),
    prompts: prompts(view),
    usage: usageTables(view),
    config: config(view),
  }
}
