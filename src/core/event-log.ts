/**
 * The run's event log, <run-dir>/events.jsonl: one JSON object per line, appended
 * and handed to the OS as each event happens, so that another terminal can
 * follow a run (`tail -f`, `studio training status`).
 */
import {appendFileSync, readFileSync, truncateSync} from 'node:fs'
import {readFile, truncate} from 'node:fs/promises'

import {CorruptFileError} from './errors.js'
import {fileSystemError, injectedFault} from './fs-errors.js'
import {killDue, killNow} from './kill-points.js'
import {RunEvent} from './schemas/events.js'

/**
 * Appends validated events. Synchronous on purpose: lines stay whole and in order. A
 * failed append (a full disk) may leave part of its line: the next append cuts it off
 * first, and so does a resumed run (recoverEventLog), so that it never ends up mid-file.
 */
export class EventLog {
  /** The last append failed, and may have left part of its line. */
  private torn = false

  constructor(private readonly file: string) {}

  append(event: RunEvent): void {
    const line = `${JSON.stringify(RunEvent.parse(event))}\n`
    try {
      if (this.torn) cutTornLine(this.file)
      this.torn = false
      const fault = injectedFault({file: this.file, operation: 'append'})
      if (fault) {
        // As a disk that fills up in the middle of a write: half the line, then the error.
        if (fault.torn) appendFileSync(this.file, line.slice(0, Math.floor(line.length / 2)))
        throw fault
      }
      if (killDue('mid-append')) {
        appendFileSync(this.file, line.slice(0, Math.floor(line.length / 2)))
        killNow()
      }
      appendFileSync(this.file, line)
      if (killDue('after-append')) killNow()
    } catch (error) {
      this.torn = true
      throw fileSystemError(error, this.file, 'append')
    }
  }
}

/** Cuts a torn last line off the log (see recoverEventLog); whether there was one. */
function cutTornLine(file: string): boolean {
  let text: Buffer
  try {
    text = readFileSync(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  if (text.length === 0 || text[text.length - 1] === 0x0a) return false
  truncateSync(file, text.lastIndexOf(0x0a) + 1)
  return true
}

/**
 * Reads an event log. A last line without its newline is a write that a crash
 * cut short and is ignored; any other bad line means the file was damaged.
 */
export async function readEventLog(file: string): Promise<RunEvent[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  // The last element is '' after a final newline, or a line cut short: dropped either way.
  const complete = text.split('\n').slice(0, -1)
  return complete.map((line, i) => {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new CorruptFileError(`${file}:${i + 1}: not a JSON line`, {path: file})
    }
    const parsed = RunEvent.safeParse(value)
    if (!parsed.success) {
      throw new CorruptFileError(`${file}:${i + 1}: not a studio event: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {path: file})
    }
    return parsed.data
  })
}

/** What recoverEventLog cut away: the bytes of the torn last line. */
export interface DroppedTail {
  bytes: number
  /** The start of the torn line, at most 80 characters, for the warning. */
  preview: string
}

/**
 * Before a resumed run appends to its event log: a last line without its newline (a write
 * cut short by a crash or a full disk) is truncated away. Left in place, the next event
 * would be appended to it and make one line that is not JSON in the middle of the log,
 * which every reader must then refuse. Returns what was dropped, or null.
 */
export async function recoverEventLog(file: string): Promise<DroppedTail | null> {
  let data: Buffer
  try {
    data = await readFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  if (data.length === 0 || data[data.length - 1] === 0x0a) return null
  const keep = data.lastIndexOf(0x0a) + 1
  await truncate(file, keep).catch((error: unknown) => {
    throw fileSystemError(error, file, 'write')
  })
  const torn = data.subarray(keep).toString('utf8')
  return {bytes: data.length - keep, preview: torn.length > 80 ? `${torn.slice(0, 80)}...` : torn}
}
