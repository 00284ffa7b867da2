/**
 * Real mode end to end: the built CLI with the official SDKs, pointed at a local
 * fake of the OpenAI and Anthropic APIs (no network, no real keys).
 */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Transcript} from '../../src/core/schemas/common.js'
import {PairAnalysis, RunManifest, TrainingReport, TrialResults} from '../../src/core/schemas/files.js'
import type {CacheStats} from '../../src/providers/cache.js'
import type {RunEstimate} from '../../src/training/estimate.js'
import {runCli} from '../helpers/cli.js'
import {FAKE_KEYS, startFakeApi, type FakeApi} from '../helpers/fake-api.js'
import {cliError, readJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
let api: FakeApi
let baseline: TrainingReport

function env(server: FakeApi, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    OPENAI_API_KEY: FAKE_KEYS.openai,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    OPENAI_BASE_URL: server.openaiBaseURL,
    ANTHROPIC_BASE_URL: server.anthropicBaseURL,
    STUDIO_CACHE_DIR: path.join(root, 'cache'),
    STUDIO_CONFIG_DIR: path.join(root, 'config'),
    ...extra,
  }
}

/** Timestamps, run ids and folder names differ between runs; nothing else may. */
function comparable(report: TrainingReport): unknown {
  return JSON.parse(
    JSON.stringify(report, (key, v: unknown) => (['started_at', 'finished_at', 'dir', 'run_id'].includes(key) ? '<varies>' : v)),
  )
}

async function run(args: string[], server: FakeApi = api, extra: NodeJS.ProcessEnv = {}) {
  const defaults = args.includes('--max-trials') ? [] : ['--max-trials', '2', '--window', '2']
  const result = await runCli(['training', 'run', ...defaults, '--json', ...args], {env: env(server, extra)})
  return {...result, report: result.code === 0 || result.code === 5 ? TrainingReport.parse(JSON.parse(result.stdout)) : null}
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, {recursive: true, withFileTypes: true})).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-real-')
  api = await startFakeApi()
  const first = await run(['--no-cache', '--output-dir', path.join(root, 'baseline')])
  expect(first.code, first.stderr).toBe(0)
  baseline = first.report!
})
afterAll(async () => {
  await api?.close()
  await removeDir(root)
})

