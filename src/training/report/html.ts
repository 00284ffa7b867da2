/**
 * The HTML report of a run: one self-contained page (inline CSS and SVG, no script, no
 * network) laid out from the report model (model.ts). Every value goes through the
 * `html` template, which escapes it. Pure and deterministic: the same view gives the
 * same bytes, so the page can be regenerated at any time.
 */
import {TRIAL_FILES} from '../../core/layout.js'
import {formatInteger, formatNumber, formatPercent, formatUsd} from '../../core/format.js'
import {SEGMENT_LABELS, type RoleUsage} from '../../core/schemas/common.js'
import {formatMeasure, type Verdict} from '../../loss/verdict.js'
import {chartSvg} from './chart.js'
import {
  formatLoss,
  reportModel,
  type BandSegment,
  type BestPairCard,
  type BestTrialCards,
  type Charts,
  type Config,
  type Header,
  type PairTables,
  type PromptEntry,
  type TrialColumn,
  type UsageTables,
} from './model.js'
import {reportStylesheet} from './style.js'
import {html, styleElement, type Html, type Interpolation} from './template.js'
import type {RunView} from './view.js'

const EMPTY = html`<p class="empty">No trial has completed yet.</p>`

function section(id: string, title: string, lead: string | null, body: Interpolation): Html {
  return html`<section id="${id}" class="card">
    <h2>${title}</h2>
    ${lead && html`<p class="lead">${lead}</p>`} ${body}
  </section>`
}

const bestClass = (best: boolean) => (best ? ' best' : '')

const splitTag = html`<span class="split-tag" title="held out of refinement">validation</span>`

// ------------------------------------------------------------------- header

function header(h: Header, runId: string): Html {
  const trials = (n: number) => `${n} trial${n === 1 ? '' : 's'}`
  const notice =
    h.notice?.state === 'running'
      ? html`<div class="notice notice-running">
          This run is still going: the page shows the ${trials(h.notice.trials)} completed when it was written.
        </div>`
      : h.notice?.state === 'interrupted'
        ? html`<div class="notice notice-interrupted">
            The run was interrupted${h.notice.error && ` (${h.notice.error})`}: the page shows the ${trials(h.notice.trials)} it completed.
          </div>`
        : h.notice?.state === 'failed'
          ? html`<div class="notice notice-failed"><b>The run failed.</b> ${h.notice.error ?? 'No error was recorded.'}</div>`
          : null
  const kpis = h.kpis.map(
    (k) =>
      html`<div class="kpi${k.best ? ' kpi-best' : ''}">
        <div class="kpi-label">${k.label}</div>
        <div class="kpi-value">${k.value}${k.of && html`<span class="kpi-of"> ${k.of}</span>`}</div>
        <div class="kpi-note">${k.note}</div>
      </div>`,
  )
  return html`<header class="page-header">
    <div class="title-row">
      <div>
        <div class="eyebrow">studio · training report</div>
        <h1>${runId}</h1>
        <p class="meta">
          Started ${h.started} · ${h.finished ? `finished ${h.finished}` : 'not finished'}${h.took && ` · took ${h.took}`} · seed
          ${h.seed}${h.mock && ' · mock providers'}
        </p>
      </div>
      <span class="badge state state-${h.state}" data-state="${h.state}">${h.stateText}</span>
    </div>
    ${notice}
    <div class="kpis">${kpis}</div>
    <nav class="toc">
      <a href="#loss">Loss</a><a href="#pairs">Pairs</a><a href="#best">Best trial</a><a href="#prompts">Prompts</a
      ><a href="#usage">Usage</a><a href="#config">Configuration</a>
    </nav>
  </header>`
}

// ------------------------------------------------------------------- charts

