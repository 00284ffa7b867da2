/**
 * `training run --batch` end to end: the built CLI with the official SDKs against the
 * fake's batch APIs (Anthropic Message Batches; OpenAI's Batch API is exercised in
 * test/unit/fake-batch.test.ts and providers' unit tests), including a kill -9 while
 * a batch is pending and a `--resume` that re-attaches to it.
 */
import {spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BatchesFile, TrainingReport} from '../../src/core/schemas/files.js'
import {costUsd} from '../../src/providers/prices.js'
import {BIN, cliEnv, REPO_ROOT, runCli} from '../helpers/cli.js'
import {FAKE_KEYS, startFakeApi, type FakeApi} from '../helpers/fake-api.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
let api: FakeApi
let config = ''
/** The first --batch run: the one the interrupted and faulty runs must agree with. */
let baseline: TrainingReport

function env(): NodeJS.ProcessEnv {
  return {
    OPENAI_API_KEY: FAKE_KEYS.openai,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    OPENAI_BASE_URL: api.openaiBaseURL,
    ANTHROPIC_BASE_URL: api.anthropicBaseURL,
    STUDIO_CACHE_DIR: path.join(root, 'cache'),
    STUDIO_CONFIG_DIR: path.join(root, 'config'),
  }
}

const ARGS = ['--window', '2', '--json', '--config']

/** What `training run --dry-run --json` prints, in the parts these tests read. */
interface DryRun {
  roles: Array<{role: string; cost_usd: number; batch_cost_usd: number}>
  cost_usd: number
  ingest_cost_usd: number
  trial_cost_usd: number
  batch: {
    requested: boolean
    cost_usd: number
    ingest_cost_usd: number
    trial_cost_usd: number
    time: {
      rounds: {ingest: number; per_trial: number; per_refinement: number; total: number}
      likely_seconds: number
      worst_seconds: number
    }
  }
}

async function run(args: string[], trials = 2) {
  const result = await runCli(['training', 'run', '--max-trials', String(trials), ...ARGS, config, ...args], {env: env()})
  return {...result, report: result.code === 0 ? TrainingReport.parse(JSON.parse(result.stdout)) : null}
}

/** What a batch run must share with a synchronous one: every trial's losses, pairs and prompt. */
function outcome(report: TrainingReport): unknown {
  return report.trials.map((t) => ({mean: t.mean_losses, pairs: t.pairs, prompt: t.prompt_sha256}))
}

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-batch-')
  api = await startFakeApi()
  config = path.join(root, 'studio.config.json')
  await writeFile(config, JSON.stringify({batch: {poll_seconds: 0.02, max_poll_seconds: 0.1}}))
})
afterAll(async () => {
  await api?.close()
  await removeDir(root)
})

