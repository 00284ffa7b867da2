/**
 * The response cache on disk: provider answers stored by the hash of their request,
 * so that a resumed or repeated run pays for each distinct request once.
 *
 * Layout: <dir>/<first 2 hex of sha>/<sha>.json, where sha = sha256(canonicalJson(key)).
 * Each file holds {version: 1, key_sha256, created_at, value}. Writes are atomic (temp
 * file + rename), so two processes writing the same key both succeed and the last
 * rename wins with a complete file; a reader never sees half a file. An entry that is
 * unreadable, not JSON, or not in this format is a miss and is deleted: the cache can
 * always be thrown away, so it never turns into an error.
 */
import {readFileSync} from 'node:fs'
import {readdir, rm, rmdir, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {z} from 'zod'

import {describeError, InputError} from '../core/errors.js'
import {isNoSpace} from '../core/fs-errors.js'
import {canonicalJson, sha256} from '../core/hash.js'
import {makeDir, writeFileAtomic} from '../core/store.js'
import type {ResponseCache} from '../core/providers.js'

export const CACHE_ENTRY_VERSION = 1

const CacheEntry = z.object({
  version: z.literal(CACHE_ENTRY_VERSION),
  key_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.string(),
  value: z.unknown(),
})
type CacheEntry = z.infer<typeof CacheEntry>

const PREFIX_DIR = /^[0-9a-f]{2}$/
const ENTRY_FILE = /^([0-9a-f]{64})\.json$/

export interface CacheStats {
  entries: number
  bytes: number
  dir: string
}

export interface CacheClearResult {
  removed: number
  bytes: number
  /** Entries that could not be deleted (and folders of entries that could not be listed), each with the reason. */
  left: Array<{path: string; reason: string}>
}

/** The hash that names a key's file: sha256 of its canonical JSON (so property order does not matter). */
export function cacheKeyHash(key: unknown): string {
  const json = canonicalJson(key)
  // JSON.stringify(undefined) is undefined: give such a key a stable text rather than crash.
  return sha256(json ?? 'undefined')
}

/**
 * Empty answers are never cached: undefined, null, a blank string, [] and {}.
 * (Errors never reach the cache at all: callers call set() only after a call succeeded.)
 */
export function isEmptyAnswer(value: unknown): boolean {
  if (value === undefined || value === null) return true
  if (typeof value === 'string') return value.trim() === ''
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === 'object') return Object.keys(value).length === 0
  return false
}

/** $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio (~/Library/Caches/studio on macOS). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.STUDIO_CACHE_DIR?.trim()
  if (explicit) return path.resolve(explicit)
  const xdg = env.XDG_CACHE_HOME?.trim()
  // The XDG spec says to ignore a relative path.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'studio')
  const home = env.HOME?.trim() || os.homedir()
  return platform === 'darwin' ? path.join(home, 'Library', 'Caches', 'studio') : path.join(home, '.cache', 'studio')
}

/**
 * The paper cache's folder inside a cache folder (media/paper-cache.ts): a DiskCache of its
 * own, so that paper texts and provider answers are counted apart, and cleared together.
 */
export function paperCacheDir(cacheDir: string): string {
  return path.join(cacheDir, 'papers')
}

export class DiskCache implements ResponseCache {
  readonly dir: string
  private readonly madeDirs = new Set<string>()

  constructor(dir: string) {
    this.dir = path.resolve(dir)
  }

  /** The file that holds (or would hold) a key's answer. */
  fileFor(key: unknown): string {
    const hash = cacheKeyHash(key)
    return path.join(this.dir, hash.slice(0, 2), `${hash}.json`)
  }

  async get(key: unknown): Promise<unknown> {
    const hash = cacheKeyHash(key)
    const file = path.join(this.dir, hash.slice(0, 2), `${hash}.json`)
    let text: string
    try {
      // Synchronous, as writes are (store.ts, writeFileAtomic with durable: false): a miss or an
      // entry of a few kilobytes costs less than a round trip through the thread pool.
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      // Unreadable (a folder, no permission, an I/O error): a miss; try to make room for a good entry.
      await discard(file)
      return undefined
    }
    let entry: CacheEntry
    try {
      const parsed = CacheEntry.safeParse(JSON.parse(text))
      if (!parsed.success) throw parsed.error
      entry = parsed.data
    } catch {
      await discard(file)
      return undefined
    }
    if (entry.key_sha256 !== hash || isEmptyAnswer(entry.value)) {
      await discard(file)
      return undefined
    }
    return entry.value
  }

