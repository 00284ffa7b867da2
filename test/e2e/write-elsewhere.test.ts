/**
 * Writes outside a run folder on a full disk (STUDIO_TEST_FAIL_WRITE, src/core/fs-errors.ts):
 * `studio generate --out` and `studio secrets set/remove` give the file-system error of
 * core/fs-errors.ts (exit 6, the path, the fix naming their own option), never a raw
 * ENOSPC, and leave the old file (or none) whole.
 */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT} from '../../src/core/errors.js'
import {runCli} from '../helpers/cli.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

const KEY = 'sk-test-proj-FullDiskSecretKeyValue-9Zq2Lp4Xw'
const FULL = {STUDIO_TEST_FAIL_WRITE: '1+'}

let root = ''
let runDir = ''

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-write-elsewhere-')
  runDir = (await mockTrainingRun(path.join(root, 'trained'), {maxTrials: 1})).runDir
})
afterAll(async () => {
  await removeDir(root)
})

describe('a full disk outside a run folder', () => {
  it('studio generate --out: exit 6, the file named, the fix names --out, and no file or temp file left', async () => {
    const dir = path.join(root, 'scripts')
    const out = path.join(dir, 'script.txt')
    const paper = path.join(root, 'paper.md')
    await writeFile(paper, '# Soil microbes in drought\n\nDrought changes which soil microbes thrive and how roots feed them.\n')
    const result = await runCli(['generate', paper, '--mock', '--prompt', runDir, '--out', out, '--json'], {env: FULL})
    expect(result.code, result.stderr).toBe(EXIT.noSpace)
    const error = cliError(result.stdout)
    expect(error).toEqual({
      message: `No space left on device while writing ${out}: free space or choose another --out file`,
      hint: 'Free space on that disk (`df -h` shows what is left), or write to another disk with --out.',
      path: out,
      exit_code: EXIT.noSpace,
    })
    expect(result.stderr).not.toContain('bug in studio')
    expect(await readdir(dir)).toEqual([])
  })

  it('studio secrets set and remove: exit 6 naming secrets.json and STUDIO_CONFIG_DIR; the stored keys stay as they were', async () => {
    const configDir = path.join(root, 'config')
    const env = {STUDIO_CONFIG_DIR: configDir, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: ''}
    const file = path.join(configDir, 'secrets.json')
    const message = `No space left on device while writing ${file}: free space or choose another folder with STUDIO_CONFIG_DIR`

    const refused = await runCli(['secrets', 'set', 'OPENAI', '--json'], {env: {...env, ...FULL}, input: KEY})
    expect(refused.code, refused.stderr).toBe(EXIT.noSpace)
    expect(cliError(refused.stdout)).toMatchObject({message, path: file, exit_code: EXIT.noSpace})
    expect(await readdir(configDir)).toEqual([])

    // Two keys: removing the last one deletes the file instead of writing it.
    const stored = await runCli(['secrets', 'set', 'OPENAI'], {env, input: KEY})
    expect(stored.code, stored.stderr).toBe(0)
    expect((await runCli(['secrets', 'set', 'ANTHROPIC'], {env, input: `${KEY}-2`})).code).toBe(0)
    const before = await readFile(file, 'utf8')
    const removal = await runCli(['secrets', 'remove', 'OPENAI'], {env: {...env, ...FULL}})
    expect(removal.code, removal.stderr).toBe(EXIT.noSpace)
    expect(removal.stderr).toContain(message)
    expect(removal.stderr).toContain('write to another disk with STUDIO_CONFIG_DIR')
    expect(await readFile(file, 'utf8')).toBe(before)
    expect(await readdir(configDir)).toEqual(['secrets.json'])
    for (const output of [refused, stored, removal]) expect(output.stdout + output.stderr).not.toContain(KEY.slice(8))
  })
})
