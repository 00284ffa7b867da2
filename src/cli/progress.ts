/**
 * Shows training events: an ora spinner with counts in an interactive terminal;
 * plain timestamped lines on stderr when output is piped, in CI, or under --json,
 * so that stdout carries nothing but the result.
 */
import type {Ora} from 'ora'

import type {UsageSummary} from '../core/schemas/common.js'
import type {TrainingEvent} from '../training/run/trainer.js'
import {emptyUsage, mergeUsage} from '../providers/usage.js'
import {formatUsd} from '../core/format.js'
import {formatUsage} from './summary.js'

export interface ProgressReporter {
  onEvent(event: TrainingEvent): void
  /** Ends the display; `failed` marks the running phase as failed. */
  stop(failed?: boolean): void
}

function interactive(json: boolean): boolean {
  // A terminal that reports no width (some pseudo-terminals) cannot redraw a spinner line.
  const width = process.stderr.columns ?? 0
  return !json && Boolean(process.stdout.isTTY && process.stderr.isTTY) && !process.env.CI && width > 0
}

export async function createProgressReporter(options: {json: boolean; startedAt?: number}): Promise<ProgressReporter> {
  const started = options.startedAt ?? Date.now()
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`
  // Running usage and cost, from the events that carry a pair's usage.
  let usage: UsageSummary = emptyUsage()
  const count = (event: TrainingEvent) => {
    if (event.type === 'pair-analysed' || event.type === 'pair-scored' || (event.type === 'pair-skipped' && event.usage))
      usage = mergeUsage(usage, event.usage!)
  }
  const cost = () => formatUsd(usage.total.cost_usd, `${usage.total.calls} calls`)
  // A trial's result as one phrase: the training loss, and the validation loss when there are validation pairs.
  const trialLoss = (event: Extract<TrainingEvent, {type: 'trial-finished'}>) =>
    `mean total loss ${event.mean_losses.total.toFixed(4)}${event.validation_mean_losses ? `, validation ${event.validation_mean_losses.total.toFixed(4)}` : ''}`
  if (!interactive(options.json)) {
    const line = (text: string) => process.stderr.write(`[${new Date().toISOString()}] ${text}\n`)
    return {
      onEvent(event) {
        count(event)
        switch (event.type) {
          case 'phase':
            line(event.message)
            break
          case 'progress':
            line(event.message)
            break
          case 'warning':
            line(`warning: ${event.message}`)
            break
          case 'pair-skipped':
            line(`skipped ${event.pair}: ${event.reason}`)
            // The fix, as a continuation of the line above.
            if (event.hint) process.stderr.write(`  hint: ${event.hint}\n`)
            break
          case 'trial-finished':
            line(`trial ${event.trial} done: ${trialLoss(event)}; usage so far: ${formatUsage(usage.total)}`)
            break
        }
      },
      stop() {},
    }
  }
  // ora is only loaded for interactive runs.
  const {default: ora} = await import('ora')
  const spinner = ora({stream: process.stderr})
  // The phase being shown, or null between a trial's result and the next phase,
  // and its latest progress line, which is what a finished phase leaves on screen.
  let current: string | null = null
  let latest: string | null = null
  const resume = () => {
    if (current) spinner.start(`${current} (${elapsed()})`)
  }
  return {
    onEvent(event) {
      count(event)
      switch (event.type) {
        case 'phase':
          if (current && spinner.isSpinning) spinner.succeed(`${latest ?? current} (${elapsed()})`)
          current = event.message
          latest = null
          resume()
          break
        case 'progress':
          latest = event.message
          spinner.text = `${event.message} (${elapsed()}, ${cost()})`
          break
        case 'warning':
          spinner.warn(event.message)
          resume()
          break
        case 'pair-skipped':
          spinner.warn(`Skipped ${event.pair}: ${event.reason}${event.hint ? `\n  hint: ${event.hint}` : ''}`)
          resume()
          break
        case 'trial-finished':
          spinner.succeed(`Trial ${event.trial}: ${trialLoss(event)} (${elapsed()}, ${cost()})`)
          current = null
          break
      }
    },
    stop(failed = false) {
      if (!spinner.isSpinning || !current) spinner.stop()
      else if (failed) spinner.fail(current)
      else spinner.succeed(`${latest ?? current} (${elapsed()})`)
    },
  }
}

export interface CountProgress {
  /** `done` of `total` items finished. */
  update(done: number, total: number): void
  /** Ends the display (an ora spinner is cleared: the command's output follows). */
  stop(): void
}

/**
 * Progress through a known count of items (list-pairs' pairs), shown only once the work
 * has taken longer than `delayMs` (default 1 s), so that a quick command prints nothing
 * but its result: then an ora spinner with the count in an interactive terminal, or, as
 * training events are, a timestamped line on stderr (the first after `delayMs`, then at
 * most one every `intervalMs`, default 5 s) when output is piped, in CI or under --json.
 */
export function createCountProgress(options: {
  json: boolean
  message: (done: number, total: number) => string
  delayMs?: number
  intervalMs?: number
}): CountProgress {
  const interval = options.intervalMs ?? 5000
  const tty = interactive(options.json)
  let done = 0
  let total = 0
  let shown = false
  let stopped = false
  let lastLine = 0
  let spinner: Ora | null = null
  const line = () => {
    lastLine = Date.now()
    process.stderr.write(`[${new Date().toISOString()}] ${options.message(done, total)}\n`)
  }
  const timer = setTimeout(() => {
    shown = true
    if (!tty) return line()
    // ora loads only when there is something to show: a quick listing never pays for it.
    void import('ora').then(({default: ora}) => {
      if (!stopped) spinner = ora({stream: process.stderr, text: options.message(done, total)}).start()
    })
  }, options.delayMs ?? 1000)
  // The work in progress keeps the process alive, not its progress display.
  timer.unref()
  return {
    update(d, t) {
      done = d
      total = t
      if (spinner) spinner.text = options.message(done, total)
      else if (shown && !tty && Date.now() - lastLine >= interval) line()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      spinner?.stop()
    },
  }
}
