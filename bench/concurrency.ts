/**
 * Real-mode scheduling against the local fake API with 300 ms added to every request:
 * 12 pairs (the bundled three, four times over, without sidecars so that every pair
 * is transcribed), a 2-trial run, with --concurrency 12 and 4, the median of three
 * runs each (BENCH_RUNS=n for another count).
 *
 * Targets: with 12, wall time <= 1.3x the critical path (the longest chain of calls
 * that depend on each other, times 300 ms); with 4, <= 1.3x the ideal schedule of
 * 3 waves. The run is timed in-process (the trainer with the real SDK providers, as
 * `studio training run` builds them), so Node's start-up is not counted.
 *
 * Run: npx tsx bench/concurrency.ts   (prints JSON; bench/run.js calls it)
 */
import {spawn} from 'node:child_process'
import {copyFile, mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {createInterface} from 'node:readline'

import {buildProviders} from '../src/cli/providers.js'
import {runTraining} from '../src/training/run/trainer.js'
import {FAKE_KEYS} from '../test/helpers/fake-api.js'

const LATENCY_MS = 300
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const examples = path.join(root, 'artifacts', 'training_data')
const IDS = ['aerial-vehicle-positioning-full', 'soil-microbiome-drought', 'sparse-attention-long-documents']

async function pairsFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'studio-bench-pairs-'))
  for (let copy = 1; copy <= 4; copy++) {
    for (const id of IDS) {
      await copyFile(path.join(examples, `${id}.pdf`), path.join(dir, `${id}-${copy}.pdf`))
      await copyFile(path.join(examples, `${id}.mp3`), path.join(dir, `${id}-${copy}.mp3`))
    }
  }
  return dir
}

/** The fake API in its own process (see fake-api-process.ts). */
async function startServer(): Promise<{
  openaiBaseURL: string
  anthropicBaseURL: string
  stop(): Promise<{requests: number; maxConcurrent: number}>
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'fake-api-process.ts'), String(LATENCY_MS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({input: child.stdout})[Symbol.asyncIterator]()
  const urls = JSON.parse((await lines.next()).value as string) as {openaiBaseURL: string; anthropicBaseURL: string}
  return {
    ...urls,
    async stop() {
      child.stdin.end()
      return JSON.parse((await lines.next()).value as string) as {requests: number; maxConcurrent: number}
    },
  }
}

async function timedRun(pairsDir: string, concurrency: number) {
  const api = await startServer()
  const out = await mkdtemp(path.join(os.tmpdir(), 'studio-bench-out-'))
  Object.assign(process.env, {
    OPENAI_API_KEY: FAKE_KEYS.openai,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    OPENAI_BASE_URL: api.openaiBaseURL,
    ANTHROPIC_BASE_URL: api.anthropicBaseURL,
  })
  try {
    const {providers, roles} = await buildProviders({mock: false, cache: false, tts: false, refiner: 'rule-based', pairsDir})
    const started = performance.now()
    const cpu0 = process.cpuUsage()
    const outcome = await runTraining({
      providers,
      providerRoles: roles,
      toolVersion: 'bench',
      pairsDir,
      outputDir: out,
      maxTrials: 2,
      seed: 42,
      window: 2,
      threshold: 0.05,
      concurrency,
      mock: false,
      // BENCH_TRACE=1 prints when each phase, pair and trial ends (ms from the start), and
      // the fake API then lists when each request arrived (ms from the first).
      onEvent: (event) => {
        if (process.env.BENCH_TRACE && event.type !== 'progress')
          process.stderr.write(`${Math.round(performance.now() - started)} ${event.type} ${'pair' in event ? event.pair : ''}\n`)
      },
    })
    const wallMs = performance.now() - started
    if (process.env.BENCH_TRACE) {
      // This process's CPU time during the run: main thread and the PDF worker together.
      const cpu = process.cpuUsage(cpu0)
      process.stderr.write(`client cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms\n`)
    }
    const calls = outcome.report.usage.total.calls
    const served = await api.stop()
    return {
      concurrency,
      wall_ms: Math.round(wallMs),
      requests: served.requests,
      calls,
      max_in_flight: served.maxConcurrent,
      pairs: outcome.report.pairs.length,
    }
  } finally {
    await rm(out, {recursive: true, force: true})
  }
}

const RUNS = Number(process.env.BENCH_RUNS ?? 3)

/** `RUNS` timed runs: the one with the median wall time, and every run's time. */
async function medianRun(pairsDir: string, concurrency: number) {
  const runs = []
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun(pairsDir, concurrency))
  const sorted = [...runs].sort((a, b) => a.wall_ms - b.wall_ms)
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)]!,
    runs_ms: runs.map((r) => r.wall_ms),
    max_in_flight: Math.max(...runs.map((r) => r.max_in_flight)),
  }
}

const pairsDir = await pairsFolder()
try {
  // Chain per pair: transcribe -> classify | concepts (together) -> 2 x (generate -> judge).
  const chain = 1 + 1 + 2 * 2
  const criticalPathMs = chain * LATENCY_MS
  // With 4 at a time, each phase runs in 3 waves: ingest (2 calls deep) and each trial (2 deep).
  const idealWavesMs = 3 * chain * LATENCY_MS
  // Modules (the SDKs, pdf.js, ...) load on first use; one untimed run first, so that
  // the timed ones measure scheduling, not loading.
  await timedRun(pairsDir, 12)
  // The median of three runs each: one run on this shared machine varies by +-10 %.
  const wide = await medianRun(pairsDir, 12)
  const narrow = await medianRun(pairsDir, 4)
  const result = {
    latency_ms: LATENCY_MS,
    pairs: wide.pairs,
    trials: 2,
    calls_per_pair_per_trial: (wide.calls - wide.pairs * 3) / (wide.pairs * 2),
    critical_path_ms: criticalPathMs,
    ideal_3_waves_ms: idealWavesMs,
    concurrency_12: {
      ...wide,
      ratio: Number((wide.wall_ms / criticalPathMs).toFixed(2)),
      target: 1.3,
      met: wide.wall_ms <= 1.3 * criticalPathMs,
    },
    concurrency_4: {
      ...narrow,
      ratio: Number((narrow.wall_ms / idealWavesMs).toFixed(2)),
      target: 1.3,
      met: narrow.wall_ms <= 1.3 * idealWavesMs,
    },
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
} finally {
  await rm(pairsDir, {recursive: true, force: true})
}
