/**
 * Shows training events: an ora spinner with counts in an interactive terminal;
 * plain timestamped lines on stderr when output is piped, in CI, or under --json,
 * so that stdout carries nothing but the result.
 */
import type {TrainingEvent} from '../training/trainer.js'

export interface ProgressReporter {
  onEvent(event: TrainingEvent): void
  /** Ends the display; `failed` marks the running phase as failed. */
  stop(failed?: boolean): void
}

function interactive(json: boolean): boolean {
  return !json && Boolean(process.stdout.isTTY && process.stderr.isTTY) && !process.env.CI
}

export async function createProgressReporter(options: {json: boolean; startedAt?: number}): Promise<ProgressReporter> {
  const started = options.startedAt ?? Date.now()
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`
  if (!interactive(options.json)) {
    const line = (text: string) => process.stderr.write(`[${new Date().toISOString()}] ${text}\n`)
    return {
      onEvent(event) {
        switch (event.type) {
          case 'phase':
            line(event.message)
            break
          case 'progress':
            line(`${event.message} (${event.done}/${event.total})`)
            break
          case 'warning':
            line(`warning: ${event.message}`)
            break
          case 'pair-skipped':
            line(`skipped ${event.pair_id}: ${event.reason}`)
            break
          case 'trial-finished':
            line(`trial ${event.trial} done: mean total loss ${event.mean_losses.total.toFixed(4)}`)
            break
        }
      },
      stop() {},
    }
  }
  // ora is only loaded for interactive runs.
  const {default: ora} = await import('ora')
  const spinner = ora({stream: process.stderr}).start('Starting')
  let phaseText = 'Starting'
  return {
    onEvent(event) {
      switch (event.type) {
        case 'phase':
          if (spinner.isSpinning && phaseText !== 'Starting') spinner.succeed(phaseText)
          phaseText = event.message
          spinner.start(`${phaseText} (${elapsed()})`)
          break
        case 'progress':
          spinner.text = `${event.message} ${event.done}/${event.total} (${elapsed()})`
          break
        case 'warning':
          spinner.warn(event.message).start(phaseText)
          break
        case 'pair-skipped':
          spinner.warn(`Skipped ${event.pair_id}: ${event.reason}`).start(phaseText)
          break
        case 'trial-finished':
          spinner.succeed(`Trial ${event.trial}: mean total loss ${event.mean_losses.total.toFixed(4)} (${elapsed()})`)
          spinner.start(phaseText)
          phaseText = 'Starting'
          break
      }
    },
    stop(failed = false) {
      if (!spinner.isSpinning) return
      if (failed) spinner.fail(phaseText)
      else if (phaseText === 'Starting') spinner.stop()
      else spinner.succeed(`${phaseText} (${elapsed()})`)
    },
  }
}
