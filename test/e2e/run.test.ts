import {lstat, readdir, readFile, readlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunManifest, TrainingReport, TrialPromptFile, TrialResults} from '../../src/core/schemas/files.js'
import {cliEnv, runCli, type CliResult} from '../helpers/cli.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir, writePdf, writeSilentMp3, writeVtt} from '../helpers/media.js'

const EXAMPLE_IDS = ['aerial-vehicle-positioning-full', 'soil-microbiome-drought', 'sparse-attention-long-documents']

let out = ''
let first: CliResult
let report: TrainingReport
let runDir = ''

beforeAll(async () => {
  out = await makeTempDir('studio-e2e-run-')
  first = await runCli(['training', 'run', '--mock', '--max-trials', '3', '--json', '--output-dir', out])
  report = TrainingReport.parse(JSON.parse(first.stdout))
  runDir = path.join(out, report.run_id)
})
afterAll(async () => {
  await removeDir(out)
})

async function readJsonFile(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'))
}

/** Timestamps and run-specific paths differ between runs; everything else must not. */
function withoutTimestamps(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      ['started_at', 'finished_at', 'dir', 'run_id', 'output_dir'].includes(key) ? '<varies>' : v,
    ),
  ) as unknown
}

describe('studio training run --mock on the bundled pairs', () => {
  it('exits 0 and prints only the training report on stdout under --json', () => {
    expect(first.code).toBe(0)
    expect(report.pairs).toEqual(EXAMPLE_IDS)
    expect(report.stop_reason).toBe('max_trials')
    expect(report.trials).toHaveLength(3)
    expect(report.loss_progression).toEqual(report.trials.map((t) => t.mean_losses.total))
    // Progress went to stderr as plain lines, not spinners.
    expect(first.stderr).toMatch(/Trial 0 \(1 of 3\): scored 3\/3 pairs/)
    expect(first.stderr).not.toContain('\u001b[')
  })

  it('lowers the mean total loss below trial 0', () => {
    const initial = report.trials[0]!.mean_losses.total
    expect(report.best_trial.index).toBeGreaterThan(0)
    expect(report.best_trial.mean_losses.total).toBeLessThan(initial)
    expect(report.best_trial.mean_losses.total).toBe(Math.min(...report.loss_progression))
  })

  it('reports per-pair losses for every trial, each in [0, 1]', () => {
    for (const trial of report.trials) {
      expect(trial.pairs.map((p) => p.pair_id)).toEqual(EXAMPLE_IDS)
      for (const pair of trial.pairs) {
        for (const value of Object.values(pair.losses)) {
          expect(value).toBeGreaterThanOrEqual(0)
          expect(value).toBeLessThanOrEqual(1)
        }
      }
    }
  })

  it('writes the run folder: manifest, pair analyses, trials, scripts and the report', async () => {
    const manifest = RunManifest.parse(await readJsonFile(path.join(runDir, 'run.json')))
    expect(manifest.status).toBe('finished')
    expect(manifest.config.mock).toBe(true)
    expect(manifest.pairs.map((p) => [p.id, p.transcript_source])).toEqual([
      ['aerial-vehicle-positioning-full', 'sidecar-vtt'],
      ['soil-microbiome-drought', 'mock'],
      ['sparse-attention-long-documents', 'sidecar-json'],
    ])
    for (const id of EXAMPLE_IDS) {
      expect((await readdir(path.join(runDir, 'pairs', id))).sort()).toEqual(['analysis.json', 'paper.txt', 'transcript.json'])
    }
    const trialDirs = (await readdir(runDir)).filter((name) => name.startsWith('trial_')).sort()
    expect(trialDirs).toEqual(report.trials.map((t) => t.dir))
    expect(trialDirs[0]).toMatch(/^trial_000_\d{8}T\d{6}/)
    for (const dir of trialDirs) {
      const files = (await readdir(path.join(runDir, dir))).sort()
      expect(files).toEqual(
        ['prompt.json', 'results.json', ...EXAMPLE_IDS.flatMap((id) => [`${id}_script.txt`, `${id}_result.json`])].sort(),
      )
      TrialResults.parse(await readJsonFile(path.join(runDir, dir, 'results.json')))
      TrialPromptFile.parse(await readJsonFile(path.join(runDir, dir, 'prompt.json')))
      const script = await readFile(path.join(runDir, dir, `${EXAMPLE_IDS[0]}_script.txt`), 'utf8')
      expect(script.split(/\s+/).length).toBeGreaterThan(100)
    }
    const onDisk = TrainingReport.parse(await readJsonFile(path.join(runDir, 'training_report.json')))
    expect(onDisk).toEqual(report)
    expect(await readlink(path.join(out, 'latest'))).toBe(report.run_id)
  })

  it('never overwrites an earlier run, and the same seed gives the same results', async () => {
    const second = await runCli(['training', 'run', '--mock', '--max-trials', '3', '--json', '--output-dir', out])
    expect(second.code).toBe(0)
    const again = TrainingReport.parse(JSON.parse(second.stdout))
    expect(again.run_id).not.toBe(report.run_id)
    expect((await lstat(runDir)).isDirectory()).toBe(true)
    expect(withoutTimestamps(again)).toEqual(withoutTimestamps(report))
    for (const [i, trial] of report.trials.entries()) {
      const a = await readJsonFile(path.join(runDir, trial.dir, 'results.json'))
      const b = await readJsonFile(path.join(out, again.run_id, again.trials[i]!.dir, 'results.json'))
      expect(withoutTimestamps(b)).toEqual(withoutTimestamps(a))
      const scriptA = await readFile(path.join(runDir, trial.dir, `${EXAMPLE_IDS[1]}_script.txt`))
      const scriptB = await readFile(path.join(out, again.run_id, again.trials[i]!.dir, `${EXAMPLE_IDS[1]}_script.txt`))
      expect(scriptB.equals(scriptA)).toBe(true)
    }
    expect(await readlink(path.join(out, 'latest'))).toBe(again.run_id)
  })

  it('prints a summary table with the best trial marked in a terminal-style run', async () => {
    const text = await runCli(['training', 'run', '--mock', '--max-trials', '2', '--output-dir', out])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/trial\s+duration\s+coverage\s+structure\s+quality\s+rouge\s+total/)
    expect(text.stdout).toMatch(/^1 \*/m)
    expect(text.stdout).toMatch(/Best trial: 1 \(mean total loss 0\.\d{4}, \d+\.\d% below trial 0\); stopped: reached --max-trials/)
    expect(text.stdout).toContain('training_report.json')
  })

  it('stops early on convergence with a generous threshold', async () => {
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '8',
      '--window',
      '1',
      '--threshold',
      '0.99',
      '--json',
      '--output-dir',
      out,
    ])
    expect(result.code).toBe(0)
    const converged = TrainingReport.parse(JSON.parse(result.stdout))
    expect(converged.stop_reason).toBe('converged')
    expect(converged.trials).toHaveLength(2)
    // Converged because trial 1 improved on trial 0 by less than 99%; a worse trial 1 would not have stopped the run.
    const [first, second] = converged.loss_progression
    expect(second).toBeLessThanOrEqual(first!)
    expect((first! - second!) / first!).toBeLessThan(0.99)
  })

  it('never stops early with --threshold 0', async () => {
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--max-trials',
      '5',
      '--window',
      '1',
      '--threshold',
      '0',
      '--json',
      '--output-dir',
      out,
    ])
    expect(result.code).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    expect(report.stop_reason).toBe('max_trials')
    expect(report.trials).toHaveLength(5)
  })
})

