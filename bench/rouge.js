#!/usr/bin/env node
// ROUGE benchmark: our rougeScores vs js-rouge on deterministic 10,000-token texts.
// Run after `npm run build`:  node bench/rouge.js
// Prints one JSON object to stdout and a one-line summary to stderr.
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {rougeScores, tokenize} from '../dist/loss/index.js'
import {n as jsRougeN, l as jsRougeL} from 'js-rouge'

const TOKENS = 10_000
const VOCAB = 2_000
const RUNS = 7
const WARMUPS = 2

/** mulberry32: small deterministic PRNG. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** ~2,000 pseudo-English words, many with inflections so stemming has work to do. */
function makeVocabulary(rand) {
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ren',
    'tas',
    'vel',
    'dor',
    'pi',
    'su',
    'gram',
    'ther',
    'con',
    'ple',
    'stra',
    'ny',
    'qua',
    'bel',
    'sim',
    'tor',
    'e',
  ]
  const suffixes = ['', '', '', 's', 'ed', 'ing', 'ation', 'ness', 'ly', 'er', 'ies', 'ful', 'ment', 'ize', 'ive']
  const words = new Set(['the', 'a', 'of', 'and', 'to', 'in', 'is', 'that', 'it', 'we'])
  while (words.size < VOCAB) {
    let w = ''
    const k = 1 + Math.floor(rand() * 3)
    for (let i = 0; i < k; i++) w += syllables[Math.floor(rand() * syllables.length)]
    words.add(w + suffixes[Math.floor(rand() * suffixes.length)])
  }
  return [...words]
}

/** Zipf-like draw: low ranks are much more frequent. */
function drawWord(rand, vocab) {
  return vocab[Math.floor(rand() * rand() * vocab.length)]
}

/** Join words into sentences of ~20 words (15..25), one per line, with some punctuation and capitals. */
function toText(rand, words) {
  let out = ''
  let left = 15 + Math.floor(rand() * 11)
  let first = true
  for (const w of words) {
    out += first ? w[0].toUpperCase() + w.slice(1) : w
    first = false
    if (--left === 0) {
      out += '.\n'
      left = 15 + Math.floor(rand() * 11)
      first = true
    } else out += rand() < 0.05 ? ', ' : ' '
  }
  return out.trimEnd()
}

function makeTexts(tokens, seed) {
  const rand = prng(seed)
  const vocab = makeVocabulary(rand)
  const target = Array.from({length: tokens}, () => drawWord(rand, vocab))
  // prediction: the target with ~30% of words replaced, ~5% dropped and ~5% inserted
  const prediction = []
  for (const w of target) {
    const r = rand()
    if (r < 0.05) continue
    prediction.push(r < 0.35 ? drawWord(rand, vocab) : w)
    if (rand() < 0.05) prediction.push(drawWord(rand, vocab))
  }
  while (prediction.length < tokens) prediction.push(drawWord(rand, vocab))
  prediction.length = tokens
  return {target: toText(rand, target), prediction: toText(rand, prediction)}
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function time(fn, runs = RUNS, warmups = WARMUPS) {
  for (let i = 0; i < warmups; i++) fn()
  const ms = []
  let result
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    result = fn()
    ms.push(performance.now() - start)
  }
  return {ms: Number(median(ms).toFixed(2)), result}
}

const round = (x) => Number(x.toPrecision(6))

/** Child mode: memory of one rougeScores call on `tokens`-token texts, in a fresh process. */
function measureMemory(tokens) {
  const {target, prediction} = makeTexts(tokens, 42)
  const warm = makeTexts(2_000, 7)
  for (let i = 0; i < 3; i++) rougeScores(warm.target, warm.prediction, {stem: true}) // compile first
  globalThis.gc?.()
  const before = process.memoryUsage()
  const rssBefore = process.resourceUsage().maxRSS
  rougeScores(target, prediction, {stem: true})
  const after = process.memoryUsage()
  const rssAfter = process.resourceUsage().maxRSS
  const mib = (b) => Number((b / 1048576).toFixed(2))
  return {
    tokens,
    // heap + ArrayBuffers allocated by the call (no GC in between): an upper bound on its live peak
    alloc_mib: mib(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers),
    // growth of the process's peak resident set size
    peak_rss_delta_mib: mib((rssAfter - rssBefore) * 1024),
  }
}

if (process.argv[2] === '--memory') {
  process.stdout.write(JSON.stringify(measureMemory(Number(process.argv[3]))))
  process.exit(0)
}

