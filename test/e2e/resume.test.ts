import {spawn} from 'node:child_process'
import {cp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunEvent} from '../../src/core/schemas/events.js'
import {Registry, RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import type {RunStatus} from '../../src/training/report/status.js'
import {BIN, cliEnv, REPO_ROOT, runCli} from '../helpers/cli.js'
import {readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
let uninterrupted: TrainingReport
/** The validation pair --holdout 1 drew in the first holdout run. */
let drawn: string[] = []

/** Timestamps, run ids and folder names differ between runs; nothing else may. */
function comparable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      ['started_at', 'finished_at', 'dir', 'run_id', 'output_dir', 'time'].includes(key) ? '<varies>' : v,
    ),
  )
}

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-resume-')
  const result = await runCli([
    'training',
    'run',
    '--mock',
    '--max-trials',
    '4',
    '--window',
    '4',
    '--json',
    '--output-dir',
    path.join(root, 'whole'),
  ])
  expect(result.code).toBe(0)
  uninterrupted = TrainingReport.parse(JSON.parse(result.stdout))
})
afterAll(async () => {
  await removeDir(root)
})

/** Starts a run and SIGKILLs it as soon as stderr shows `when`: no handler runs, as in a crash. */
function killWhen(args: string[], when: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: REPO_ROOT, env: cliEnv({CI: '1'})})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (when.test(stderr) && child.exitCode === null) child.kill('SIGKILL')
    })
    child.on('close', () => resolve(stderr))
  })
}

describe('studio training run --resume', () => {
  it('continues a run killed mid-trial and writes the same report as an uninterrupted run', async () => {
    const out = path.join(root, 'killed')
    await killWhen(
      ['training', 'run', '--mock', '--max-trials', '4', '--window', '4', '--output-dir', out],
      /Trial 1 \(2 of 4\): scored 1\/3 pairs/,
    )
    const status = JSON.parse((await runCli(['training', 'status', '--output-dir', out, '--json'])).stdout) as RunStatus
    expect(status.state).toBe('interrupted')
    expect(status.trials_done).toBeLessThan(4)

    const resumed = await runCli(['training', 'run', '--mock', '--resume', '--output-dir', out, '--json'])
    expect(resumed.code).toBe(0)
    const report = TrainingReport.parse(JSON.parse(resumed.stdout))
    expect(comparable(report)).toEqual(comparable(uninterrupted))

    const runDir = path.join(out, report.run_id)
    const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')))
    expect(manifest.status).toBe('finished')
    expect(manifest.resumed_at).toHaveLength(1)
    // Nothing half-written anywhere, and each trial was written once, in order.
    const names = await readdir(runDir, {recursive: true})
    expect(names.filter((n) => n.includes('.tmp'))).toEqual([])
    expect(names.filter((n) => /^trial_\d+_[^/]+$/.test(n)).sort()).toEqual(report.trials.map((t) => t.dir))
    const events = await readJsonLines(path.join(runDir, 'events.jsonl'), RunEvent)
    expect(events.filter((e) => e.type === 'run-resumed')).toHaveLength(1)
    // No pair is scored twice in a trial: results written before the kill are reused.
    expect(events.filter((e) => e.type === 'pair-scored').length).toBeLessThanOrEqual(4 * 3)
    expect(events.filter((e) => e.type === 'pair-analysed')).toHaveLength(3)
  })

  it('refuses to resume a finished run', async () => {
    const result = await runCli(['training', 'run', '--mock', '--resume', '--output-dir', path.join(root, 'whole')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/Error: Run run-\S+ has already finished: there is nothing to resume/)
  })

  it('keeps to the pairs the run started with: ignores a pair added since, refuses when one is gone', async () => {
    const pairs = path.join(root, 'pairs-changing')
    await cp(path.join(REPO_ROOT, 'artifacts/training_data'), pairs, {recursive: true})
    const out = path.join(root, 'changing')
    const first = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--pairs-dir', pairs, '--output-dir', out, '--json'])
    expect(first.code).toBe(0)
    const runDir = path.join(out, TrainingReport.parse(JSON.parse(first.stdout)).run_id)
    // Make it look interrupted before its report: what a crash at the very end leaves.
    const unfinish = async () => {
      const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')))
      await writeFile(path.join(runDir, 'run.json'), JSON.stringify({...manifest, status: 'interrupted'}))
      await rm(path.join(runDir, 'training_report.json'))
    }
    await unfinish()
    for (const ext of ['pdf', 'mp3', 'vtt'])
      await cp(path.join(pairs, `aerial-vehicle-positioning-full.${ext}`), path.join(pairs, `added-later.${ext}`))
    const resumed = await runCli(['training', 'run', '--mock', '--resume', runDir, '--json'])
    expect(resumed.code).toBe(0)
    expect(TrainingReport.parse(JSON.parse(resumed.stdout)).pairs).not.toContain('added-later')

    await unfinish()
    await rm(path.join(pairs, 'soil-microbiome-drought.pdf'))
    const gone = await runCli(['training', 'run', '--mock', '--resume', runDir])
    expect(gone.code).toBe(2)
    expect(gone.stderr).toContain(`pair soil-microbiome-drought no longer in ${pairs}`)
    expect(gone.stderr).toContain('Put the files back, or start a new run')
  })

  it('takes a run folder only with --resume', async () => {
    const result = await runCli(['training', 'run', '--mock', path.join(root, 'whole')])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('a run folder is only taken with --resume')
  })
})

describe('validation pairs', () => {
  it('scores held-out pairs every trial and, with one of them, chooses the best trial by the loss of every pair pooled', async () => {
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '3',
      '--holdout',
      '1',
      '--json',
      '--output-dir',
      path.join(root, 'holdout'),
    ])
    expect(result.code).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    expect(report.validation_pairs).toHaveLength(1)
    drawn = report.validation_pairs
    // One validation pair is too few to choose on alone (loss/selection.ts).
    expect(report.best_trial.selected_by).toBe('pooled')
    const validation = report.trials.map((t) => t.validation_mean_losses!.total)
    expect(report.validation_progression).toEqual(validation)
    const pooled = report.trials.map((t) => t.pairs.reduce((sum, p) => sum + p.losses.total, 0) / t.pairs.length)
    expect(report.best_trial.index).toBe(pooled.indexOf(Math.min(...pooled)))
    for (const trial of report.trials) {
      expect(trial.pairs.filter((p) => p.split === 'validation').map((p) => p.pair_id)).toEqual(report.validation_pairs)
    }
  })

  it('draws the same validation pairs for the same seed, and names them with --holdout-ids', async () => {
    const a = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '1',
      '--holdout',
      '1',
      '--json',
      '--output-dir',
      path.join(root, 'holdout'),
    ])
    const b = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '1',
      '--holdout-ids',
      'soil-microbiome-drought',
      '--json',
      '--output-dir',
      path.join(root, 'holdout'),
    ])
    expect(TrainingReport.parse(JSON.parse(a.stdout)).validation_pairs).toEqual(drawn)
    expect(TrainingReport.parse(JSON.parse(b.stdout)).validation_pairs).toEqual(['soil-microbiome-drought'])
  })

  it('fails clearly when no pair would be left to train on, or an id is unknown', async () => {
    const all = await runCli(['training', 'run', '--mock', '--holdout', '3', '--output-dir', path.join(root, 'bad')])
    expect(all.code).toBe(2)
    expect(all.stderr).toContain('Error: A holdout of 3 pair(s) leaves no pair to train on: 3 usable pair(s)')
    const unknown = await runCli(['training', 'run', '--mock', '--holdout-ids', 'nope', '--output-dir', path.join(root, 'bad')])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Error: --holdout-ids names a pair not in the pairs folder: nope')
    expect(unknown.stderr).toContain(
      'Hint: Pairs found: aerial-vehicle-positioning-full, soil-microbiome-drought, sparse-attention-long-documents.',
    )
  })
})

