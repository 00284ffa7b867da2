/**
 * Inputs are read from regular files only (issue 16, item 6): a FIFO would wait forever
 * for a writer and /dev/zero never ends. Every reader of a user's file (paper, episode,
 * sidecar, the episode's hash) refuses them before reading, naming the file and what it is.
 */
import {execFileSync} from 'node:child_process'
import {mkdir, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {InputError} from '../../src/core/errors.js'
import {sha256File} from '../../src/core/hash.js'
import {readInputFile} from '../../src/core/input-file.js'
import {probeEpisode} from '../../src/media/audio.js'
import {readPaper} from '../../src/media/paper.js'
import {readSidecar} from '../../src/media/sidecar.js'
import {loadConfig} from '../../src/providers/config.js'
import {discoverPairs} from '../../src/training/stages/discover.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

/** mkfifo is not on every system (Node has no API for it): the FIFO cases need it. */
function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], {stdio: 'ignore'})
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' // BSD mkfifo has no --version but exists
  }
}
const MKFIFO = hasMkfifo()

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-unit-input-file-')
  for (const name of ['zero.txt', 'zero.pdf', 'zero.mp3', 'zero.vtt']) await symlink('/dev/zero', path.join(dir, name))
  if (MKFIFO) for (const name of ['fifo.txt', 'fifo.mp3', 'fifo.srt']) execFileSync('mkfifo', [path.join(dir, name)])
})
afterAll(async () => {
  if (dir) await removeDir(dir)
})

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InputError)
  return error as InputError
}

describe('a symbolic link to /dev/zero', () => {
  it('is refused as a paper, an episode, a sidecar and for hashing, at once and with exit code 2', async () => {
    // Each call starts only when awaited: a rejection nobody awaits yet would be an unhandled one.
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => readPaper(path.join(dir, 'zero.txt')), 'Paper'],
      [() => readPaper(path.join(dir, 'zero.pdf')), 'Paper'],
      [() => probeEpisode(path.join(dir, 'zero.mp3')), 'Episode'],
      [() => readSidecar(path.join(dir, 'zero.vtt'), 'vtt'), 'Transcript'],
      [() => sha256File(path.join(dir, 'zero.mp3'), 'Episode'), 'Episode'],
      [() => loadConfig({explicit: path.join(dir, 'zero.txt')}), 'Config file'],
    ]
    const names = ['zero.txt', 'zero.pdf', 'zero.mp3', 'zero.vtt', 'zero.mp3', 'zero.txt']
    for (const [i, [call, label]] of cases.entries()) {
      const error = await refusal(call())
      const file = path.join(dir, names[i]!)
      expect(error.message).toBe(`${label} ${file} (a link to /dev/zero) is a character device, not a regular file`)
      expect(error.exitCode).toBe(2)
      expect(error.path).toBe(file)
      expect(error.hint).toContain('Give studio a regular file')
    }
  })
})

describe('a FIFO', () => {
  it.skipIf(!MKFIFO)('is refused without waiting for a writer (skipped where mkfifo is missing)', async () => {
    const paper = await refusal(readPaper(path.join(dir, 'fifo.txt')))
    expect(paper.message).toBe(`Paper ${path.join(dir, 'fifo.txt')} is a FIFO (named pipe), not a regular file`)
    const episode = await refusal(probeEpisode(path.join(dir, 'fifo.mp3')))
    expect(episode.message).toBe(`Episode ${path.join(dir, 'fifo.mp3')} is a FIFO (named pipe), not a regular file`)
    const sidecar = await refusal(readSidecar(path.join(dir, 'fifo.srt'), 'srt'))
    expect(sidecar.message).toBe(`Transcript ${path.join(dir, 'fifo.srt')} is a FIFO (named pipe), not a regular file`)
  })
})

describe('discovery and the size check', () => {
  it('lists non-regular files named like inputs as orphans with what they are, never as pairs', async () => {
    const {pairs, orphans} = await discoverPairs(dir)
    expect(pairs).toEqual([])
    const reasons = Object.fromEntries(orphans.map((o) => [path.basename(o.path), o.reason]))
    expect(reasons['zero.mp3']).toBe('a character device, not a regular file: studio reads regular files only')
    if (MKFIFO) expect(reasons['fifo.txt']).toBe('a FIFO (named pipe), not a regular file: studio reads regular files only')
  })

  it('checks the size of a regular file before reading it', async () => {
    const file = path.join(dir, 'sub', 'big.txt')
    await mkdir(path.dirname(file))
    await writeFile(file, 'x'.repeat(1000))
    const sizes: number[] = []
    const tooBig = new InputError('too big')
    const error = await readInputFile(file, 'Paper', (size) => {
      sizes.push(size)
      throw tooBig
    }).catch((e: unknown) => e)
    expect(error).toBe(tooBig)
    expect(sizes).toEqual([1000])
    expect((await readInputFile(file, 'Paper', () => {})).length).toBe(1000)
  })
})