function chartsSection(c: Charts | null, heldOut: boolean): Html {
  const pooled = c?.selectedBy === 'pooled' ? ', and the total over every pair pooled (dotted), which chose the best trial' : ''
  const lead = `${
    heldOut ? `Mean loss over the training pairs (solid) and the validation pairs (dashed)${pooled}` : 'Mean loss over all pairs'
  }, lower is better. Every loss is in [0, 1]; y axes start at 0.`
  if (!c) {
    return section(
      'loss',
      'Loss per trial',
      lead,
      html`<p class="empty">No trial has completed yet: the charts appear once trial 0 has been scored on every pair.</p>`,
    )
  }
  const small = c.losses.map(
    (loss) =>
      html`<figure class="small-chart">
        <figcaption>
          <span class="metric-name"><i class="swatch s-${loss.key}"></i>${loss.name}</span>
          <span class="metric-meta">weight ${formatNumber(loss.weight, 2)} · best ${formatLoss(loss.best)}</span>
        </figcaption>
        ${chartSvg(loss, c.trials, c.best, 'small')}
        <p class="metric-hint">${loss.summary}</p>
      </figure>`,
  )
  return section(
    'loss',
    'Loss per trial',
    lead,
    html`<div class="total-chart">
        <figure>${chartSvg(c.total, c.trials, c.best, 'large')}</figure>
        <ul class="legend">
          <li><i class="swatch s-total"></i>train (mean over ${c.validationPairs && 'training '}pairs)</li>
          ${
            c.validationPairs &&
            html`<li>
              <i class="swatch swatch-validation"></i>validation
              (${c.validationPairs.join(', ')}${c.selectedBy === 'validation' ? '; chooses the best trial' : ''})
            </li>`
          }
          ${c.selectedBy === 'pooled' && html`<li><i class="swatch swatch-pooled"></i>pooled (every pair; chooses the best trial)</li>`}
          <li><i class="swatch swatch-best"></i>best trial</li>
        </ul>
      </div>
      <div class="small-multiples">${small}</div>`,
  )
}

// ------------------------------------------------------------------- tables

function trialHeaders(trials: TrialColumn[], first: string): Html {
  return html`<thead>
    <tr>
      <th scope="col">${first}</th>
      ${trials.map(
        (t) =>
          html`<th class="num${bestClass(t.best)}" scope="col">
            ${t.index}${t.best && html`<span class="star" title="best trial"> ★</span>`}
          </th>`,
      )}
    </tr>
  </thead>`
}

/** One loss per trial, the best trial's highlighted. */
function lossCells(trials: TrialColumn[], values: Array<number | undefined>): Html[] {
  return trials.map((t, i) => html`<td class="num${bestClass(t.best)}">${formatLoss(values[i])}</td>`)
}

function pairsSection(p: PairTables | null): Html {
  if (!p) return section('pairs', 'Loss per pair', null, EMPTY)
  const rows = p.rows.map(
    (row) =>
      html`<tr data-pair="${row.pairId}">
        <th scope="row" class="pair-id">${row.pairId}${row.validation && html` ${splitTag}`}</th>
        ${row.cells.map((cell, i) => {
          const cls = `num${bestClass(p.trials[i]!.best)}${cell?.lowest ? ' row-min' : ''}`
          if (!cell) return html`<td class="${cls}">—</td>`
          return html`<td class="${cls}">
            <a href="${cell.scriptHref}" title="Open the script of ${row.pairId} in trial ${p.trials[i]!.index}"
              >${formatLoss(cell.loss)}</a
            >
          </td>`
        })}
      </tr>`,
  )
  const summary = html`<div class="table-wrap">
    <table class="data pair-totals" data-table="pair-totals">
      ${trialHeaders(p.trials, 'Pair \\ trial')}
      <tbody>
        ${rows}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">${p.validationMean ? 'Training mean' : 'Mean'}</th>
          ${lossCells(p.trials, p.trainingMean)}
        </tr>
        ${
          p.validationMean &&
          html`<tr data-row="validation-mean">
            <th scope="row">Validation mean</th>
            ${lossCells(p.trials, p.validationMean)}
          </tr>`
        }
      </tfoot>
    </table>
  </div>`
  const details = p.details.map(
    (d) =>
      html`<details class="pair-detail">
        <summary><span class="pair-id">${d.pairId}</span><span class="muted">every loss per trial</span></summary>
        <div class="table-wrap">
          <table class="data" data-pair-table="${d.pairId}">
            ${trialHeaders(p.trials, 'Loss \\ trial')}
            <tbody>
              ${d.rows.map(
                (row) =>
                  html`<tr class="${row.key === 'total' ? 'total-row' : ''}">
                    <th scope="row"><i class="swatch s-${row.key}"></i>${row.title}</th>
                    ${lossCells(p.trials, row.values)}
                  </tr>`,
              )}
              <tr class="script-row">
                <th scope="row">Script</th>
                ${d.scripts.map(
                  (href, i) => html`<td class="num${bestClass(p.trials[i]!.best)}">${href ? html`<a href="${href}">script</a>` : '—'}</td>`,
                )}
              </tr>
            </tbody>
          </table>
        </div>
      </details>`,
  )
  return section(
    'pairs',
    'Loss per pair',
    'Total loss of each pair in each trial; click a value to open that script. The lowest value of each row is marked; the best trial is highlighted.',
    html`${summary}
      <h3>All losses, pair by pair</h3>
      ${details}`,
  )
}