describe('studio training run: bad input', () => {
  it('fails with the path, a hint and exit code 2 for a missing pairs folder', async () => {
    const missing = path.join(out, 'no-such-folder')
    const result = await runCli(['training', 'run', '--mock', '--pairs-dir', missing, '--output-dir', out])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`Error: Pairs folder not found: ${missing}`)
    expect(result.stderr).toContain('Hint: Pass --pairs-dir')
  })

  it('reports the error as JSON on stdout under --json', async () => {
    const missing = path.join(out, 'no-such-folder')
    const result = await runCli(['training', 'run', '--mock', '--json', '--pairs-dir', missing, '--output-dir', out])
    expect(result.code).toBe(2)
    const error = cliError(result.stdout)
    expect(error).toMatchObject({message: `Pairs folder not found: ${missing}`, path: missing, exit_code: 2})
    expect(error.hint).toContain('--pairs-dir')
  })

  it('rejects unknown and negative weights before doing any work', async () => {
    const unknown = await runCli(['training', 'run', '--mock', '--weights', 'speed=1', '--output-dir', out])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--weights: .*speed/)
    const negative = await runCli(['training', 'run', '--mock', '--weights', 'duration=-1', '--output-dir', out])
    expect(negative.code).toBe(2)
    expect(negative.stderr).toMatch(/--weights: .*duration/)
  })

  it('rejects a bad threshold', async () => {
    const result = await runCli(['training', 'run', '--mock', '--threshold', 'soon', '--output-dir', out])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--threshold must be a number >= 0, got "soon"')
  })

  it('names every missing API key, and how to set it, before any work when run without --mock', async () => {
    const result = await runCli(['training', 'run', '--output-dir', path.join(out, 'keyless')], {
      env: {ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', STUDIO_CONFIG_DIR: path.join(out, 'no-config')},
    })
    expect(result.code).toBe(2)
    // The bundled pairs all have sidecars except one, so Whisper (OpenAI) and Claude are both needed.
    expect(result.stderr).toContain('ANTHROPIC_API_KEY')
    expect(result.stderr).toContain('OPENAI_API_KEY')
    expect(result.stderr).toContain('studio secrets set')
    await expect(readdir(path.join(out, 'keyless'))).rejects.toThrow(/ENOENT/)
  })

  it('--tts voices each script offline and scores the duration on the measured audio', async () => {
    const result = await runCli([
      'training',
      'run',
      '--mock',
      '--tts',
      '--max-trials',
      '1',
      '--json',
      '--output-dir',
      path.join(out, 'tts'),
    ])
    expect(result.code, result.stderr).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    const trialDir = path.join(out, 'tts', report.run_id, report.trials[0]!.dir)
    const results = TrialResults.parse(JSON.parse(await readFile(path.join(trialDir, 'results.json'), 'utf8')))
    for (const pair of results.pairs) {
      expect(pair.details.duration_source).toBe('audio')
      expect(pair.details.audio_file).toBe(`${pair.pair_id}_audio.mp3`)
      const audio = await readFile(path.join(trialDir, pair.details.audio_file!))
      // Mock speech: 104-byte silent frames of 1152 samples at 44.1 kHz, 150 words a minute.
      expect(pair.details.generated_seconds).toBeCloseTo(((audio.length / 104) * 1152) / 44_100, 6)
      expect(Math.abs(pair.details.generated_seconds - (pair.details.generated_words / 150) * 60)).toBeLessThan(2)
    }
    const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(out, 'tts', report.run_id, 'run.json'), 'utf8')))
    expect(manifest.config.tts).toBe(true)
  })

  it('skips a broken pair, says why, and trains on the rest', async () => {
    const pairs = await makeTempDir('studio-e2e-broken-')
    try {
      const lines = Array.from({length: 40}, (_, i) => `Sentence ${i} explains sparse attention kernels and memory use in long documents.`)
      await writePdf(path.join(pairs, 'good.pdf'), {
        title: 'Sparse attention for long documents',
        pages: [lines.join(' '), lines.join(' ')],
      })
      await writeSilentMp3(path.join(pairs, 'good.mp3'), 60)
      await writeVtt(path.join(pairs, 'good.vtt'), [
        {start: 0, end: 20, speaker: 'Host', text: 'Welcome to the show. Today we discuss sparse attention for long documents.'},
        {start: 20, end: 40, speaker: 'Guest', text: 'Our method uses sparse attention kernels to cut memory use.'},
        {start: 40, end: 60, speaker: 'Host', text: 'Thanks for listening, see you next time.'},
      ])
      await writeFile(path.join(pairs, 'empty.pdf'), '')
      await writeSilentMp3(path.join(pairs, 'empty.mp3'), 30)
      const result = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--json', '--pairs-dir', pairs, '--output-dir', out])
      expect(result.code).toBe(0)
      const skippedReport = TrainingReport.parse(JSON.parse(result.stdout))
      expect(skippedReport.pairs).toEqual(['good'])
      expect(skippedReport.skipped_pairs.map((s) => Object.keys(s))).toEqual([['id', 'reason', 'hint']])
      expect(skippedReport.skipped_pairs[0]!.id).toBe('empty')
      expect(skippedReport.skipped_pairs[0]!.reason).toContain(`Paper ${path.join(pairs, 'empty.pdf')} is empty (0 bytes)`)
      expect(result.stderr).toMatch(/skipped empty: Paper .* is empty/)
    } finally {
      await removeDir(pairs)
    }
  })
})

