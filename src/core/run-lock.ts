/**
 * One process per run folder: a run (new or resumed) holds <run-dir>/run.lock, which
 * names its pid and host, while it works on the folder. A second process finds the lock
 * and refuses instead of writing the same units, appending to the same event log and
 * overwriting the other's run.json.
 *
 * The lock is written whole to a temp file and hard-linked into place: link(2) fails
 * when the name exists (as open with O_EXCL does), so exactly one process gets it and no
 * reader ever sees it half-written. It is removed when the run ends, on an error, on
 * Ctrl-C and on process.exit(); a process killed with SIGKILL leaves it behind, and the
 * next run on the same host takes it over once its pid is gone. On another host a pid
 * says nothing, so such a lock is only removed by hand.
 */
import {randomBytes} from 'node:crypto'
import {readFileSync, unlinkSync} from 'node:fs'
import {link, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {CorruptFileError, InputError} from './errors.js'
import {fileSystemError} from './fs-errors.js'
import {RUN_FILES} from './layout.js'
import {tempName} from './store.js'
import {RunLock} from './schemas/files.js'

export interface HeldRunLock {
  /** The lock file. */
  file: string
  owner: RunLock
  /** Removes the lock if it is still this process's; safe to call more than once. */
  release(): Promise<void>
}

export interface AcquireOptions {
  /** Told when a lock left by a process that is gone is taken over. */
  onTakeOver?: (message: string) => void
  host?: string
  clock?: () => Date
}

/** Is process `pid` alive on this machine? EPERM: it is, under another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the lock of `runDir` for this process, or throws an InputError (exit 2) that names
 * the process holding it. A lock of a dead process on this host is taken over (onTakeOver
 * says so); a lock from another host is left alone.
 */
export async function acquireRunLock(runDir: string, options: AcquireOptions = {}): Promise<HeldRunLock> {
  const file = path.join(runDir, RUN_FILES.lock)
  const host = options.host ?? os.hostname()
  const owner: RunLock = {
    pid: process.pid,
    host,
    since: (options.clock?.() ?? new Date()).toISOString(),
    token: randomBytes(8).toString('hex'),
  }
  const runName = path.basename(runDir)
  // Twice at most: once more after a stale lock was removed.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createExclusive(file, `${JSON.stringify(owner)}\n`)) return held(file, owner)
    const holder = await readLock(file)
    if (holder === null) continue // removed in between: try again
    if (holder.host !== host) {
      throw new InputError(
        `Run ${runName} is locked by process ${holder.pid} on host ${holder.host} (since ${holder.since}): studio cannot tell from here whether it is still running`,
        {
          path: file,
          hint: `If no studio process on ${holder.host} works on this run any more (it crashed, or the machine is gone), delete ${file} and run the command again.`,
        },
      )
    }
    if (holder.pid === process.pid || processAlive(holder.pid)) {
      throw new InputError(
        `Run ${runName} is in use by another studio process: pid ${holder.pid} on ${holder.host}, since ${holder.since}`,
        {
          path: file,
          hint: `Wait for it to end (follow it with \`studio training status ${runDir}\`), or stop it (Ctrl-C in its terminal, or kill ${holder.pid}) and then resume.`,
        },
      )
    }
    await rm(file, {force: true})
    options.onTakeOver?.(
      `Took over the lock of run ${runName} from process ${holder.pid} on ${holder.host}, which is no longer running (it was killed or crashed)`,
    )
  }
  throw new InputError(`Run ${runName}: could not take ${file}; another process keeps taking it`, {
    path: file,
    hint: 'Check that no other studio process works on this run, then run the command again.',
  })
}

/** Creates `file` with `content` unless it exists; true when this call created it. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const temp = path.join(path.dirname(file), tempName(path.basename(file)))
  try {
    await writeFile(temp, content, {flush: true})
  } catch (error) {
    await rm(temp, {force: true}).catch(() => {})
    throw fileSystemError(error, file, 'write')
  }
  try {
    await link(temp, file)
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // ENOENT: the holder's resume removed our temp file as a stray one; the lock is then its.
    if (code === 'EEXIST' || code === 'ENOENT') return false
    throw fileSystemError(error, file, 'write')
  } finally {
    await rm(temp, {force: true})
  }
}

/** The lock's owner; null when the file is gone. */
async function readLock(file: string): Promise<RunLock | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const parsed = RunLock.safeParse(safeJson(text))
  if (!parsed.success) {
    throw new CorruptFileError(`${file} is not a studio run lock`, {
      path: file,
      hint: `If no studio process works on this run, delete ${file} and run the command again.`,
    })
  }
  return parsed.data
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function held(file: string, owner: RunLock): HeldRunLock {
  let released = false
  // process.exit() (a second Ctrl-C) skips every finally block; 'exit' listeners still run.
  const onExit = () => removeIfOurs(file, owner)
  process.on('exit', onExit)
  return {
    file,
    owner,
    async release() {
      if (released) return
      released = true
      process.off('exit', onExit)
      removeIfOurs(file, owner)
    },
  }
}

/** Synchronous, so that it also works in an 'exit' listener; a lock taken over since is not ours to remove. */
function removeIfOurs(file: string, owner: RunLock): void {
  try {
    const current = RunLock.safeParse(safeJson(readFileSync(file, 'utf8')))
    if (current.success && current.data.token === owner.token) unlinkSync(file)
  } catch {
    // Gone already, or unreadable: nothing of ours to remove.
  }
}