describe('studio training run --batch', () => {
  it('sends every model call through batches, billed at half the price', async () => {
    api.reset()
    api.setBatchDelay(30)
    const result = await run(['--batch', '--no-cache', '--output-dir', path.join(root, 'batch')])
    expect(result.code, result.stderr).toBe(0)
    const report = result.report!
    baseline = report
    expect(report.trials).toHaveLength(2)
    for (const trial of report.trials) expect(trial.pairs).toHaveLength(3)
    // No model call went to the synchronous endpoint; transcription did (it has no batch API).
    expect(api.stats.byPath['/v1/messages']).toBeUndefined()
    expect(api.stats.byPath['/v1/audio/transcriptions']?.requests).toBe(1)
    // Ingest (concepts, then classify), then per trial generate and judge: one batch each at least.
    expect(api.batches.length).toBeGreaterThanOrEqual(4)
    expect(api.batches.every((b) => b.api === 'anthropic' && b.status === 'ended')).toBe(true)
    for (const role of ['classify', 'concepts', 'generate', 'judge'] as const) {
      const {cost_usd: cost, calls: _calls, ...tokens} = report.usage.by_role[role]!
      expect(cost!).toBeCloseTo(costUsd('anthropic:claude-sonnet-4-6', tokens)! / 2, 9)
    }
    const ingest = BatchesFile.parse(JSON.parse(await readFile(path.join(root, 'batch', report.run_id, 'batches', 'ingest.json'), 'utf8')))
    expect(ingest.batches.every((b) => b.ended_at !== null)).toBe(true)
    expect(Object.values(ingest.batches[0]!.requests)[0]!.unit).toMatch(/^[a-z-]+$/)
    expect(result.stderr).toMatch(/Batch msgbatch_\w+ \(ingest, anthropic:claude-sonnet-4-6\): \d+\/\d+ done/)
  })

  it('sends an OpenAI role through the OpenAI Batch API in the same run (a JSONL file with purpose batch, then /v1/batches)', async () => {
    api.reset()
    api.setBatchDelay(30)
    const result = await run(['--batch', '--no-cache', '--model', 'judge=openai:gpt-4o-mini', '--output-dir', path.join(root, 'mixed')], 1)
    expect(result.code, result.stderr).toBe(0)
    const report = result.report!
    expect(report.failed_pairs).toEqual([])
    const openai = api.batches.filter((b) => b.api === 'openai')
    // One judge request per pair, in OpenAI batches; everything else in Anthropic's.
    expect(openai.flatMap((b) => b.customIds)).toHaveLength(3)
    expect(api.batches.filter((b) => b.api === 'anthropic').length).toBeGreaterThanOrEqual(2)
    expect(api.stats.byPath['/v1/files']?.requests).toBeGreaterThanOrEqual(1)
    expect(api.stats.byPath['/v1/chat/completions']).toBeUndefined()
    expect(api.stats.byPath['/v1/messages']).toBeUndefined()
    const {cost_usd: cost, calls: _calls, ...tokens} = report.usage.by_role.judge!
    expect(cost!).toBeCloseTo(costUsd('openai:gpt-4o-mini', tokens)! / 2, 9)
    const trial = BatchesFile.parse(
      JSON.parse(await readFile(path.join(root, 'mixed', report.run_id, 'batches', 'trial_000.json'), 'utf8')),
    )
    expect(new Set(trial.batches.map((b) => b.client.split(':')[0]))).toEqual(new Set(['anthropic', 'openai']))
  })

  it('survives kill -9 while a batch is pending: --resume re-attaches to it and pays for no request twice', async () => {
    api.reset()
    api.setBatchDelay(30)
    api.holdBatches(true)
    const out = path.join(root, 'killed')
    const child = spawn(process.execPath, [BIN, 'training', 'run', '--max-trials', '2', ...ARGS, config, '--batch', '--output-dir', out], {
      cwd: REPO_ROOT,
      env: cliEnv({CI: '1', NO_COLOR: '1', ...env()}),
    })
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal === 'SIGKILL' ? 137 : _code)),
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // Killed once every batch the fake holds is recorded in batches/ingest.json, twice in a
    // row 100 ms apart: not in the instant between a batch's creation and that write, the
    // one window TRAINING.md says loses a batch (a second group may be submitting while the
    // first is polled).
    const recordedIds = async (): Promise<string[]> => {
      const text = await readFile(path.join(out, 'latest', 'batches', 'ingest.json'), 'utf8').catch(() => null)
      return text ? BatchesFile.parse(JSON.parse(text)).batches.map((b) => b.id) : []
    }
    const settled = async (): Promise<boolean> => {
      const held = api.batches.map((b) => b.id)
      const recorded = await recordedIds().catch((): string[] => [])
      return held.length > 0 && held.every((id) => recorded.includes(id)) && /0\/\d+ done/.test(stderr)
    }
    for (let i = 0, inARow = 0; i < 300 && inARow < 2; i++) {
      inARow = (await settled()) ? inARow + 1 : 0
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(await settled(), stderr).toBe(true)
    expect(stderr).toMatch(/submitted batch msgbatch_/)
    child.kill('SIGKILL')
    expect(await exited).toBe(137)
    const pending = api.batches
    expect(pending.length).toBeGreaterThanOrEqual(1)
    expect(pending.every((b) => b.status === 'in_progress')).toBe(true)

    api.holdBatches(false)
    const resumed = await runCli(['training', 'run', '--resume', path.join(out, 'latest'), '--json', '--config', config], {env: env()})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain(`re-attached to batch ${pending[0]!.id}`)
    const report = TrainingReport.parse(JSON.parse(resumed.stdout))
    expect(outcome(report)).toEqual(outcome(baseline))
    // Every request went in one batch only: the pending one was polled, not sent again.
    const ids = api.batches.flatMap((b) => b.customIds)
    expect(new Set(ids).size).toBe(ids.length)
    expect(api.stats.byPath['/v1/messages']).toBeUndefined()
  })

  it('retries errored and expired requests in the next batch', async () => {
    api.reset()
    api.setBatchDelay(30)
    api.failBatchRequests('errored', 1)
    api.failBatchRequests('expired', 1)
    const result = await run(['--batch', '--no-cache', '--output-dir', path.join(root, 'faults')], 1)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/failed \(api_error: Internal server error\); it goes in the next batch/)
    expect(result.stderr).toMatch(/failed \(the request was expired\); it goes in the next batch/)
    expect(result.report!.failed_pairs).toEqual([])
    expect(outcome({...result.report!, trials: result.report!.trials.slice(0, 1)})).toEqual(
      outcome({...baseline, trials: baseline.trials.slice(0, 1)}),
    )
  })

  it('--dry-run gives both prices and the rounds of batches the run would wait for, and makes no call', async () => {
    api.reset()
    const dry = await runCli(['training', 'run', '--max-trials', '3', '--dry-run', '--batch', '--json', '--config', config], {env: env()})
    expect(dry.code, dry.stderr).toBe(0)
    const plan = JSON.parse(dry.stdout) as DryRun
    expect(api.requests).toEqual([])
    for (const r of plan.roles) {
      const batched = r.role !== 'transcribe' && r.role !== 'speech'
      expect(r.batch_cost_usd, r.role).toBeCloseTo(batched ? r.cost_usd / 2 : r.cost_usd, 12)
    }
    expect(plan.batch.requested).toBe(true)
    expect(plan.batch.cost_usd).toBeLessThan(plan.cost_usd * 0.6)
    // Ingest: one round (classify and concepts together); each trial: generate, then judge.
    expect(plan.batch.time.rounds).toEqual({ingest: 1, per_trial: 2, per_refinement: 0, total: 7})
    expect(plan.batch.time.worst_seconds - plan.batch.time.likely_seconds).toBe(7 * (24 - 1) * 3600)
    const text = await runCli(['training', 'run', '--max-trials', '3', '--dry-run', '--batch', '--config', config], {env: env()})
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/ audio +cost +with --batch\n/)
    expect(text.stdout).toMatch(/At most \d+ calls, about \$[\d.]+; about \$[\d.]+ with --batch/)
    expect(text.stdout).toMatch(
      /Expected wall time with --batch: 7 rounds of batches \(1 at ingest, 2 a trial\), each answered usually within an hour and at most in 24 hours: about 7 h \d+ min likely, about 7 days at worst\./,
    )
  })

  it('--max-cost holds at the batch price: a budget only --batch fits is refused without it and run with it', async () => {
    const dry = await runCli(['training', 'run', '--max-trials', '1', '--dry-run', '--batch', '--json', '--config', config], {env: env()})
    const plan = JSON.parse(dry.stdout) as DryRun
    const full = plan.ingest_cost_usd + plan.trial_cost_usd
    const half = plan.batch.ingest_cost_usd + plan.batch.trial_cost_usd
    const budget = ((full + half) / 2).toFixed(6)
    const refused = await run(['--no-cache', '--max-cost', budget, '--output-dir', path.join(root, 'budget')], 1)
    expect(refused.code).toBe(2)
    expect(cliError(refused.stdout).message).toMatch(
      /^--max-cost \$[\d.]+ does not cover transcription, analysis and one trial: about \$[\d.]+ estimated$/,
    )
    api.reset()
    api.setBatchDelay(30)
    const batched = await run(['--batch', '--no-cache', '--max-cost', budget, '--output-dir', path.join(root, 'budget')], 1)
    expect(batched.code, batched.stderr).toBe(0)
    expect(batched.report!.usage.total.cost_usd).toBeLessThan(Number(budget))
    expect(api.batches.length).toBeGreaterThanOrEqual(3)
    const tiny = await run(['--batch', '--no-cache', '--max-cost', (half / 2).toFixed(6), '--output-dir', path.join(root, 'budget')], 1)
    expect(tiny.code).toBe(2)
    expect(cliError(tiny.stdout).message).toMatch(/one trial: about \$[\d.]+ estimated at the batch price$/)
  })

  it('refuses --batch with --mock, saying why', async () => {
    const result = await runCli(['training', 'run', '--mock', '--batch', '--json', '--output-dir', path.join(root, 'mock')])
    expect(result.code).toBe(2)
    expect(cliError(result.stdout).message).toContain('--batch needs real providers')
    const dry = await runCli(['training', 'run', '--mock', '--batch', '--dry-run', '--json'])
    expect(dry.code).toBe(2)
    expect(cliError(dry.stdout).message).toContain('--batch needs real providers')
  })
})