// --------------------------------------------------------------- best trial

function bandRow(name: string, segments: BandSegment[]): Html {
  if (segments.length === 0) {
    return html`<div class="band-row">
      <span class="band-name">${name}</span>
      <div class="band empty-band">no segments</div>
    </div>`
  }
  return html`<div class="band-row">
    <span class="band-name">${name}</span>
    <div class="band" data-band="${name.toLowerCase()}">
      ${segments.map(
        (s) =>
          html`<span class="seg l-${s.label}" style="width:${(s.share * 100).toFixed(2)}%" title="${s.label} · ${formatPercent(s.share, 0)}"
            >${s.label}</span
          >`,
      )}
    </div>
  </div>`
}

function meter(name: string, value: number): Html {
  const width = Math.max(0, Math.min(100, value))
  return html`<div class="meter">
    <span class="meter-name">${name}</span><span class="meter-bar"><span style="width:${width.toFixed(1)}%"></span></span
    ><span class="meter-value">${formatNumber(value, 1)}</span>
  </div>`
}

function pairCard(card: BestPairCard): Html {
  const chips = (terms: string[], cls: string) => terms.map((t) => html`<li class="chip ${cls}">${t}</li>`)
  const {concepts, judge, rouge} = card
  return html`<article class="pair-card" data-best-pair="${card.pairId}">
    <header>
      <h3>${card.pairId}${card.validation && html` ${splitTag}`}</h3>
      <a class="button" href="${card.scriptHref}">Open script</a>
    </header>
    <div class="loss-chips">
      ${card.losses.map(
        (l) =>
          html`<span class="loss-chip${l.key === 'total' ? ' loss-total' : ''}"
            ><i class="swatch s-${l.key}"></i>${l.title} <b>${formatLoss(l.value)}</b></span
          >`,
      )}
    </div>
    <div class="bands">${bandRow('Reference', card.reference)}${bandRow('Generated', card.generated)}</div>
    <div class="pair-grid">
      <div>
        <h4>Concepts <span class="muted">${concepts.explained.length} of ${concepts.total} explained</span></h4>
        ${
          concepts.explained.length > 0 &&
          html`<ul class="chips">
            ${chips(concepts.explained, 'chip-ok')}
          </ul>`
        }
        ${
          concepts.missed.length > 0
            ? html`<ul class="chips">
                ${chips(concepts.missed, 'chip-missed')}
              </ul>`
            : html`<p class="muted small">No concept missed.</p>`
        }
      </div>
      <div>
        <h4>Judge</h4>
        ${meter('Engagement', judge.engagement)}${meter('Clarity', judge.clarity)}${meter('Accuracy', judge.accuracy)}
        <blockquote>${judge.reason}</blockquote>
      </div>
      <div>
        <h4>Numbers</h4>
        <dl class="facts">
          <dt>Length</dt>
          <dd>
            ${formatInteger(card.words)} words · ${formatNumber(card.minutes, 1)} min
            <span class="muted">vs ${formatNumber(card.referenceMinutes, 1)} min</span>
          </dd>
          <dt>Questions</dt>
          <dd>${formatNumber(card.questionsPerMinute, 2)} per minute</dd>
          <dt>Sentences</dt>
          <dd>${formatNumber(card.sentenceWords, 1)} words on average</dd>
          <dt>ROUGE</dt>
          <dd>1: ${rouge.rouge1.toFixed(3)} · 2: ${rouge.rouge2.toFixed(3)} · L: ${rouge.rougeL.toFixed(3)}</dd>
        </dl>
      </div>
    </div>
  </article>`
}

/** The best trial against the thresholds of excellent training: overall, then each measure with its value. */
function verdictBlock(v: Verdict | null): Html | null {
  if (!v) return null
  const pairs = `${v.pairs} ${v.split === 'train' ? 'training' : v.split === 'validation' ? 'validation' : 'training and validation'} pair${v.pairs === 1 ? '' : 's'}`
  return html`<div class="verdict verdict-${v.excellent ? 'excellent' : 'not-yet'}" data-verdict="${v.excellent ? 'excellent' : 'not-yet'}">
    <p class="verdict-summary"><b>Verdict: ${v.summary}</b> <span class="muted">(means over its ${pairs})</span></p>
    <ul class="verdict-checks">
      ${v.checks.map(
        (c) =>
          html`<li class="${c.met ? 'met' : 'unmet'}" data-check="${c.measure}">
            <span class="verdict-mark">${c.met ? '✓' : '✗'}</span> ${c.title} <b>${formatMeasure(c.measure, c.value)}</b>
            <span class="muted">excellent above ${formatMeasure(c.measure, c.threshold, true)}</span>
          </li>`,
      )}
    </ul>
  </div>`
}

