import os from 'node:os'
import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {outputDirFlag} from '../../cli/flags.js'
import {formatUsage, renderTrialTable, renderVerdict} from '../../cli/summary.js'
import type {SelectionSplit} from '../../loss/selection.js'
import type {Verdict} from '../../loss/verdict.js'
import {resolveRunDir} from '../../training/report/status.js'
import {writeHtmlReport} from '../../training/report/write.js'

interface ReportSummary {
  run_id: string
  state: string
  html: string
  trials: Array<{index: number; mean_losses: Record<string, number>; validation_mean_losses: Record<string, number> | null}>
  best_trial: number | null
  /** The loss that chose the best trial and that rule as one sentence; null before any trial. */
  selected_by: SelectionSplit | null
  selection_rule: string | null
  verdict: Verdict | null
}

export default class Report extends StudioCommand {
  static override summary = 'Summarise a training run and write its HTML report'
  static override description = `Prints each trial's mean losses with the best trial marked, and (re)writes <run-dir>/training_report.html: one self-contained file with the loss curves, per-pair losses, the best trial's segment structure against the reference, concepts covered and missed, every trial's prompt with a diff to the one before, usage and cost, and the configuration.

Works on finished runs and on runs still going or interrupted (with the trials completed so far).`

  static override examples = [
    {description: 'The latest run', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Open the HTML report in the browser', command: '<%= config.bin %> <%= command.id %> --open'},
  ]

  static override args = {
    run_dir: Args.directory({description: 'Run folder (default: <output-dir>/latest)', required: false}),
  }

  static override flags = {
    'output-dir': outputDirFlag,
    open: Flags.boolean({description: 'Open the HTML report in the default browser', default: false}),
  }

  public async run(): Promise<ReportSummary> {
    const {args, flags} = await this.parse(Report)
    const runDir = await resolveRunDir(args.run_dir, flags['output-dir'])
    const {view, file} = await writeHtmlReport(runDir, {host: os.hostname()})
    const best = view.best?.index ?? null
    const trials = view.trials.map((t) => ({
      index: t.results.index,
      mean_losses: t.results.mean_losses,
      validation_mean_losses: t.results.validation_mean_losses,
    }))
    if (!this.jsonEnabled()) {
      this.log(`Run ${view.manifest.run_id} (${view.state})`)
      this.log('')
      this.log(trials.length ? renderTrialTable(trials, best) : 'No trial has finished yet.')
      if (view.best) this.log(`\n${view.best.rule}\n\n${renderVerdict(view.verdict)}`)
      this.log('')
      this.log(`Usage: ${formatUsage(view.usage.total)}`)
      this.log(`HTML report: ${file}`)
    }
    if (flags.open) await this.openInBrowser(file)
    return {
      run_id: view.manifest.run_id,
      state: view.state,
      html: file,
      trials,
      best_trial: best,
      selected_by: view.best?.selectedBy ?? null,
      selection_rule: view.best?.rule ?? null,
      verdict: view.verdict,
    }
  }

  private async openInBrowser(file: string): Promise<void> {
    const {default: open} = await import('open')
    try {
      await open(path.resolve(file), {wait: false})
    } catch (error) {
      this.logToStderr(`Could not open a browser (${(error as Error).message}); open ${file} yourself.`)
    }
  }
}
