/**
 * An output folder studio cannot write to: each case gets its own message naming the path,
 * a hint with the fix and exit 2, never "a bug in studio". (A damaged run folder, exit 3, is
 * in test/unit/write-faults.test.ts.) The cases are independent: run concurrently.
 */
import {chmod, mkdir, readdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT} from '../../src/core/errors.js'
import {runCli} from '../helpers/cli.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {openToOthers, UNPRIVILEGED} from '../helpers/unprivileged.js'

const RUN = ['training', 'run', '--mock', '--max-trials', '1', '--json']

let root = ''
beforeAll(async () => {
  root = await makeTempDir('studio-e2e-output-dir-')
})
afterAll(async () => {
  await removeDir(root)
})

/** Runs `studio training run` and returns its --json error, checked to be a studio error with `exit` and not a bug. */
async function failingRun(args: string[], exit: number, options: Parameters<typeof runCli>[1] = {}) {
  const result = await runCli(args, options)
  expect(result.code, result.stderr).toBe(exit)
  expect(result.stderr).not.toContain('bug in studio')
  const error = cliError(result.stdout)
  expect(error.exit_code).toBe(exit)
  return error
}

describe.concurrent('studio training run into an output folder it cannot use', () => {
  it('--output-dir is a file: exit 2, naming the file', async () => {
    const file = path.join(root, 'a-file')
    await writeFile(file, 'not a folder\n')
    // A folder inside the file names the file too (test/unit/write-faults.test.ts).
    const error = await failingRun([...RUN, '--output-dir', file], EXIT.input)
    expect(error.message).toBe(`Cannot create the folder ${file}: it is a file, where studio needs a folder`)
    expect(error.path).toBe(file)
    expect(error.hint).toBe(`Move or remove ${file}, or choose another --output-dir.`)
  })

  it('<output-dir>/latest is a folder: exit 2 before any run folder is made', async () => {
    const out = path.join(root, 'latest-folder')
    const latest = path.join(out, 'latest')
    await mkdir(latest, {recursive: true})
    const error = await failingRun([...RUN, '--output-dir', out], EXIT.input)
    expect(error.message).toBe(`Cannot update the link ${latest}: it is a folder, where studio needs a file (or link)`)
    expect(error.path).toBe(latest)
    expect(error.hint).toBe(`Move or remove ${latest}, or choose another --output-dir.`)
    expect(await readdir(out)).toEqual(['latest'])
  })

  // Root writes into a folder whatever its mode says: as root (CI), the CLI runs as `nobody`.
  it('a read-only --output-dir: exit 2, permission denied', async () => {
    const out = path.join(root, 'read-only')
    await mkdir(out)
    await chmod(out, 0o555)
    await openToOthers(root)
    const error = await failingRun([...RUN, '--output-dir', out], EXIT.input, {user: UNPRIVILEGED, env: {HOME: '/tmp'}})
    expect(error.message).toMatch(new RegExp(`^Cannot create the folder ${out}/run-\\d{8}T\\d{6}Z: permission denied$`))
    expect(error.hint).toBe(`Make ${out} writable for this user (e.g. \`chmod u+w\`), or choose another --output-dir.`)
    expect(await readdir(out)).toEqual([])
  })

  it('a read-only file system (EROFS, injected): exit 2, and no run folder is left', async () => {
    const out = path.join(root, 'erofs')
    const error = await failingRun([...RUN, '--output-dir', out], EXIT.input, {env: {STUDIO_TEST_FAIL_WRITE: '1:EROFS'}})
    expect(error.message).toMatch(/^Cannot write \S+\/run\.json: the file system is read-only$/)
    expect(error.hint).toBe('Choose an --output-dir on a writable disk, or remount this one read-write.')
    // Nothing to resume without run.json: its empty folder is removed.
    expect(await readdir(out)).toEqual([])
  })
})
