/**
 * Everything the trainer writes goes through here: atomic writes (temp file in the
 * same folder, then rename, so a crash never leaves half a file), versioned run
 * folders that never reuse a name, and validated reads.
 */
import {randomBytes} from 'node:crypto'
import {renameSync, writeFileSync} from 'node:fs'
import {lstat, mkdir, readdir, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import type {z} from 'zod'

import {CorruptFileError, InputError} from './errors.js'
import {fileSystemError, injectedFault, OUTPUT_DIR, type Elsewhere, type FsOperation} from './fs-errors.js'
import {killDue, killNow} from './kill-points.js'
import {outputPaths, runFolderName, shortenName} from './layout.js'

/**
 * Runs one write of `file`, with the injected fault of a test if any, and turns an error
 * of the file system into a FileSystemError (path, fix, exit code): see fs-errors.ts.
 */
export async function writing<T>(
  file: string,
  operation: FsOperation,
  write: () => Promise<T>,
  elsewhere: Elsewhere = OUTPUT_DIR,
): Promise<T> {
  try {
    const fault = injectedFault({file, operation})
    if (fault) throw fault
    return await write()
  } catch (error) {
    throw fileSystemError(error, file, operation, elsewhere)
  }
}

/**
 * The file is either the old one or the new one, never half of either: a failed write
 * (a full disk, say) removes its temp file and leaves the old file, or none, in place.
 * The temp file's name is the target's, shortened when long (shortenName), so that a
 * name the file system accepts never gives a temp name it refuses (ENAMETOOLONG).
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  elsewhere: Elsewhere = OUTPUT_DIR,
  /**
   * `durable: false` is for files whose loss costs nothing but time (cache entries: one that
   * does not parse is a miss). They are not flushed to the disk before the rename (a power
   * cut may leave one empty; a listing of 200 papers waited on 200 flushes), and they are
   * written with synchronous calls: an entry takes well under a millisecond to write, while
   * each of the three calls made asynchronously is a round trip through libuv's thread pool
   * whose thread wake-ups cost more CPU than the write itself, CPU that a cold listing's PDF
   * workers are short of (BENCHMARKS.md, "Listing: every paper read once").
   */
  options: {durable?: boolean} = {},
): Promise<void> {
  const temp = path.join(path.dirname(file), tempName(path.basename(file)))
  await writing(
    file,
    'write',
    async () => {
      const durable = options.durable ?? true
      try {
        if (durable) await writeFile(temp, content, {flush: true})
        else writeFileSync(temp, content)
        if (killDue('before-rename')) killNow()
        if (durable) await rename(temp, file)
        else renameSync(temp, file)
      } catch (error) {
        await rm(temp, {force: true}).catch(() => {})
        throw error
      }
    },
    elsewhere,
  )
}

/** `.<name>.<pid>.<random>.tmp`: hidden, and naming the process that writes it (see removeStaleTempFiles). */
export function tempName(name: string): string {
  return `.${shortenName(name)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
}

const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/

/**
 * A process killed between writing a temp file (tempName) and renaming it leaves the temp
 * file behind: never a target half-written, but litter. Removes those under `dir` (with
 * `recursive`, in its subfolders too) whose writer `isStale` says is gone.
 */
export async function removeStaleTempFiles(dir: string, options: {recursive?: boolean; isStale: (pid: number) => boolean}): Promise<void> {
  const names = (await readdir(dir, {recursive: options.recursive ?? false})).map(String)
  const stale = names.filter((name) => {
    const match = TEMP_FILE.exec(path.basename(name))
    return match !== null && options.isStale(Number(match[1]))
  })
  await Promise.all(stale.map((name) => rm(path.join(dir, name), {force: true})))
}

/** mkdir, with its errors as FileSystemErrors. */
export async function makeDir(dir: string, options: {recursive?: boolean; elsewhere?: Elsewhere} = {}): Promise<void> {
  await writing(dir, 'mkdir', () => mkdir(dir, {recursive: options.recursive}), options.elsewhere)
}

/** Validates before writing, so that a bug can never put an invalid file on disk. */
export async function writeJson<S extends z.ZodType>(file: string, schema: S, value: z.input<S>): Promise<z.output<S>> {
  const valid = schema.parse(value)
  await writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`)
  return valid
}

export async function readJson<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S>> {
  const value = await readJsonIfExists(file, schema)
  if (value === null) throw new InputError(`Cannot read ${file}: it does not exist`, {path: file})
  return value
}

/** Like readJson, but a missing file is null: for files a run writes only when it gets that far. */
export async function readJsonIfExists<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S> | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    // A folder where the file should be, an unreadable file: named as writes name them.
    const mapped = fileSystemError(error, file, 'read')
    if (mapped !== error) throw mapped
    throw new InputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {path: file, cause: error})
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new CorruptFileError(`${file} is not valid JSON: ${(error as Error).message}`, {
      path: file,
      hint: 'The file was changed or damaged after studio wrote it.',
    })
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new CorruptFileError(`${file} does not match its format: ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
      path: file,
      hint: 'The file was changed or damaged after studio wrote it, or was written by another version.',
    })
  }
  return parsed.data
}

/**
 * Creates a new run folder. mkdir without `recursive` fails on an existing folder,
 * which is what guarantees that no earlier run is ever written into.
 */
export async function createRunDir(outputDir: string, now: Date): Promise<{runId: string; runDir: string}> {
  await makeDir(outputDir, {recursive: true})
  await checkLatestIsReplaceable(outputDir)
  for (let attempt = 1; attempt < 1000; attempt++) {
    const runId = runFolderName(now, attempt)
    const runDir = path.join(outputDir, runId)
    try {
      await mkdir(runDir)
      return {runId, runDir}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(error, runDir, 'mkdir')
    }
  }
  throw new Error(`Could not create a new run folder in ${outputDir}`)
}

/** Points <output-dir>/latest at the run, replacing the link atomically. */
export async function updateLatest(outputDir: string, runId: string): Promise<void> {
  const link = outputPaths(outputDir).latest
  const temp = path.join(outputDir, `.latest.${process.pid}.${randomBytes(4).toString('hex')}`)
  await writing(link, 'link', async () => {
    await symlink(runId, temp)
    try {
      await rename(temp, link)
    } catch (error) {
      await rm(temp, {force: true}).catch(() => {})
      throw error
    }
  })
}

/**
 * A `latest` that is a real folder cannot be replaced by the link: found before a run
 * folder is made, so that no run is left half-started by it.
 */
async function checkLatestIsReplaceable(outputDir: string): Promise<void> {
  const link = outputPaths(outputDir).latest
  const found = await lstat(link).catch(() => null)
  if (found?.isDirectory()) {
    const error: NodeJS.ErrnoException = new Error(`EISDIR: ${link} is a folder`)
    error.code = 'EISDIR'
    throw fileSystemError(error, link, 'link')
  }
}