describe('studio training run: interruption', () => {
  it('on SIGINT finishes the steps in flight, marks the run interrupted and exits 130', async () => {
    const {spawn} = await import('node:child_process')
    const {BIN, REPO_ROOT} = await import('../helpers/cli.js')
    const outDir = await makeTempDir('studio-e2e-sigint-')
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'training', 'run', '--mock', '--max-trials', '200', '--window', '100', '--output-dir', outDir],
        {
          cwd: REPO_ROOT,
          env: cliEnv({CI: '1'}),
        },
      )
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        if (/Trial 1 \(2 of 200\)/.test(stderr) && !child.killed) child.kill('SIGINT')
      })
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(code).toBe(130)
      expect(stderr).toContain('Stopping after the steps in progress')
      expect(stderr).toMatch(/Error: Run interrupted; what it completed is in /)
      const runId = await readlink(path.join(outDir, 'latest'))
      const manifest = RunManifest.parse(await readJsonFile(path.join(outDir, runId, 'run.json')))
      expect(manifest.status).toBe('interrupted')
      // Every trial folder that has results holds a complete, valid file.
      const trials = (await readdir(path.join(outDir, runId))).filter((d) => d.startsWith('trial_'))
      expect(trials.length).toBeGreaterThanOrEqual(1)
      expect(trials.length).toBeLessThan(200)
      for (const dir of trials) {
        const files = await readdir(path.join(outDir, runId, dir))
        if (files.includes('results.json')) TrialResults.parse(await readJsonFile(path.join(outDir, runId, dir, 'results.json')))
        expect(files.filter((f) => f.includes('.tmp'))).toEqual([])
      }
    } finally {
      await removeDir(outDir)
    }
  })
})
