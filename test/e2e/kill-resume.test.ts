/**
 * kill -9 at chosen moments of a run, then --resume: STUDIO_TEST_KILL=<point>:<n>
 * (src/core/kill-points.ts) makes the built CLI SIGKILL itself at the n-th event append,
 * in the middle of the n-th append, or between the n-th atomic write's temp file and its
 * rename. The moments are drawn from a seeded PRNG: the seed is in the test name, and
 * STUDIO_KILL_SEED=<seed> replays a failure (or tries other moments).
 *
 * After each kill: every file is whole and matches its schema, the lock is left behind,
 * `training status` says interrupted; `--resume` takes the lock over, cleans the temp
 * file and ends with the report of an uninterrupted run.
 */
import {execFile} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {z} from 'zod'

import {injectWriteFault, type PlannedWrite} from '../../src/core/fs-errors.js'
import {KILL_POINTS, type KillPoint} from '../../src/core/kill-points.js'
import {seededRandom} from '../../src/core/random.js'
import {Transcript} from '../../src/core/schemas/common.js'
import {RunEvent} from '../../src/core/schemas/events.js'
import {Signals} from '../../src/core/schemas/signals.js'
import {
  AggregateProfile,
  PairAnalysis,
  PairTrialResult,
  Registry,
  RunLock,
  RunManifest,
  TrainingReport,
  TrialPromptFile,
  TrialResults,
} from '../../src/core/schemas/files.js'
import {BIN, cliEnv, REPO_ROOT, runCli} from '../helpers/cli.js'
import {parseJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

const SEED = Number(process.env.STUDIO_KILL_SEED ?? 16)
/** One kill at each point (three runs and resumes fit the time budget), at a moment drawn from the seed. */
const random = seededRandom('kill-resume', SEED)
const KILLS: Array<{point: KillPoint; at: number}> = KILL_POINTS.map((point) => ({point, at: random()}))

/** As mockTrainingRun({maxTrials: 2}) in process, which gives the uninterrupted report. */
const RUN = ['training', 'run', '--mock', '--max-trials', '2', '--window', '2', '--threshold', '0.05', '--concurrency', '4', '--json']

let root = ''
let uninterrupted: TrainingReport
/** How many appends and atomic writes a run makes before its run.json says `finished`. */
let before = {appends: 0, writes: 0}

function comparable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      ['started_at', 'finished_at', 'dir', 'run_id', 'output_dir', 'time'].includes(key) ? '<varies>' : v,
    ),
  )
}

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-kill-')
  // The reference run, watched through the write seam (which fails nothing) to count its writes.
  const writes: PlannedWrite[] = []
  injectWriteFault((write) => {
    writes.push(write)
    return null
  })
  try {
    uninterrupted = (await mockTrainingRun(path.join(root, 'whole'), {maxTrials: 2})).report
  } finally {
    injectWriteFault(null)
  }
  const finished = writes.findLastIndex((w) => w.operation === 'write' && path.basename(w.file) === 'run.json')
  const upToFinished = writes.slice(0, finished + 1)
  before = {
    appends: upToFinished.filter((w) => w.operation === 'append').length,
    writes: upToFinished.filter((w) => w.operation === 'write').length,
  }
})
afterAll(async () => {
  await removeDir(root)
})

/** The n-th passage through `point` that still leaves a run to resume: after run.json exists, before it says finished. */
function nthFor(point: KillPoint, at: number): number {
  // The first atomic write is the first run.json: killed before its rename, there is no run to resume.
  if (point === 'before-rename') return 2 + Math.floor(at * (before.writes - 1))
  return 1 + Math.floor(at * before.appends)
}

