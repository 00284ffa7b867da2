/**
 * Bad flag values are bad input: exit 2 with a message that names the flag and a hint,
 * as text and under --json, before any work is done and before any folder is created.
 */
import {readdir} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {TRAINING_RUN, type BadValue} from '../helpers/bad-flags.js'
import {runCli} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
beforeAll(async () => {
  root = await makeTempDir('studio-e2e-flags-')
})
afterAll(async () => {
  await removeDir(root)
})

/** The error as the user sees it: only `Error: ...` and `Hint: ...` lines. */
function expectCleanError(stderr: string, bad: BadValue): void {
  const [first = '', ...rest] = stderr.trimEnd().split('\n')
  expect(first).toMatch(/^Error: /)
  expect(first.slice('Error: '.length)).toMatch(bad.message)
  if (bad.hint === false) return
  expect(rest).toEqual([expect.stringMatching(/^Hint: \S/)])
  if (bad.hint) expect(rest[0]).toMatch(bad.hint)
}

const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern)

async function expectNoFolder(dir: string): Promise<void> {
  await expect(readdir(dir)).rejects.toThrow(/ENOENT/)
}

describe.concurrent('studio training run: a bad flag value exits 2, names the flag, and creates nothing', () => {
  it.each(TRAINING_RUN.filter((bad) => bad.cli).map((bad, i) => [bad.args.join(' '), bad, i] as const))('%s', async (_name, bad, i) => {
    const out = path.join(root, `run-${i}`)
    const text = await runCli(['training', 'run', '--mock', ...bad.args, '--output-dir', out])
    expect(text.code, text.stderr).toBe(2)
    expect(text.stdout).toBe('')
    expectCleanError(text.stderr, bad)
    expect(text.stderr).not.toMatch(/bug in studio|Parsing --|\n\s+at /)
    await expectNoFolder(out)

    const json = await runCli(['training', 'run', '--mock', '--json', ...bad.args, '--output-dir', out])
    expect(json.code, json.stdout).toBe(2)
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        message: matching(bad.message),
        hint: bad.hint === false ? null : matching(bad.hint ?? /\S/),
        path: null,
        exit_code: 2,
      },
    })
    await expectNoFolder(out)
  })
})

describe.concurrent('the same flags on the other commands', () => {
  it('generate rejects a bad --seed before reading the paper', async () => {
    const result = await runCli(['generate', path.join(root, 'no-paper.pdf'), '--mock', '--seed', '2.5', '--json'])
    expect(result.code).toBe(2)
    expect((JSON.parse(result.stdout) as {error: {message: string}}).error.message).toBe(
      '--seed must be a whole number from -9007199254740991 to 9007199254740991, got "2.5"',
    )
  })

  it('--mock-writer needs --mock', async () => {
    const result = await runCli(['training', 'run', '--mock-writer', 'identity', '--output-dir', path.join(root, 'no-mock')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--mock/)
    await expectNoFolder(path.join(root, 'no-mock'))
  })

  it('generate rejects a malformed --model even with --mock', async () => {
    const result = await runCli(['generate', path.join(root, 'no-paper.pdf'), '--mock', '--model', 'generate=gpt-4o'])
    expect(result.code).toBe(2)
    expectCleanError(result.stderr, {args: [], message: /^--model generate=gpt-4o: expected ROLE=PROVIDER:MODEL$/})
  })

  it.each([
    ['training', 'list-runs', '--output-dir'],
    ['training', 'status', '--output-dir'],
    ['training', 'report', '--output-dir'],
    ['cache', 'stats', '--cache-dir'],
    ['cache', 'clear', '--cache-dir'],
  ])('%s %s refuses an empty %s rather than take the current folder', async (...args) => {
    const result = await runCli([...args, ''], {cwd: root})
    expect(result.code).toBe(2)
    expectCleanError(result.stderr, {args, message: new RegExp(`^${args[2]} must name a folder, got an empty value$`)})
  })
})

describe('studio training run --help', () => {
  it('gives each shared flag its unit, bound and default', async () => {
    const help = await runCli(['training', 'run', '--help'])
    expect(help.code).toBe(0)
    const text = help.stdout.replace(/\s+/g, ' ')
    expect(text).toContain('--max-trials=N [default: 5] Stop after this many trials at most (1 to 1000)')
    expect(text).toContain('--concurrency=N [default: 4] Pairs processed at the same time')
    expect(text).toContain('(1 to 64)')
    expect(text).toContain('--threshold=T [default: 0.05]')
    expect(text).toContain('--max-cost=USD Budget in USD (a positive number; default: none)')
    expect(text).toContain('names and defaults: duration=0.25,coverage=0.25,structure=0.2,quality=0.2,rouge=0.1')
  })
})