describe('studio training run with real providers (against a local fake API)', () => {
  it('writes the same kinds of outputs as a mock run, with usage and cost per role', async () => {
    const runDir = path.join(root, 'baseline', baseline.run_id)
    expect(baseline.trials).toHaveLength(2)
    expect(Object.keys(baseline.usage.by_role).sort()).toEqual(['classify', 'concepts', 'generate', 'judge', 'transcribe'])
    // One pair has no sidecar: one Whisper upload of its episode, billed by the minute.
    expect(baseline.usage.by_role.transcribe).toMatchObject({calls: 1})
    expect(baseline.usage.by_role.transcribe!.audio_seconds).toBeGreaterThan(60)
    expect(baseline.usage.by_role.generate).toMatchObject({calls: 6})
    expect(baseline.usage.total.cost_usd).toBeGreaterThan(0)
    const transcript = await readJson(path.join(runDir, 'pairs', 'soil-microbiome-drought', 'transcript.json'), Transcript)
    expect(transcript.source).toBe('whisper')
    expect(transcript.segments.length).toBeGreaterThan(5)
    const manifest = await readJson(path.join(runDir, 'run.json'), RunManifest)
    expect(manifest.config.mock).toBe(false)
    expect(manifest.config.providers?.generate).toEqual({provider: 'anthropic', model: 'claude-sonnet-4-6'})
    expect(manifest.providers.language_model).toBe('anthropic:claude-sonnet-4-6')
    for (const trial of baseline.trials) {
      const results = TrialResults.parse(JSON.parse(await readFile(path.join(runDir, trial.dir, 'results.json'), 'utf8')))
      expect(results.pairs).toHaveLength(3)
      expect(results.failed).toEqual([])
    }
    expect(await readFile(path.join(runDir, 'calibrated_prompt.md'), 'utf8')).toContain('{{paper_text}}')
  })

  it('never writes a key into any file of the run, and never prints one', async () => {
    const runDir = path.join(root, 'baseline', baseline.run_id)
    for (const file of await filesUnder(runDir)) {
      const text = await readFile(file, 'latin1')
      expect(text.includes(FAKE_KEYS.openai) || text.includes(FAKE_KEYS.anthropic), file).toBe(false)
    }
    const failed = await run(['--output-dir', path.join(root, 'bad-key')], api, {ANTHROPIC_API_KEY: 'sk-test-ant-wrong-0000000000'})
    // Every pair failed on the provider, not on its files: exit 4, with the reason.
    expect(failed.code).toBe(4)
    const error = cliError(failed.stdout)
    expect(error.message).toMatch(/^No usable pair: all 3 pair\(s\) failed to ingest/)
    expect(error.message).toContain('API key was rejected')
    expect(failed.stderr + failed.stdout).not.toContain('sk-test-ant-wrong-0000000000')
  })

  it('recovers from rate limits, overload, dropped connections and cut-off answers with the same report', async () => {
    api.reset()
    api.failNext({kind: 'status', status: 429, retryAfterSeconds: 0}, {path: '/v1/messages', count: 2})
    api.failNext({kind: 'status', status: 529}, {path: '/v1/messages'})
    api.failNext({kind: 'drop'}, {path: '/v1/messages'})
    api.failNext({kind: 'truncate'}, {path: '/v1/audio/transcriptions'})
    api.failNext({kind: 'status', status: 500}, {path: '/v1/audio/transcriptions'})
    const faulty = await run(['--no-cache', '--output-dir', path.join(root, 'faults')])
    expect(faulty.code, faulty.stderr).toBe(0)
    expect(comparable(faulty.report!)).toEqual(comparable(baseline))
    expect(api.requests.length).toBeGreaterThan(6 + 6)
  })

  it('pays once: a second run gets transcription and identical calls from the cache', async () => {
    const cacheDir = path.join(root, 'cache-run')
    const first = await run(['--cache-dir', cacheDir, '--output-dir', path.join(root, 'cached')])
    expect(first.code, first.stderr).toBe(0)
    api.reset()
    const second = await run(['--cache-dir', cacheDir, '--output-dir', path.join(root, 'cached')])
    expect(second.code, second.stderr).toBe(0)
    expect(api.requests.filter((r) => r.path.endsWith('/audio/transcriptions'))).toEqual([])
    expect(api.requests).toEqual([])
    expect(second.report!.usage.total.calls).toBe(0)
    expect(comparable({...second.report!, usage: first.report!.usage})).toEqual(comparable(first.report!))
    const stats = await runCli(['cache', 'stats', '--cache-dir', cacheDir, '--json'])
    expect((JSON.parse(stats.stdout) as CacheStats).entries).toBeGreaterThan(10)
  })

  it('never has more pairs in flight than --concurrency (a pair sends its two analysis calls together)', async () => {
    const slow = await startFakeApi({latencyMs: 100})
    try {
      const result = await run(['--no-cache', '--concurrency', '2', '--output-dir', path.join(root, 'concurrency')], slow)
      expect(result.code, result.stderr).toBe(0)
      expect(slow.maxConcurrent).toBeLessThanOrEqual(2 * 2)
      expect(slow.maxConcurrent).toBeGreaterThanOrEqual(2)
      // In the trials a pair's calls follow each other (generate, then judge): at most one per pair.
      const trialCalls = slow.requests.filter((r) =>
        /"segments"|"engagement"/.test(JSON.stringify((r.body as {output_config?: unknown}).output_config ?? '')),
      )
      expect(trialCalls.length).toBe(2 * 3 * 2)
      expect(
        maxOverlap(
          trialCalls.map((r) => r.time),
          100,
        ),
      ).toBeLessThanOrEqual(2)
    } finally {
      await slow.close()
    }
  })

  it('records a pair the model keeps failing on, goes on with the others, and exits 5', async () => {
    // A model that never answers one paper's script correctly, even after the corrective retry.
    const flaky = await startFakeApi({
      answer: (q) => (q.kind === 'generate' && q.user.includes('Drought') ? {segments: 'not a script'} : undefined),
    })
    try {
      const result = await run(['--no-cache', '--output-dir', path.join(root, 'failing')], flaky)
      expect(result.code, result.stderr).toBe(5)
      const report = result.report!
      expect(report.failed_pairs.map((f) => [f.trial, f.pair_id])).toEqual([
        [0, 'soil-microbiome-drought'],
        [1, 'soil-microbiome-drought'],
      ])
      expect(report.failed_pairs[0]!.reason).toMatch(/did not match its schema/)
      expect(report.trials[0]!.pairs.map((p) => p.pair_id)).toEqual(['aerial-vehicle-positioning-full', 'sparse-attention-long-documents'])
      // Both rejected answers were paid for: they count in the failed pair's usage and the run's.
      const results = TrialResults.parse(
        JSON.parse(await readFile(path.join(root, 'failing', report.run_id, report.trials[0]!.dir, 'results.json'), 'utf8')),
      )
      const failedUsage = results.failed[0]!.usage.by_role.generate!
      expect(failedUsage.calls).toBe(2)
      expect(failedUsage.input_tokens).toBeGreaterThan(1000)
      expect(failedUsage.cost_usd).toBeGreaterThan(0)
      // Per trial: one call for each of the two good pairs, two for the failing one.
      expect(report.usage.by_role.generate!.calls).toBe(2 * 4)
    } finally {
      await flaky.close()
    }
  })

  it('counts what a pair skipped in its analysis had cost: its transcription and rejected answers', async () => {
    // Key concepts of one paper never match their schema: the pair is skipped after paid calls.
    const flaky = await startFakeApi({
      answer: (q) => (q.kind === 'concepts' && q.user.includes('Drought') ? {concepts: 'none'} : undefined),
    })
    try {
      const result = await run(['--no-cache', '--max-trials', '1', '--output-dir', path.join(root, 'skipped')], flaky)
      expect(result.code, result.stderr).toBe(5)
      const report = result.report!
      expect(report.pairs).toEqual(['aerial-vehicle-positioning-full', 'sparse-attention-long-documents'])
      const [skipped] = report.skipped_pairs
      expect(skipped!.id).toBe('soil-microbiome-drought')
      expect(skipped!.reason).toMatch(/the concepts answer did not match its schema twice/)
      // The only pair without a sidecar: its transcription, the two concepts answers, its labels.
      expect(skipped!.usage!.by_role.transcribe!.audio_seconds).toBeGreaterThan(100)
      expect(skipped!.usage!.by_role.concepts!.calls).toBe(2)
      expect(skipped!.usage!.by_role.classify!.calls).toBe(1)
      expect(report.usage.by_role.concepts!.calls).toBe(2 + 2)
      expect(report.usage.by_role.transcribe!.calls).toBe(1)
      const manifest = await readJson(path.join(root, 'skipped', report.run_id, 'run.json'), RunManifest)
      expect(manifest.skipped[0]!.usage).toEqual(skipped!.usage)
    } finally {
      await flaky.close()
    }
  })

  it('--tts voices every script with OpenAI TTS and scores the duration on the measured audio', async () => {
    api.reset()
    const result = await run(['--no-cache', '--tts', '--max-trials', '1', '--output-dir', path.join(root, 'tts')])
    expect(result.code, result.stderr).toBe(0)
    const report = result.report!
    expect(report.usage.by_role.speech!.calls).toBeGreaterThanOrEqual(3)
    expect(report.usage.by_role.speech!.characters).toBeGreaterThan(1000)
    const runDir = path.join(root, 'tts', report.run_id)
    const results = TrialResults.parse(JSON.parse(await readFile(path.join(runDir, report.trials[0]!.dir, 'results.json'), 'utf8')))
    for (const pair of results.pairs) {
      expect(pair.details.duration_source).toBe('audio')
      const audio = await readFile(path.join(runDir, report.trials[0]!.dir, pair.details.audio_file!))
      expect(audio.length).toBeGreaterThan(10_000)
      // The fake speaks at 150 words a minute; the loss saw the audio's length, not the words'.
      expect(pair.details.generated_seconds).toBeGreaterThan((pair.details.generated_words / 150) * 60 * 0.9)
    }
    const voices = new Set(api.requests.filter((r) => r.path.endsWith('/audio/speech')).map((r) => (r.body as {voice: string}).voice))
    expect(voices.size).toBeGreaterThanOrEqual(2)
  })

  it('asks a role configured with structured_output "tool" through a forced answer tool, and records it in run.json', async () => {
    const config = path.join(root, 'tool.config.json')
    await writeFile(
      config,
      JSON.stringify({roles: {judge: {provider: 'anthropic', model: 'claude-sonnet-4-6', structured_output: 'tool'}}}),
    )
    api.reset()
    const result = await run(['--no-cache', '--max-trials', '1', '--config', config, '--output-dir', path.join(root, 'tool')])
    expect(result.code, result.stderr).toBe(0)
    const messages = api.requests
      .filter((r) => r.path.endsWith('/messages'))
      .map((r) => r.body as {tool_choice?: {type: string; name: string}; output_config?: unknown})
    const forced = messages.filter((body) => body.tool_choice)
    // The three judge calls of trial 0; every other role kept output_config.format.
    expect(forced).toHaveLength(3)
    for (const body of forced) expect(body.tool_choice).toEqual({type: 'tool', name: 'answer'})
    expect(messages.filter((body) => body.output_config)).toHaveLength(messages.length - 3)
    const manifest = await readJson(path.join(root, 'tool', result.report!.run_id, 'run.json'), RunManifest)
    expect(manifest.config.providers?.judge).toEqual({provider: 'anthropic', model: 'claude-sonnet-4-6', structured_output: 'tool'})

    await writeFile(config, JSON.stringify({roles: {judge: {provider: 'openai', model: 'gpt-4o-mini', structured_output: 'tool'}}}))
    const invalid = await run(['--config', config, '--output-dir', path.join(root, 'tool')])
    expect(invalid.code).toBe(2)
    expect(cliError(invalid.stdout).message).toMatch(/is not valid:[\s\S]*structured_output applies to anthropic roles only/)
  })

  it('--dry-run prints the calls and cost it would make, and makes none', async () => {
    api.reset()
    const result = await runCli(['training', 'run', '--max-trials', '3', '--dry-run', '--json', '--output-dir', path.join(root, 'dry')], {
      env: env(api),
    })
    expect(result.code, result.stderr).toBe(0)
    const plan = JSON.parse(result.stdout) as RunEstimate & {dry_run: boolean}
    expect(plan.dry_run).toBe(true)
    const calls = Object.fromEntries(plan.roles.map((r) => [r.role, r.calls]))
    expect(calls).toEqual({transcribe: 1, classify: 3, concepts: 3, generate: 9, judge: 9})
    expect(plan.cost_usd).toBeGreaterThan(0)
    expect(api.requests).toEqual([])
    await expect(readdir(path.join(root, 'dry'))).rejects.toThrow(/ENOENT/)
    // It makes no call, so it needs no key.
    const keyless = await runCli(['training', 'run', '--dry-run', '--output-dir', path.join(root, 'dry')], {
      env: env(api, {OPENAI_API_KEY: '', ANTHROPIC_API_KEY: ''}),
    })
    expect(keyless.code, keyless.stderr).toBe(0)
    expect(keyless.stdout).toMatch(/^Dry run: 3 pair\(s\), at most 5 trial\(s\); no call made, nothing written\./)
    expect(keyless.stdout).toMatch(/At most \d+ calls, about \$\d+\.\d{2}/)
  })

  it('--max-cost refuses a budget too small for one trial, and stops cleanly (budget) before exceeding one', async () => {
    const tiny = await run(['--no-cache', '--max-cost', '0.0001', '--output-dir', path.join(root, 'budget')])
    expect(tiny.code).toBe(2)
    expect(cliError(tiny.stdout).message).toMatch(
      /^--max-cost \$0\.0001 does not cover transcription, analysis and one trial: about \$\d+\.\d{2,4} estimated$/,
    )
    // Enough for the analysis and trial 0 but not for another trial like it (the up-front estimate,
    // every call at full price with a script of 2 tokens a word, must fit too).
    const analysis = await analysisCost()
    const perTrial = (baseline.usage.total.cost_usd! - analysis) / 2
    const budget = analysis + perTrial * 1.9
    // A fresh server: its prompt cache is cold, as it was for the baseline, so the costs compare.
    const fresh = await startFakeApi()
    const stopped = await run(
      ['--no-cache', '--max-trials', '3', '--window', '3', '--max-cost', budget.toFixed(6), '--output-dir', path.join(root, 'budget')],
      fresh,
    ).finally(() => fresh.close())
    expect(stopped.code, `budget ${budget}, analysis ${analysis}, trial ${perTrial}: ${stopped.stdout.replace(/\n/g, ' ')}`).toBe(0)
    expect(
      stopped.report!.stop_reason,
      JSON.stringify({budget, analysis, perTrial, usage: stopped.report!.usage.total, trials: stopped.report!.trials.length}),
    ).toBe('budget')
    expect(stopped.report!.trials.length).toBeLessThan(3)
    expect(stopped.report!.usage.total.cost_usd!).toBeLessThanOrEqual(budget)
  })
})

/** Most requests started within one latency window of each other: an upper bound of those in flight together. */
function maxOverlap(starts: number[], latencyMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b)
  let best = 0
  for (let i = 0; i < sorted.length; i++) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1]! - sorted[i]! < latencyMs * 0.9) j++
    best = Math.max(best, j - i + 1)
  }
  return best
}

/** What the baseline's transcription and analysis cost (its pairs' analysis.json usage). */
async function analysisCost(): Promise<number> {
  const runDir = path.join(root, 'baseline', baseline.run_id)
  let sum = 0
  for (const id of baseline.pairs)
    sum += (await readJson(path.join(runDir, 'pairs', id, 'analysis.json'), PairAnalysis)).usage.total.cost_usd!
  return sum
}