function memoryInChild(tokens) {
  // A large young generation keeps the garbage collector out of the measured call.
  const flags = ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128']
  const child = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--memory', String(tokens)], {
    encoding: 'utf8',
  })
  if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`)
  return JSON.parse(child.stdout)
}

const {target, prediction} = makeTexts(TOKENS, 42)
const ours = time(() => rougeScores(target, prediction, {stem: false}))
const oursStem = time(() => rougeScores(target, prediction, {stem: true}))

// js-rouge takes (candidate, reference). Giving it our tokenizer and our line
// segmentation makes it compute the same quantities, so F-measures can be compared.
const tok = (s) => tokenize(s)
const lines = (s) => s.split('\n').filter((x) => x.length > 0)
const whole = (s) => [s]
// js-rouge is far slower on 10,000-token texts (seconds per metric), so each
// metric is timed once after a warm-up on a short text.
const warmTarget = target.slice(0, 2000)
const warmPrediction = prediction.slice(0, 2000)
const jsMetrics = {
  rouge1: (c, r) => jsRougeN(c, r, {n: 1, tokenizer: tok}),
  rouge2: (c, r) => jsRougeN(c, r, {n: 2, tokenizer: tok}),
  rougeL: (c, r) => jsRougeL(c, r, {tokenizer: tok, segmenter: whole}),
  rougeLsum: (c, r) => jsRougeL(c, r, {tokenizer: tok, segmenter: lines}),
}
const js = {ms: 0, result: {}, ms_by_metric: {}}
for (const [key, fn] of Object.entries(jsMetrics)) {
  fn(warmPrediction, warmTarget)
  const start = performance.now()
  js.result[key] = fn(prediction, target)
  const ms = performance.now() - start
  js.ms_by_metric[key] = Number(ms.toFixed(2))
  js.ms += ms
}
js.ms = Number(js.ms.toFixed(2))

const diffs = {}
for (const key of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']) {
  diffs[key] = Math.abs(js.result[key] - ours.result[key].fmeasure)
}
const maxDiff = Math.max(...Object.values(diffs))

// js-rouge with its own defaults (Penn Treebank tokens, case-sensitive unless told, heuristic sentences).
const defaults = {}
for (const [key, fn] of [
  ['rouge1', () => jsRougeN(prediction, target, {n: 1, caseSensitive: false})],
  ['rouge2', () => jsRougeN(prediction, target, {n: 2, caseSensitive: false})],
  ['rougeLsum', () => jsRougeL(prediction, target, {caseSensitive: false})],
]) {
  try {
    const start = performance.now()
    const f = fn()
    defaults[key] = {
      fmeasure: round(f),
      diff_vs_ours: round(Math.abs(f - ours.result[key].fmeasure)),
      ms: Number((performance.now() - start).toFixed(2)),
    }
  } catch (err) {
    defaults[key] = {error: `${err.name}: ${err.message}`}
  }
}

const memory = [memoryInChild(TOKENS), memoryInChild(2 * TOKENS), memoryInChild(4 * TOKENS)]

const result = {
  tokens: TOKENS,
  vocabulary: VOCAB,
  runs: `ours: median of ${RUNS} after ${WARMUPS} warm-ups; js-rouge: one run per metric after a warm-up`,
  ours_ms: ours.ms,
  ours_stem_ms: oursStem.ms,
  js_rouge_ms: js.ms,
  js_rouge_ms_by_metric: js.ms_by_metric,
  ours_fmeasure: Object.fromEntries(Object.entries(ours.result).map(([k, v]) => [k, round(v.fmeasure)])),
  ours_stem_fmeasure: Object.fromEntries(Object.entries(oursStem.result).map(([k, v]) => [k, round(v.fmeasure)])),
  agree: maxDiff <= 1e-9,
  max_abs_diff_fmeasure: maxDiff,
  abs_diff_by_metric: diffs,
  comparison_note:
    'js-rouge was given our tokenizer, and our "\\n" sentence split (rougeLsum) or the whole text as one sentence (rougeL); ' +
    'js-rouge has no stemming, so only stem:false is compared. js-rouge clips summary-level hits by candidate counts only; ' +
    'rouge-score also clips by reference counts, which cannot bind because each reference position is counted at most once.',
  js_rouge_defaults: defaults,
  js_rouge_defaults_note:
    'With its defaults js-rouge uses Penn Treebank tokens (punctuation kept as tokens) and heuristic sentence splitting, ' +
    'so its scores differ from rouge-score by design; its rougeL/rougeLsum refuses more than 100,000 sentence pairs with the built-in splitter.',
  memory,
  memory_ratio_20k_vs_10k: Number((memory[1].alloc_mib / memory[0].alloc_mib).toFixed(2)),
  memory_ratio_40k_vs_20k: Number((memory[2].alloc_mib / memory[1].alloc_mib).toFixed(2)),
  memory_note:
    'alloc_mib = heap + ArrayBuffer growth over one stem:true call in a fresh process (after JIT warm-up, no GC during the call); ' +
    'linear growth means ratios near 2 (a quadratic LCS table would give 4 and ~400 MB at 10k tokens).',
}

process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
process.stderr.write(
  `rouge ${TOKENS} tokens: ours ${ours.ms} ms (stem ${oursStem.ms} ms) vs js-rouge ${js.ms} ms; ` +
    `F-measures ${result.agree ? 'agree' : 'DISAGREE'} (max |diff| ${maxDiff.toExponential(2)}); ` +
    `alloc ${memory[0].alloc_mib} / ${memory[1].alloc_mib} / ${memory[2].alloc_mib} MiB at 10k / 20k / 40k tokens\n`,
)
