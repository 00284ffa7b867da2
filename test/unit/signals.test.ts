/**
 * signals/latest.json (training/report/signals.ts, training/run/signals.ts): percent
 * complete, which runs are shown, a dead process's run reported interrupted, two runs in one
 * output folder, and a signal write that fails without failing the run.
 */
import {spawnSync} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {RUN_FILES} from '../../src/core/layout.js'
import type {RunEvent} from '../../src/core/schemas/events.js'
import {RunManifest} from '../../src/core/schemas/files.js'
import {Signals, type RunSignal} from '../../src/core/schemas/signals.js'
import {buildSignals, percentComplete, runsToShow, signalsDocument} from '../../src/training/report/signals.js'
import {SignalWriter} from '../../src/training/run/signals.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {readJson, readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'
import {RunEvent as RunEventSchema} from '../../src/core/schemas/events.js'

const HOST = os.hostname()
const T = '2026-12-01T10:00:00.000Z'

function phase(p: 'discover' | 'ingest' | 'analyse' | 'trials' | 'report'): RunEvent {
  return {type: 'phase', time: T, phase: p, message: p}
}
function progress(p: 'ingest' | 'trials', done: number, total: number, trial?: number): RunEvent {
  return {type: 'progress', time: T, phase: p, done, total, message: `${done}/${total}`, ...(trial === undefined ? {} : {trial})}
}

describe('percentComplete', () => {
  const base = {state: 'running' as const, trialsDone: 0, maxTrials: 4}

  it('0 before ingest, 20 x the share of pairs ingested, 20 once analysed', () => {
    expect(percentComplete({...base, events: []})).toBe(0)
    expect(percentComplete({...base, events: [phase('discover')]})).toBe(0)
    expect(percentComplete({...base, events: [phase('discover'), phase('ingest'), progress('ingest', 1, 4)]})).toBe(5)
    expect(percentComplete({...base, events: [phase('ingest'), progress('ingest', 3, 4), phase('analyse')]})).toBe(20)
  })

  it('trials: 20 + 80 x (trials done + share of the trial in progress) / max trials', () => {
    const ingested = [phase('ingest'), progress('ingest', 2, 2), phase('analyse')]
    // Trial 1 of 4 in progress, 1 of 2 pairs scored: 20 + 80 x 1.5 / 4 = 50.
    expect(percentComplete({...base, trialsDone: 1, events: [...ingested, phase('trials'), progress('trials', 1, 2, 1)]})).toBe(50)
    // Trial 0's last progress line, once its results.json exists, is not counted twice: 20 + 80 / 4.
    expect(percentComplete({...base, trialsDone: 1, events: [...ingested, phase('trials'), progress('trials', 2, 2, 0)]})).toBe(40)
    // 20 + 80 x 2/3 = 73.33, rounded down.
    expect(percentComplete({...base, maxTrials: 3, trialsDone: 2, events: [...ingested, phase('trials')]})).toBe(73)
  })

  it('99 while the report is written or when every trial is done; 100 only once finished', () => {
    expect(percentComplete({...base, trialsDone: 4, events: [phase('trials'), progress('trials', 2, 2, 3)]})).toBe(99)
    expect(percentComplete({...base, trialsDone: 2, events: [phase('report')]})).toBe(99)
    expect(percentComplete({...base, state: 'finished', trialsDone: 2, events: [phase('report')]})).toBe(100)
  })

  it('a failed or interrupted run keeps the percent it reached', () => {
    const events = [phase('ingest'), progress('ingest', 1, 2)]
    expect(percentComplete({...base, state: 'failed', events})).toBe(10)
    expect(percentComplete({...base, state: 'interrupted', events})).toBe(10)
  })
})

describe('runsToShow', () => {
  const header = (run_id: string, state: RunSignal['state'], started_at: string, ended_at: string | null = null) => ({
    run_id,
    state,
    started_at,
    ended_at,
  })

  it('every running run, and of the ended ones only the one that ended last, whatever its end', () => {
    const shown = runsToShow([
      header('run-a', 'finished', '2026-12-01T08:00:00Z', '2026-12-01T09:30:00Z'),
      header('run-b', 'failed', '2026-12-01T09:00:00Z', '2026-12-01T09:10:00Z'),
      header('run-c', 'running', '2026-12-01T09:20:00Z'),
      header('run-d', 'running', '2026-12-01T09:40:00Z'),
      header('run-e', 'interrupted', '2026-12-01T07:00:00Z', '2026-12-01T07:05:00Z'),
    ])
    // run-a started before run-b but ended after it.
    expect([...shown].sort()).toEqual(['run-a', 'run-c', 'run-d'])
    const failedLast = runsToShow([
      header('run-a', 'finished', '2026-12-01T08:00:00Z', '2026-12-01T08:30:00Z'),
      header('run-b', 'failed', '2026-12-01T09:00:00Z', '2026-12-01T09:10:00Z'),
    ])
    expect([...failedLast]).toEqual(['run-b'])
  })

  it('an ended run without an end time is ranked by its start; nothing at all gives nothing', () => {
    expect([
      ...runsToShow([
        header('run-a', 'interrupted', '2026-12-01T10:00:00Z'),
        header('run-b', 'finished', '2026-12-01T08:00:00Z', '2026-12-01T09:00:00Z'),
      ]),
    ]).toEqual(['run-a'])
    expect(runsToShow([]).size).toBe(0)
  })
})

