/**
 * The one place where an error of the file system (a full disk, a read-only folder, a file
 * where a folder should be...) becomes a FileSystemError: a message naming the path, a hint
 * with the fix, and an exit code (TRAINING.md, "Exit codes"). The write helpers of store.ts
 * and event-log.ts call it; nothing else checks error codes of writes.
 *
 * Also the test seam of those helpers: injectWriteFault makes chosen writes fail as a full
 * disk would (STUDIO_TEST_FAIL_WRITE does the same for the built CLI, see below).
 */
import {existsSync, statSync} from 'node:fs'
import path from 'node:path'

import {EXIT, StudioError} from './errors.js'
import {RUN_FILES} from './layout.js'

/** What studio was doing with the path: the verb of the message. */
export type FsOperation = 'write' | 'append' | 'mkdir' | 'link' | 'read'

const DOING: Record<FsOperation, string> = {
  write: 'writing',
  append: 'appending to',
  mkdir: 'creating the folder',
  link: 'updating the link',
  read: 'reading',
}
const DO: Record<FsOperation, string> = {
  write: 'write',
  append: 'append to',
  mkdir: 'create the folder',
  link: 'update the link',
  read: 'read',
}

/**
 * How the user points studio at another place to write, as messages and hints name it:
 * a run's --output-dir (the default), generate's --out file, export-dataset's --out folder,
 * the secrets' STUDIO_CONFIG_DIR.
 */
export interface Elsewhere {
  /** What chooses the place: "--output-dir". */
  flag: string
  /** "another --output-dir" */
  another: string
  /** "an --output-dir" */
  a: string
  /** The fix of a path too long. */
  shorter: string
}
export const OUTPUT_DIR: Elsewhere = {
  flag: '--output-dir',
  another: 'another --output-dir',
  a: 'an --output-dir',
  shorter: 'Choose a shorter --output-dir, or give the pair files shorter names.',
}
export const OUT_FILE: Elsewhere = {
  flag: '--out',
  another: 'another --out file',
  a: 'an --out file',
  shorter: 'Choose a shorter --out path.',
}
export const OUT_DIR: Elsewhere = {
  flag: '--out',
  another: 'another --out folder',
  a: 'an --out folder',
  shorter: 'Choose a shorter --out path.',
}
export const CONFIG_DIR: Elsewhere = {
  flag: 'STUDIO_CONFIG_DIR',
  another: 'another folder with STUDIO_CONFIG_DIR',
  a: 'a STUDIO_CONFIG_DIR',
  shorter: 'Choose a shorter STUDIO_CONFIG_DIR.',
}

/** A write the environment refused; `code` is the system's (ENOSPC, EROFS...), as on the error it replaces. */
export class FileSystemError extends StudioError {
  readonly code: string

  constructor(message: string, options: {exitCode: number; code: string; path: string; hint: string; cause?: unknown}) {
    super(message, options)
    this.code = options.code
  }

  /** The same error with more to its hint (a run adds how to resume it). */
  withHint(more: string): FileSystemError {
    const copy = new FileSystemError(this.message, {
      exitCode: this.exitCode,
      code: this.code,
      path: this.path!,
      hint: `${this.hint} ${more}`,
      cause: this.cause,
    })
    copy.stack = this.stack
    return copy
  }
}

/** A full disk or quota: the only FileSystemError that freeing space alone fixes. */
export function isNoSpace(error: unknown): boolean {
  return error instanceof FileSystemError && (error.code === 'ENOSPC' || error.code === 'EDQUOT')
}

/**
 * The error of a write to `file` as a FileSystemError, or the error itself when its code
 * is not one the user can fix (then it is reported as a bug, with its stack under DEBUG).
 */
