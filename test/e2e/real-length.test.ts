/**
 * The APIs as they behave on long work: output caps and scripts written in parts,
 * streaming, the hour-long prompt cache, flaky networks and rate limits, and the
 * wall time --dry-run expects. The built CLI against the local fake API.
 */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {TrainingReport} from '../../src/core/schemas/files.js'
import {runCli} from '../helpers/cli.js'
import {FAKE_KEYS, startFakeApi, type FakeApi} from '../helpers/fake-api.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''

function env(server: FakeApi | null): NodeJS.ProcessEnv {
  return {
    OPENAI_API_KEY: FAKE_KEYS.openai,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    ...(server ? {OPENAI_BASE_URL: server.openaiBaseURL, ANTHROPIC_BASE_URL: server.anthropicBaseURL} : {}),
    STUDIO_CACHE_DIR: path.join(root, 'cache'),
    STUDIO_CONFIG_DIR: path.join(root, 'config'),
  }
}

async function config(name: string, value: unknown): Promise<string> {
  const file = path.join(root, `${name}.json`)
  await writeFile(file, JSON.stringify(value))
  return file
}

async function run(server: FakeApi | null, args: string[]) {
  const result = await runCli(['training', 'run', '--json', '--no-cache', ...args], {env: env(server)})
  return {...result, report: result.code === 0 || result.code === 5 ? TrainingReport.parse(JSON.parse(result.stdout)) : null}
}

interface MessagesBody {
  max_tokens: number
  stream?: boolean
  system?: string
  messages: Array<{role: string; content: Array<{type: string; text: string; cache_control?: {type: string; ttl?: string}}>}>
  output_config?: {format?: {schema?: {properties?: Record<string, unknown>}}}
}

const bodies = (server: FakeApi) => server.requests.filter((r) => r.path === '/v1/messages').map((r) => r.body as MessagesBody)
const isGenerate = (body: MessagesBody) => Boolean(body.output_config?.format?.schema?.properties?.segments)
const lastText = (body: MessagesBody) =>
  body.messages
    .at(-1)!
    .content.map((c) => c.text)
    .join('\n')

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-long-')
})
afterAll(async () => {
  await removeDir(root)
})

describe('long answers', () => {
  it('streams every answer, sizes max_tokens per call, and writes a script longer than one answer in parts', async () => {
    const api = await startFakeApi()
    try {
      const file = await config('small-cap', {
        roles: {generate: {provider: 'anthropic', model: 'claude-sonnet-4-6', max_output_tokens: 1200}},
      })
      const out = path.join(root, 'parts')
      const result = await run(api, ['--config', file, '--max-trials', '1', '--output-dir', out])
      expect(result.code, result.stderr).toBe(0)
      const all = bodies(api)
      expect(all.every((b) => b.stream === true)).toBe(true)
      const generate = all.filter(isGenerate)
      // The cap holds for every generate call, and the scripts came in parts.
      expect(generate.every((b) => b.max_tokens <= 1200)).toBe(true)
      const parts = generate.filter((b) => /Write part \d+ of \d+ now/.test(lastText(b)))
      expect(parts.length).toBeGreaterThanOrEqual(2 * 3)
      expect(parts.some((b) => /Write part 2 of \d+ now[\s\S]*The script so far/.test(lastText(b)))).toBe(true)
      // Parts send the prompt and paper first, marked for the prompt cache: the parts after the first read it.
      // (Consecutive user messages are one Anthropic turn: the paper's block, then the part's.)
      expect(parts.every((b) => b.messages.at(-1)!.content.at(-2)?.cache_control)).toBe(true)
      const generateUsage = result.report!.usage.by_role.generate!
      expect(generateUsage.cache_read_tokens).toBeGreaterThan(0)
      // Other calls ask for what they need, not a fixed 16,000.
      expect(all.filter((b) => !isGenerate(b)).every((b) => b.max_tokens < 16_000)).toBe(true)
      // Joined, each script has every planned segment, in plan order.
      const report = result.report!
      const plan = report.best_trial.prompt.segment_plan.map((s) => s.label)
      const runDir = path.join(out, report.run_id)
      const trialDir = (await readdir(runDir)).find((name) => name.startsWith('trial_'))!
      const scripts = (await readdir(path.join(runDir, trialDir))).filter((name) => name.endsWith('_script.txt'))
      expect(scripts).toHaveLength(3)
      for (const script of scripts) {
        const text = await readFile(path.join(runDir, trialDir, script), 'utf8')
        const order = plan.map((label) => text.indexOf(`[${label}]`))
        expect(order.every((at) => at >= 0)).toBe(true)
        expect([...order].sort((a, b) => a - b)).toEqual(order)
      }
    } finally {
      await api.close()
    }
  })

  it('asks for the judge paper to be cached for an hour when told to, and counts the one-hour writes apart', async () => {
    const api = await startFakeApi()
    try {
      const file = await config('hour', {prompt_cache_ttl: '1h'})
      const result = await run(api, ['--config', file, '--max-trials', '2', '--window', '2', '--output-dir', path.join(root, 'hour')])
      expect(result.code, result.stderr).toBe(0)
      const marked = bodies(api).flatMap((b) => b.messages.flatMap((m) => m.content.filter((c) => c.cache_control)))
      expect(marked.length).toBeGreaterThan(0)
      expect(marked.every((c) => c.cache_control!.ttl === '1h')).toBe(true)
      const judge = result.report!.usage.by_role.judge!
      expect(judge.cache_write_1h_tokens).toBeGreaterThan(0)
      expect(judge.cache_write_tokens).toBe(judge.cache_write_1h_tokens)
      // The second trial reads what the first wrote.
      expect(judge.cache_read_tokens).toBeGreaterThan(0)
    } finally {
      await api.close()
    }
  })
})

