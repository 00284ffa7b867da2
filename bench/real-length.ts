/**
 * The real-length benchmark: `studio training run` on pairs as long as real ones, through
 * the fake API with a model's speed and an account's rate limits, in a few minutes.
 *
 * - Corpus (bench/real-length-corpus.ts): 10 pairs of a 22-29 page PDF paper (11,000-15,000
 *   words) and a 60-minute episode (a ~9,000-word `.transcript.json` sidecar, a silent MP3).
 * - The CLI as a user runs it (`node bin/run.js training run --max-trials 2 --json
 *   --no-cache`, default --concurrency and models) against the fake API in its own process
 *   (bench/fake-api-process.ts): 20 ms per output token (Claude streams about 50 a second),
 *   max_tokens enforced, and Anthropic's first-tier limits (50
 *   requests, 30,000 input and 8,000 output tokens per minute) in both the fake and the
 *   run's studio.config.json.
 * - Time is compressed K times (STUDIO_BENCH_TIME_SCALE, default 30), one of two ways
 *   (STUDIO_BENCH_MODE):
 *   `clock` (default): both processes run on a clock K times faster (bench/sim-clock.mjs),
 *   limits and latencies as they are in real time, so the run sees the hour it would take
 *   (the rate-limit buckets keep their real size, the prompt cache expires after 5
 *   simulated minutes, the cache lifetime studio picks sees real trial lengths);
 *   `limits`: the real clock, 20/K ms per output token and every limit x K. Simpler, but a
 *   bucket then holds K minutes of tokens (its capacity is the per-minute limit), so the
 *   run starts with K minutes' worth of burst: this mode runs faster than the real thing.
 * - Next to it, the `--dry-run --json` estimate for the same pairs with the default limits
 *   (no base URL, no rate_limits in the config: the limits the public API would get).
 * - Peak RSS and CPU time of the CLI process (bench/max-rss.mjs), tokens and cost per
 *   trial (each trial's results.json), the fake's counts (requests, 429s).
 * - A 100 MB, 2-hour MP3 transcribed in chunks by WhisperTranscriber in a child process
 *   (bench/real-length-transcribe.ts, bundled by esbuild so that no TypeScript loader
 *   counts in its memory) against the fake API, real time: peak RSS and wall time, the
 *   median of 3 (STUDIO_BENCH_TRANSCRIBE_RUNS).
 *
 * Needs the CLI built (`npm run build`; `npm run bench` builds first). Run:
 *   node --import tsx bench/real-length.ts     (npm run bench:real-length)
 * Env: STUDIO_BENCH_TIME_SCALE=K, STUDIO_BENCH_MODE=clock|limits, BENCH_RUNS=n (training
 * runs, median reported; default 1), STUDIO_BENCH_PAIRS=n (default 10), STUDIO_BENCH_KEEP=1
 * (keep the temporary folder and print its path), STUDIO_BENCH_ONLY=transcription (only the 2-hour
 * MP3, printed, not recorded).
 * Prints a Markdown section for BENCHMARKS.md on stdout, progress on stderr, and the raw
 * numbers to bench/results-real-length.json (results-real-length-limits.json in `limits` mode).
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, realpath, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {DEFAULT_RATE_LIMITS, type RateLimitsConfig} from '../src/providers/config.js'
import type {RoleUsage, TrainingReport, TrialResults} from '../src/core/schemas/index.js'
import {FAKE_KEYS, type FakeApiStats, type Limits} from '../test/helpers/fake-api.js'
import {writeLongMp3, writeRealLengthCorpus, type CorpusPair} from './real-length-corpus.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = path.join(root, 'bin', 'run.js')

const K = Number(process.env.STUDIO_BENCH_TIME_SCALE ?? 30)
const MODE = (process.env.STUDIO_BENCH_MODE ?? 'clock') as 'clock' | 'limits'
const RUNS = Number(process.env.BENCH_RUNS ?? 1)
const PAIRS = Number(process.env.STUDIO_BENCH_PAIRS ?? 10)
const TRIALS = 2
const TRANSCRIBE_RUNS = Number(process.env.STUDIO_BENCH_TRANSCRIBE_RUNS ?? 3)
if (!(K >= 1) || !['clock', 'limits'].includes(MODE) || !(RUNS >= 1) || !(PAIRS >= 1)) {
  throw new Error(`bad settings: STUDIO_BENCH_TIME_SCALE=${K} STUDIO_BENCH_MODE=${MODE} BENCH_RUNS=${RUNS} STUDIO_BENCH_PAIRS=${PAIRS}`)
}

/** Real Claude streams about 50 output tokens a second. */
const MS_PER_OUTPUT_TOKEN = 20
const RSS_TARGET_MB = 500
const TRANSCRIBE_RSS_TARGET_MB = 300
const LONG_MP3_SECONDS = 7200

