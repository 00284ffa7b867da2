import {cp, mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunEvent} from '../../src/core/schemas/events.js'
import {Registry, TrainingReport} from '../../src/core/schemas/files.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let out = ''
let report: TrainingReport

beforeAll(async () => {
  out = await makeTempDir('studio-e2e-status-')
  const run = await runCli(['training', 'run', '--mock', '--max-trials', '2', '--json', '--output-dir', out])
  expect(run.code).toBe(0)
  report = TrainingReport.parse(JSON.parse(run.stdout))
})
afterAll(async () => {
  await removeDir(out)
})

describe('events.jsonl', () => {
  it('holds one valid event per line, from discovery to the end of the run', async () => {
    const lines = (await readFile(path.join(out, report.run_id, 'events.jsonl'), 'utf8')).trimEnd().split('\n')
    const events = lines.map((line) => RunEvent.parse(JSON.parse(line)))
    expect(events[0]).toMatchObject({type: 'phase', phase: 'discover'})
    expect(events.filter((e) => e.type === 'pair-scored')).toHaveLength(6)
    expect(events.at(-1)).toMatchObject({type: 'run-finished', best_trial: report.best_trial.index})
  })
})

describe('studio training status', () => {
  it('describes the latest run as JSON', async () => {
    const result = await runCli(['training', 'status', '--output-dir', out, '--json'])
    expect(result.code).toBe(0)
    const status = JSON.parse(result.stdout) as {best_trial: unknown; verdict: unknown; usage: {total: {calls: number}}}
    expect(status).toMatchObject({
      run_id: report.run_id,
      state: 'finished',
      trials_done: 2,
      max_trials: 2,
      pairs: 3,
      stop_reason: 'max_trials',
      phase: 'report',
    })
    expect(status.best_trial).toEqual({
      index: report.best_trial.index,
      total: report.best_trial.mean_losses.total,
      selected_by: 'train',
      improvement: (report.trials[0]!.mean_losses.total - report.best_trial.mean_losses.total) / report.trials[0]!.mean_losses.total,
      rule: 'Best trial chosen by the mean total loss of 3 pairs: no pair is held out for validation.',
    })
    expect(report.verdict).not.toBeNull()
    expect(status.verdict).toEqual(report.verdict)
    expect(status.usage.total.calls).toBe(report.usage.total.calls)
  })

  it('prints state, trials and the loss table for a run folder given explicitly', async () => {
    const result = await runCli(['training', 'status', path.join(out, report.run_id)])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`Run ${report.run_id}`)
    expect(result.stdout).toMatch(/State: +finished, took 0:0\d/)
    expect(result.stdout).toMatch(/Trials: +2 of at most 2 done; stopped: reached --max-trials/)
    expect(result.stdout).toMatch(
      new RegExp(`Best: +trial ${report.best_trial.index} \\(mean total loss 0\\.\\d{4}, \\d+\\.\\d% below trial 0\\)`),
    )
    expect(result.stdout).toMatch(/trial\s+duration\s+coverage/)
  })

  it('says how to start a run when there is none', async () => {
    const empty = path.join(out, 'nothing-here')
    const result = await runCli(['training', 'status', '--output-dir', empty])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`Error: No run found: ${path.join(empty, 'latest')} does not exist`)
    expect(result.stderr).toContain('Hint: Start one with `studio training run --mock`')
  })
})

describe('studio training list-runs: damaged run folders', () => {
  it('lists a run whose run.json is damaged or missing as damaged, with the reason, in the table and in --json', async () => {
    const runs = await makeTempDir('studio-e2e-damaged-runs-')
    try {
      const good = report.run_id // a copy of the run, in a folder of the same name
      const broken = 'run-20261102T000000Z'
      const empty = 'run-20261103T000000Z'
      await cp(path.join(out, report.run_id), path.join(runs, good), {recursive: true})
      await cp(path.join(out, report.run_id), path.join(runs, broken), {recursive: true})
      await writeFile(path.join(runs, broken, 'run.json'), '{"run_id": "run-2026')
      await mkdir(path.join(runs, empty))
      const brokenReason = `${path.join(runs, broken, 'run.json')} is not valid JSON: Unterminated string in JSON at position 20`
      const emptyReason = `${path.join(runs, empty, 'run.json')} is missing`

      const text = await runCli(['training', 'list-runs', '--output-dir', runs])
      expect(text.code, text.stderr).toBe(0)
      const rows = text.stdout.split('\n').filter((l) => l.startsWith('run-'))
      expect(rows.map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
        [broken, '-', 'damaged'],
        [empty, '-', 'damaged'],
        [good, expect.any(String) as string, expect.any(String) as string],
      ])
      expect(rows[2]).toContain('finished')
      expect(text.stderr).toContain(`warning: 2 damaged run folder(s):\n  ${broken}: ${brokenReason}\n  ${empty}: ${emptyReason}\n  hint: `)

      const json = await runCli(['training', 'list-runs', '--output-dir', runs, '--json'])
      expect(json.code).toBe(0)
      const registry = Registry.parse(JSON.parse(json.stdout))
      expect(registry.runs.map((r) => r.path)).toEqual([path.join(runs, good)])
      expect(registry.damaged).toEqual([
        {run_id: broken, path: path.join(runs, broken), reason: brokenReason},
        {run_id: empty, path: path.join(runs, empty), reason: emptyReason},
      ])
      // registry.json says the same.
      expect(Registry.parse(JSON.parse(await readFile(path.join(runs, 'registry.json'), 'utf8')))).toEqual(registry)
    } finally {
      await removeDir(runs)
    }
  })
})

describe('studio training report', () => {
  it('prints the trial table and writes the self-contained HTML report', async () => {
    const html = path.join(out, report.run_id, 'training_report.html')
    const before = await stat(html)
    const result = await runCli(['training', 'report', '--output-dir', out])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^${report.best_trial.index} \\*`, 'm'))
    expect(result.stdout).toContain(`HTML report: ${html}`)
    const page = await readFile(html, 'utf8')
    expect((await stat(html)).mtimeMs).toBeGreaterThanOrEqual(before.mtimeMs)
    expect(page).toMatch(/^<!doctype html>/i)
    expect(page).toContain('<svg')
    // Self-contained: nothing is fetched from anywhere.
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/i)
  })

  it('inlines the report stylesheet in the page it writes, from the bundle as installed', async () => {
    const css = await readFile(path.join(REPO_ROOT, 'src', 'training', 'report', 'report.css'), 'utf8')
    const result = await runCli(['training', 'report', path.join(out, report.run_id), '--json'])
    expect(result.code).toBe(0)
    const page = await readFile((JSON.parse(result.stdout) as {html: string}).html, 'utf8')
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1]
    expect(style?.startsWith(css)).toBe(true)
    // The rules made from the loss registry follow it.
    expect(style).toContain('.s-duration{--c:')
  })

  it('answers with the HTML path and trials under --json', async () => {
    const result = await runCli(['training', 'report', path.join(out, report.run_id), '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      run_id: report.run_id,
      state: 'finished',
      best_trial: report.best_trial.index,
      html: path.join(out, report.run_id, 'training_report.html'),
    })
  })
})
