/**
 * Answers outside the bounds no structured-output API enforces, end to end: the built CLI
 * in real mode against the local fake API, which (like the real ones) hands back whatever
 * numbers the model gives. Key concepts on a 1-10 scale (and one below 0), a judge
 * scoring 104 and -3, a label for a segment that does not exist: the run keeps every
 * pair, makes no corrective retry, and says what it clamped in events.jsonl.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunEvent} from '../../src/core/schemas/events.js'
import {PairAnalysis, TrainingReport, TrialResults} from '../../src/core/schemas/files.js'
import {runCli} from '../helpers/cli.js'
import {defaultAnswer, FAKE_KEYS, startFakeApi, type FakeApi, type StructuredQuery} from '../helpers/fake-api.js'
import {readJson, readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
let api: FakeApi

interface Concept {
  term: string
  importance: number
}

/** The fake's own answers, pushed out of the bounds the code assumes. */
function outOfBounds(q: StructuredQuery): unknown {
  const answer = defaultAnswer(q) as Record<string, unknown>
  switch (q.kind) {
    case 'concepts': {
      // Importance on a 1-10 scale instead of 0-1, and (last of the 12 kept) one concept below 0.
      const concepts = (answer.concepts as Concept[]).map((c) => ({term: c.term, importance: Math.round(1 + 9 * c.importance)}))
      return {concepts: [...concepts.slice(0, 11), {term: 'negligible aside', importance: -2}]}
    }
    case 'judge':
      return {...answer, engagement: 104, accuracy: -3}
    case 'classify':
      return {labels: [...(answer.labels as unknown[]), {index: 9999, label: 'outro'}]}
    default:
      return undefined
  }
}

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-bounds-')
  api = await startFakeApi({answer: outOfBounds})
})
afterAll(async () => {
  await api?.close()
  await removeDir(root)
})

describe('answers outside the bounds the APIs do not enforce', () => {
  it('are clamped or dropped with warnings: exit 0, every pair analysed and scored, no corrective retry', async () => {
    const result = await runCli(
      ['training', 'run', '--max-trials', '2', '--window', '2', '--no-cache', '--json', '--output-dir', path.join(root, 'runs')],
      {
        env: {
          OPENAI_API_KEY: FAKE_KEYS.openai,
          ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
          OPENAI_BASE_URL: api.openaiBaseURL,
          ANTHROPIC_BASE_URL: api.anthropicBaseURL,
          STUDIO_CACHE_DIR: path.join(root, 'cache'),
          STUDIO_CONFIG_DIR: path.join(root, 'config'),
        },
      },
    )
    expect(result.code, result.stderr).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    const runDir = path.join(root, 'runs', report.run_id)
    const pairs = report.pairs
    expect(pairs).toHaveLength(3)
    expect(report.skipped_pairs).toEqual([])
    expect(report.failed_pairs).toEqual([])
    expect(report.trials).toHaveLength(2)

    // Every pair scored in every trial, with the judge's scores clamped into 0..100.
    for (const trial of report.trials) {
      const results = await readJson(path.join(runDir, trial.dir, 'results.json'), TrialResults)
      expect(results.failed).toEqual([])
      expect(results.pairs.map((p) => p.pair_id)).toEqual(pairs)
      for (const pair of results.pairs) expect(pair.details.judge).toMatchObject({engagement: 100, accuracy: 0})
    }
    // One call per answer: nothing was asked again.
    const calls = Object.fromEntries(Object.entries(report.usage.by_role).map(([role, usage]) => [role, usage.calls]))
    expect(calls).toMatchObject({classify: 3, concepts: 3, generate: 6, judge: 6})

    // The 1-10 importances rescaled so the first weighs 1; the negative one weighs almost nothing.
    for (const id of pairs) {
      const analysis = await readJson(path.join(runDir, 'pairs', id, 'analysis.json'), PairAnalysis)
      const weights = analysis.concepts.map((c) => c.weight)
      expect(Math.max(...weights)).toBe(1)
      expect(weights.every((w) => w > 0 && w <= 1)).toBe(true)
      expect(analysis.concepts.at(-1)).toEqual({term: 'negligible aside', weight: 1e-6})
    }

    // Warnings name the pair, the answer and each clamped or dropped field.
    const warnings = (await readJsonLines(path.join(runDir, 'events.jsonl'), RunEvent))
      .filter((e) => e.type === 'warning')
      .map((e) => e.message)
    for (const id of pairs) {
      expect(warnings).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${id}: the concepts answer was out of range: concepts\\[\\d+\\]\\.importance -2 \\("negligible aside"\\) is below 0, clamped to 0$`,
          ),
        ),
      )
      expect(warnings).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${id}: the classify answer was out of range: labels\\[\\d+\\]\\.index 9999 names no segment \\(0\\.\\.\\d+\\), dropped$`,
          ),
        ),
      )
      for (const trial of [0, 1]) {
        expect(warnings).toContain(
          `Trial ${trial}, pair ${id}: the judge answer was out of range: engagement 104 is above 100, clamped to 100; accuracy -3 is below 0, clamped to 0`,
        )
      }
    }
    expect(warnings).toHaveLength(pairs.length * (2 + 2))
    // The terminal (stderr under --json) shows them too.
    expect(result.stderr).toContain('warning: Trial 0, pair')
    // Nothing but the fake's answers was sent back: no correction message in any request.
    expect(api.requests.some((r) => JSON.stringify(r.body).includes('did not match the required JSON schema'))).toBe(false)
    // The schemas sent carried no bound the API would ignore.
    const schemas = api.requests
      .filter((r) => r.path.endsWith('/v1/messages'))
      .map((r) => JSON.stringify((r.body as {output_config?: unknown}).output_config))
    expect(schemas.length).toBeGreaterThan(0)
    for (const schema of schemas) expect(schema).not.toMatch(/minimum|maximum|minLength/)
    expect(await readFile(path.join(runDir, 'calibrated_prompt.md'), 'utf8')).toContain('{{paper_text}}')
  })
})
