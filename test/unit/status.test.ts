import {spawnSync} from 'node:child_process'
import {cp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CorruptFileError} from '../../src/core/errors.js'
import {readEventLog} from '../../src/core/event-log.js'
import {RUN_FILES} from '../../src/core/layout.js'
import {describeRun, resolveRunDir} from '../../src/training/report/status.js'
import {loadRunView} from '../../src/training/report/view.js'
import {RunEvent} from '../../src/core/schemas/events.js'
import {Registry, RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import {buildRegistry} from '../../src/training/run/registry.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

const HOST = os.hostname()
let root = ''
let finishedDir = ''

beforeAll(async () => {
  root = await makeTempDir('studio-status-')
  const outcome = await mockTrainingRun(root)
  finishedDir = outcome.runDir
})
afterAll(async () => {
  await removeDir(root)
})

/** A pid that is certainly not running: that of a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid
}

/**
 * A copy of the finished run cut back to what a run looks like mid-way: after
 * trial 1 finished and one pair of trial 2 was scored, with the given process.
 */
async function midRun(name: string, process_: {pid: number; host: string}): Promise<string> {
  const dir = path.join(root, name)
  await cp(finishedDir, dir, {recursive: true})
  const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')))
  await writeFile(path.join(dir, 'run.json'), JSON.stringify({...manifest, status: 'running', finished_at: null, ...process_}))
  await rm(path.join(dir, 'training_report.json'))
  const lastTrial = (await readdir(dir)).find((name) => name.startsWith('trial_002_'))!
  await rm(path.join(dir, lastTrial, 'results.json'))
  const lines = (await readFile(path.join(dir, RUN_FILES.events), 'utf8')).trimEnd().split('\n')
  const firstProgressOfTrial2 = lines.findIndex((l) => {
    const e = RunEvent.parse(JSON.parse(l))
    return e.type === 'progress' && e.trial === 2
  })
  await writeFile(path.join(dir, RUN_FILES.events), `${lines.slice(0, firstProgressOfTrial2 + 1).join('\n')}\n`)
  return dir
}

describe('describeRun', () => {
  it('reports a finished run: state, trials, best trial, stop reason and usage', async () => {
    const status = describeRun(await loadRunView(finishedDir, {host: HOST}), new Date())
    expect(status.state).toBe('finished')
    expect(status.phase).toBe('report')
    expect(status.trials_done).toBe(3)
    expect(status.trials.map((t) => t.index)).toEqual([0, 1, 2])
    expect(status.best_trial!.total).toBe(Math.min(...status.trials.map((t) => t.mean_losses.total)))
    expect(status.best_trial).toMatchObject({selected_by: 'train', rule: expect.stringContaining('no pair is held out') as unknown})
    expect(status.verdict).toMatchObject({split: 'train', pairs: 3})
    expect(status.verdict).toEqual(
      TrainingReport.parse(JSON.parse(await readFile(path.join(finishedDir, RUN_FILES.report), 'utf8'))).verdict,
    )
    expect(status.stop_reason).toBe('max_trials')
    expect(status.error).toBeNull()
    // 3 pairs x (classify + concepts) + 3 trials x 3 pairs x (generate + judge)
    expect(status.usage.total.calls).toBe(6 + 18)
    expect(status.usage.by_role.generate!.calls).toBe(9)
    expect(status.usage.total.cost_usd).toBe(0)
    expect(status.elapsed_seconds).toBeGreaterThanOrEqual(0)
  })

  it('reports a run whose process is alive as running, with its phase and progress so far', async () => {
    const dir = await midRun('running', {pid: process.pid, host: HOST})
    const status = describeRun(await loadRunView(dir, {host: HOST}), new Date(Date.now() + 5000))
    expect(status.state).toBe('running')
    expect(status.phase).toBe('trials')
    expect(status.progress).toEqual({done: 1, total: 3, message: 'Trial 2 (3 of 3): scored 1/3 pairs'})
    expect(status.trials_done).toBe(2)
    expect(status.stop_reason).toBeNull()
    expect(status.finished_at).toBeNull()
    expect(status.elapsed_seconds).toBeGreaterThan(4)
    // Analysis of 3 pairs, 2 whole trials and one pair of the third.
    expect(status.usage.total.calls).toBe(6 + 12 + 2)
  })

  it('reports a "running" run whose process is gone as interrupted', async () => {
    const dir = await midRun('killed', {pid: deadPid(), host: HOST})
    const status = describeRun(await loadRunView(dir, {host: HOST}), new Date())
    expect(status.state).toBe('interrupted')
    expect(status.error).toBe('the process that ran it is gone (killed or crashed)')
    expect(status.trials_done).toBe(2)
    expect(status.elapsed_seconds).toBeNull()
  })

  it('cannot see processes on another machine, so trusts the run to be running', async () => {
    const dir = await midRun('elsewhere', {pid: deadPid(), host: `${HOST}-other`})
    expect((await loadRunView(dir, {host: HOST})).state).toBe('running')
  })

  it('fails clearly on a folder that is not a run', async () => {
    await expect(loadRunView(root, {host: HOST})).rejects.toThrow(`Not a studio run folder: ${root} has no run.json`)
  })
})

describe('a run finished before pooling and verdicts existed', () => {
  it('reads as it was chosen: its report\u2019s best trial and split, with the rule it was chosen by, and a verdict on it', async () => {
    // Seed 3, 4 trials, one validation pair: the validation loss alone (the old rule) chooses another trial than the pooled loss.
    const outcome = await mockTrainingRun(root, {holdout: 1, seed: 3, maxTrials: 4, threshold: 0, outputDir: path.join(root, 'old')})
    const file = path.join(outcome.runDir, RUN_FILES.report)
    const current = TrainingReport.parse(JSON.parse(await readFile(file, 'utf8')))
    const validation = current.trials.map((t) => t.validation_mean_losses!.total)
    const old = validation.indexOf(Math.min(...validation))
    expect(current.best_trial.selected_by).toBe('pooled')
    expect(old).not.toBe(current.best_trial.index)
    // The report as an earlier studio wrote it: chosen on validation, without selection_rule and verdict.
    const {verdict: _verdict, ...rest} = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    const {selection_rule: _rule, ...best} = rest.best_trial as Record<string, unknown>
    await writeFile(file, JSON.stringify({...rest, best_trial: {...best, index: old, selected_by: 'validation'}}))
    const read = TrainingReport.parse(JSON.parse(await readFile(file, 'utf8')))
    expect(read.verdict).toBeNull()
    expect(read.best_trial.selection_rule).toBeNull()

    const status = describeRun(await loadRunView(outcome.runDir, {host: HOST}), new Date())
    expect(status.best_trial).toMatchObject({index: old, selected_by: 'validation', total: validation[old]})
    expect(status.best_trial!.rule).toBe(
      'Best trial chosen by the validation loss of 1 pair, as recorded when the run was made (studio now needs 3 validation pairs to choose on them alone).',
    )
    expect(status.verdict).toMatchObject({split: 'validation', pairs: 1})
    const registry: Registry = await buildRegistry(path.join(root, 'old'))
    expect(registry.runs[0]).toMatchObject({best_trial: old, selected_by: 'validation', best_loss: validation[old]})
  })
})

describe('readEventLog', () => {
  it('reads every event of a run, in order, each with a time', async () => {
    const events = await readEventLog(path.join(finishedDir, RUN_FILES.events))
    expect(events[0]).toMatchObject({type: 'phase', phase: 'discover'})
    expect(events.at(-1)).toMatchObject({type: 'run-finished', stop_reason: 'max_trials'})
    expect(events.filter((e) => e.type === 'pair-scored')).toHaveLength(9)
    expect(events.filter((e) => e.type === 'trial-finished').map((e) => e.type === 'trial-finished' && e.trial)).toEqual([0, 1, 2])
    const times = events.map((e) => Date.parse(e.time))
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('ignores a last line cut short by a crash', async () => {
    const file = path.join(root, 'cut.jsonl')
    await writeFile(file, `${JSON.stringify({type: 'warning', time: '2026-01-01T00:00:00.000Z', message: 'x'})}\n{"type":"pha`)
    expect(await readEventLog(file)).toEqual([{type: 'warning', time: '2026-01-01T00:00:00.000Z', message: 'x'}])
  })

  it('reports a damaged line with its number', async () => {
    const file = path.join(root, 'bad.jsonl')
    await writeFile(file, `${JSON.stringify({type: 'warning', time: 't', message: 'x'})}\n{"type":"nonsense"}\n`)
    const error = await readEventLog(file).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptFileError)
    expect((error as Error).message).toMatch(/bad\.jsonl:2: not a studio event/)
  })

  it('treats a missing log as no events', async () => {
    expect(await readEventLog(path.join(root, 'none.jsonl'))).toEqual([])
  })
})

describe('resolveRunDir', () => {
  it('follows <output-dir>/latest, and says how to start a run when there is none', async () => {
    expect(await resolveRunDir(undefined, path.join(root, 'out'))).toBe(finishedDir)
    await expect(resolveRunDir(undefined, path.join(root, 'empty'))).rejects.toThrow(/No run found: .*empty\/latest does not exist/)
  })
})