describe('signalsDocument', () => {
  it('keeps the runs to show, newest start first', () => {
    const signal = (run_id: string, state: RunSignal['state'], started_at: string, finished_at: string | null): RunSignal => ({
      run_id,
      run_dir: `/out/${run_id}`,
      state,
      pid: 1,
      host: 'h',
      phase: null,
      message: null,
      percent: state === 'finished' ? 100 : 0,
      started_at,
      finished_at,
      last_activity: null,
      trials_done: 0,
      max_trials: 1,
      best_trial: null,
      best_loss: null,
      selected_by: null,
      stop_reason: null,
      error: null,
      html_report: null,
    })
    const document = signalsDocument('/out', [
      signal('run-1', 'finished', '2026-12-01T08:00:00Z', '2026-12-01T08:10:00Z'),
      signal('run-2', 'running', '2026-12-01T09:00:00Z', null),
      signal('run-3', 'finished', '2026-12-01T08:30:00Z', '2026-12-01T08:40:00Z'),
    ])
    expect(Signals.parse(document)).toEqual(document)
    expect(document.runs.map((r) => r.run_id)).toEqual(['run-2', 'run-3'])
  })
})

describe('the signals of an output folder', () => {
  let root = ''
  let out = ''
  let finished: {runId: string; runDir: string}
  let manifest: RunManifest

  beforeAll(async () => {
    root = await makeTempDir('studio-signals-')
    out = path.join(root, 'out')
    finished = await mockTrainingRun(root, {maxTrials: 1})
    manifest = await readJson(path.join(finished.runDir, RUN_FILES.manifest), RunManifest)
  })
  afterAll(async () => {
    await removeDir(root)
  })

  /** A second run in the same folder, started after the finished one, as a process would leave it mid-ingest. */
  async function otherRun(name: string, process_: {pid: number; host: string}, lastEvent: string): Promise<string> {
    const dir = path.join(out, name)
    await mkdir(dir)
    const started = new Date(Date.parse(manifest.finished_at!) + 1000).toISOString()
    const running: RunManifest = {...manifest, run_id: name, status: 'running', started_at: started, finished_at: null, ...process_}
    await writeFile(path.join(dir, RUN_FILES.manifest), JSON.stringify(running))
    const events: RunEvent[] = [
      {type: 'phase', time: started, phase: 'ingest', message: 'Ingesting and analysing 3 pair(s)'},
      {type: 'progress', time: lastEvent, phase: 'ingest', done: 1, total: 3, message: 'Ingested and analysed 1/3 pairs'},
    ]
    await writeFile(path.join(dir, RUN_FILES.events), events.map((e) => `${JSON.stringify(e)}\n`).join(''))
    return dir
  }

  it('the run wrote signals/latest.json at its end: finished, its best loss and its HTML report, as buildSignals computes it', async () => {
    const latest = await readJson(path.join(out, 'signals', 'latest.json'), Signals)
    expect(latest.runs).toHaveLength(1)
    expect(latest.runs[0]).toMatchObject({
      run_id: finished.runId,
      state: 'finished',
      percent: 100,
      phase: 'report',
      trials_done: 1,
      best_trial: 0,
      selected_by: 'train',
      stop_reason: 'max_trials',
      html_report: path.join(finished.runDir, RUN_FILES.htmlReport),
    })
    expect(latest.runs[0]!.best_loss).toBeGreaterThan(0)
    expect(latest).toEqual(await buildSignals(out, {host: HOST, now: new Date()}))
  })

  it('two runs in one folder: the running one (alive) and the finished one both appear, newest first', async () => {
    const dir = await otherRun('run-29990101T000000Z', {pid: process.pid, host: HOST}, new Date().toISOString())
    try {
      const signals = await buildSignals(out, {host: HOST, now: new Date()})
      expect(signals.runs.map((r) => [r.run_id, r.state])).toEqual([
        ['run-29990101T000000Z', 'running'],
        [finished.runId, 'finished'],
      ])
      expect(signals.runs[0]).toMatchObject({phase: 'ingest', percent: 6, message: 'Ingested and analysed 1/3 pairs', html_report: null})
    } finally {
      await removeDir(dir)
    }
  })

  it('a run whose process is dead on this host is interrupted, and as the run that ended last replaces the finished one', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid
    const stopped = new Date(Date.parse(manifest.finished_at!) + 5000).toISOString()
    const dir = await otherRun('run-29990101T000001Z', {pid: deadPid, host: HOST}, stopped)
    try {
      const signals = await buildSignals(out, {host: HOST, now: new Date()})
      expect(signals.runs.map((r) => [r.run_id, r.state, r.last_activity])).toEqual([['run-29990101T000001Z', 'interrupted', stopped]])
      expect(signals.runs[0]!.error).toMatch(/process that ran it is gone/)
    } finally {
      await removeDir(dir)
    }
  })

  it('a run on another host cannot be checked and is shown running; a damaged run.json is named, the others still shown', async () => {
    const remote = await otherRun('run-29990101T000002Z', {pid: 1, host: 'elsewhere'}, new Date().toISOString())
    const damaged = path.join(out, 'run-29990101T000003Z')
    await mkdir(damaged)
    await writeFile(path.join(damaged, RUN_FILES.manifest), '{"run_id": ')
    try {
      const signals = await buildSignals(out, {host: HOST, now: new Date()})
      expect(signals.runs.map((r) => [r.run_id, r.state])).toEqual([
        ['run-29990101T000002Z', 'running'],
        [finished.runId, 'finished'],
      ])
      expect(signals.damaged).toEqual([
        {run_id: 'run-29990101T000003Z', path: damaged, reason: expect.stringContaining('is not valid JSON') as unknown},
      ])
    } finally {
      await removeDir(remote)
      await removeDir(damaged)
    }
  })

  it('a missing output folder has no runs', async () => {
    const missing = path.join(root, 'nothing')
    expect(await buildSignals(missing, {host: HOST, now: new Date()})).toEqual({version: 1, output_dir: missing, runs: [], damaged: []})
  })
})

