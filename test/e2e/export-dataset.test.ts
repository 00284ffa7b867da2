/**
 * `studio training export-dataset` on a mock run of the bundled pairs (one pair held out),
 * through the built CLI; training.parquet is read back with DuckDB, an implementation
 * independent of the writer (hyparquet-writer).
 */
import {cp, mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {EXIT, InputError} from '../../src/core/errors.js'
import {FileSystemError, injectWriteFault, systemError} from '../../src/core/fs-errors.js'
import {runPaths} from '../../src/core/layout.js'
import {ChatExample, DatasetExample, DatasetSummary} from '../../src/core/schemas/dataset.js'
import {RunManifest} from '../../src/core/schemas/files.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {parseJson, readJson, readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {exportDataset, type ExportOptions} from '../../src/training/dataset/export.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
let runDir = ''
let exportDir = ''
let exported: CliResult
let examples: DatasetExample[] = []
let options: ExportOptions

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-export-')
  const outcome = await mockTrainingRun(root, {maxTrials: 2, holdoutIds: ['soil-microbiome-drought']})
  runDir = outcome.runDir
  options = {runDir, out: '', host: 'test', minExamples: 1, maxTokens: 65_536, createdBy: 'studio test'}
  exportDir = path.join(root, 'dataset')
  exported = await runCli(['training', 'export-dataset', '--output-dir', path.join(root, 'out'), '--out', exportDir, '--json'])
  examples = await readJsonLines(path.join(exportDir, 'examples.jsonl'), DatasetExample)
})
afterAll(async () => {
  await removeDir(root)
})