const log = (text: string) => process.stderr.write(`[real-length] ${text}\n`)
const mb = (kb: number) => Math.round(kb / 1024)
const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

// ------------------------------------------------------------------ processes

interface Exited {
  code: number | null
  stdout: string
  stderr: string
  wallMs: number
}

/** Runs node with `args`, collecting its output; resolves when it exits (whatever the code). */
function runNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs: performance.now() - started,
      }),
    )
  })
}

interface FakeServer {
  openaiBaseURL: string
  anthropicBaseURL: string
  stop(): Promise<{requests: number; maxConcurrent: number; stats: FakeApiStats; cpu_ms: number}>
}

/** The fake API in its own process (bench/fake-api-process.ts), on the simulated clock when `clockEnv` is given. */
async function startFake(options: object, clockEnv: NodeJS.ProcessEnv | null): Promise<FakeServer> {
  const args = ['--import', 'tsx', ...(clockEnv ? ['--import', path.join(root, 'bench', 'sim-clock.mjs')] : [])]
  args.push(path.join(root, 'bench', 'fake-api-process.ts'), '', JSON.stringify(options))
  const child = spawn(process.execPath, args, {cwd: root, env: {...process.env, ...clockEnv}, stdio: ['pipe', 'pipe', 'inherit']})
  const lines = createInterface({input: child.stdout})[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error('the fake API exited before printing its URLs')
  const urls = JSON.parse(first.value) as {openaiBaseURL: string; anthropicBaseURL: string}
  return {
    ...urls,
    async stop() {
      child.stdin.end()
      const last = await lines.next()
      if (last.done) throw new Error('the fake API exited without its report')
      return JSON.parse(last.value) as Awaited<ReturnType<FakeServer['stop']>>
    },
  }
}

/** studio.config.json's rate_limits (snake case) as the fake's Limits. */
function fakeLimits(limits: RateLimitsConfig): Limits {
  return {
    requestsPerMinute: limits.requests_per_minute,
    inputTokensPerMinute: limits.input_tokens_per_minute,
    outputTokensPerMinute: limits.output_tokens_per_minute,
    tokensPerMinute: limits.tokens_per_minute,
  }
}

function scaled(limits: RateLimitsConfig, factor: number): RateLimitsConfig {
  return Object.fromEntries(Object.entries(limits).map(([key, value]) => [key, value * factor]))
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CI: '1',
    NO_COLOR: '1',
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    OPENAI_API_KEY: FAKE_KEYS.openai,
  }
  for (const name of [
    'ANTHROPIC_BASE_URL',
    'OPENAI_BASE_URL',
    'STUDIO_BENCH_TIME_SCALE',
    'STUDIO_BENCH_TIME_ORIGIN',
    'STUDIO_BENCH_RSS_FILE',
  ])
    delete env[name]
  return env
}

// -------------------------------------------------------------------- dry run

interface DryRun {
  calls: number
  cost_usd: number | null
  ingest_cost_usd: number | null
  trial_cost_usd: number | null
  roles: Array<{role: string; calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null}>
  time: {seconds: number; ingest: {seconds: number; bound_by: string}; trial: {seconds: number; bound_by: string}; bound_by: string}
}

