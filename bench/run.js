#!/usr/bin/env node
/**
 * `npm run bench`: the speed targets of studio, measured on this machine.
 *   - cold start: `studio --help` against bare `node -e 0` (target: at most 2.5x);
 *   - a mock training run on the bundled pairs, 3 trials (target: under 3 s wall time);
 *   - ROUGE on 10,000 vs 10,000 tokens (target: under 150 ms), via bench/rouge.js;
 *   - ROUGE on an hour-long transcript/script pair, before and after issue 18 part 3
 *     (target: under 50 ms), and the main thread's busy time while the worker pool scores
 *     such pairs, via bench/rouge-hour.ts;
 *   - list-pairs on 200 generated pairs of 6-page papers (targets: under 2 s cold, under 0.4 s
 *     with the paper cache warm), via bench/list-pairs.js;
 *   - real-mode scheduling against the fake API with 300 ms latency, 12 pairs, 2 trials
 *     (targets: 1.3x the critical path at --concurrency 12, 1.3x three waves at 4), via
 *     bench/concurrency.ts;
 *   - real length: 10 pairs of 20-30 page papers and hour-long episodes through the fake API
 *     at a model's speed and tier-1 rate limits, time compressed (targets: peak RSS under
 *     500 MB; a 2-hour, 100 MB MP3 transcribed under 300 MB), via bench/real-length.ts,
 *     which prints its own Markdown section (after the table) and writes
 *     bench/results-real-length.json.
 * Prints a Markdown table for BENCHMARKS.md on stdout and the raw numbers as JSON
 * to bench/results.json.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = path.join(root, 'bin', 'run.js')
const env = {...process.env, CI: '1', NO_COLOR: '1'}

function timeMs(args) {
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {cwd: root, env, stdio: ['ignore', 'ignore', 'pipe']})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return elapsed
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function repeat(n, fn) {
  fn() // warm the file system cache; not counted
  return Array.from({length: n}, fn)
}

const results = {
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  },
}

// Interleaved, so that a busy moment on the machine hits both sides alike.
const bare = []
const helps = []
timeMs([bin, '--help']) // warm the file system cache; not counted
for (let i = 0; i < 21; i++) {
  bare.push(timeMs(['-e', '0']))
  helps.push(timeMs([bin, '--help']))
}
const nodeBare = median(bare)
const help = median(helps)
results.cold_start = {node_ms: nodeBare, studio_help_ms: help, ratio: help / nodeBare, target_ratio: 2.5}

const out = mkdtempSync(path.join(os.tmpdir(), 'studio-bench-'))
try {
  const runs = repeat(5, () => timeMs([bin, 'training', 'run', '--mock', '--max-trials', '3', '--output-dir', out]))
  results.mock_run = {median_ms: median(runs), max_ms: Math.max(...runs), target_ms: 3000}
} finally {
  rmSync(out, {recursive: true, force: true})
}

results.rouge = JSON.parse(
  execFileSync(process.execPath, [path.join(root, 'bench', 'rouge.js')], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
)

results.rouge_hour = JSON.parse(
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'rouge-hour.ts')], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
)

results.list_pairs = JSON.parse(
  execFileSync(process.execPath, [path.join(root, 'bench', 'list-pairs.js'), '--runs', '3'], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
)

results.concurrency = JSON.parse(
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'concurrency.ts')], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
)

// Its Markdown goes after the table below; its raw numbers to bench/results-real-length.json.
const realLength = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'real-length.ts')], {
  cwd: root,
  env,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
})
results.real_length = JSON.parse(readFileSync(path.join(root, 'bench', 'results-real-length.json'), 'utf8'))

writeFileSync(path.join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`)

const ok = (pass) => (pass ? 'yes' : '**NO**')
const f = (ms) => `${ms.toFixed(0)} ms`
const rows = [
  ['`node -e 0` (baseline)', f(nodeBare), '', ''],
  ['`studio --help` cold start', f(help), `<= 2.5x baseline (${(help / nodeBare).toFixed(2)}x)`, ok(help / nodeBare <= 2.5)],
  [
    '`studio training run --mock --max-trials 3` (3 bundled pairs)',
    f(results.mock_run.median_ms),
    '< 3000 ms',
    ok(results.mock_run.median_ms < 3000),
  ],
]
rows.push(
  [
    `\`studio training list-pairs --json\` on ${results.list_pairs.pairs} generated pairs (6-page papers), cold`,
    f(results.list_pairs.cold.median_ms),
    '< 2000 ms',
    ok(results.list_pairs.cold.median_ms < 2000),
  ],
  [
    'same, paper cache warm',
    f(results.list_pairs.warm.median_ms),
    '< 400 ms',
    ok(results.list_pairs.warm.median_ms < 400 && results.list_pairs.warm_equals_cold),
  ],
)
const c = results.concurrency
rows.push(
  [
    `real-mode run, ${c.pairs} pairs x ${c.trials} trials, 300 ms per call, --concurrency 12`,
    f(c.concurrency_12.wall_ms),
    `<= 1.3x critical path ${c.critical_path_ms} ms (${c.concurrency_12.ratio}x)`,
    ok(c.concurrency_12.met),
  ],
  [
    `same, --concurrency 4`,
    f(c.concurrency_4.wall_ms),
    `<= 1.3x three waves ${c.ideal_3_waves_ms} ms (${c.concurrency_4.ratio}x)`,
    ok(c.concurrency_4.met),
  ],
  ['calls per pair per trial', String(c.calls_per_pair_per_trial), 'small', 'generate + judge'],
)
const rouge = results.rouge
rows.push(
  ['ROUGE-1/2/L/Lsum, 10,000 vs 10,000 tokens', f(rouge.ours_ms), '< 150 ms', ok(rouge.ours_ms < 150)],
  ['same, with Porter stemming', f(rouge.ours_stem_ms), '< 150 ms', ok(rouge.ours_stem_ms < 150)],
  [
    'js-rouge on the same texts (n=1, n=2, l, s)',
    f(rouge.js_rouge_ms),
    'comparison',
    `F agrees: ${rouge.agree ? 'yes' : 'no'} (max diff ${rouge.max_abs_diff_fmeasure})`,
  ],
  [
    'ROUGE allocation at 10k / 20k / 40k tokens',
    rouge.memory.map((m) => `${m.alloc_mib} MiB`).join(' / '),
    'linear',
    ok(rouge.memory_ratio_20k_vs_10k < 3 && rouge.memory_ratio_40k_vs_20k < 3),
  ],
)
const hour = results.rouge_hour
const spread = (x) => `${f(x.median)} (${x.min.toFixed(0)}-${x.max.toFixed(0)})`
rows.push(
  [
    'ROUGE, hour-long pair (10,000 tokens, few hundred lines a side, stemmed), before issue 18',
    `${spread(hour.before_ms.wall)}; CPU ${spread(hour.before_ms.cpu)}`,
    'comparison',
    '',
  ],
  [
    'same, now',
    `${spread(hour.after_ms.wall)}; CPU ${spread(hour.after_ms.cpu)}`,
    '< 50 ms',
    `${ok(hour.after_ms.wall.median < 50)} (same scores: ${hour.same_scores ? 'yes' : '**NO**'})`,
  ],
  [
    `main thread busy while ${hour.main_thread.jobs} such pairs are scored, on the thread / via the pool`,
    `${f(hour.main_thread.in_thread.busy_ms)} / ${f(hour.main_thread.off_thread.busy_ms)}`,
    'off the main thread',
    `longest stall ${f(hour.main_thread.in_thread.longest_stall_ms)} / ${f(hour.main_thread.off_thread.longest_stall_ms)}`,
  ],
)
console.log(`Machine: ${results.machine.cpu}, ${results.machine.cpus} cores, Node ${results.machine.node}, ${results.machine.platform}\n`)
console.log('| measurement | median | target | met |')
console.log('|---|---|---|---|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
console.log(`\n### Real length\n\n${realLength}`)
