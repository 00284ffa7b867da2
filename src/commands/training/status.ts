import os from 'node:os'

import {Args, Flags} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {outputDirFlag} from '../../cli/flags.js'
import {formatUsage, renderTrialTable, renderVerdict} from '../../cli/summary.js'
import {renderTable} from '../../cli/table.js'
import {InputError} from '../../core/errors.js'
import {formatDuration, formatPercent} from '../../core/format.js'
import {STOP_REASON_TEXT} from '../../core/schemas/common.js'
import type {Signals} from '../../core/schemas/signals.js'
import {SELECTION_LOSS_NAME} from '../../loss/selection.js'
import {describeRun, resolveRunDir, type RunStatus} from '../../training/report/status.js'
import {buildSignals} from '../../training/report/signals.js'
import {loadRunView} from '../../training/report/view.js'

export default class Status extends StudioCommand {
  static override summary = 'Tell how a training run is doing, from its files alone'
  static override description = `Reads a run folder and tells whether the run is running, finished, failed or interrupted (its process is gone without finishing), how far it got (phase, trial, pairs), its losses so far and its usage and cost so far.

Works from another terminal while the run is going: it reads run.json, events.jsonl and the trial folders, and never changes them.

With --all: every running run of the output folder and the run that ended last, one line each (state, phase, percent complete, trials, best loss, last activity, HTML report); with --json, the document that runs keep in <output-dir>/signals/latest.json, computed from the run folders.`

  static override examples = [
    {description: 'The latest run', command: '<%= config.bin %> <%= command.id %>'},
    {
      description: 'A given run, as JSON',
      command: '<%= config.bin %> <%= command.id %> artifacts/training_output/run-20261123T101500Z --json',
    },
    {description: 'Every running run and the last one that ended', command: '<%= config.bin %> <%= command.id %> --all'},
  ]

  static override args = {
    run_dir: Args.directory({description: 'Run folder (default: <output-dir>/latest)', required: false}),
  }

  static override flags = {
    'output-dir': outputDirFlag,
    all: Flags.boolean({
      description: 'Every running run of --output-dir and the one that ended last (as signals/latest.json), instead of one run',
      default: false,
    }),
  }

  public async run(): Promise<RunStatus | Signals> {
    const {args, flags} = await this.parse(Status)
    if (flags.all) {
      if (args.run_dir) {
        throw new InputError(`--all and RUN_DIR cannot be used together: --all shows the runs of --output-dir, RUN_DIR one run`, {
          hint: `Run \`studio training status ${args.run_dir}\` for that run, or \`studio training status --all --output-dir DIR\` for a folder of runs.`,
        })
      }
      const signals = await buildSignals(flags['output-dir'], {host: os.hostname(), now: new Date()})
      if (!this.jsonEnabled()) this.renderAll(signals)
      return signals
    }
    const runDir = await resolveRunDir(args.run_dir, flags['output-dir'])
    const status = describeRun(await loadRunView(runDir, {host: os.hostname()}), new Date())
    if (!this.jsonEnabled()) this.render(status)
    return status
  }

  private render(status: RunStatus): void {
    this.log(`Run ${status.run_id}  (${status.run_dir})`)
    const elapsed =
      status.elapsed_seconds === null
        ? ''
        : `, ${status.state === 'running' ? 'running for' : 'took'} ${formatDuration(status.elapsed_seconds)}`
    this.log(`State:    ${status.state}${elapsed}`)
    if (status.error) this.log(`Error:    ${status.error}`)
    if (status.phase) this.log(`Phase:    ${status.phase}${status.progress ? `: ${status.progress.message}` : ''}`)
    this.log(
      `Trials:   ${status.trials_done} of at most ${status.max_trials} done${status.stop_reason ? `; stopped: ${STOP_REASON_TEXT[status.stop_reason]}${status.stop_detail ? ` (${status.stop_detail})` : ''}` : ''}`,
    )
    const best = status.best_trial
    if (best) {
      const change = best.improvement === null ? '' : `, ${formatPercent(best.improvement)} below trial 0`
      this.log(`Best:     trial ${best.index} (${SELECTION_LOSS_NAME[best.selected_by]} ${best.total.toFixed(4)}${change})`)
      this.log(`Rule:     ${best.rule}`)
    }
    this.log(
      `Pairs:    ${status.pairs}${status.skipped.length ? `, ${status.skipped.length} skipped (${status.skipped.map((s) => s.id).join(', ')})` : ''}`,
    )
    // Each skipped pair with its fix, as `training run` prints them when it skips.
    for (const s of status.skipped) this.log(`  ${s.id}: ${s.reason}${s.hint ? `\n    hint: ${s.hint}` : ''}`)
    this.log(`Usage:    ${formatUsage(status.usage.total)}`)
    if (status.trials.length) {
      this.log('')
      this.log(renderTrialTable(status.trials, status.best_trial?.index ?? null))
      this.log('')
      this.log(renderVerdict(status.verdict))
    }
  }

  private renderAll(signals: Signals): void {
    if (signals.runs.length === 0) this.log(`No runs in ${signals.output_dir} yet: start one with \`studio training run --mock\`.`)
    else {
      const rows = signals.runs.map((r) => [
        r.run_id,
        r.state,
        r.phase ?? '-',
        `${r.percent}%`,
        `${r.trials_done}/${r.max_trials}`,
        r.best_loss === null ? '-' : `${r.best_loss.toFixed(4)} (trial ${r.best_trial})`,
        r.last_activity ? r.last_activity.replace('T', ' ').slice(0, 19) : '-',
        r.html_report ?? '-',
      ])
      this.log(
        renderTable(['run', 'state', 'phase', 'done', 'trials', 'best loss', 'last activity (UTC)', 'report'], rows, [
          false,
          false,
          false,
          true,
          true,
          true,
          false,
          false,
        ]),
      )
    }
    if (signals.damaged.length) {
      this.logToStderr(`warning: ${signals.damaged.length} run folder(s) could not be read:`)
      for (const d of signals.damaged) this.logToStderr(`  ${d.run_id}: ${d.reason}`)
    }
  }
}