/** The estimate as a user with the public APIs would get it: no base URL, no rate_limits (the defaults). */
async function dryRun(work: string, pairsDir: string): Promise<DryRun> {
  const config = path.join(work, 'no-limits.config.json')
  await writeFile(config, '{}\n')
  const args = [bin, 'training', 'run', '--pairs-dir', pairsDir, '--max-trials', String(TRIALS), '--dry-run', '--json', '--config', config]
  const done = await runNode(args, baseEnv(), work)
  if (done.code !== 0) throw new Error(`the dry run exited ${done.code}:\n${done.stderr}`)
  return JSON.parse(done.stdout) as DryRun
}

// ---------------------------------------------------------------- training run

interface UsageLine {
  calls: number
  input_tokens: number
  output_tokens: number
  cache_write_tokens: number
  cache_write_1h_tokens: number
  cache_read_tokens: number
  cost_usd: number | null
}

const usageLine = (u: RoleUsage | undefined): UsageLine => ({
  calls: u?.calls ?? 0,
  input_tokens: u?.input_tokens ?? 0,
  output_tokens: u?.output_tokens ?? 0,
  cache_write_tokens: u?.cache_write_tokens ?? 0,
  cache_write_1h_tokens: u?.cache_write_1h_tokens ?? 0,
  cache_read_tokens: u?.cache_read_tokens ?? 0,
  cost_usd: u ? (u.cost_usd === null ? null : round(u.cost_usd, 4)) : 0,
})

interface TrialLine {
  index: number
  /** Simulated seconds (the run's own timestamps in clock mode; real x K in limits mode). */
  seconds: number
  usage: UsageLine
  generate_calls: number
  judge_calls: number
  pairs_scored: number
  failed: number
  mean_generated_words: number
  mean_asked_words: number | null
  total_loss: number
  /** Per call, the tokens a rate limit counts: generate's output (its max_tokens is larger still) and each call's input (cache reads excluded). */
  generate_output_tokens: {min: number; max: number}
  judge_input_tokens: {min: number; max: number}
  generate_input_tokens: {min: number; max: number}
  /** Calls that alone exceed a whole minute's limit (output: answers longer than OTPM; input: over ITPM). */
}

interface RunResult {
  exit_code: number | null
  wall_ms: number
  simulated_seconds: number
  /** From the run's own timestamps, simulated seconds. */
  phases: {ingest_seconds: number; trials_seconds: number[]}
  peak_rss_mb: number
  cpu_ms: number
  fake_cpu_ms: number
  usage_total: UsageLine
  usage_ingest: UsageLine
  usage_by_role: Record<string, UsageLine>
  trials: TrialLine[]
  skipped_pairs: number
  failed_pairs: Array<{trial: number; pair_id: string; reason: string}>
  stop_reason: string
  api: {
    requests: number
    rate_limited: number
    too_large: number
    max_concurrent: number
    by_path: Record<string, {requests: number; rateLimited: number}>
  }
}

