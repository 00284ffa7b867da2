/**
 * signals/latest.json through the built CLI: a mock run leaves it, finished, and
 * `studio training status --all --json` prints the same document; --all and RUN_DIR
 * together are refused.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT} from '../../src/core/errors.js'
import {Signals} from '../../src/core/schemas/signals.js'
import {TrainingReport} from '../../src/core/schemas/files.js'
import {runCli} from '../helpers/cli.js'
import {cliError, parseJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
let out = ''
let report: TrainingReport

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-signals-')
  out = path.join(root, 'out')
  const run = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--output-dir', out, '--json'])
  expect(run.code, run.stderr).toBe(0)
  report = parseJson(run.stdout, TrainingReport)
})
afterAll(async () => {
  await removeDir(root)
})

describe('signals/latest.json', () => {
  it('is left by a run, finished with its best loss and HTML report, and equals `training status --all --json`', async () => {
    const text = await readFile(path.join(out, 'signals', 'latest.json'), 'utf8')
    const latest = parseJson(text, Signals)
    const runDir = path.join(out, report.run_id)
    expect(latest.output_dir).toBe(out)
    expect(latest.runs).toHaveLength(1)
    expect(latest.runs[0]).toMatchObject({
      run_id: report.run_id,
      run_dir: runDir,
      state: 'finished',
      percent: 100,
      best_trial: report.best_trial.index,
      stop_reason: 'max_trials',
      html_report: path.join(runDir, 'training_report.html'),
    })
    expect(latest.runs[0]!.best_loss).toBe(report.best_trial.mean_losses.total)
    await expect(readFile(latest.runs[0]!.html_report!, 'utf8')).resolves.toContain('<html')

    const status = await runCli(['training', 'status', '--all', '--json', '--output-dir', out])
    expect(status.code, status.stderr).toBe(0)
    expect(parseJson(status.stdout, Signals)).toEqual(latest)
  })

  it('--all with RUN_DIR: exit 2, and the message says why', async () => {
    const runDir = path.join(out, report.run_id)
    const refused = await runCli(['training', 'status', runDir, '--all', '--json', '--output-dir', out])
    expect(refused.code).toBe(EXIT.input)
    const error = cliError(refused.stdout)
    expect(error.message).toBe('--all and RUN_DIR cannot be used together: --all shows the runs of --output-dir, RUN_DIR one run')
    expect(error.hint).toContain(`studio training status ${runDir}`)
  })
})
