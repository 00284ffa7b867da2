/**
 * What files, disks and processes can do to a run folder between or during runs, and
 * how `--resume`, `status` and `report` answer (issue 16): a torn last event line, an
 * input changed since it was analysed, pairs skipped before the trials, and two
 * processes on one run folder (run.lock).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {appendFile, cp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunEvent} from '../../src/core/schemas/events.js'
import {RunLock, RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import {BIN, cliEnv, REPO_ROOT, runCli} from '../helpers/cli.js'
import {readJson, readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {interruptedCopy, PROVIDER_SKIP, skipBeforeTrials} from '../helpers/run-folder.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
let pairs = ''
/** A finished two-trial run on a copy of the example pairs; each test resumes a copy of it. */
let template = ''
let copies = 0

const SOIL = 'soil-microbiome-drought'

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-resume-safety-')
  pairs = path.join(root, 'pairs')
  await cp(path.join(REPO_ROOT, 'artifacts/training_data'), pairs, {recursive: true})
  // In process, to keep the file fast: the CLI is what the tests below run.
  template = (await mockTrainingRun(path.join(root, 'template'), {pairsDir: pairs, maxTrials: 2})).runDir
})
afterAll(async () => {
  await removeDir(root)
})

function interruptedRun(): Promise<string> {
  return interruptedCopy(template, path.join(root, 'runs', `run-copy-${++copies}`))
}

const lockOf = (runDir: string) => path.join(runDir, 'run.lock')

describe('a run killed mid-write (kill -9, a full disk)', () => {
  it('--resume drops the torn last line of events.jsonl and takes over the stale lock, each with a warning; the HTML report is written', async () => {
    const runDir = await interruptedRun()
    const events = path.join(runDir, 'events.jsonl')
    const torn = '{"type":"pair-scored","trial":1,"pair":"soil-mic'
    await appendFile(events, torn)
    const dead = await deadPid()
    await writeFile(lockOf(runDir), JSON.stringify({pid: dead, host: os.hostname(), since: '2026-12-05T08:00:00.000Z', token: 'gone'}))

    const resumed = await runCli(['training', 'run', '--mock', '--resume', runDir, '--json'])
    expect(resumed.code).toBe(0)
    expect(resumed.stderr).toContain(
      `${events}: dropped its last line, cut short by a crash or a full disk (${torn.length} bytes: ${torn})`,
    )
    expect(resumed.stderr).toContain(
      `Took over the lock of run ${path.basename(runDir)} from process ${dead} on ${os.hostname()}, which is no longer running`,
    )
    await expect(readFile(lockOf(runDir))).rejects.toThrow(/ENOENT/)
    // Every line is whole again: the torn one is gone, not glued to the next event.
    expect(await readFile(events, 'utf8')).not.toContain(torn)
    const parsed = await readJsonLines(events, RunEvent)
    expect(parsed.filter((e) => e.type === 'run-resumed')).toHaveLength(1)
    const warnings = parsed.flatMap((e) => (e.type === 'warning' ? [e.message] : []))
    expect(warnings.some((m) => m.includes('dropped its last line'))).toBe(true)
    expect(warnings.some((m) => m.startsWith('Took over the lock'))).toBe(true)

    // The HTML report is written from the event log, as `studio training report` writes it.
    expect(resumed.stderr).not.toContain('Could not write the HTML report')
    await expect(readFile(path.join(runDir, 'training_report.html'), 'utf8')).resolves.toContain('<html')
  })

  it('a torn line in the middle of events.jsonl stays a corrupt file: report exits 3 and writes no HTML', async () => {
    const runDir = await interruptedRun()
    const events = path.join(runDir, 'events.jsonl')
    const lines = (await readFile(events, 'utf8')).split('\n')
    lines[3] = lines[3]!.slice(0, 20)
    await writeFile(events, lines.join('\n'))
    const result = await runCli(['training', 'report', runDir])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain(`${events}:4: not a JSON line`)
    await expect(readFile(path.join(runDir, 'training_report.html'))).rejects.toThrow(/ENOENT/)
  })
})