async function trainingRun(work: string, pairsDir: string, attempt: number): Promise<RunResult> {
  const out = path.join(work, `out-${attempt}`)
  const rssFile = path.join(work, `rss-${attempt}.json`)
  const configFile = path.join(work, `run-${attempt}.config.json`)
  const factor = MODE === 'limits' ? K : 1
  const anthropic = scaled(DEFAULT_RATE_LIMITS.anthropic, factor)
  const openai = scaled(DEFAULT_RATE_LIMITS.openai, factor)
  await writeFile(configFile, `${JSON.stringify({rate_limits: {anthropic, openai}}, null, 2)}\n`)

  // Both processes read the same simulated time: it starts now and runs K times faster.
  const clockEnv = MODE === 'clock' ? {STUDIO_BENCH_TIME_SCALE: String(K), STUDIO_BENCH_TIME_ORIGIN: String(Date.now())} : null
  const fake = await startFake(
    {
      // No time to the first token: the fake charges the rate limits after its latency, where the
      // API charges on arrival, so a latency would make the fake's buckets lag the client's.
      latencyMs: 0,
      msPerOutputToken: MS_PER_OUTPUT_TOKEN / factor,
      rateLimits: {anthropic: fakeLimits(anthropic), openai: fakeLimits(openai)},
    },
    clockEnv,
  )
  const env = {
    ...baseEnv(),
    ...clockEnv,
    ANTHROPIC_BASE_URL: fake.anthropicBaseURL,
    OPENAI_BASE_URL: fake.openaiBaseURL,
    STUDIO_BENCH_RSS_FILE: rssFile,
  }
  const preload = ['--import', path.join(root, 'bench', 'max-rss.mjs')]
  if (clockEnv) preload.push('--import', path.join(root, 'bench', 'sim-clock.mjs'))
  const args = [
    ...preload,
    bin,
    'training',
    'run',
    '--pairs-dir',
    pairsDir,
    '--output-dir',
    out,
    '--max-trials',
    String(TRIALS),
    '--config',
    configFile,
    '--no-cache',
    '--json',
  ]
  log(`run ${attempt}: ${MODE === 'clock' ? `clock x${K}` : `limits x${K}`}, ${PAIRS} pairs, ${TRIALS} trials`)
  // (If this throws, the fake process exits with us: its stdin closes.)
  const done = await runNode(args, env, work)
  const served = await fake.stop()
  await writeFile(path.join(work, `run-${attempt}.stderr.txt`), done.stderr)
  if (done.code !== 0 && done.code !== 5) {
    throw new Error(
      `studio training run exited ${done.code}; its stdout:\n${done.stdout.slice(-3000)}\nits stderr (last 3000 characters):\n${done.stderr.slice(-3000)}`,
    )
  }
  const report = JSON.parse(done.stdout) as TrainingReport
  const rss = JSON.parse(await readFile(rssFile, 'utf8')) as {max_rss_kb: number; cpu_ms: number}
  const runDir = await realpath(path.join(out, 'latest'))
  const perTrialSeconds = (ms: number) => (MODE === 'clock' ? ms / 1000 : (ms * K) / 1000)

  const trials: TrialLine[] = []
  const trialSeconds: number[] = []
  for (const trial of report.trials) {
    const results = JSON.parse(await readFile(path.join(runDir, trial.dir, 'results.json'), 'utf8')) as TrialResults
    const ms = Date.parse(results.finished_at) - Date.parse(results.started_at)
    trialSeconds.push(round(perTrialSeconds(ms)))
    const asked = results.pairs.map((p) => p.details.asked_words).filter((w): w is number => w !== undefined)
    const limited = (u: RoleUsage | undefined) => (u ? u.input_tokens - (u.cache_read_tokens ?? 0) : 0)
    const generateOut = results.pairs.map((p) => p.usage.by_role.generate?.output_tokens ?? 0)
    const generateIn = results.pairs.map((p) => limited(p.usage.by_role.generate))
    const judgeIn = results.pairs.map((p) => limited(p.usage.by_role.judge))
    const range = (values: number[]) => ({min: Math.min(...values), max: Math.max(...values)})
    trials.push({
      index: trial.index,
      seconds: round(perTrialSeconds(ms)),
      usage: usageLine(results.usage.total),
      generate_calls: results.usage.by_role.generate?.calls ?? 0,
      judge_calls: results.usage.by_role.judge?.calls ?? 0,
      pairs_scored: results.pairs.length,
      failed: results.failed.length,
      mean_generated_words: round(results.pairs.reduce((n, p) => n + p.details.generated_words, 0) / Math.max(1, results.pairs.length)),
      mean_asked_words: asked.length ? round(asked.reduce((n, w) => n + w, 0) / asked.length) : null,
      total_loss: round(trial.mean_losses.total, 4),
      generate_output_tokens: range(generateOut),
      generate_input_tokens: range(generateIn),
      judge_input_tokens: range(judgeIn),
    })
  }
  const firstTrial = report.trials[0]
    ? (JSON.parse(await readFile(path.join(runDir, report.trials[0].dir, 'results.json'), 'utf8')) as TrialResults)
    : null
  const ingestMs = firstTrial ? Date.parse(firstTrial.started_at) - Date.parse(report.started_at) : 0
  const total = usageLine(report.usage.total)
  const inTrials = trials.map((t) => t.usage)
  const ingest: UsageLine = {
    calls: total.calls - inTrials.reduce((n, u) => n + u.calls, 0),
    input_tokens: total.input_tokens - inTrials.reduce((n, u) => n + u.input_tokens, 0),
    output_tokens: total.output_tokens - inTrials.reduce((n, u) => n + u.output_tokens, 0),
    cache_write_tokens: total.cache_write_tokens - inTrials.reduce((n, u) => n + u.cache_write_tokens, 0),
    cache_write_1h_tokens: total.cache_write_1h_tokens - inTrials.reduce((n, u) => n + u.cache_write_1h_tokens, 0),
    cache_read_tokens: total.cache_read_tokens - inTrials.reduce((n, u) => n + u.cache_read_tokens, 0),
    cost_usd:
      total.cost_usd === null || inTrials.some((u) => u.cost_usd === null)
        ? null
        : round(total.cost_usd - inTrials.reduce((n, u) => n + (u.cost_usd ?? 0), 0), 4),
  }
  const byPath = Object.fromEntries(
    Object.entries(served.stats.byPath).map(([p, s]) => [p, {requests: s.requests, rateLimited: s.rateLimited}]),
  )
  return {
    exit_code: done.code,
    wall_ms: Math.round(done.wallMs),
    simulated_seconds: round((done.wallMs * K) / 1000),
    phases: {ingest_seconds: round(perTrialSeconds(ingestMs)), trials_seconds: trialSeconds},
    peak_rss_mb: mb(rss.max_rss_kb),
    cpu_ms: rss.cpu_ms,
    fake_cpu_ms: served.cpu_ms,
    usage_total: total,
    usage_ingest: ingest,
    usage_by_role: Object.fromEntries(Object.entries(report.usage.by_role).map(([role, u]) => [role, usageLine(u)])),
    trials,
    skipped_pairs: report.skipped_pairs.length,
    failed_pairs: report.failed_pairs,
    stop_reason: report.stop_reason,
    api: {
      requests: served.stats.requests,
      rate_limited: served.stats.rateLimited,
      too_large: served.stats.tooLarge,
      max_concurrent: served.maxConcurrent,
      by_path: byPath,
    },
  }
}

