import {createHash} from 'node:crypto'
import {closeSync, createReadStream} from 'node:fs'

import {openInputFile} from './input-file.js'

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Streams the file so that a large episode is never held in memory just to hash it. A
 * regular file only (openInputFile): a FIFO or /dev/zero would never end. `label` names
 * the file in that refusal ("Episode").
 */
export async function sha256File(path: string, label = 'File'): Promise<string> {
  const hash = createHash('sha256')
  const {fd} = await openInputFile(path, label)
  try {
    for await (const chunk of createReadStream('', {fd, autoClose: false})) hash.update(chunk as Buffer)
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

/** JSON with sorted keys, so that equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}
