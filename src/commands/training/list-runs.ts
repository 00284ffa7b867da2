import {StudioCommand} from '../../cli/base-command.js'
import {outputDirFlag} from '../../cli/flags.js'
import {renderTable} from '../../cli/table.js'
import {refreshRegistry} from '../../training/run/registry.js'
import type {Registry} from '../../core/schemas/files.js'

const DAMAGED_HINT =
  "Its run.json was changed, cut short or deleted after studio wrote it (or the run never got started): restore it from a backup, or delete the run's folder if you no longer need it."

export default class ListRuns extends StudioCommand {
  static override summary = 'List every training run in the output folder'
  static override description = `Prints <output-dir>/registry.json, rebuilt from the run folders first so that it is current: each run's id, start, status, pairs (and validation pairs), best trial with its training and validation loss and the loss that chose it (train, validation or pooled), stop reason and the path of its calibrated prompt. Runs with the same config hash used the same settings and can be compared. A run folder whose run.json is missing or damaged is listed with status "damaged" and the reason (\`damaged\` in --json).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq ".runs[-1].calibrated_prompt"',
  ]

  static override flags = {
    'output-dir': outputDirFlag,
  }

  public async run(): Promise<Registry> {
    const {flags} = await this.parse(ListRuns)
    const registry = await refreshRegistry(flags['output-dir'])
    if (!this.jsonEnabled()) {
      if (registry.runs.length === 0 && registry.damaged.length === 0) {
        this.log(`No runs in ${flags['output-dir']} yet: start one with \`studio training run --mock\`.`)
      } else {
        const f = (v: number | null) => (v === null ? '-' : v.toFixed(4))
        const listed = registry.runs.map((r) => [
          r.run_id,
          r.started_at.replace('T', ' ').slice(0, 19),
          r.status,
          r.validation_pairs ? `${r.pairs} (${r.validation_pairs} val)` : String(r.pairs),
          r.best_trial === null ? '-' : String(r.best_trial),
          f(r.best_train_loss),
          f(r.best_validation_loss),
          r.selected_by ?? '-',
          r.stop_reason ?? '-',
          r.config_sha256.slice(0, 8),
        ])
        // A damaged run keeps its row, in order, with what cannot be known left as '-'.
        const damaged = registry.damaged.map((d) => [d.run_id, '-', 'damaged', '-', '-', '-', '-', '-', '-', '-'])
        const rows = [...listed, ...damaged].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0))
        this.log(
          renderTable(['run', 'started (UTC)', 'status', 'pairs', 'best', 'train', 'validation', 'chosen by', 'stopped', 'config'], rows, [
            false,
            false,
            false,
            true,
            true,
            true,
            true,
            false,
            false,
            false,
          ]),
        )
      }
      if (registry.damaged.length) {
        // On stderr, as list-pairs' problems: stdout keeps the table alone.
        this.logToStderr(`warning: ${registry.damaged.length} damaged run folder(s):`)
        for (const d of registry.damaged) this.logToStderr(`  ${d.run_id}: ${d.reason}`)
        this.logToStderr(`  hint: ${DAMAGED_HINT}`)
      }
    }
    return registry
  }
}
