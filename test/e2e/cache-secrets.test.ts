import {execFile} from 'node:child_process'
import {chmod, readdir, stat} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {type CacheClearResult, type CacheStats, DiskCache} from '../../src/providers/cache.js'
import type {SecretListing} from '../../src/providers/secrets.js'
import {BIN, cliEnv, type CliResult, runCli} from '../helpers/cli.js'
import {cliError} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {openToOthers, UNPRIVILEGED} from '../helpers/unprivileged.js'

const KEY = 'sk-test-proj-E2eSecretKeyValue-7Hq2Zp9Lw4Xr1c3d4'

let configDir = ''
let cacheDir = ''
let env: NodeJS.ProcessEnv = {}
const outputs: CliResult[] = []

async function studio(args: string[], input?: string): Promise<CliResult> {
  const result = await runCli(args, {env, input})
  outputs.push(result)
  return result
}

beforeEach(async () => {
  configDir = await makeTempDir('studio-e2e-config-')
  cacheDir = await makeTempDir('studio-e2e-cache-')
  // Blank variables count as unset, so keys in the developer's environment do not leak in.
  env = {STUDIO_CONFIG_DIR: configDir, STUDIO_CACHE_DIR: cacheDir, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: ''}
  outputs.length = 0
})

afterEach(async () => {
  // Whatever a test ran: no command ever printed the key, or a large part of it.
  for (const {stdout, stderr} of outputs) {
    for (const text of [stdout, stderr]) {
      expect(text).not.toContain(KEY)
      expect(text).not.toContain(KEY.slice(3, 20))
      expect(text).not.toContain(KEY.slice(-12))
    }
  }
  await removeDir(configDir)
  await removeDir(cacheDir)
})

