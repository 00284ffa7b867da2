/**
 * Opening a file the user gave (a paper, an episode, a sidecar transcript): regular files
 * only. A FIFO, a device or a socket behind an input's name (directly or through a
 * symbolic link) is refused before a byte is read: reading a FIFO waits forever for a
 * writer, and /dev/zero never ends (a `generate` on a link to it grew to 6.3 GB in 20 s).
 *
 * The file is opened with O_NONBLOCK, so that opening a FIFO returns at once instead of
 * waiting for a writer, and checked with fstat on the open descriptor, so that the file
 * checked is the file read, whatever is renamed meanwhile. O_NONBLOCK changes nothing
 * for a regular file. See TRAINING.md, "Bad files".
 */
import {closeSync, constants, fstatSync, openSync, readFileSync, type Stats} from 'node:fs'
import {readlink, realpath} from 'node:fs/promises'

import {InputError} from './errors.js'

/**
 * An input that could not be read (missing, no permission, an I/O error): names it by
 * `label` ("paper", "transcript"), says the system's code, and gives the fix; `otherwise`
 * is the fix when it is not a matter of permissions.
 */
export function cannotReadInputError(label: string, path: string, error: unknown, otherwise: string): InputError {
  const code = (error as NodeJS.ErrnoException).code
  return new InputError(`Cannot read ${label} ${path}: ${code ?? String(error)}`, {
    path,
    hint:
      code === 'EACCES' || code === 'EPERM' ? `You lack permission to read it: fix its permissions (e.g. chmod u+r "${path}").` : otherwise,
    cause: error,
  })
}

/** What a non-regular file is, as the message says it. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file'
  if (stats.isDirectory()) return 'a folder'
  if (stats.isFIFO()) return 'a FIFO (named pipe)'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  if (stats.isSocket()) return 'a socket'
  return 'not a file'
}

/** " (a link to /dev/zero)" when `path` is a symbolic link, else "". */
async function linkTarget(path: string): Promise<string> {
  try {
    await readlink(path)
  } catch {
    return '' // not a link (EINVAL), or gone
  }
  const target = await realpath(path).catch(() => null)
  return target ? ` (a link to ${target})` : ''
}

/** The refusal of a file that is not a regular one: names it, says what it is, and the fix. */
export async function notRegularFileError(path: string, label: string, stats: Stats): Promise<InputError> {
  return new InputError(`${label} ${path}${await linkTarget(path)} is ${fileKind(stats)}, not a regular file`, {
    path,
    hint: `Give studio a regular file: save the ${label.toLowerCase()} to a file and use that file. studio never reads a FIFO or a device (a FIFO waits for a writer, /dev/zero never ends).`,
  })
}

export interface OpenedInput {
  /** A descriptor opened for reading; the caller closes it (closeSync). */
  fd: number
  /** The file's size when opened, from fstat. */
  size: number
}

/**
 * Opens a regular file for reading, following symbolic links. Rejects with an InputError
 * (exit 2) naming the file and what it is when it is not a regular file; with the error of
 * open() (ENOENT, EACCES...) unchanged when it cannot be opened, for the caller to word.
 * `label` starts the message: "Paper", "Episode", "Transcript".
 *
 * Opened and checked with synchronous calls (so are the reads of readInputFile and of an
 * episode's headers): each takes microseconds, where an asynchronous call is a round trip
 * through libuv's thread pool whose thread wake-ups cost more CPU than the call itself,
 * and a listing opens hundreds of files while its PDF workers need every core
 * (BENCHMARKS.md, "Listing: every paper read once").
 */
export async function openInputFile(path: string, label: string): Promise<OpenedInput> {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw await notRegularFileError(path, label, stats)
    return {fd, size: stats.size}
  } catch (error) {
    closeSync(fd)
    throw error
  }
}

/**
 * A regular file's bytes. `checkSize` gets its size before any byte is read and throws
 * when it is over the caller's limit; the bytes read are checked again, for a file that
 * grew meanwhile. Read synchronously (see openInputFile): papers, transcripts and configs,
 * kilobytes to a few megabytes as a rule, which the page cache gives in well under a
 * millisecond (tens of megabytes, the most the size limits let through, in a few).
 */
export async function readInputFile(path: string, label: string, checkSize: (bytes: number) => void): Promise<Buffer> {
  const {fd, size} = await openInputFile(path, label)
  try {
    checkSize(size)
    const data = readFileSync(fd)
    if (data.length !== size) checkSize(data.length)
    return data
  } finally {
    closeSync(fd)
  }
}
