import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {cacheKeyHash, defaultCacheDir, DiskCache, formatBytes, NoCache} from '../../src/providers/cache.js'
import {canonicalJson, sha256} from '../../src/core/hash.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let dir = ''
beforeEach(async () => {
  dir = await makeTempDir('studio-cache-')
})
afterEach(async () => {
  await removeDir(dir)
})

const KEY = {provider: 'openai', model: 'gpt-x', params: {seed: 1, temperature: 0}, input_sha256: 'ab'.repeat(32)}

describe('DiskCache', () => {
  it('misses, then hits after set, with the documented layout and entry format', async () => {
    const cache = new DiskCache(dir)
    expect(await cache.get(KEY)).toBeUndefined()
    await cache.set(KEY, {text: 'hello', segments: [1, 2]})
    expect(await cache.get(KEY)).toEqual({text: 'hello', segments: [1, 2]})

    const sha = sha256(canonicalJson(KEY))
    expect(cacheKeyHash(KEY)).toBe(sha)
    const file = path.join(dir, sha.slice(0, 2), `${sha}.json`)
    expect(cache.fileFor(KEY)).toBe(file)
    const entry = JSON.parse(await readFile(file, 'utf8')) as {version: number; key_sha256: string; created_at: string; value: unknown}
    expect(entry).toMatchObject({version: 1, key_sha256: sha, value: {text: 'hello', segments: [1, 2]}})
    expect(Number.isNaN(Date.parse(entry.created_at))).toBe(false)
    // Exactly JSON.stringify of the entry, keys in the documented order, one line.
    expect(await readFile(file, 'utf8')).toBe(
      `${JSON.stringify({version: 1, key_sha256: sha, created_at: entry.created_at, value: entry.value})}\n`,
    )
    // No temp file left behind.
    expect(await readdir(path.dirname(file))).toEqual([`${sha}.json`])
  })

  it('hits for the same key written with its properties in another order', async () => {
    const cache = new DiskCache(dir)
    await cache.set({a: 1, b: {c: 2, d: [1, {x: 1, y: 2}]}}, 'answer')
    expect(await cache.get({b: {d: [1, {y: 2, x: 1}], c: 2}, a: 1})).toBe('answer')
    // Array order is part of the key.
    expect(await cache.get({a: 1, b: {c: 2, d: [{x: 1, y: 2}, 1]}})).toBeUndefined()
  })

  it('distinguishes keys and keeps falsy but meaningful answers', async () => {
    const cache = new DiskCache(dir)
    await cache.set(['k', 1], 0)
    await cache.set(['k', 2], false)
    expect(await cache.get(['k', 1])).toBe(0)
    expect(await cache.get(['k', 2])).toBe(false)
    expect(await cache.get(['k', 3])).toBeUndefined()
  })

  it('never stores empty answers', async () => {
    const cache = new DiskCache(dir)
    for (const [i, empty] of [undefined, null, '', '   ', [], {}].entries()) {
      await cache.set({i}, empty)
      expect(await cache.get({i})).toBeUndefined()
    }
    await cache.set({i: 'fn'}, () => 1)
    expect(await cache.get({i: 'fn'})).toBeUndefined()
    expect((await cache.stats()).entries).toBe(0)
  })

  it('treats a corrupt or foreign entry as a miss and deletes it', async () => {
    const cache = new DiskCache(dir)
    await cache.set(KEY, 'good')
    const file = cache.fileFor(KEY)
    const sha = cacheKeyHash(KEY)
    const cases = [
      '{"version": 1, "key_sha256": "',
      'not json at all',
      JSON.stringify({version: 2, key_sha256: sha, created_at: 'x', value: 'v'}),
      JSON.stringify({version: 1, key_sha256: 'f'.repeat(64), created_at: 'x', value: 'v'}),
      JSON.stringify({version: 1, key_sha256: sha, created_at: 'x', value: ''}),
      JSON.stringify({version: 1, key_sha256: sha, created_at: 'x'}),
    ]
    for (const text of cases) {
      await writeFile(file, text)
      expect(await cache.get(KEY)).toBeUndefined()
      await expect(stat(file)).rejects.toMatchObject({code: 'ENOENT'})
    }
    // A folder where the entry should be: a miss, removed, and the key can be stored again.
    await mkdir(file)
    expect(await cache.get(KEY)).toBeUndefined()
    await cache.set(KEY, 'again')
    expect(await cache.get(KEY)).toBe('again')
  })

  it('counts entries and bytes, and clear removes only entries', async () => {
    const cache = new DiskCache(dir)
    expect(await new DiskCache(path.join(dir, 'missing')).stats()).toEqual({entries: 0, bytes: 0, dir: path.join(dir, 'missing')})
    for (let i = 0; i < 5; i++) await cache.set({i}, `answer ${i}`)
    await writeFile(path.join(dir, 'README.txt'), 'not an entry')
    let expectedBytes = 0
    for (let i = 0; i < 5; i++) expectedBytes += (await stat(cache.fileFor({i}))).size
    expect(await cache.stats()).toEqual({entries: 5, bytes: expectedBytes, dir})

    expect(await cache.clear()).toEqual({removed: 5, bytes: expectedBytes, left: []})
    expect(await cache.stats()).toEqual({entries: 0, bytes: 0, dir})
    expect(await readdir(dir)).toEqual(['README.txt'])
    expect(await cache.clear()).toEqual({removed: 0, bytes: 0, left: []})
    expect(await cache.get({i: 0})).toBeUndefined()
  })

  it('leaves a valid entry when the same key is written concurrently', async () => {
    const a = new DiskCache(dir)
    const b = new DiskCache(dir)
    const values = Array.from({length: 20}, (_, i) => ({answer: i, text: 'x'.repeat(1000 * (i + 1))}))
    await Promise.all(values.map((v, i) => (i % 2 ? a : b).set(KEY, v)))
    const got = await a.get(KEY)
    expect(values).toContainEqual(got)
    const sha = cacheKeyHash(KEY)
    expect(await readdir(path.join(dir, sha.slice(0, 2)))).toEqual([`${sha}.json`])
    expect((await a.stats()).entries).toBe(1)
  })
})

describe('NoCache', () => {
  it('always misses and never stores', async () => {
    const cache = new NoCache()
    await cache.set(KEY, 'answer')
    expect(await cache.get(KEY)).toBeUndefined()
  })
})

describe('defaultCacheDir', () => {
  it('prefers STUDIO_CACHE_DIR, then XDG_CACHE_HOME, then the platform default', () => {
    expect(defaultCacheDir({STUDIO_CACHE_DIR: '/x/cache', XDG_CACHE_HOME: '/xdg', HOME: '/home/u'})).toBe('/x/cache')
    expect(defaultCacheDir({XDG_CACHE_HOME: '/xdg', HOME: '/home/u'}, 'darwin')).toBe('/xdg/studio')
    expect(defaultCacheDir({XDG_CACHE_HOME: 'relative', HOME: '/home/u'}, 'linux')).toBe('/home/u/.cache/studio')
    expect(defaultCacheDir({STUDIO_CACHE_DIR: '', HOME: '/home/u'}, 'linux')).toBe('/home/u/.cache/studio')
    expect(defaultCacheDir({HOME: '/Users/u'}, 'darwin')).toBe('/Users/u/Library/Caches/studio')
  })
})

describe('formatBytes', () => {
  it('prints binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB')
  })
})
