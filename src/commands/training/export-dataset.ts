import os from 'node:os'

import {Args} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {datasetOutFlag, maxTokensFlag, minExamplesFlag, outputDirFlag} from '../../cli/flags.js'
import type {DatasetSummary} from '../../core/schemas/dataset.js'

export default class ExportDataset extends StudioCommand {
  static override summary = "Export a finished run's pairs as a dataset for fine-tuning"
  static override description = `One example per pair of a finished run: its input (paper title, key concepts, the paper text as the generator saw it, the calibrated prompt filled in for it), its target (the human episode's transcript as a script) and its metadata (pair id, split, durations, structure and style profile, the best trial's losses and script).

Writes into --out DIR: examples.jsonl, training.parquet, schema.json (the JSON Schema of an example), dataset_summary.md, and chat_train.jsonl (plus chat_validation.jsonl with validation pairs) in the OpenAI chat fine-tuning format.

Everything is checked before anything is written: at least --min-examples examples, no empty field, no duplicate pair, no paper in both splits, every chat example within --max-tokens. A failed check exits with code 3, naming the example and the fix. --out must be new or empty: an earlier export is never overwritten.`

  static override examples = [
    {description: 'The latest run', command: '<%= config.bin %> <%= command.id %> --out dataset'},
    {
      description: 'A given run, with a higher bar, as JSON',
      command: '<%= config.bin %> <%= command.id %> artifacts/training_output/run-20261123T101500Z --out dataset --min-examples 10 --json',
    },
  ]

  static override args = {
    run_dir: Args.directory({description: 'Run folder (default: <output-dir>/latest)', required: false}),
  }

  static override flags = {
    out: datasetOutFlag,
    'output-dir': outputDirFlag,
    'min-examples': minExamplesFlag,
    'max-tokens': maxTokensFlag,
  }

  public async run(): Promise<DatasetSummary> {
    const {args, flags} = await this.parse(ExportDataset)
    const [{resolveRunDir}, {exportDataset}] = await Promise.all([
      import('../../training/report/status.js'),
      import('../../training/dataset/export.js'),
    ])
    const runDir = await resolveRunDir(args.run_dir, flags['output-dir'])
    const summary = await exportDataset({
      runDir,
      out: flags.out,
      host: os.hostname(),
      minExamples: flags['min-examples'],
      maxTokens: flags['max-tokens'],
      createdBy: `studio ${this.config.version}`,
    })
    // On stderr with or without --json (oclif's logToStderr is silent under --json), as generate's warnings.
    for (const warning of summary.warnings) process.stderr.write(`warning: ${warning}\n`)
    if (!this.jsonEnabled()) this.render(summary)
    return summary
  }

  private render(summary: DatasetSummary): void {
    this.log(
      `Exported ${summary.examples} example(s) (${summary.splits.train} train, ${summary.splits.validation} validation) of run ${summary.run_id}`,
    )
    this.log(`to ${summary.out}:`)
    const files = summary.files
    for (const name of [files.examples, files.parquet, files.schema, files.summary, files.chat_train, files.chat_validation]) {
      if (name) this.log(`  ${name}`)
    }
    const tokens = summary.lengths.chat_tokens
    if (tokens) this.log(`Chat examples: ${tokens.min} to ${tokens.max} tokens (estimated; limit ${summary.checks.max_tokens})`)
  }
}
