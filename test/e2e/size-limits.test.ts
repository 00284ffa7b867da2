/**
 * Size guards through the built CLI (TRAINING.md, "Size limits"): a paper or an episode
 * far beyond a podcast pair is skipped by a mock run, listed as a problem by list-pairs,
 * left out of a dry run and refused by generate, each time with the same message; and a
 * lowered limit in studio.config.json takes effect, mock or not.
 */
import {copyFile, mkdir, readdir, truncate, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunEvent} from '../../src/core/schemas/events.js'
import {RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import {PairsListing} from '../../src/core/schemas/inputs.js'
import {EXAMPLE_PAIRS, runCli} from '../helpers/cli.js'
import {cliError, readJson, readJsonLines} from '../helpers/json.js'
import {makeTempDir, removeDir, writePdf, writeSilentMp3, writeVtt} from '../helpers/media.js'

const OK = 'sparse-attention-long-documents'
const PAPER = 'A short paper about drought and soil microbes, and what the microbes do when the rain stops.\n'

let base = ''
/** The bundled pair `OK`, a 71 MB text paper and an episode whose transcript runs past 4 hours. */
let pairs = ''
let out = ''
let report: TrainingReport
let runStderr = ''
let reasons: Record<string, string> = {}
/** The fix printed with every size-limit skip (the errors' hint). */
const SIZE_HINT =
  'A podcast pair is a paper and an episode about it: papers of up to a few dozen pages, episodes of up to a few hours. The limits are set in studio.config.json (see TRAINING.md, "Size limits").'

async function copyOkPair(dir: string): Promise<void> {
  for (const ext of ['pdf', 'mp3', 'transcript.json'])
    await copyFile(path.join(EXAMPLE_PAIRS, `${OK}.${ext}`), path.join(dir, `${OK}.${ext}`))
}

beforeAll(async () => {
  base = await makeTempDir('studio-e2e-size-')
  pairs = path.join(base, 'pairs')
  out = path.join(base, 'runs')
  await mkdir(pairs)
  await copyOkPair(pairs)
  // 71 MB that take no disk space and no time to make: a sparse file, never read if the guard works.
  await writeFile(path.join(pairs, 'huge-text.txt'), '')
  await truncate(path.join(pairs, 'huge-text.txt'), 71 * 2 ** 20)
  await writeSilentMp3(path.join(pairs, 'huge-text.mp3'), 30)
  await writeFile(path.join(pairs, 'marathon.txt'), PAPER)
  await writeSilentMp3(path.join(pairs, 'marathon.mp3'), 30)
  await writeVtt(path.join(pairs, 'marathon.vtt'), [
    {start: 0, end: 5, speaker: 'Host', text: 'Welcome to a very long show.'},
    {start: 4 * 3600, end: 4 * 3600 + 600, speaker: 'Host', text: 'And that was all of it.'},
  ])
  reasons = {
    'huge-text': `Paper ${pairs}/huge-text.txt is too large for a podcast pair: 71.0 MiB, over the 3.1 MiB allowed for 200 pages (limits.max_paper_pages, at 16 KiB a page); cut it to the part the episode discusses, or raise limits.max_paper_pages in studio.config.json`,
    marathon: `Transcript ${pairs}/marathon.vtt is too long for a podcast pair: it runs to 4:10:00 (250.0 minutes), over the limit of 240 minutes (limits.max_episode_minutes); cut the episode and its transcript to the part about the paper, or raise limits.max_episode_minutes in studio.config.json`,
  }
  const run = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--json', '--pairs-dir', pairs, '--output-dir', out])
  expect(run.code, run.stderr).toBe(0)
  report = TrainingReport.parse(JSON.parse(run.stdout))
  runStderr = run.stderr
})
afterAll(async () => {
  await removeDir(base)
})

describe('size limits: defaults (200 pages, 240 minutes)', () => {
  it('a mock run skips a 71 MB text paper and a 4-hour transcript with their reasons, and trains on the rest (exit 0)', async () => {
    expect(report.pairs).toEqual([OK])
    expect(report.skipped_pairs).toEqual([
      {id: 'huge-text', reason: reasons['huge-text'], hint: SIZE_HINT},
      {id: 'marathon', reason: reasons['marathon'], hint: SIZE_HINT},
    ])
    for (const [id, reason] of Object.entries(reasons)) expect(runStderr).toContain(`skipped ${id}: ${reason}\n  hint: ${SIZE_HINT}\n`)
    const runDir = path.join(out, report.run_id)
    const manifest = await readJson(path.join(runDir, 'run.json'), RunManifest)
    expect(manifest.skipped.map((s) => s.id)).toEqual(['huge-text', 'marathon'])
    // No call was made for them: a skipped pair carries no usage, and none of its files is written.
    expect(manifest.skipped.every((s) => s.usage === undefined)).toBe(true)
    expect(await readdir(path.join(runDir, 'pairs', 'huge-text'))).toEqual([])
    const events = await readJsonLines(path.join(runDir, 'events.jsonl'), RunEvent)
    const skipped = events.flatMap((e) => (e.type === 'pair-skipped' ? [[e.pair, e.reason]] : []))
    expect(skipped.sort()).toEqual(Object.entries(reasons))
  })

  it('list-pairs shows both pairs as not usable, with the same reasons', async () => {
    const result = await runCli(['training', 'list-pairs', '--pairs-dir', pairs, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const listing = PairsListing.parse(JSON.parse(result.stdout))
    expect(Object.fromEntries(listing.pairs.map((p) => [p.id, p.problems]))).toEqual({
      [OK]: [],
      'huge-text': [reasons['huge-text']],
      marathon: [reasons['marathon']],
    })
    const text = await runCli(['training', 'list-pairs', '--pairs-dir', pairs])
    expect(text.stdout).toMatch(/huge-text\s+-\s+-\s+0:30\s+transcribe\s+1 problem\(s\)/)
    expect(text.stderr).toContain(`problem: marathon: ${reasons['marathon']}`)
  })

  it('generate refuses the 71 MB paper before any call (exit 2), as text and as JSON', async () => {
    const paper = path.join(pairs, 'huge-text.txt')
    const runDir = path.join(out, report.run_id)
    const result = await runCli(['generate', paper, '--mock', '--prompt', runDir])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`Error: ${reasons['huge-text']}`)
    expect(result.stderr).toMatch(/Hint: .*TRAINING\.md, "Size limits"/)
    const json = await runCli(['generate', paper, '--mock', '--prompt', runDir, '--json'])
    expect(json.code).toBe(2)
    expect(cliError(json.stdout)).toMatchObject({message: reasons['huge-text'], path: paper, exit_code: 2})
  })

  it('--dry-run --json gives the tokens of each usable pair at ingest and per trial, and the pairs left out', async () => {
    const dry = path.join(base, 'dry')
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--dry-run',
      '--json',
      '--max-trials',
      '3',
      '--pairs-dir',
      pairs,
      '--output-dir',
      dry,
    ])
    expect(result.code, result.stderr).toBe(0)
    const plan = JSON.parse(result.stdout) as {
      pairs: string[]
      roles: Array<{role: string; input_tokens: number; output_tokens: number}>
      per_pair: Array<{
        id: string
        ingest: {input_tokens: number; output_tokens: number}
        per_trial: {input_tokens: number; output_tokens: number}
      }>
      skipped: Array<{id: string; reason: string}>
    }
    expect(plan.pairs).toEqual([OK])
    expect(plan.per_pair.map((p) => p.id)).toEqual([OK])
    const [ok] = plan.per_pair
    for (const n of [ok!.ingest.input_tokens, ok!.ingest.output_tokens, ok!.per_trial.input_tokens, ok!.per_trial.output_tokens])
      expect(n).toBeGreaterThan(0)
    // One pair: its tokens are the roles' totals, the trials' three times over.
    const role = (name: string) => plan.roles.find((r) => r.role === name)!
    expect(ok!.ingest.input_tokens).toBe(role('classify').input_tokens + role('concepts').input_tokens)
    expect(3 * ok!.per_trial.output_tokens).toBe(role('generate').output_tokens + role('judge').output_tokens)
    expect(plan.skipped).toEqual([
      {id: 'huge-text', reason: reasons['huge-text'], hint: SIZE_HINT},
      {id: 'marathon', reason: reasons['marathon'], hint: SIZE_HINT},
    ])
    await expect(readdir(dry)).rejects.toThrow(/ENOENT/)

    const text = await runCli(['training', 'run', '--mock', '--dry-run', '--pairs-dir', pairs, '--output-dir', dry])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/pair\s+ingest input\s+ingest output\s+per-trial input\s+per-trial output/)
    expect(text.stdout).toMatch(new RegExp(`${OK}\\s+[\\d,]+\\s+[\\d,]+\\s+[\\d,]+\\s+[\\d,]+`))
    expect(text.stdout).toContain(`Left out, as the run would skip them:\n  huge-text: ${reasons['huge-text']}\n    hint: ${SIZE_HINT}`)
  })
})