// --------------------------------------------------------------- transcription

interface TranscribeResult {
  wall_ms: number
  peak_rss_mb: number
  rss_before_mb: number
  cpu_ms: number
  segments: number
  duration_seconds: number
  uploads: number
}

/** The transcription child, bundled by esbuild into node_modules/.cache (so its imports resolve), run by plain node. */
async function bundleTranscribeChild(): Promise<string> {
  const {build} = await import('esbuild')
  const outfile = path.join(root, 'node_modules', '.cache', 'studio-bench', 'real-length-transcribe.mjs')
  await mkdir(path.dirname(outfile), {recursive: true})
  await build({
    entryPoints: [path.join(root, 'bench', 'real-length-transcribe.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  })
  return outfile
}

async function transcribeLong(work: string, mp3: string): Promise<TranscribeResult[]> {
  const child = await bundleTranscribeChild()
  const results: TranscribeResult[] = []
  for (let i = 0; i < TRANSCRIBE_RUNS; i++) {
    const fake = await startFake({}, null)
    const rssFile = path.join(work, `transcribe-rss-${i}.json`)
    const env = {...baseEnv(), OPENAI_BASE_URL: fake.openaiBaseURL, STUDIO_BENCH_RSS_FILE: rssFile}
    const done = await runNode(['--import', path.join(root, 'bench', 'max-rss.mjs'), child, mp3, String(LONG_MP3_SECONDS)], env, work)
    const served = await fake.stop()
    if (done.code !== 0) throw new Error(`the transcription exited ${done.code}:\n${done.stderr.slice(-3000)}`)
    const line = JSON.parse(done.stdout) as {wall_ms: number; rss_before_mb: number; segments: number; duration_seconds: number}
    const rss = JSON.parse(await readFile(rssFile, 'utf8')) as {max_rss_kb: number; cpu_ms: number}
    results.push({...line, peak_rss_mb: mb(rss.max_rss_kb), cpu_ms: rss.cpu_ms, uploads: served.stats.requests})
    log(
      `transcription ${i + 1}: ${line.wall_ms} ms, peak RSS ${mb(rss.max_rss_kb)} MB (${line.rss_before_mb} MB before it started), ${served.stats.requests} uploads`,
    )
  }
  return results
}

// ------------------------------------------------------------------------ main

const work = await mkdtemp(path.join(os.tmpdir(), 'studio-bench-real-'))
try {
  if (!existsSync(path.join(root, 'dist', 'cli', 'execute.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  const pairsDir = path.join(work, 'pairs')
  await mkdir(pairsDir)
  let started = performance.now()
  const corpus: CorpusPair[] = await writeRealLengthCorpus(pairsDir, PAIRS)
  const corpusMs = performance.now() - started
  const longMp3 = path.join(work, 'two-hours.mp3')
  const longBytes = await writeLongMp3(longMp3, LONG_MP3_SECONDS)
  log(`corpus: ${PAIRS} pairs in ${Math.round(corpusMs)} ms; ${(longBytes / 1e6).toFixed(1)} MB MP3 of ${LONG_MP3_SECONDS / 3600} h`)

  if (process.env.STUDIO_BENCH_ONLY === 'transcription') {
    // Only the long MP3: a quick check of transcription memory, nothing recorded.
    const only = await transcribeLong(work, longMp3)
    const rss = only.map((t) => t.peak_rss_mb)
    process.stdout.write(
      `2-hour MP3 (${(longBytes / 1e6).toFixed(1)} MB), ${only[0]?.uploads ?? '?'} uploads: peak RSS median ${median(rss)} MB (${rss.join(', ')}), wall median ${median(only.map((t) => t.wall_ms))} ms\n`,
    )
    await rm(work, {recursive: true, force: true})
    process.exit(0)
  }
  const estimate = await dryRun(work, pairsDir)
  log(`dry run: ${estimate.time.seconds} s, $${estimate.cost_usd}`)

  const runs: RunResult[] = []
  for (let i = 1; i <= RUNS; i++) {
    started = performance.now()
    const run = await trainingRun(work, pairsDir, i)
    runs.push(run)
    log(
      `run ${i}: ${(run.wall_ms / 1000).toFixed(1)} s wall (${(run.simulated_seconds / 60).toFixed(1)} simulated min), peak RSS ${run.peak_rss_mb} MB, ${run.api.rate_limited} 429s`,
    )
  }
  const byWall = [...runs].sort((a, b) => a.wall_ms - b.wall_ms)
  const run = byWall[Math.floor((byWall.length - 1) / 2)]!

  const transcriptions = await transcribeLong(work, longMp3)
  const byRss = [...transcriptions].sort((a, b) => a.peak_rss_mb - b.peak_rss_mb)
  const transcription = {
    file_bytes: longBytes,
    duration_seconds: LONG_MP3_SECONDS,
    runs: transcriptions,
    median_wall_ms: median(transcriptions.map((t) => t.wall_ms)),
    median_peak_rss_mb: median(transcriptions.map((t) => t.peak_rss_mb)),
    max_peak_rss_mb: byRss.at(-1)!.peak_rss_mb,
    target_rss_mb: TRANSCRIBE_RSS_TARGET_MB,
    met: median(transcriptions.map((t) => t.peak_rss_mb)) < TRANSCRIBE_RSS_TARGET_MB,
  }

  const measuredSeconds = run.simulated_seconds
  const results = {
    date: new Date().toISOString(),
    machine: {cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version},
    settings: {
      mode: MODE,
      time_scale: K,
      pairs: PAIRS,
      trials: TRIALS,
      concurrency: 'default (4)',
      ms_per_output_token_simulated: MS_PER_OUTPUT_TOKEN,
      rate_limits_simulated: DEFAULT_RATE_LIMITS,
      runs: RUNS,
    },
    corpus,
    dry_run: estimate,
    run,
    runs_wall_ms: runs.map((r) => r.wall_ms),
    runs_peak_rss_mb: runs.map((r) => r.peak_rss_mb),
    estimate_vs_measured: {
      estimated_seconds: estimate.time.seconds,
      measured_simulated_seconds: measuredSeconds,
      ratio: round(measuredSeconds / estimate.time.seconds, 3),
      estimated_cost_usd: estimate.cost_usd,
      measured_cost_usd: run.usage_total.cost_usd,
    },
    rss_target_mb: RSS_TARGET_MB,
    rss_met: Math.max(...runs.map((r) => r.peak_rss_mb)) < RSS_TARGET_MB,
    transcription,
  }
  const resultsFile = MODE === 'clock' ? 'results-real-length.json' : `results-real-length-${MODE}.json`
  await writeFile(path.join(root, 'bench', resultsFile), `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(markdown(results))
} finally {
  if (process.env.STUDIO_BENCH_KEEP) log(`kept ${work}`)
  else await rm(work, {recursive: true, force: true})
}

// -------------------------------------------------------------------- markdown

function markdown(r: {
  machine: {cpus: number; cpu: string; node: string}
  settings: {mode: string; time_scale: number; pairs: number; trials: number}
  corpus: CorpusPair[]
  dry_run: DryRun
  run: RunResult
  runs_wall_ms: number[]
  runs_peak_rss_mb: number[]
  estimate_vs_measured: {estimated_seconds: number; measured_simulated_seconds: number; ratio: number}
  transcription: {
    file_bytes: number
    median_wall_ms: number
    median_peak_rss_mb: number
    max_peak_rss_mb: number
    met: boolean
    runs: TranscribeResult[]
  }
}): string {
  const {run, dry_run: dry} = r
  const usd = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `$${v.toFixed(2)}`)
  const min = (seconds: number) => `${(seconds / 60).toFixed(1)} min`
  const int = (n: number) => n.toLocaleString('en-US')
  const pages = r.corpus.map((p) => p.pages)
  const words = r.corpus.map((p) => p.paperWords)
  const episodeWords = r.corpus.map((p) => p.episodeWords)
  const lines: string[] = []
  lines.push(
    `Machine: ${r.machine.cpu}, ${r.machine.cpus} cores, Node ${r.machine.node}. Mode \`${r.settings.mode}\`, K = ${r.settings.time_scale}; ` +
      `${r.settings.pairs} pairs (papers ${Math.min(...pages)}-${Math.max(...pages)} pages, ${int(Math.min(...words))}-${int(Math.max(...words))} words; ` +
      `episodes 60 min, ${int(Math.min(...episodeWords))}-${int(Math.max(...episodeWords))} words), ${r.settings.trials} trials, --concurrency 4.`,
    '',
    '| measurement | value | target / estimate | met |',
    '| --- | --- | --- | --- |',
    `| wall time of \`studio training run\` | ${(run.wall_ms / 1000).toFixed(1)} s${r.runs_wall_ms.length > 1 ? ` (runs: ${r.runs_wall_ms.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s)` : ''} | | |`,
    `| simulated real time (wall x ${r.settings.time_scale}) | ${min(run.simulated_seconds)} | dry run: ${min(dry.time.seconds)} (${(r.estimate_vs_measured.ratio * 100).toFixed(0)}% of it measured) | |`,
    `| ingest (simulated) | ${min(run.phases.ingest_seconds)} | dry run: ${min(dry.time.ingest.seconds)}, bound by ${dry.time.ingest.bound_by} | |`,
    ...run.phases.trials_seconds.map(
      (s, i) => `| trial ${i} (simulated) | ${min(s)} | dry run: ${min(dry.time.trial.seconds)}, bound by ${dry.time.trial.bound_by} | |`,
    ),
    `| CPU time of the CLI (x K, simulated) | ${(run.cpu_ms / 1000).toFixed(1)} s (${min((run.cpu_ms * r.settings.time_scale) / 1000)}) | | |`,
    `| peak RSS of the CLI | ${Math.max(...r.runs_peak_rss_mb)} MB${r.runs_peak_rss_mb.length > 1 ? ` (runs: ${r.runs_peak_rss_mb.join(', ')} MB)` : ''} | < ${RSS_TARGET_MB} MB | ${Math.max(...r.runs_peak_rss_mb) < RSS_TARGET_MB ? 'yes' : '**NO**'} |`,
    `| cost, whole run | ${usd(run.usage_total.cost_usd)} | dry run: ${usd(dry.cost_usd)} | |`,
    `| cost, ingest (classify + concepts) | ${usd(run.usage_ingest.cost_usd)} | dry run: ${usd(dry.ingest_cost_usd)} | |`,
    ...run.trials.map(
      (t) =>
        `| trial ${t.index}: calls, input / output tokens, cost | ${t.usage.calls} calls, ${int(t.usage.input_tokens)} / ${int(t.usage.output_tokens)} (cache write ${int(t.usage.cache_write_tokens)}, 1 h ${int(t.usage.cache_write_1h_tokens)}, read ${int(t.usage.cache_read_tokens)}), ${usd(t.usage.cost_usd)} | dry run, one trial: ${usd(dry.trial_cost_usd)} | |`,
    ),
    ...run.trials.map(
      (t) =>
        `| trial ${t.index}: per script (all its parts) | ${t.generate_calls} generate calls for ${t.pairs_scored} scripts; output ${int(t.generate_output_tokens.min)}-${int(t.generate_output_tokens.max)} tokens, input charged to the limit (cache reads excepted) ${int(t.generate_input_tokens.min)}-${int(t.generate_input_tokens.max)}; judge input ${int(t.judge_input_tokens.min)}-${int(t.judge_input_tokens.max)} | | |`,
    ),
    `| requests over a whole minute's limit (the fake refuses them every time) | ${run.api.too_large} | 0 | ${run.api.too_large === 0 ? 'yes' : '**NO**'} |`,
    `| 429s from the fake API | ${run.api.rate_limited} of ${run.api.requests} requests | few or none | ${run.api.rate_limited <= 2 ? 'yes' : '**NO**'} |`,
    `| pairs failed / skipped | ${run.failed_pairs.length} / ${run.skipped_pairs} | 0 | ${run.failed_pairs.length + run.skipped_pairs === 0 ? 'yes' : '**NO**'} |`,
    `| 2-hour MP3 (${(r.transcription.file_bytes / 1e6).toFixed(1)} MB) transcribed in ${r.transcription.runs[0]?.uploads ?? '?'} chunks: peak RSS | ${r.transcription.median_peak_rss_mb} MB (median of ${r.transcription.runs.length}; ${r.transcription.runs.map((t) => t.peak_rss_mb).join(', ')}) | < ${TRANSCRIBE_RSS_TARGET_MB} MB | ${r.transcription.met ? 'yes' : '**NO**'} |`,
    `| same: wall time | ${(r.transcription.median_wall_ms / 1000).toFixed(1)} s | | |`,
    '',
    'Tokens and cost per role, the whole run: measured (dry-run estimate).',
    '',
    '| role | calls | input tokens | output tokens | cost |',
    '| --- | --- | --- | --- | --- |',
  )
  for (const estimated of dry.roles) {
    const measured = run.usage_by_role[estimated.role]
    lines.push(
      `| ${estimated.role} | ${measured?.calls ?? 0} (${estimated.calls}) | ${int(measured?.input_tokens ?? 0)} (${int(estimated.input_tokens)}) | ${int(measured?.output_tokens ?? 0)} (${int(estimated.output_tokens)}) | ${usd(measured?.cost_usd)} (${usd(estimated.cost_usd)}) |`,
    )
  }
  lines.push('')
  return `${lines.join('\n')}\n`
}