describe('a signal write that fails', () => {
  let root = ''
  beforeAll(async () => {
    root = await makeTempDir('studio-signals-fail-')
  })
  afterAll(async () => {
    await removeDir(root)
  })

  it('warns once until a write succeeds again, and never throws', async () => {
    const out = path.join(root, 'writer')
    await mkdir(out)
    // A file where the signals folder goes: every write fails (ENOTDIR / EEXIST).
    await writeFile(path.join(out, 'signals'), 'not a folder')
    const warnings: string[] = []
    const writer = new SignalWriter({outputDir: out, host: HOST, clock: () => new Date(), warn: (m) => warnings.push(m), intervalMs: 0})
    writer.notify({type: 'phase'})
    await new Promise((resolve) => setTimeout(resolve, 50))
    await writer.close()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^Could not update \S+signals\/latest\.json: .*The run goes on/)
  })

  it('does not fail the run: it finishes, with one warning event', async () => {
    await mkdir(path.join(root, 'out'))
    await writeFile(path.join(root, 'out', 'signals'), 'not a folder')
    const outcome = await mockTrainingRun(root, {maxTrials: 1})
    expect(outcome.report.trials).toHaveLength(1)
    const events = await readJsonLines(path.join(outcome.runDir, RUN_FILES.events), RunEventSchema)
    const warnings = events.filter((e) => e.type === 'warning' && e.message.startsWith('Could not update'))
    expect(warnings).toHaveLength(1)
    expect(await readFile(path.join(root, 'out', 'signals'), 'utf8')).toBe('not a folder')
  })
})

describe('the JSON Schema of signals/latest.json in TRAINING.md', () => {
  it('is the one of the zod schema (without the integer bound zod adds)', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'TRAINING.md'), 'utf8')
    const section = doc.slice(doc.indexOf('### signals/latest.json'))
    const marker = section.indexOf('Its JSON Schema')
    expect(marker).toBeGreaterThan(0)
    const block = /```json\n([\s\S]*?)\n```/.exec(section.slice(marker))![1]!
    const generated = JSON.parse(
      JSON.stringify(z.toJSONSchema(Signals), (key, value: unknown) =>
        key === 'maximum' && value === Number.MAX_SAFE_INTEGER ? undefined : value,
      ),
    ) as unknown
    expect(JSON.parse(block)).toEqual(generated)
  })
})