/** The built CLI, with how it ended: killed by a signal or exited with a code. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): Promise<{signal: NodeJS.Signals | null; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {cwd: REPO_ROOT, env: cliEnv({CI: '1', ...env})}, (error, _stdout, stderr) => {
      resolve({signal: error?.signal ?? null, stderr})
    })
  })
}

const SCHEMAS: Record<string, z.ZodType> = {
  'run.json': RunManifest,
  'registry.json': Registry,
  'aggregate_profile.json': AggregateProfile,
  'training_report.json': TrainingReport,
  'analysis.json': PairAnalysis,
  'transcript.json': Transcript,
  'prompt.json': TrialPromptFile,
  'results.json': TrialResults,
  'latest.json': Signals,
}

/** Every JSON file parses against its schema, and every complete event line; returns the temp files and the log's torn tail. */
async function checkFiles(out: string): Promise<{temps: string[]; tornTail: string}> {
  const names = (await readdir(out, {recursive: true})).map(String)
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const schema = SCHEMAS[path.basename(name)] ?? (name.endsWith('_result.json') ? PairTrialResult : null)
    expect(schema, `a schema for ${name}`).not.toBeNull()
    const text = await readFile(path.join(out, name), 'utf8')
    expect(() => parseJson(text, schema!), name).not.toThrow()
  }
  let tornTail = ''
  for (const name of names.filter((n) => n.endsWith('events.jsonl'))) {
    const lines = (await readFile(path.join(out, name), 'utf8')).split('\n')
    for (const line of lines.slice(0, -1)) expect(() => RunEvent.parse(JSON.parse(line)), `${name}: ${line}`).not.toThrow()
    tornTail = lines.at(-1)!
  }
  return {temps: names.filter((n) => n.endsWith('.tmp')), tornTail}
}

describe(`kill -9 during studio training run, then --resume (STUDIO_KILL_SEED=${SEED})`, () => {
  it.each(KILLS.map((kill, i) => ({...kill, i: i + 1})))(
    'kill #$i at $point: whole files, status says interrupted, --resume takes the lock over and writes the uninterrupted report',
    async ({point, at, i}) => {
      const nth = nthFor(point, at)
      const why = `STUDIO_TEST_KILL=${point}:${nth} (STUDIO_KILL_SEED=${SEED})`
      const out = path.join(root, `kill-${i}`)
      const killed = await spawnCli([...RUN, '--output-dir', out], {STUDIO_TEST_KILL: `${point}:${nth}`})
      expect(killed.signal, `${why}: ${killed.stderr}`).toBe('SIGKILL')
      const [runId] = (await readdir(out)).filter((name) => name.startsWith('run-'))
      const runDir = path.join(out, runId!)

      const after = await checkFiles(out)
      // What each kind of kill leaves: at 'before-rename' the temp file of that write; at any
      // point, those of other writes in flight at the time (so an append kill may leave some
      // too: STUDIO_KILL_SEED=1, 2, 5 and 7 land on such moments); half a line at 'mid-append'.
      if (point === 'before-rename') expect(after.temps.length > 0, why).toBe(true)
      expect(after.tornTail === '', why).toBe(point !== 'mid-append')
      const lock = parseJson(await readFile(path.join(runDir, 'run.lock'), 'utf8'), RunLock)

      const status = await runCli(['training', 'status', runDir, '--json'])
      expect(status.code, `${why}: ${status.stderr}`).toBe(0)
      expect(JSON.parse(status.stdout)).toMatchObject({state: 'interrupted', error: 'the process that ran it is gone (killed or crashed)'})

      const resumed = await runCli(['training', 'run', '--mock', '--resume', runDir, '--json'])
      expect(resumed.code, `${why}: ${resumed.stderr}`).toBe(0)
      expect(resumed.stderr).toContain(`Took over the lock of run ${runId} from process ${lock.pid}`)
      const report = parseJson(resumed.stdout, TrainingReport)
      expect(comparable(report), why).toEqual(comparable(uninterrupted))
      const done = await checkFiles(out)
      expect(done, why).toEqual({temps: [], tornTail: ''})
      expect((await readdir(runDir)).includes('run.lock'), why).toBe(false)
    },
  )
})