describe('studio secrets', () => {
  it('stores a piped key, lists it masked, and removes it', async () => {
    const set = await studio(['secrets', 'set', 'openai'], `${KEY}\n`)
    expect(set.code).toBe(0)
    const file = path.join(configDir, 'secrets.json')
    expect(set.stdout).toContain(`Stored OPENAI in ${file} (mode 0600)`)
    expect(set.stdout).toContain('OPENAI_API_KEY, when set, takes precedence')
    expect((await stat(file)).mode & 0o777).toBe(0o600)

    const json = await studio(['secrets', 'list', '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([
      {name: 'OPENAI', env_var: 'OPENAI_API_KEY', source: 'file', masked: 'sk-…c3d4'},
      {name: 'ANTHROPIC', env_var: 'ANTHROPIC_API_KEY', source: 'none', masked: null},
    ])

    const table = await studio(['secrets', 'list'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/OPENAI\s+OPENAI_API_KEY\s+file\s+sk-…c3d4/)
    expect(table.stdout).toMatch(/ANTHROPIC\s+ANTHROPIC_API_KEY\s+none\s+-/)

    const overridden = await runCli(['secrets', 'list', '--json'], {env: {...env, OPENAI_API_KEY: 'sk-env-override-0000'}})
    expect((JSON.parse(overridden.stdout) as SecretListing[])[0]).toMatchObject({source: 'env', masked: 'sk-…0000'})

    const removed = await studio(['secrets', 'remove', 'OPENAI'])
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`Removed OPENAI from ${file}`)
    const again = await studio(['secrets', 'remove', 'openai'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('not stored')
    expect((JSON.parse((await studio(['secrets', 'list', '--json'])).stdout) as SecretListing[])[0]).toMatchObject({
      source: 'none',
      masked: null,
    })
  })

  it('answers --json for set and remove', async () => {
    const set = await studio(['secrets', 'set', 'ANTHROPIC', '--json'], KEY)
    expect(set.code).toBe(0)
    expect(JSON.parse(set.stdout)).toEqual({name: 'ANTHROPIC', file: path.join(configDir, 'secrets.json'), masked: 'sk-…c3d4'})
    const removed = await studio(['secrets', 'remove', 'anthropic', '--json'])
    expect(JSON.parse(removed.stdout)).toEqual({name: 'ANTHROPIC', file: path.join(configDir, 'secrets.json'), removed: true})
  })

  it('rejects an unknown name with exit 2 and the valid names', async () => {
    const result = await studio(['secrets', 'set', 'nope'], KEY)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('OPENAI, ANTHROPIC')
    const json = await studio(['secrets', 'remove', 'nope', '--json'])
    expect(json.code).toBe(2)
    expect(cliError(json.stdout).message).toContain('OPENAI, ANTHROPIC')
  })

  it('refuses a key given on the command line, in any form, without echoing it', async () => {
    for (const args of [
      ['secrets', 'set', KEY],
      ['secrets', 'set', 'OPENAI', KEY],
      ['secrets', 'set', 'OPENAI', `--key=${KEY}`],
    ]) {
      const result = await studio(args, '')
      expect(result.code).toBe(2)
    }
  })

  it('rejects an empty or malformed key with exit 2, storing nothing', async () => {
    const empty = await studio(['secrets', 'set', 'OPENAI'], '')
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('empty')
    const spaced = await studio(['secrets', 'set', 'OPENAI'], `${KEY.slice(0, 20)} ${KEY.slice(20)}`)
    expect(spaced.code).toBe(2)
    expect(spaced.stderr).toContain('whitespace')
    await expect(stat(path.join(configDir, 'secrets.json'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('has help that teaches where keys are stored', async () => {
    const help = await studio(['secrets', 'set', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('secrets.json')
    expect(help.stdout).toContain('0600')
  })
})

describe('studio cache', () => {
  it('reports and clears a cache filled directly', async () => {
    const cache = new DiskCache(cacheDir)
    for (let i = 0; i < 3; i++) await cache.set({provider: 'mock', i}, {text: 'y'.repeat(600)})
    const {bytes} = await cache.stats()

    const json = await studio(['cache', 'stats', '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      entries: 3,
      bytes,
      dir: cacheDir,
      papers: {entries: 0, bytes: 0, dir: path.join(cacheDir, 'papers')},
    })

    const text = await studio(['cache', 'stats'])
    expect(text.stdout).toMatch(/Entries:\s+3/)
    expect(text.stdout).toMatch(/Size:\s+\d+\.\d KiB/)
    expect(text.stdout).toContain(cacheDir)

    const cleared = await studio(['cache', 'clear'])
    expect(cleared.code).toBe(0)
    expect(cleared.stdout).toContain(`Removed 3 entries`)
    expect(await cache.get({provider: 'mock', i: 0})).toBeUndefined()

    const empty = await studio(['cache', 'clear', '--json'])
    expect(JSON.parse(empty.stdout)).toEqual({
      removed: 0,
      bytes: 0,
      left: [],
      dir: cacheDir,
      hint: null,
      papers: {removed: 0, bytes: 0, left: [], dir: path.join(cacheDir, 'papers')},
    })
  })

  it('clear goes on past entries it cannot delete, lists them with the reason and exits 5', async () => {
    const cache = new DiskCache(cacheDir)
    for (let i = 0; i < 6; i++) await cache.set({provider: 'mock', i}, {text: 'z'.repeat(100)})
    const prefixes = (await readdir(cacheDir)).sort()
    expect(prefixes.length).toBeGreaterThan(1)
    // The first prefix folder cannot be written to, so its entries cannot be deleted (for
    // `nobody` when the tests run as root, who could delete anything).
    const [locked, ...open] = prefixes.map((p) => path.join(cacheDir, p))
    const stuck = (await readdir(locked!)).sort().map((name) => path.join(locked!, name))
    const deletable = (await Promise.all(open.map(async (dir) => (await readdir(dir)).length))).reduce((a, b) => a + b, 0)
    await chmod(locked!, 0o555)
    for (const dir of open) await chmod(dir, 0o777)
    await openToOthers(cacheDir)
    try {
      const run = (args: string[]) =>
        new Promise<CliResult>((resolve) => {
          execFile(
            process.execPath,
            [BIN, 'cache', 'clear', '--cache-dir', cacheDir, ...args],
            {env: cliEnv({...env, CI: '1', NO_COLOR: '1'}), ...UNPRIVILEGED},
            (error, stdout, stderr) => resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr}),
          )
        })
      const text = await run([])
      outputs.push(text)
      expect(text.code, text.stderr).toBe(5)
      expect(text.stdout).toContain(`Removed ${deletable} entr`)
      expect(text.stderr).toContain(
        `error: ${stuck.length} could not be removed and ${stuck.length === 1 ? 'is' : 'are'} still in the cache:`,
      )
      for (const file of stuck) expect(text.stderr).toContain(`  ${file}: could not be deleted (EACCES)`)
      expect(text.stderr).toContain('Hint: Deleting a file needs write permission on its folder')
      // Every other entry is gone; the stuck ones are still there.
      expect((await cache.stats()).entries).toBe(stuck.length)

      const json = await run(['--json'])
      outputs.push(json)
      expect(json.code).toBe(5)
      const result = JSON.parse(json.stdout) as CacheClearResult & {dir: string; hint: string}
      expect(result).toMatchObject({removed: 0, bytes: 0, dir: cacheDir})
      expect(result.left).toEqual(stuck.map((file) => ({path: file, reason: 'could not be deleted (EACCES)'})))
      expect(result.hint).toContain(`chmod -R u+rwX "${cacheDir}"`)
    } finally {
      await chmod(locked!, 0o755)
    }
  })

  it('uses --cache-dir over STUDIO_CACHE_DIR', async () => {
    const other = path.join(cacheDir, 'other')
    await new DiskCache(other).set('k', 'v')
    const stats = JSON.parse((await studio(['cache', 'stats', '--cache-dir', other, '--json'])).stdout) as CacheStats
    expect(stats).toMatchObject({entries: 1, dir: other})
    const cleared = JSON.parse((await studio(['cache', 'clear', '--cache-dir', other, '--json'])).stdout) as CacheClearResult & {
      dir: string
    }
    expect(cleared).toMatchObject({removed: 1, dir: other})
  })
})
