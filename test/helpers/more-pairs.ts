/**
 * A pairs folder with twice the bundled pairs, for runs that need more validation pairs than
 * three pairs allow: each bundled pair as it is, and a variant of it, `<id>-second-look`,
 * whose paper is the same text as plain text under another title (so that the mock writes
 * it a different script) with the same episode and sidecar.
 */
import {copyFile, mkdir, readdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {readPaper} from '../../src/media/paper.js'
import {EXAMPLE_PAIRS} from './cli.js'

export async function makeDoubledPairs(dir: string): Promise<string[]> {
  await mkdir(dir, {recursive: true})
  const files = await readdir(EXAMPLE_PAIRS)
  const ids: string[] = []
  for (const pdf of files.filter((f) => f.endsWith('.pdf')).sort()) {
    const id = pdf.slice(0, -'.pdf'.length)
    const variant = `${id}-second-look`
    for (const file of files.filter((f) => f.startsWith(`${id}.`))) {
      await copyFile(path.join(EXAMPLE_PAIRS, file), path.join(dir, file))
      if (file !== pdf) await copyFile(path.join(EXAMPLE_PAIRS, file), path.join(dir, `${variant}${file.slice(id.length)}`))
    }
    const paper = await readPaper(path.join(EXAMPLE_PAIRS, pdf))
    await writeFile(path.join(dir, `${variant}.txt`), `A Second Look: ${paper.title}\n\n${paper.body}\n`)
    ids.push(id, variant)
  }
  return ids.sort()
}
