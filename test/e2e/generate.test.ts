import {execFileSync} from 'node:child_process'
import {access, readFile, realpath, symlink} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ScriptAnswer} from '../../src/core/schemas/answers.js'
import {TrainingReport} from '../../src/core/schemas/files.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir, writePdf} from '../helpers/media.js'

const TITLE = 'Coastal Fog Forecasting with Graph Networks'

/** mkfifo is not on every system (Node has no API for it): the FIFO case needs it. */
const MKFIFO = (() => {
  try {
    execFileSync('mkfifo', ['--version'], {stdio: 'ignore'})
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
})()

let out = ''
let paper = ''
let report: TrainingReport
let runDir = ''
let generated: CliResult
let result: Record<string, unknown> & {script: unknown; text: string; words: number; estimated_minutes: number}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  )
}

beforeAll(async () => {
  out = await makeTempDir('studio-e2e-generate-')
  const training = await runCli(['training', 'run', '--mock', '--max-trials', '2', '--json', '--output-dir', out])
  expect(training.code).toBe(0)
  report = TrainingReport.parse(JSON.parse(training.stdout))
  runDir = await realpath(path.join(out, report.run_id))
  // A paper that is not one of the training pairs.
  paper = path.join(out, 'new-paper.pdf')
  const sentences = (topic: string) =>
    Array.from(
      {length: 25},
      (_, i) =>
        `Observation ${i} shows that graph networks over coastal sensor stations predict ${topic} hours ahead of persistence baselines.`,
    ).join(' ')
  await writePdf(paper, {
    title: TITLE,
    pages: [
      `Abstract. We forecast coastal fog with a graph network over weather stations. Dew point depression and wind direction are its strongest inputs. ${sentences('fog onset')}`,
      `Method. Each station is a node; edges link stations within 30 km. ${sentences('visibility')}`,
      `Results. The graph network cut false alarms by 18% against the operational model. ${sentences('fog clearance')}`,
    ],
  })
  generated = await runCli(['generate', paper, '--mock', '--output-dir', out, '--json'])
  result = JSON.parse(generated.stdout) as typeof result
})
afterAll(async () => {
  await removeDir(out)
})

