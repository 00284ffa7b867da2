import {mkdir, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {discoverPairs, pairSlug} from '../../src/training/discover.js'
import {InputError} from '../../src/training/errors.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let root = ''
beforeEach(async () => {
  root = await makeTempDir('studio-discover-')
})
afterEach(async () => {
  await removeDir(root)
})

/** Discovery looks at names only, so empty files are enough here. */
async function touch(...relative: string[]): Promise<void> {
  for (const file of relative) {
    await mkdir(path.dirname(path.join(root, file)), {recursive: true})
    await writeFile(path.join(root, file), '')
  }
}

describe('discoverPairs', () => {
  it('pairs a .pdf and an .mp3 with the same base name', async () => {
    await touch('a.pdf', 'a.mp3')
    const found = await discoverPairs(root)
    expect(found.pairs).toEqual([{id: 'a', folder: '', pdf: path.join(root, 'a.pdf'), mp3: path.join(root, 'a.mp3'), sidecar: null}])
    expect(found.orphans).toEqual([])
  })

  it('matches extensions in any case', async () => {
    await touch('Paper One.PDF', 'Paper One.Mp3')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => p.id)).toEqual(['Paper One'])
  })

  it('searches nested folders and keeps pairs within one folder', async () => {
    await touch('deep/er/x.pdf', 'deep/er/x.mp3', 'split/y.pdf', 'other/y.mp3')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, p.folder])).toEqual([['x', 'deep/er']])
    expect(found.orphans.map((o) => path.relative(root, o.path))).toEqual(['other/y.mp3', 'split/y.pdf'])
  })

  it('lists files without a partner as orphans with a reason', async () => {
    await touch('lonely.pdf', 'alone.mp3', 'stray.vtt', 'notes.txt')
    const found = await discoverPairs(root)
    expect(found.pairs).toEqual([])
    const reasons = Object.fromEntries(found.orphans.map((o) => [path.basename(o.path), o.reason]))
    expect(reasons).toEqual({
      'alone.mp3': 'episode without a paper: expected alone.pdf next to it',
      'lonely.pdf': 'paper without an episode: expected lonely.mp3 next to it',
      'stray.vtt': 'transcript without an episode: expected stray.mp3 and stray.pdf next to it',
    })
  })

  it('gives duplicate base names in different folders ids that include the folder', async () => {
    await touch('2023/talk.pdf', '2023/talk.mp3', '2024/talk.pdf', '2024/talk.mp3', 'solo.pdf', 'solo.mp3')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => p.id)).toEqual(['2023/talk', '2024/talk', 'solo'])
    expect(found.pairs.map((p) => pairSlug(p.id))).toEqual(['2023__talk', '2024__talk', 'solo'])
  })

  it('uses a sidecar transcript, preferring .transcript.json over .vtt over .srt', async () => {
    await touch('a.pdf', 'a.mp3', 'a.srt', 'b.pdf', 'b.mp3', 'b.vtt', 'b.srt', 'c.pdf', 'c.mp3', 'c.transcript.json', 'c.vtt')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, p.sidecar?.format])).toEqual([
      ['a', 'srt'],
      ['b', 'vtt'],
      ['c', 'json'],
    ])
    expect(found.orphans.map((o) => [path.basename(o.path), o.reason])).toEqual([
      ['b.srt', 'ignored: b.vtt is preferred as the transcript of this episode'],
      ['c.vtt', 'ignored: c.transcript.json is preferred as the transcript of this episode'],
    ])
  })

  it('does not hang on a symlink loop and lists each folder once', async () => {
    await touch('sub/a.pdf', 'sub/a.mp3')
    await symlink(root, path.join(root, 'sub', 'loop'))
    await symlink(path.join(root, 'sub'), path.join(root, 'alias'))
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => p.id)).toEqual(['a'])
  })

  it('reports a broken symlink as an orphan', async () => {
    await touch('a.pdf', 'a.mp3')
    await symlink(path.join(root, 'nowhere.mp3'), path.join(root, 'b.mp3'))
    const found = await discoverPairs(root)
    expect(found.orphans).toEqual([{path: path.join(root, 'b.mp3'), reason: 'broken symbolic link'}])
  })

  it('fails with the path and a hint when the folder is missing', async () => {
    const missing = path.join(root, 'nope')
    const error = await discoverPairs(missing).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toBe(`Pairs folder not found: ${missing}`)
    expect((error as InputError).hint).toMatch(/--pairs-dir/)
    expect((error as InputError).exitCode).toBe(2)
  })

  it('fails when the folder holds no paper or episode', async () => {
    await touch('readme.txt')
    await expect(discoverPairs(root)).rejects.toThrow(`No pairs found in ${root}: it holds no .pdf or .mp3 files`)
  })

  it('fails when the pairs folder is a file', async () => {
    await touch('a.pdf')
    await expect(discoverPairs(path.join(root, 'a.pdf'))).rejects.toThrow(/is not a folder/)
  })
})