describe('--resume and the pairs of the run', () => {
  it('refuses a pair whose episode changed since it was analysed (exit 2), and changes nothing', async () => {
    const runDir = await interruptedRun()
    const mp3 = path.join(pairs, `${SOIL}.mp3`)
    const original = await readFile(mp3)
    const events = await readFile(path.join(runDir, 'events.jsonl'), 'utf8')
    await appendFile(mp3, Buffer.from([0]))
    try {
      const result = await runCli(['training', 'run', '--mock', '--resume', runDir])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`pair ${SOIL} changed since this run analysed it: ${mp3} is not the same file`)
      expect(result.stderr).toContain('Hint: Start a new run with `studio training run`')
    } finally {
      await writeFile(mp3, original)
    }
    expect((await readJson(path.join(runDir, 'run.json'), RunManifest)).status).toBe('interrupted')
    expect(await readFile(path.join(runDir, 'events.jsonl'), 'utf8')).toBe(events)
    await expect(readFile(path.join(runDir, 'training_report.json'))).rejects.toThrow(/ENOENT/)
    await expect(readFile(path.join(runDir, 'run.lock'))).rejects.toThrow(/ENOENT/)
  })

  it('keeps a pair skipped before trial 0 out of the resumed trials, says so, and exits 5 for it', async () => {
    const runDir = await interruptedRun()
    await skipBeforeTrials(runDir, SOIL, {trialBegun: true})
    const result = await runCli(['training', 'run', '--mock', '--resume', runDir, '--json'])
    expect(result.code).toBe(5)
    expect(result.stderr).toContain(
      `${SOIL}: stays skipped (${PROVIDER_SKIP.reason}): it was skipped before trial 0, and a resumed run keeps the pairs its trials were scored on. Start a new run to include it.`,
    )
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    expect(report.pairs).not.toContain(SOIL)
    expect(report.skipped_pairs.map((s) => s.id)).toEqual([SOIL])
    expect(report.trials).toHaveLength(2)
    for (const trial of report.trials) expect(trial.pairs.map((p) => p.pair_id)).toEqual(report.pairs)
    await expect(readFile(path.join(runDir, 'pairs', SOIL, 'analysis.json'))).rejects.toThrow(/ENOENT/)
    const manifest = await readJson(path.join(runDir, 'run.json'), RunManifest)
    expect(manifest.skipped.map((s) => s.id)).toEqual([SOIL])
    expect(manifest.pairs.map((p) => p.id)).not.toContain(SOIL)
  })
})

describe('run.lock: one process per run folder', () => {
  it('keeps a second process off a running run, and is released when Ctrl-C stops it', async () => {
    const out = path.join(root, 'live')
    const child = spawn(
      process.execPath,
      [BIN, 'training', 'run', '--mock', '--max-trials', '10', '--window', '10', '--pairs-dir', pairs, '--output-dir', out],
      {cwd: REPO_ROOT, env: cliEnv({CI: '1'})},
    )
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    await waitForStderr(child, /Trial 0 \(1 of 10\)/)
    child.kill('SIGSTOP')
    try {
      const runDir = path.join(out, 'latest')
      const lock = await readJson(lockOf(runDir), RunLock)
      expect(lock.pid).toBe(child.pid)
      const second = await runCli(['training', 'run', '--mock', '--resume', runDir])
      expect(second.code).toBe(2)
      expect(second.stderr).toContain(`is in use by another studio process: pid ${child.pid} on ${os.hostname()}`)
    } finally {
      child.kill('SIGCONT')
    }
    // Ctrl-C twice: the second quits at once (process.exit), past every finally block.
    const stopping = waitForStderr(child, /Stopping after the steps in progress/)
    child.kill('SIGINT')
    await stopping
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    await expect(readFile(lockOf(path.join(out, 'latest')))).rejects.toThrow(/ENOENT/)
  })
})

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', ''])
    child.on('close', () => resolve(child.pid!))
  })
}

function waitForStderr(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (pattern.test(text)) resolve()
    })
    child.on('close', () => reject(new Error(`exited before ${pattern}: ${text}`)))
  })
}
