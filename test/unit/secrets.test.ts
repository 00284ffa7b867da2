import {chmod, mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {
  defaultConfigDir,
  envVarOf,
  listSecrets,
  maskKey,
  missingKeyError,
  parseSecretName,
  readSecretsFile,
  removeSecret,
  resolveKey,
  SECRET_NAMES,
  secretsFilePath,
  setSecret,
  validateKey,
} from '../../src/providers/secrets.js'
import {CorruptFileError, EXIT, InputError} from '../../src/core/errors.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

const OPENAI_KEY = 'sk-test-proj-Q9f3xT7mLw2pRz8vKc4nYb6hJd1sa1b2'
const ANTHROPIC_KEY = 'sk-test-ant-api03-Zx8Wq4Lr7Tn2Vb5Mc9Kp3Hs6Jd0Fg-e5f6'

let root = ''
let env: NodeJS.ProcessEnv = {}
let configDir = ''

beforeEach(async () => {
  root = await makeTempDir('studio-secrets-')
  configDir = path.join(root, 'config', 'studio')
  // No OPENAI_API_KEY / ANTHROPIC_API_KEY: only what each test gives.
  env = {STUDIO_CONFIG_DIR: configDir, HOME: root}
})
afterEach(async () => {
  await removeDir(root)
})

describe('secrets', () => {
  it('names and variables', () => {
    expect(SECRET_NAMES).toEqual(['OPENAI', 'ANTHROPIC'])
    expect(envVarOf('OPENAI')).toBe('OPENAI_API_KEY')
    expect(envVarOf('ANTHROPIC')).toBe('ANTHROPIC_API_KEY')
    expect(parseSecretName('openai')).toBe('OPENAI')
    expect(parseSecretName('Anthropic')).toBe('ANTHROPIC')
    expect(() => parseSecretName('nope')).toThrow(/OPENAI, ANTHROPIC/)
    // A key typed in place of the name is not echoed.
    try {
      parseSecretName(OPENAI_KEY)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InputError)
      expect(JSON.stringify({m: (error as InputError).message, h: (error as InputError).hint})).not.toContain(OPENAI_KEY.slice(0, 12))
    }
  })

  it('stores a key with mode 0600 in a folder with mode 0700', async () => {
    const {file, masked} = await setSecret('OPENAI', `${OPENAI_KEY}\n`, env)
    expect(file).toBe(path.join(configDir, 'secrets.json'))
    expect(secretsFilePath(env)).toBe(file)
    expect(masked).toBe('sk-…a1b2')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(configDir)).mode & 0o777).toBe(0o700)
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({version: 1, keys: {OPENAI: OPENAI_KEY}})
    expect(await readdir(configDir)).toEqual(['secrets.json'])
    expect(await resolveKey('OPENAI', env)).toEqual({key: OPENAI_KEY, source: 'file', warnings: []})
    expect(await resolveKey('ANTHROPIC', env)).toBeNull()

    // A second key keeps the first; the file stays 0600 after the rewrite.
    await setSecret('ANTHROPIC', ANTHROPIC_KEY, env)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await resolveKey('OPENAI', env))?.key).toBe(OPENAI_KEY)
    expect((await resolveKey('ANTHROPIC', env))?.key).toBe(ANTHROPIC_KEY)
  })

  it('tightens an existing private folder of ours to 0700', async () => {
    await mkdir(configDir, {recursive: true})
    await chmod(configDir, 0o755)
    await setSecret('OPENAI', OPENAI_KEY, env)
    expect((await stat(configDir)).mode & 0o777).toBe(0o700)
  })

  it('lets the environment win over the file', async () => {
    await setSecret('OPENAI', OPENAI_KEY, env)
    const fromEnv = 'sk-test-from-the-environment-9999'
    const withEnv = {...env, OPENAI_API_KEY: fromEnv}
    expect(await resolveKey('OPENAI', withEnv)).toEqual({key: fromEnv, source: 'env', warnings: []})
    // A blank variable counts as unset.
    expect((await resolveKey('OPENAI', {...env, OPENAI_API_KEY: '  '}))?.source).toBe('file')
    expect(await resolveKey('ANTHROPIC', {...env, ANTHROPIC_API_KEY: ANTHROPIC_KEY})).toEqual({
      key: ANTHROPIC_KEY,
      source: 'env',
      warnings: [],
    })

    expect(await listSecrets(withEnv)).toEqual([
      {name: 'OPENAI', env_var: 'OPENAI_API_KEY', source: 'env', masked: 'sk-…9999'},
      {name: 'ANTHROPIC', env_var: 'ANTHROPIC_API_KEY', source: 'none', masked: null},
    ])
    expect((await listSecrets(env))[0]).toEqual({name: 'OPENAI', env_var: 'OPENAI_API_KEY', source: 'file', masked: 'sk-…a1b2'})
  })

  it('masks: never more than 7 visible characters, never the whole key', () => {
    for (const key of [
      OPENAI_KEY,
      ANTHROPIC_KEY,
      'a',
      'ab',
      'abcd',
      'abcdefgh',
      'abcdefghijk',
      'abcdefghijklmno',
      'abcdefghijklmnop',
      'x'.repeat(511),
    ]) {
      const masked = maskKey(key)
      const visible = masked.replace('…', '')
      expect(visible.length).toBeLessThanOrEqual(Math.min(7, Math.floor(key.length / 2)))
      expect(masked).not.toBe(key)
      expect(masked).toContain('…')
    }
    expect(maskKey(OPENAI_KEY)).toBe('sk-…a1b2')
  })

  it('removes a key, and the file with the last one', async () => {
    expect(await removeSecret('OPENAI', env)).toBe(false)
    await setSecret('OPENAI', OPENAI_KEY, env)
    await setSecret('ANTHROPIC', ANTHROPIC_KEY, env)
    expect(await removeSecret('OPENAI', env)).toBe(true)
    expect(await removeSecret('OPENAI', env)).toBe(false)
    expect(await resolveKey('OPENAI', env)).toBeNull()
    expect((await resolveKey('ANTHROPIC', env))?.key).toBe(ANTHROPIC_KEY)
    expect(await removeSecret('ANTHROPIC', env)).toBe(true)
    expect(await readdir(configDir)).toEqual([])
  })

  it('rejects invalid values without quoting them', async () => {
    const bad = [
      {value: '', message: /empty/},
      {value: ' \n', message: /empty/},
      {value: 'sk-secret part2-hidden', message: /whitespace/},
      {value: 'sk-secret\npart2-hidden', message: /line break/},
      {value: 'sk-secret\u0007hidden-bell', message: /printable ASCII/},
      {value: 'sk-secrét-hidden', message: /printable ASCII/},
      {value: `sk-${'q'.repeat(600)}`, message: /603 characters/},
    ]
    for (const {value, message} of bad) {
      let error: unknown
      try {
        await setSecret('OPENAI', value, env)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InputError)
      const e = error as InputError
      expect(e.exitCode).toBe(EXIT.input)
      expect(e.message).toMatch(message)
      for (const part of value.split(/\s+/).filter((p) => p.length > 3)) {
        expect(e.message).not.toContain(part)
        expect(e.hint ?? '').not.toContain(part)
      }
    }
    expect(await readdir(root)).toEqual([])
    expect(validateKey('OPENAI', `  ${OPENAI_KEY}\r\n`)).toBe(OPENAI_KEY)
    expect(validateKey('OPENAI', 'x'.repeat(511))).toHaveLength(511)
    expect(() => validateKey('OPENAI', 'x'.repeat(512))).toThrow(InputError)
  })

  it('warns about a file other users can read, and reads it anyway', async () => {
    const {file} = await setSecret('OPENAI', OPENAI_KEY, env)
    await chmod(file, 0o644)
    const loaded = await readSecretsFile(env)
    expect(loaded.warnings).toHaveLength(1)
    expect(loaded.warnings[0]).toContain('chmod 600')
    expect(loaded.warnings[0]).not.toContain(OPENAI_KEY)
    expect(await resolveKey('OPENAI', env)).toEqual({key: OPENAI_KEY, source: 'file', warnings: loaded.warnings})
    // Writing again makes it private.
    await setSecret('ANTHROPIC', ANTHROPIC_KEY, env)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it('refuses a damaged file without quoting its content', async () => {
    await mkdir(configDir, {recursive: true})
    const file = path.join(configDir, 'secrets.json')
    for (const text of [`{"version": 1, "keys": {"OPENAI": "${OPENAI_KEY}"`, JSON.stringify({keys: {OPENAI: OPENAI_KEY}})]) {
      await writeFile(file, text, {mode: 0o600})
      let error: unknown
      try {
        await resolveKey('OPENAI', env)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(CorruptFileError)
      expect(JSON.stringify({m: (error as Error).message, h: (error as CorruptFileError).hint})).not.toContain(OPENAI_KEY.slice(-8))
    }
  })

  it('missingKeyError names every missing variable and both ways to set it', async () => {
    const error = missingKeyError(['OPENAI', 'ANTHROPIC'], env)
    expect(error).toBeInstanceOf(InputError)
    expect(error.exitCode).toBe(EXIT.input)
    expect(error.message).toContain('OPENAI_API_KEY')
    expect(error.message).toContain('ANTHROPIC_API_KEY')
    expect(error.hint).toContain('export OPENAI_API_KEY=...')
    expect(error.hint).toContain('export ANTHROPIC_API_KEY=...')
    expect(error.hint).toContain('studio secrets set OPENAI')
    expect(error.hint).toContain('studio secrets set ANTHROPIC')
    expect(error.hint).toContain('0600')
    expect(error.hint).toContain(path.join(configDir, 'secrets.json'))

    const one = missingKeyError(['ANTHROPIC'], env)
    expect(one.message).toContain('ANTHROPIC_API_KEY is not set')
    expect(one.message).not.toContain('OPENAI')
  })

  it('finds the config dir from STUDIO_CONFIG_DIR, XDG_CONFIG_HOME or the platform default', () => {
    expect(defaultConfigDir({STUDIO_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/xdg', HOME: '/home/u'})).toBe('/c')
    expect(defaultConfigDir({XDG_CONFIG_HOME: '/xdg', HOME: '/home/u'}, 'linux')).toBe('/xdg/studio')
    expect(defaultConfigDir({HOME: '/home/u'}, 'linux')).toBe('/home/u/.config/studio')
    expect(defaultConfigDir({HOME: '/Users/u'}, 'darwin')).toBe('/Users/u/Library/Application Support/studio')
  })
})