describe('studio generate --mock', () => {
  it("writes a script for a new paper that follows the best prompt's plan and speakers", () => {
    expect(generated.code).toBe(0)
    const best = report.best_trial.prompt
    const script = ScriptAnswer.parse(result.script)
    expect(script.segments.map((s) => s.label)).toEqual(best.segment_plan.map((s) => s.label))
    const speakers = new Set(script.segments.flatMap((s) => s.lines.map((l) => l.speaker)))
    for (const speaker of speakers) expect(best.speakers.map((s) => s.name)).toContain(speaker)
    expect(result.title).toBe(TITLE)
    expect(result.text.trim().length).toBeGreaterThan(0)
    expect(result.text).toContain(`[${best.segment_plan[0]!.label}]`)
    expect(result.words).toBeGreaterThan(100)
    expect(result.estimated_minutes).toBeCloseTo(result.words / best.style.words_per_minute, 2)
  })

  it('prints the documented JSON shape', async () => {
    expect(Object.keys(result).sort()).toEqual(
      [
        'paper',
        'title',
        'run_dir',
        'prompt_file',
        'concepts',
        'script',
        'text',
        'words',
        'estimated_minutes',
        'usage',
        'out',
        'audio',
      ].sort(),
    )
    expect(result.paper).toBe(paper)
    expect(result.run_dir).toBe(runDir)
    expect(result.out).toBeNull()
    const markdown = path.join(runDir, 'calibrated_prompt.md')
    // Every finished run writes calibrated_prompt.md, and generate uses exactly that text.
    expect(await exists(markdown)).toBe(true)
    expect(result.prompt_file).toBe(markdown)
    const concepts = result.concepts as Array<{term: string; weight: number}>
    expect(concepts.length).toBeGreaterThan(0)
    expect(concepts[0]!.weight).toBe(1)
    expect(result.usage).toMatchObject({by_role: {concepts: {calls: 1}, generate: {calls: 1}}, total: {calls: 2}})
    expect(generated.stderr).toBe('')
  })

  it('prints the script alone on stdout without --json (summary on stderr), the same for the same seed', async () => {
    const text = await runCli(['generate', paper, '--mock', '--output-dir', out])
    expect(text.code).toBe(0)
    expect(text.stdout).toBe(result.text)
    expect(text.stderr).toContain(`Script for "${TITLE}": ${result.words} words`)
    expect(text.stderr).toContain(`Prompt: ${result.prompt_file as string}`)
  })

  it('writes the script to --out and takes the run folder from --prompt', async () => {
    const file = path.join(out, 'scripts', 'fog.txt')
    const written = await runCli(['generate', paper, '--mock', '--prompt', path.join(out, report.run_id), '--out', file])
    expect(written.code).toBe(0)
    expect(await readFile(file, 'utf8')).toBe(result.text)
    expect(written.stdout).toContain(`Wrote ${file}`)
    expect(written.stdout).not.toContain(result.text)

    const json = await runCli(['generate', paper, '--mock', '--prompt', path.join(out, report.run_id), '--out', file, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({out: file, text: result.text, run_dir: runDir})
  })
})

describe('studio generate: bad input', () => {
  it('fails with exit code 2 and the path for a missing paper', async () => {
    const missing = path.join(out, 'no-such-paper.pdf')
    const failed = await runCli(['generate', missing, '--mock', '--output-dir', out])
    expect(failed.code).toBe(2)
    expect(failed.stdout).toBe('')
    expect(failed.stderr).toContain(`Error: Cannot read paper ${missing}: ENOENT`)
    expect(failed.stderr).toContain('Hint: ')
  })

  it('refuses a link to /dev/zero at once (exit 2), naming the file and what it is, writing nothing', async () => {
    const zero = path.join(out, 'zero-paper.txt')
    await symlink('/dev/zero', zero)
    const script = path.join(out, 'zero-script.txt')
    const started = Date.now()
    const failed = await runCli(['generate', zero, '--mock', '--output-dir', out, '--out', script])
    expect(failed.code).toBe(2)
    expect(failed.stderr).toContain(`Error: Paper ${zero} (a link to /dev/zero) is a character device, not a regular file`)
    expect(failed.stderr).toContain('Hint: Give studio a regular file')
    expect(await exists(script)).toBe(false)
    const json = await runCli(['generate', zero, '--mock', '--output-dir', out, '--json'])
    expect(json.code).toBe(2)
    expect(cliError(json.stdout)).toMatchObject({path: zero, exit_code: 2})
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it.skipIf(!MKFIFO)('refuses a FIFO without waiting for a writer (skipped where mkfifo is missing)', async () => {
    const fifo = path.join(out, 'fifo-paper.md')
    execFileSync('mkfifo', [fifo])
    const failed = await runCli(['generate', fifo, '--mock', '--output-dir', out])
    expect(failed.code).toBe(2)
    expect(failed.stderr).toContain(`Error: Paper ${fifo} is a FIFO (named pipe), not a regular file`)
  })

  it('fails with exit code 2 and a hint when there is no run yet', async () => {
    const empty = await makeTempDir('studio-e2e-generate-empty-')
    try {
      const failed = await runCli(['generate', paper, '--mock', '--output-dir', empty])
      expect(failed.code).toBe(2)
      expect(failed.stderr).toContain(`Error: No run found: ${path.join(empty, 'latest')} does not exist`)
      expect(failed.stderr).toContain('Hint: Start one with `studio training run --mock`')

      const json = await runCli(['generate', paper, '--mock', '--prompt', empty, '--json'])
      expect(json.code).toBe(2)
      const error = cliError(json.stdout)
      expect(error).toMatchObject({path: empty, exit_code: 2})
      expect(error.message).toContain(empty)
      expect(error.hint).toContain('studio training run')
    } finally {
      await removeDir(empty)
    }
  })

  it('voices the script with --tts into an MP3 next to --out, as long as the script takes to say', async () => {
    const file = path.join(out, 'voiced', 'episode.txt')
    const voiced = await runCli(['generate', paper, '--mock', '--tts', '--out', file, '--output-dir', out, '--json'])
    expect(voiced.code).toBe(0)
    const result = JSON.parse(voiced.stdout) as {audio: {file: string; seconds: number}; words: number}
    expect(result.audio.file).toBe(path.join(out, 'voiced', 'episode.mp3'))
    // The mock speaks at 150 words a minute: the measured audio says so, within a frame per request.
    expect(result.audio.seconds).toBeGreaterThan((result.words / 150) * 60 * 0.95)
    expect(result.audio.seconds).toBeLessThan((result.words / 150) * 60 * 1.05)
    expect((await readFile(result.audio.file)).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfb]))
    const noOut = await runCli(['generate', paper, '--mock', '--tts', '--output-dir', out])
    expect(noOut.code).toBe(2)
    expect(noOut.stderr).toContain('--tts writes the audio next to the script: give the script a file with --out')
  })

  it('names the missing API key before doing any work when run without --mock', async () => {
    const failed = await runCli(['generate', paper, '--output-dir', out], {
      env: {ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', STUDIO_CONFIG_DIR: path.join(out, 'no-config')},
    })
    expect(failed.code).toBe(2)
    expect(failed.stderr).toContain('ANTHROPIC_API_KEY')
    expect(failed.stderr).toContain('studio secrets set ANTHROPIC')
    expect(failed.stderr).not.toContain('OPENAI_API_KEY')
  })

  it('has help with a summary, the flags and examples', async () => {
    const help = await runCli(['generate', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Write a podcast script for a new paper with a calibrated prompt')
    for (const flag of ['--prompt=RUN_DIR', '--out=FILE', '--output-dir', '--mock', '--seed', '--tts', '--json'])
      expect(help.stdout).toContain(flag)
    expect(help.stdout).toContain('EXAMPLES')
  })
})
