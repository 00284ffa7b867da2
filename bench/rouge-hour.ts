#!/usr/bin/env node
/**
 * ROUGE on a pair of the shape the trainer scores (issue 18 part 3): an hour-long
 * transcript against a script of the same length, ~10,000 tokens and a few hundred lines
 * a side, English-like (bench/rouge-pair.js), with stemming as the trainer scores.
 *
 *   node --import tsx bench/rouge-hour.ts [--runs N]
 *
 * - before / after: the implementation before issue 18 part 3 (kept as the test
 *   reference, test/unit/loss/rouge-reference.ts) against src/loss/rouge.ts, interleaved
 *   so that a busy moment on the shared machine hits both alike; wall and CPU time of each
 *   call, median and spread, after warm-ups. Both must give the same scores.
 * - main thread: 8 pairs scored through the worker pool (src/training/rouge-pool.ts, with
 *   its worker built as scripts/bundle.mjs builds it) against the same 8 on the main
 *   thread: the main thread's busy time (event-loop utilisation) and its longest stall
 *   (the largest delay of a 1 ms timer).
 * Prints one JSON object on stdout and a summary on stderr.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {pathToFileURL} from 'node:url'
import {build} from 'esbuild'

import {rougeScores} from '../src/loss/rouge.js'
import {rougeScoresOffThread, ROUGE_POOL_SIZE, setRougeWorkerFile, stopRougeWorkers} from '../src/training/rouge-pool.js'
import {rougeScores as rougeScoresBefore} from '../test/unit/loss/rouge-reference.js'
// @ts-expect-error plain JavaScript helper without types
import {makeRougePair} from './rouge-pair.js'

const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 11
const WARMUPS = 3
const POOL_JOBS = 8

type Pair = {target: string; prediction: string; targetLines: number; predictionLines: number}
const pair = (makeRougePair as (seed: number) => Pair)(42)
const options = {stem: true}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const stats = (xs: number[]) => ({
  median: Number(quantile(xs, 0.5).toFixed(1)),
  min: Number(Math.min(...xs).toFixed(1)),
  max: Number(Math.max(...xs).toFixed(1)),
  p25: Number(quantile(xs, 0.25).toFixed(1)),
  p75: Number(quantile(xs, 0.75).toFixed(1)),
})

function timed(fn: () => unknown): {wall: number; cpu: number} {
  const cpu = process.cpuUsage()
  const start = performance.now()
  fn()
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return {wall, cpu: (used.user + used.system) / 1000}
}

const loadBefore = os.loadavg()
const same =
  JSON.stringify(rougeScores(pair.target, pair.prediction, options)) ===
  JSON.stringify(rougeScoresBefore(pair.target, pair.prediction, options))
for (let i = 0; i < WARMUPS; i++) {
  rougeScoresBefore(pair.target, pair.prediction, options)
  rougeScores(pair.target, pair.prediction, options)
}
const before = {wall: [] as number[], cpu: [] as number[]}
const after = {wall: [] as number[], cpu: [] as number[]}
for (let i = 0; i < RUNS; i++) {
  for (const [fn, into] of [
    [rougeScoresBefore, before],
    [rougeScores, after],
  ] as const) {
    const t = timed(() => fn(pair.target, pair.prediction, options))
    into.wall.push(t.wall)
    into.cpu.push(t.cpu)
  }
}

/** Main-thread busy time and longest timer stall while `work` runs. */
async function mainThread(work: () => Promise<unknown>): Promise<{wall_ms: number; busy_ms: number; longest_stall_ms: number}> {
  let last = performance.now()
  let stall = 0
  const timer = setInterval(() => {
    const now = performance.now()
    stall = Math.max(stall, now - last)
    last = now
  }, 1)
  const elu = performance.eventLoopUtilization()
  const start = performance.now()
  await work()
  const wall = performance.now() - start
  const used = performance.eventLoopUtilization(elu)
  clearInterval(timer)
  stall = Math.max(stall, performance.now() - last)
  return {wall_ms: Number(wall.toFixed(1)), busy_ms: Number(used.active.toFixed(1)), longest_stall_ms: Number(stall.toFixed(1))}
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'studio-rouge-bench-'))
let pool
try {
  const outfile = path.join(dir, 'rouge-worker.mjs')
  await build({
    entryPoints: [path.resolve('src/training/rouge-worker.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    logLevel: 'warning',
  })
  setRougeWorkerFile(pathToFileURL(outfile))
  // Start and warm the workers, as a run's first pairs do.
  await Promise.all(Array.from({length: ROUGE_POOL_SIZE * 2}, () => rougeScoresOffThread(pair.target, pair.prediction, options)))
  const jobs = Array.from({length: POOL_JOBS}, () => pair)
  const inThread = await mainThread(async () => {
    for (const p of jobs) {
      rougeScores(p.target, p.prediction, options)
      await new Promise((resolve) => setImmediate(resolve)) // the loop turns between pairs, as in a run
    }
  })
  const offThread = await mainThread(() => Promise.all(jobs.map((p) => rougeScoresOffThread(p.target, p.prediction, options))))
  pool = {jobs: POOL_JOBS, pool_size: ROUGE_POOL_SIZE, in_thread: inThread, off_thread: offThread}
} finally {
  await stopRougeWorkers()
  rmSync(dir, {recursive: true, force: true})
}

const result = {
  pair: {
    tokens: 10_000,
    target_lines: pair.targetLines,
    prediction_lines: pair.predictionLines,
    fmeasure: Object.fromEntries(
      Object.entries(rougeScores(pair.target, pair.prediction, options)).map(([k, v]) => [k, Number(v.fmeasure.toFixed(4))]),
    ),
  },
  runs: `${RUNS} interleaved calls each after ${WARMUPS} warm-ups, stem: true`,
  same_scores: same,
  before_ms: {wall: stats(before.wall), cpu: stats(before.cpu)},
  after_ms: {wall: stats(after.wall), cpu: stats(after.cpu)},
  speed_up_median_wall: Number((quantile(before.wall, 0.5) / quantile(after.wall, 0.5)).toFixed(2)),
  main_thread: pool,
  load_average: {before: loadBefore.map((x) => Number(x.toFixed(2))), after: os.loadavg().map((x) => Number(x.toFixed(2)))},
  cpus: os.cpus().length,
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
const w = (s: ReturnType<typeof stats>) => `${s.median} ms (${s.min}-${s.max})`
process.stderr.write(
  `rouge hour-long pair: before ${w(result.before_ms.wall)}, after ${w(result.after_ms.wall)}, same scores: ${same}; ` +
    `${POOL_JOBS} pairs: main thread busy ${pool?.in_thread.busy_ms} ms in-thread vs ${pool?.off_thread.busy_ms} ms via the pool ` +
    `(longest stall ${pool?.in_thread.longest_stall_ms} vs ${pool?.off_thread.longest_stall_ms} ms); load ${result.load_average.before[0]}\n`,
)