export function fileSystemError(error: unknown, file: string, operation: FsOperation, elsewhere: Elsewhere = OUTPUT_DIR): unknown {
  if (error instanceof StudioError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (typeof code !== 'string') return error
  const doing = `${DOING[operation]} ${file}`
  const cannot = `Cannot ${DO[operation]} ${file}`
  const make = (exitCode: number, message: string, hint: string, at = file) =>
    new FileSystemError(message, {exitCode, code, path: at, hint, cause: error})
  switch (code) {
    case 'ENOSPC':
      return make(
        EXIT.noSpace,
        `No space left on device while ${doing}: free space or choose ${elsewhere.another}`,
        `Free space on that disk (\`df -h\` shows what is left), or write to another disk with ${elsewhere.flag}.`,
      )
    case 'EDQUOT':
      return make(
        EXIT.noSpace,
        `Disk quota exceeded while ${doing}: free space or choose ${elsewhere.another}`,
        `Free space within your quota (\`quota -s\` shows it), or write elsewhere with ${elsewhere.flag}.`,
      )
    case 'EROFS':
      return make(
        EXIT.input,
        `${cannot}: the file system is read-only`,
        `Choose ${elsewhere.a} on a writable disk, or remount this one read-write.`,
      )
    case 'EACCES':
    case 'EPERM':
      return make(
        EXIT.input,
        `${cannot}: permission denied`,
        operation === 'read'
          ? `Make ${file} readable for this user (e.g. \`chmod u+r\`).`
          : `Make ${path.dirname(file)} writable for this user (e.g. \`chmod u+w\`), or choose ${elsewhere.another}.`,
      )
    case 'ENAMETOOLONG':
      return make(EXIT.input, `${cannot}: the path is too long for the file system`, elsewhere.shorter)
    case 'EISDIR':
      return misplaced(error, code, file, file, 'folder', cannot, operation, elsewhere)
    case 'ENOTDIR':
    case 'EEXIST': {
      const culprit = firstNonFolder(file, operation === 'mkdir')
      return culprit ? misplaced(error, code, file, culprit, 'file', cannot, operation, elsewhere) : error
    }
    default:
      return error
  }
}

/**
 * A file where studio needs a folder, or a folder where it writes a file. In the output
 * folder it is the user's to move (exit 2); inside a run folder studio made it, so the run
 * folder is damaged (exit 3) and resuming writes it again once it is removed.
 */
function misplaced(
  error: unknown,
  code: string,
  file: string,
  culprit: string,
  is: 'file' | 'folder',
  cannot: string,
  operation: FsOperation,
  elsewhere: Elsewhere,
): FileSystemError {
  const should = is === 'file' ? 'a folder' : 'a file (or link)'
  const message = `${cannot}: ${path.resolve(culprit) === path.resolve(file) ? 'it' : culprit} is a ${is}, where studio needs ${should}`
  const run = runFolderAround(culprit)
  if (run) {
    return new FileSystemError(`${message}: the run folder is damaged`, {
      exitCode: EXIT.corrupt,
      code,
      path: culprit,
      hint: `Move or remove ${culprit}, then continue the run with \`studio training run --resume ${run}\`: it writes it again.`,
      cause: error,
    })
  }
  return new FileSystemError(message, {
    exitCode: EXIT.input,
    code,
    path: culprit,
    hint:
      operation === 'read'
        ? `Move ${culprit} out of the way, or give studio another path.`
        : `Move or remove ${culprit}, or choose ${elsewhere.another}.`,
    cause: error,
  })
}

/** The first path from the root down to `file` that exists and is not a folder; `file` itself only when it should be one. */
function firstNonFolder(file: string, includeSelf: boolean): string | null {
  const resolved = path.resolve(file)
  const chain: string[] = []
  for (let p = includeSelf ? resolved : path.dirname(resolved); ; p = path.dirname(p)) {
    chain.unshift(p)
    if (path.dirname(p) === p) break
  }
  for (const p of chain) {
    try {
      if (!statSync(p).isDirectory()) return p
    } catch {
      return null
    }
  }
  return null
}

/** The run folder (one with a run.json) that holds `file`, if any. */
function runFolderAround(file: string): string | null {
  for (let dir = path.dirname(path.resolve(file)); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, RUN_FILES.manifest))) return dir
  }
  return null
}

// ---------------------------------------------------------------------------------------
// Fault injection, for tests only.

/** A write about to happen; the seam may answer with the error it should fail with. */
export interface PlannedWrite {
  file: string
  operation: FsOperation
}
/** `torn`: an append writes half its line before it fails, as when the disk fills up during the write. */
export type InjectedError = NodeJS.ErrnoException & {torn?: boolean}
export type WriteFault = (write: PlannedWrite) => InjectedError | null

let fault: WriteFault | null = faultFromEnvironment(process.env.STUDIO_TEST_FAIL_WRITE)

/** Installs (or, with null, removes) a seam that may fail any write of the helpers. For tests. */
export function injectWriteFault(seam: WriteFault | null): void {
  fault = seam
}

/** The injected error for this write, if any. Every write helper asks before it writes. */
export function injectedFault(write: PlannedWrite): InjectedError | null {
  return fault?.(write) ?? null
}

/** An error as the system makes them: `code`, `syscall` and `path` set. */
export function systemError(code: string, write: PlannedWrite): InjectedError {
  const error: InjectedError = new Error(`${code}: injected for a test, ${write.operation} '${write.file}'`)
  error.code = code
  error.syscall = write.operation
  error.path = write.file
  return error
}

/**
 * STUDIO_TEST_FAIL_WRITE=<n>[+][:<CODE>], read by the end-to-end tests of the built CLI:
 * the n-th file write or event-log append of the process (counted from 1) fails with CODE
 * (default ENOSPC); with `+`, every write after it fails too, as on a disk that stays full.
 * Folders created are not counted. If the n-th write is an append, it leaves half its line
 * (a torn line). Unset (always, outside tests), nothing is injected.
 */
export function faultFromEnvironment(value: string | undefined): WriteFault | null {
  if (!value) return null
  const match = /^(\d+)(\+?)(?::([A-Z]+))?$/.exec(value)
  if (!match) throw new Error(`STUDIO_TEST_FAIL_WRITE must be <n>[+][:<CODE>], got ${value}`)
  const nth = Number(match[1])
  const stays = match[2] === '+'
  const code = match[3] ?? 'ENOSPC'
  let count = 0
  return (write) => {
    if (write.operation === 'mkdir') return null
    count++
    if (count === nth) return Object.assign(systemError(code, write), {torn: true})
    return stays && count > nth ? systemError(code, write) : null
  }
}