describe('an export of the bundled example run', () => {
  it('writes every file, prints the summary as JSON and warns that fine-tuning needs 10 examples', async () => {
    expect(exported.code).toBe(0)
    const summary = parseJson(exported.stdout, DatasetSummary)
    expect(summary).toMatchObject({
      run_dir: runDir,
      out: exportDir,
      examples: 3,
      splits: {train: 2, validation: 1},
      checks: {min_examples: 1, max_tokens: 65_536},
      files: {chat_validation: 'chat_validation.jsonl'},
    })
    expect(exported.stderr).toContain("warning: 3 example(s): OpenAI's fine-tuning needs at least 10 training examples")
    expect((await readdir(exportDir)).sort()).toEqual([
      'chat_train.jsonl',
      'chat_validation.jsonl',
      'dataset_summary.md',
      'examples.jsonl',
      'schema.json',
      'training.parquet',
    ])
    // Nothing left beside it: the hidden folder it was written in was renamed into place.
    expect(await readdir(root)).toEqual(expect.not.arrayContaining([expect.stringMatching(/^\.dataset\./)]))
    const markdown = await readFile(path.join(exportDir, 'dataset_summary.md'), 'utf8')
    expect(markdown).toContain('- examples: 3 (2 train, 1 validation)')
    expect(markdown).toMatch(/\| intro \| \d+ \| \d+ \| [\d.]+% \|/)
  })

  it('holds one example per pair, built from the run folder and the calibrated prompt', async () => {
    expect(examples.map((e) => [e.metadata.pair_id, e.metadata.split])).toEqual([
      ['aerial-vehicle-positioning-full', 'train'],
      ['soil-microbiome-drought', 'validation'],
      ['sparse-attention-long-documents', 'train'],
    ])
    const manifest = await readJson(runPaths(runDir).manifest, RunManifest)
    const calibrated = await readFile(runPaths(runDir).calibratedPrompt, 'utf8')
    for (const example of examples) {
      const pair = runPaths(runDir).pair(example.metadata.pair_id)
      const paper = (await readFile(pair.paperText, 'utf8')).trimEnd()
      expect(example.input.paper_text).toBe(paper)
      expect(example.input.user_prompt).toContain(`Paper title: ${example.input.title}`)
      expect(example.input.user_prompt).toContain(paper)
      // The system prompt is the calibrated one with this paper's length filled in.
      expect(calibrated).toContain(example.input.system_prompt.split('\n')[0])
      expect(example.input.system_prompt).toContain(`Length: about ${example.input.target_words} words`)
      expect(example.metadata.run_id).toBe(manifest.run_id)
      expect(example.metadata.best_trial.losses).not.toBeNull()
      await stat(path.join(runDir, example.metadata.best_trial.script_file!))
      expect(example.target.text).toMatch(/^\[(intro|background|method|findings|discussion|outro)\]\n\S/)
    }
  })

  it('writes the chat files in the OpenAI format: the training pairs, and the validation pair apart', async () => {
    const train = await readJsonLines(path.join(exportDir, 'chat_train.jsonl'), ChatExample)
    const validation = await readJsonLines(path.join(exportDir, 'chat_validation.jsonl'), ChatExample)
    expect(train).toHaveLength(2)
    expect(validation).toHaveLength(1)
    const soil = examples[1]!
    expect(validation[0]!.messages[0].content).toBe(soil.input.system_prompt)
    expect(validation[0]!.messages[1].content).toBe(soil.input.user_prompt)
    expect(JSON.parse(validation[0]!.messages[2].content)).toEqual({
      segments: soil.target.segments.map((s) => ({label: s.label, lines: s.lines})),
    })
  })

  it('describes an example with schema.json, the JSON Schema of the zod schema', async () => {
    const schema = JSON.parse(await readFile(path.join(exportDir, 'schema.json'), 'utf8')) as Record<string, unknown>
    const {description, ...rest} = schema
    expect(rest).toEqual({...z.toJSONSchema(DatasetExample), title: 'studio dataset example'})
    expect(description).toContain('examples.jsonl')
  })

  it('writes training.parquet that an independent reader (DuckDB) reads back as examples.jsonl', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const file = path.join(exportDir, 'training.parquet').replaceAll("'", "''")
    const types = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)
    expect(Object.fromEntries(types.getRowObjectsJson().map((r) => [r.column_name, r.column_type]))).toMatchObject({
      pair_id: 'VARCHAR',
      key_concepts: 'JSON',
      paper_condensed: 'BOOLEAN',
      target_words: 'INTEGER',
      target_segments: 'JSON',
      episode_seconds: 'DOUBLE',
      best_trial_losses: 'JSON',
    })
    const read = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY pair_id`)
    const rows = read.getRowObjectsJson()
    connection.closeSync()
    const json = (value: unknown) => JSON.parse(String(value)) as unknown
    expect(rows).toHaveLength(examples.length)
    rows.forEach((row, i) => {
      const e = examples[i]!
      const {structure, style, best_trial_losses, ...scalars} = row
      expect({
        ...scalars,
        key_concepts: json(row.key_concepts),
        target_segments: json(row.target_segments),
        speakers: json(row.speakers),
      }).toEqual({
        pair_id: e.metadata.pair_id,
        split: e.metadata.split,
        run_id: e.metadata.run_id,
        title: e.input.title,
        key_concepts: e.input.key_concepts,
        paper_text: e.input.paper_text,
        paper_condensed: e.input.paper_condensed,
        paper_text_sha256: e.input.paper_text_sha256,
        system_prompt: e.input.system_prompt,
        user_prompt: e.input.user_prompt,
        target_words: e.input.target_words,
        target_text: e.target.text,
        target_segments: e.target.segments,
        episode_words: e.target.words,
        speakers: e.target.speakers,
        paper_words: e.metadata.paper_words,
        episode_seconds: e.metadata.episode_seconds,
        transcript_source: e.metadata.transcript_source,
        best_trial: e.metadata.best_trial.index,
        best_trial_total_loss: e.metadata.best_trial.losses!.total,
        best_trial_script_file: e.metadata.best_trial.script_file,
        best_trial_generated_seconds: e.metadata.best_trial.generated_seconds,
      })
      expect(json(structure)).toEqual(e.metadata.structure)
      expect(json(style)).toEqual(e.metadata.style)
      expect(json(best_trial_losses)).toEqual(e.metadata.best_trial.losses)
    })
  })
})

/** The InputError a refused export rejects with. */
async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(InputError)
  return error as InputError
}

describe('refusals', () => {
  it('fails a check with exit code 3, names the fix, and writes nothing', async () => {
    const out = path.join(root, 'too-few')
    const result = await runCli(['training', 'export-dataset', runDir, '--out', out, '--min-examples', '4', '--max-tokens', '1000'])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('Error: The dataset failed 4 check(s); nothing was written:')
    expect(result.stderr).toContain('  dataset: 3 example(s), fewer than --min-examples 4')
    expect(result.stderr).toMatch(
      / {2}soil-microbiome-drought: its chat example is about [\d,]+ tokens, over --max-tokens 1,000\n {4}fix: Raise --max-tokens/,
    )
    await expect(stat(out)).rejects.toThrow(/ENOENT/)
    expect((await readdir(root)).filter((name) => name.startsWith('.too-few'))).toEqual([])
  })

  // In process: the exit codes of these errors are mapped by the same StudioCommand as above.
  it('refuses an --out folder that is not empty (exit code 2), leaving the earlier export as it was', async () => {
    const before = await readFile(path.join(exportDir, 'examples.jsonl'), 'utf8')
    const error = await refusal(exportDataset({...options, out: exportDir}))
    expect(error.message).toBe(`--out ${exportDir} is not empty (6 entries): it may hold an earlier export`)
    expect(error.hint).toContain('studio never overwrites an export')
    expect(error.exitCode).toBe(2)
    expect(await readFile(path.join(exportDir, 'examples.jsonl'), 'utf8')).toBe(before)
  })

  it('refuses a run that has not finished (exit code 2) and exports into an empty folder', async () => {
    const unfinished = path.join(root, 'unfinished')
    await cp(runDir, unfinished, {recursive: true})
    await rm(runPaths(unfinished).report)
    const manifest = await readJson(runPaths(unfinished).manifest, RunManifest)
    await writeFile(runPaths(unfinished).manifest, JSON.stringify({...manifest, status: 'interrupted'}))
    const empty = path.join(root, 'empty')
    await mkdir(empty)
    const error = await refusal(exportDataset({...options, runDir: unfinished, out: empty}))
    expect(error.message).toBe(
      `Run ${unfinished} has not finished (interrupted): it has no training_report.json, so no best trial or calibrated prompt to export`,
    )
    expect(error.hint).toContain('Continue it with `studio training run --resume <run-dir>`')
    expect(error.exitCode).toBe(2)
    expect(await readdir(empty)).toEqual([])
    const summary = await exportDataset({...options, out: empty})
    expect(summary.examples).toBe(3)
    expect((await readdir(empty)).length).toBe(6)
  })

  it('leaves no half export when a write fails: no --out folder, no hidden folder beside it', async () => {
    const out = path.join(root, 'full-disk')
    injectWriteFault((w) => (w.file.endsWith('training.parquet') ? systemError('ENOSPC', w) : null))
    try {
      const error = await exportDataset({...options, out}).then(
        () => null,
        (reason: unknown) => reason,
      )
      expect(error).toBeInstanceOf(FileSystemError)
      expect((error as FileSystemError).exitCode).toBe(EXIT.noSpace)
      // The fix names this command's own flag, not a run's --output-dir.
      expect((error as FileSystemError).message).toContain('choose another --out folder')
    } finally {
      injectWriteFault(null)
    }
    await expect(stat(out)).rejects.toThrow(/ENOENT/)
    expect((await readdir(root)).filter((name) => name.startsWith('.full-disk'))).toEqual([])
  })
})