  /**
   * Stores an answer. Callers call this only after a provider call succeeded, so errors
   * are never cached; empty answers (see isEmptyAnswer) and values that are not JSON
   * are ignored here. A failure to write is an InputError naming the folder.
   */
  async set(key: unknown, value: unknown): Promise<void> {
    // A value JSON cannot represent (a function, a symbol) would lose its `value` field: do not store it.
    if (isEmptyAnswer(value)) return
    const valueJson = JSON.stringify(value) as string | undefined
    if (valueJson === undefined) return
    const hash = cacheKeyHash(key)
    const {value: _value, ...head}: CacheEntry = {
      version: CACHE_ENTRY_VERSION,
      key_sha256: hash,
      created_at: new Date().toISOString(),
      value,
    }
    // JSON.stringify(entry), without serialising the value (a paper's text, an answer) twice.
    const text = `${JSON.stringify(head).slice(0, -1)},"value":${valueJson}}`
    const sub = path.join(this.dir, hash.slice(0, 2))
    try {
      // Each of the 256 prefix folders is made once per process, not once per entry; one
      // removed since (`studio cache clear` in another shell) is made again.
      const write = () => writeFileAtomic(path.join(sub, `${hash}.json`), `${text}\n`, undefined, {durable: false})
      if (!this.madeDirs.has(sub)) {
        await makeDir(sub, {recursive: true})
        this.madeDirs.add(sub)
      }
      await write().catch(async (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        await makeDir(sub, {recursive: true})
        await write()
      })
    } catch (error) {
      // A full disk stops the run (exit 6, resumable) rather than failing the pair whose answer this is.
      if (isNoSpace(error)) throw error
      const code = (error as NodeJS.ErrnoException).code ?? String(error)
      throw new InputError(`Cannot write to the response cache in ${this.dir}: ${code}`, {
        path: this.dir,
        hint: 'Choose another folder with --cache-dir (or STUDIO_CACHE_DIR), or run with --no-cache.',
        cause: error,
      })
    }
  }

  /** How many entries the cache holds and their size on disk. A missing folder is an empty cache. */
  async stats(): Promise<CacheStats> {
    let entries = 0
    let bytes = 0
    for (const file of await this.entryFiles()) {
      try {
        bytes += (await stat(file)).size
        entries++
      } catch {
        // Removed meanwhile by another process: not an entry any more.
      }
    }
    return {entries, bytes, dir: this.dir}
  }

  /**
   * Removes every entry, and the prefix folders left empty. Only files named like
   * entries are touched, so a --cache-dir pointing at the wrong folder deletes nothing else.
   */
  async clear(): Promise<CacheClearResult> {
    let removed = 0
    let bytes = 0
    const left: CacheClearResult['left'] = []
    const unreadable = (dir: string, error: unknown) =>
      left.push({path: dir, reason: `its entries could not be listed (${errorCode(error)})`})
    // One entry that cannot be deleted never stops the others: each is tried, and those
    // left are reported with their reason.
    for (const file of await this.entryFiles(unreadable)) {
      let size: number
      try {
        size = (await stat(file)).size
        await rm(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue // removed meanwhile
        left.push({path: file, reason: `could not be deleted (${errorCode(error)})`})
        continue
      }
      removed++
      bytes += size
    }
    for (const sub of await this.prefixDirs()) {
      // Fails when not empty (a write in progress, or a file that is not ours): leave it then.
      await rmdir(sub).catch(() => undefined)
    }
    return {removed, bytes, left}
  }

  private async prefixDirs(): Promise<string[]> {
    let names: string[]
    try {
      names = (await readdir(this.dir, {withFileTypes: true})).filter((d) => d.isDirectory() && PREFIX_DIR.test(d.name)).map((d) => d.name)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return []
      throw new InputError(`Cannot read the response cache in ${this.dir}: ${code ?? String(error)}`, {path: this.dir, cause: error})
    }
    return names.sort().map((name) => path.join(this.dir, name))
  }

  /** Entry files, by prefix folder; `unreadable` hears of a prefix folder that cannot be listed. */
  private async entryFiles(unreadable: (dir: string, error: unknown) => void = () => {}): Promise<string[]> {
    const files: string[] = []
    for (const sub of await this.prefixDirs()) {
      const prefix = path.basename(sub)
      let names: string[]
      try {
        names = await readdir(sub)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') unreadable(sub, error)
        continue
      }
      for (const name of names.sort()) {
        const match = ENTRY_FILE.exec(name)
        if (match && match[1]!.startsWith(prefix)) files.push(path.join(sub, name))
      }
    }
    return files
  }
}

/** 1536 -> "1.5 KiB": sizes as `studio cache` prints them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** For --no-cache: every get is a miss and nothing is stored. */
export class NoCache implements ResponseCache {
  async get(_key: unknown): Promise<unknown> {
    return undefined
  }

  async set(_key: unknown, _value: unknown): Promise<void> {}
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? describeError(error)
}

async function discard(file: string): Promise<void> {
  await rm(file, {recursive: true, force: true}).catch(() => undefined)
}