function bestSection(b: BestTrialCards | null): Html {
  if (!b) return section('best', 'Best trial', null, EMPTY)
  return section(
    'best',
    `Best trial: Trial ${b.index}`,
    `${b.rule} Reference vs generated segment sequence of each pair (band widths are word shares), concepts explained or missed, and the judge\u2019s scores.`,
    html`${verdictBlock(b.verdict)} ${b.length ? html`<p class="muted small">Length per paper: ${b.length}.</p>` : EMPTY}
      ${b.stopDetail ? html`<p class="muted small">The optimiser stopped: ${b.stopDetail}.</p>` : EMPTY}
      <ul class="legend label-legend">
        ${SEGMENT_LABELS.map((l) => html`<li><i class="swatch l-${l}"></i>${l}</li>`)}
      </ul>
      ${b.cards.map(pairCard)}`,
  )
}

// ------------------------------------------------------------------ prompts

function diffBlock(diff: NonNullable<PromptEntry['diff']>): Html {
  if (!diff.lines) return html`<p class="muted small">Same system prompt as the previous trial.</p>`
  const lines = diff.lines.map((line) => {
    if (line.kind === 'gap') return html`<span class="d-gap">⋯ ${line.lines} unchanged line${line.lines === 1 ? '' : 's'}</span>`
    const mark = line.kind === 'added' ? '+' : line.kind === 'removed' ? '−' : ' '
    return html`<span class="d-${line.kind}"><span class="d-mark">${mark}</span>${line.text || ' '}</span>`
  })
  // Inside <pre> every character shows: the lines are joined without whitespace between them.
  return html`<pre class="diff">${lines}</pre>`
}

function promptEntry(p: PromptEntry): Html {
  const changes =
    p.changes.length > 0
      ? html`<ul class="changes">
          ${p.changes.map((c) => html`<li>${c}</li>`)}
        </ul>`
      : html`<p class="muted small">${p.first ? 'The initial prompt, built from the reference episodes.' : 'No change listed.'}</p>`
  const losses = `total ${formatLoss(p.loss)}${p.validationLoss === null ? '' : ` · validation ${formatLoss(p.validationLoss)}`}`
  return html`<details class="prompt${bestClass(p.best)}" data-prompt-trial="${p.index}" ${p.best && html`open`}>
    <summary>
      <span class="prompt-title">Trial ${p.index}${p.best && html` <span class="badge badge-best">best</span>`}</span>
      <span class="muted">${losses} · ${p.changes.length} change${p.changes.length === 1 ? '' : 's'} · <code>${p.sha}</code></span>
    </summary>
    <div class="prompt-body">
      <p class="files">
        Files: <a href="${p.promptHref}">${TRIAL_FILES.prompt}</a> · <a href="${p.resultsHref}">${TRIAL_FILES.results}</a>
      </p>
      <h4>Changes</h4>
      ${changes}
      ${
        p.diff &&
        html`<h4>Diff vs trial ${p.diff.against}</h4>
          ${diffBlock(p.diff)}`
      }
      <details class="nested">
        <summary>Full system prompt</summary>
        <pre class="prompt-text">${p.system}</pre>
      </details>
      <details class="nested">
        <summary>User message template</summary>
        <pre class="prompt-text">${p.userTemplate}</pre>
      </details>
    </div>
  </details>`
}

function promptsSection(prompts: PromptEntry[]): Html {
  if (prompts.length === 0) return section('prompts', 'Prompts', null, EMPTY)
  return section(
    'prompts',
    'Prompts',
    'The system prompt of each trial, what the refiner changed and the line diff to the previous trial (added lines green, removed red).',
    prompts.map(promptEntry),
  )
}

// -------------------------------------------------------------------- usage

const usageHead = (first: string) =>
  html`<thead>
    <tr>
      <th scope="col">${first}</th>
      <th class="num" scope="col">Calls</th>
      <th class="num" scope="col">Input tokens</th>
      <th class="num" scope="col">Output tokens</th>
      <th class="num" scope="col">Cost</th>
    </tr>
  </thead>`

