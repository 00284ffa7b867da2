/**
 * `studio training export-dataset`: a finished run's pairs as a dataset for fine-tuning or
 * keeping. Everything is checked before anything is written; the files are written into a
 * hidden folder beside --out and renamed into place whole, so a crash never leaves half an
 * export, and an earlier export is never overwritten (a non-empty --out is refused).
 */
import {randomBytes} from 'node:crypto'
import {readdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'

import {z} from 'zod'

import {InputError} from '../../core/errors.js'
import {fileSystemError, OUT_DIR} from '../../core/fs-errors.js'
import {DATASET_FILES, shortenName} from '../../core/layout.js'
import {ChatExample, DatasetExample, DatasetSummary} from '../../core/schemas/dataset.js'
import {makeDir, writeFileAtomic} from '../../core/store.js'
import {buildRunDataset, chatExample} from './build.js'
import {checkDataset, DatasetCheckError, type CheckOptions} from './checks.js'
import {examplesToParquet} from './parquet.js'
import {renderSummaryMarkdown, summarise} from './summary.js'

export interface ExportOptions extends CheckOptions {
  runDir: string
  out: string
  host: string
  /** Recorded in the Parquet file's created_by, e.g. "studio 0.1.0". */
  createdBy: string
}

/** schema.json: the JSON Schema of one line of examples.jsonl, from the zod schema studio validates it with. */
export function exampleJsonSchema(): unknown {
  return {
    ...z.toJSONSchema(DatasetExample),
    title: 'studio dataset example',
    description: 'One line of examples.jsonl written by `studio training export-dataset` (see TRAINING.md).',
  }
}

function jsonLines<T>(schema: z.ZodType<T>, values: readonly T[]): string {
  return values.map((v) => `${JSON.stringify(schema.parse(v))}\n`).join('')
}

/** --out must not exist, or be an empty folder: an earlier export is never overwritten. */
async function checkOut(out: string): Promise<void> {
  const found = await stat(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw fileSystemError(error, out, 'read', OUT_DIR)
  })
  if (!found) return
  const fix = 'Give --out a new folder (or an empty one), or move the earlier export away first: studio never overwrites an export.'
  if (!found.isDirectory()) throw new InputError(`--out ${out} is a file, not a folder`, {path: out, hint: fix})
  const entries = await readdir(out).catch((error: unknown) => {
    throw fileSystemError(error, out, 'read', OUT_DIR)
  })
  if (entries.length > 0)
    throw new InputError(`--out ${out} is not empty (${entries.length} entries): it may hold an earlier export`, {path: out, hint: fix})
}

export async function exportDataset(options: ExportOptions): Promise<DatasetSummary> {
  const out = path.resolve(options.out)
  await checkOut(out)
  const dataset = await buildRunDataset(options.runDir, {host: options.host})
  const examples = dataset.examples.map((e) => DatasetExample.parse(e))
  const {problems, warnings} = checkDataset(examples, options)
  if (problems.length) throw new DatasetCheckError(problems)

  const hasValidation = examples.some((e) => e.metadata.split === 'validation')
  const summary = summarise(examples, {
    run_id: dataset.run_id,
    run_dir: dataset.run_dir,
    out,
    files: {
      examples: DATASET_FILES.examples,
      parquet: DATASET_FILES.parquet,
      schema: DATASET_FILES.schema,
      summary: DATASET_FILES.summary,
      chat_train: DATASET_FILES.chatTrain,
      chat_validation: hasValidation ? DATASET_FILES.chatValidation : null,
    },
    checks: {min_examples: options.minExamples, max_tokens: options.maxTokens},
    warnings,
  })
  const chats = (split: 'train' | 'validation') => examples.filter((e) => e.metadata.split === split).map(chatExample)
  const files: Array<[string, string | Uint8Array]> = [
    [DATASET_FILES.examples, jsonLines(DatasetExample, examples)],
    [DATASET_FILES.parquet, examplesToParquet(examples, options.createdBy)],
    [DATASET_FILES.schema, `${JSON.stringify(exampleJsonSchema(), null, 2)}\n`],
    [DATASET_FILES.summary, renderSummaryMarkdown(DatasetSummary.parse(summary))],
    [DATASET_FILES.chatTrain, jsonLines(ChatExample, chats('train'))],
    ...(hasValidation ? [[DATASET_FILES.chatValidation, jsonLines(ChatExample, chats('validation'))] as [string, string]] : []),
  ]

  const parent = path.dirname(out)
  await makeDir(parent, {recursive: true, elsewhere: OUT_DIR})
  const temp = path.join(parent, `.${shortenName(path.basename(out))}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  await makeDir(temp, {elsewhere: OUT_DIR})
  try {
    for (const [name, content] of files) await writeFileAtomic(path.join(temp, name), content, OUT_DIR)
    try {
      // Replaces an empty --out folder; fails on one that filled up meanwhile.
      await rename(temp, out)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOTEMPTY' || code === 'EEXIST') await checkOut(out)
      throw fileSystemError(error, out, 'write', OUT_DIR)
    }
  } catch (error) {
    await rm(temp, {recursive: true, force: true}).catch(() => {})
    throw error
  }
  return summary
}