describe('--refiner rule-based+llm', () => {
  it('asks the language model for every next prompt and records its calls under the refine role', async () => {
    const out = path.join(root, 'llm-refiner')
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '3',
      '--window',
      '3',
      '--refiner',
      'rule-based+llm',
      '--json',
      '--output-dir',
      out,
    ])
    expect(result.code).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    // Two refinements between three trials, one call each; the mock accepts the rule-based proposal.
    expect(report.usage.by_role.refine?.calls).toBe(2)
    expect(comparable({...report, usage: null})).toEqual(comparable({...(await ruleBasedTwin(out)), usage: null}))
    const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(out, report.run_id, 'run.json'), 'utf8')))
    expect(manifest.config.refiner).toBe('rule-based+llm')
  })

  it('rejects an unknown refiner', async () => {
    const result = await runCli(['training', 'run', '--mock', '--refiner', 'magic', '--output-dir', path.join(root, 'bad')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/Expected --refiner=magic to be one of: rule-based, rule-based\+llm/)
  })
})

/** The same run with the rule-based refiner alone, in its own output folder. */
async function ruleBasedTwin(out: string): Promise<TrainingReport> {
  const result = await runCli(['training', 'run', '--mock', '--max-trials', '3', '--window', '3', '--json', '--output-dir', `${out}-twin`])
  expect(result.code).toBe(0)
  return TrainingReport.parse(JSON.parse(result.stdout))
}

describe('studio training list-runs', () => {
  it('lists every run of the output folder from registry.json', async () => {
    const out = path.join(root, 'holdout')
    const result = await runCli(['training', 'list-runs', '--output-dir', out, '--json'])
    expect(result.code).toBe(0)
    const registry = Registry.parse(JSON.parse(result.stdout))
    expect(registry.runs).toHaveLength(3)
    expect(registry.runs.every((r) => r.status === 'finished' && r.validation_pairs === 1)).toBe(true)
    expect(registry.runs[0]!.best_validation_loss).not.toBeNull()
    expect(registry.runs[0]!.calibrated_prompt).toMatch(/calibrated_prompt\.md$/)
    expect(Registry.parse(JSON.parse(await readFile(path.join(out, 'registry.json'), 'utf8')))).toEqual(registry)
    const text = await runCli(['training', 'list-runs', '--output-dir', out])
    expect(text.stdout).toMatch(/run\s+started \(UTC\)\s+status\s+pairs\s+best\s+train\s+validation/)
    expect(text.stdout).toMatch(/finished\s+3 \(1 val\)/)
  })

  it('says there is no run yet, without creating anything, when the output folder does not exist', async () => {
    const out = path.join(root, 'never-used')
    const result = await runCli(['training', 'list-runs', '--output-dir', out])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`No runs in ${out} yet: start one with \`studio training run --mock\`.`)
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
    const json = await runCli(['training', 'list-runs', '--output-dir', out, '--json'])
    expect(Registry.parse(JSON.parse(json.stdout))).toEqual({version: 1, runs: [], damaged: []})
  })
})