function usageRow(name: string | number, u: RoleUsage, cls = ''): Html {
  return html`<tr class="${cls}">
    <th scope="row">${name}</th>
    <td class="num">${formatInteger(u.calls)}</td>
    <td class="num">${formatInteger(u.input_tokens)}</td>
    <td class="num">${formatInteger(u.output_tokens)}</td>
    <td class="num">${formatUsd(u.cost_usd)}</td>
  </tr>`
}

function usageSection(u: UsageTables): Html {
  const roles =
    u.roles.length > 0
      ? u.roles.map((r) => usageRow(r.role, r.usage))
      : html`<tr>
          <td colspan="5" class="muted">No model call recorded yet.</td>
        </tr>`
  const perTrial =
    u.trials.length > 0 &&
    html`<h3>Per trial <span class="muted">(generation and judging)</span></h3>
      <div class="table-wrap">
        <table class="data usage">
          ${usageHead('Trial')}
          <tbody>
            ${u.trials.map((t) => usageRow(t.index, t.usage, t.best ? 'best' : ''))}
          </tbody>
        </table>
      </div>`
  return section(
    'usage',
    'Usage and cost',
    'Model calls of the whole run so far, by role. A cost is unknown when a model\u2019s price is.',
    html`<div class="table-wrap">
        <table class="data usage" data-table="usage">
          ${usageHead('Role')}
          <tbody>
            ${roles}
          </tbody>
          <tfoot>
            ${usageRow('Total', u.total)}
          </tfoot>
        </table>
      </div>
      ${perTrial}`,
  )
}

// ------------------------------------------------------------ configuration

function configSection(c: Config): Html {
  const facts = c.facts.map(
    (f) =>
      html`<dt>${f.term}</dt>
        <dd>${f.code ? html`<code>${f.value}</code>` : f.value}</dd>`,
  )
  const weights = c.weights.map(
    (w) =>
      html`<div class="weight">
        <span class="meter-name"><i class="swatch s-${w.key}"></i>${w.title}</span
        ><span class="meter-bar"><span class="s-${w.key}" style="width:${(w.share * 100).toFixed(1)}%"></span></span
        ><span class="meter-value">${formatNumber(w.weight, 3)}</span>
      </div>`,
  )
  const skipped =
    c.skipped.length > 0
      ? html`<ul class="skipped">
          ${c.skipped.map(
            (s) =>
              html`<li>
                <span class="pair-id">${s.id}</span>:
                ${s.reason}${s.hint && html`<br /><span class="muted small skip-hint">Fix: ${s.hint}</span>`}
              </li>`,
          )}
        </ul>`
      : html`<p class="muted small">No pair was skipped.</p>`
  const files = c.files.map((f, i) => html`${i > 0 && ' · '}<a href="${f.href}">${f.name}</a>`)
  return section(
    'config',
    'Configuration',
    null,
    html`<div class="config-grid">
        <div>
          <h3>Run</h3>
          <dl class="facts">${facts}</dl>
        </div>
        <div>
          <h3>Loss weights</h3>
          ${weights}
          <h3>Skipped pairs</h3>
          ${skipped}
          <h3>Files</h3>
          <p class="files">${files}</p>
        </div>
      </div>
      <h3>Pairs <span class="muted">(files relative to the pairs folder)</span></h3>
      <div class="table-wrap">
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">Transcript</th>
              <th scope="col">Paper</th>
              <th scope="col">Episode</th>
            </tr>
          </thead>
          <tbody>
            ${c.pairs.map(
              (p) =>
                html`<tr>
                  <th scope="row" class="pair-id">${p.id}</th>
                  <td>${p.transcript}</td>
                  <td><code>${p.paper}</code></td>
                  <td><code>${p.episode}</code></td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`,
  )
}

// --------------------------------------------------------------------- page

/** The Content-Security-Policy allows no script and nothing from the network: the page is safe to open from disk or mail around. */
export function renderReportHtml(view: RunView): string {
  const m = reportModel(view)
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:" />
        <meta name="generator" content="studio ${m.toolVersion}" />
        <title>Training report · ${m.runId}</title>
        ${styleElement(reportStylesheet())}
      </head>
      <body>
        <main>
          ${header(m.header, m.runId)} ${chartsSection(m.charts, m.validationPairs.length > 0)} ${pairsSection(m.pairs)}
          ${bestSection(m.best)} ${promptsSection(m.prompts)} ${usageSection(m.usage)} ${configSection(m.config)}
          <footer>
            Generated by studio ${m.toolVersion} from <code>${m.runDir}</code>. Links are relative to this page: keep it in the run folder.
          </footer>
        </main>
      </body>
    </html>`
  return `${String(page)}\n`
}