describe('a flaky API', () => {
  it('loses nothing at 30 % faults (429, 5xx, dropped and cut-off connections): the same report as without them', async () => {
    const clean = await startFakeApi()
    const flaky = await startFakeApi({randomFaults: {rate: 0.3, seed: 11}})
    try {
      const args = ['--max-trials', '2', '--window', '2']
      const [a, b] = await Promise.all([
        run(clean, [...args, '--output-dir', path.join(root, 'clean')]),
        run(flaky, [...args, '--output-dir', path.join(root, 'flaky')]),
      ])
      expect(a.code, a.stderr).toBe(0)
      expect(b.code, b.stderr).toBe(0)
      expect(b.report!.failed_pairs).toEqual([])
      expect(b.report!.skipped_pairs).toEqual([])
      expect(b.report!.trials.map((t) => t.mean_losses)).toEqual(a.report!.trials.map((t) => t.mean_losses))
      // It did meet faults: more requests than the clean run made.
      expect(flaky.requests.length).toBeGreaterThan(clean.requests.length)
    } finally {
      await clean.close()
      await flaky.close()
    }
  }, 180_000)
})

describe('--dry-run wall time', () => {
  it('gives the expected wall time from the rate limits and --concurrency, and names what bounds a trial', async () => {
    // No base URL: the public API, whose default limits apply (nothing is called).
    const dryRun = (args: string[]) => runCli(['training', 'run', '--json', '--dry-run', ...args], {env: env(null)})
    const defaults = await dryRun([])
    expect(defaults.code, defaults.stderr).toBe(0)
    const plain = JSON.parse(defaults.stdout) as {time: {seconds: number; trial: {seconds: number; bound_by: string}}}
    expect(plain.time.seconds).toBeGreaterThan(0)
    expect(plain.time.trial.bound_by).toMatch(/concurrency|per minute/)

    const file = await config('slow-account', {rate_limits: {anthropic: {output_tokens_per_minute: 100}}})
    const slow = await dryRun(['--config', file])
    const limited = JSON.parse(slow.stdout) as typeof plain
    expect(limited.time.trial.bound_by).toBe('anthropic output tokens per minute (100)')
    expect(limited.time.seconds).toBeGreaterThan(plain.time.seconds * 5)

    const human = await runCli(['training', 'run', '--dry-run', '--config', file], {env: env(null)})
    expect(human.stdout).toMatch(/Expected wall time: about \d+ (h|min)/)
    expect(human.stdout).toMatch(/a trial is bound by anthropic output tokens per minute \(100\)/)
    expect(human.stdout).toMatch(/rate_limits in studio\.config\.json/)
  })
})