describe('size limits: lowered in studio.config.json', () => {
  let cwd = ''
  let lowered = ''
  beforeAll(async () => {
    // The bundled pair has 3 pages and 2:18 of episode: within limits of 3 pages and 3 minutes.
    cwd = path.join(base, 'project')
    lowered = path.join(cwd, 'pairs')
    await mkdir(lowered, {recursive: true})
    await writeFile(path.join(cwd, 'studio.config.json'), JSON.stringify({limits: {max_paper_pages: 3, max_episode_minutes: 3}}))
    await copyOkPair(lowered)
    await writePdf(path.join(lowered, 'four-pages.pdf'), {title: 'Four Pages', pages: ['One.', 'Two.', 'Three.', 'Four.']})
    await writeSilentMp3(path.join(lowered, 'four-pages.mp3'), 30)
    await copyFile(path.join(EXAMPLE_PAIRS, `${OK}.pdf`), path.join(lowered, 'long-episode.pdf'))
    await writeSilentMp3(path.join(lowered, 'long-episode.mp3'), 200)
  })

  const expected = () => ({
    'four-pages': `Paper ${lowered}/four-pages.pdf is too long for a podcast pair: 4 pages, over the limit of 3 pages (limits.max_paper_pages); cut it to the part the episode discusses, or raise limits.max_paper_pages in studio.config.json`,
    'long-episode': `Episode ${lowered}/long-episode.mp3 is too long for a podcast pair: 3:20 (3.3 minutes), over the limit of 3 minutes (limits.max_episode_minutes); cut it to the part about the paper, or raise limits.max_episode_minutes in studio.config.json`,
  })

  it('a mock run in that folder skips a 4-page PDF by its page count and a 200 s MP3 by its duration', async () => {
    const result = await runCli(
      ['training', 'run', '--mock', '--max-trials', '1', '--json', '--pairs-dir', lowered, '--output-dir', path.join(cwd, 'runs')],
      {cwd},
    )
    expect(result.code, result.stderr).toBe(0)
    const lowReport = TrainingReport.parse(JSON.parse(result.stdout))
    expect(lowReport.pairs).toEqual([OK])
    expect(lowReport.skipped_pairs).toEqual(Object.entries(expected()).map(([id, reason]) => ({id, reason, hint: SIZE_HINT})))
    // The same folder under the default limits: every pair is usable.
    const listing = await runCli(['training', 'list-pairs', '--pairs-dir', lowered, '--json'])
    expect(PairsListing.parse(JSON.parse(listing.stdout)).pairs.every((p) => p.problems.length === 0)).toBe(true)
  })

  it('list-pairs and generate read the file too; --config names another', async () => {
    const listing = await runCli(['training', 'list-pairs', '--pairs-dir', lowered, '--json'], {cwd})
    expect(listing.code).toBe(0)
    const problems = Object.fromEntries(PairsListing.parse(JSON.parse(listing.stdout)).pairs.map((p) => [p.id, p.problems]))
    expect(problems).toEqual({[OK]: [], 'four-pages': [expected()['four-pages']], 'long-episode': [expected()['long-episode']]})

    const paper = path.join(lowered, 'four-pages.pdf')
    const refused = await runCli(['generate', paper, '--mock', '--prompt', path.join(out, report.run_id), '--json'], {cwd})
    expect(refused.code).toBe(2)
    expect(cliError(refused.stdout).message).toBe(expected()['four-pages'])

    const roomy = path.join(base, 'roomy.json')
    await writeFile(roomy, JSON.stringify({limits: {max_paper_pages: 4}}))
    const allowed = await runCli(['generate', paper, '--mock', '--prompt', path.join(out, report.run_id), '--config', roomy, '--json'], {
      cwd,
    })
    expect(allowed.code, allowed.stdout).toBe(0)
    expect((JSON.parse(allowed.stdout) as {words: number}).words).toBeGreaterThan(0)
  })

  it('an invalid limit in the file stops a mock run before any work (exit 2), naming the key', async () => {
    const bad = path.join(base, 'bad.json')
    await writeFile(bad, JSON.stringify({limits: {max_paper_pages: 0}}))
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--json',
      '--config',
      bad,
      '--pairs-dir',
      lowered,
      '--output-dir',
      path.join(base, 'never'),
    ])
    expect(result.code).toBe(2)
    expect(cliError(result.stdout).message).toMatch(/is not valid:[\s\S]*at limits\.max_paper_pages/)
    await expect(readdir(path.join(base, 'never'))).rejects.toThrow(/ENOENT/)
  })
})
