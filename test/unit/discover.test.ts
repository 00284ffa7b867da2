import {chmod, mkdir, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {pairSlug} from '../../src/core/layout.js'
import {discoverPairs} from '../../src/training/stages/discover.js'
import {InputError} from '../../src/core/errors.js'
import {Orphan, PairFiles} from '../../src/core/schemas/inputs.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {callUnprivileged, openToOthers} from '../helpers/unprivileged.js'

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
    expect(found.pairs).toEqual([
      {
        id: 'a',
        folder: '',
        pdf: path.join(root, 'a.pdf'),
        mp3: path.join(root, 'a.mp3'),
        paper_format: 'pdf',
        episode_format: 'mp3',
        sidecar: null,
      },
    ])
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
    await touch('lonely.pdf', 'alone.mp3', 'stray.vtt', 'notes.rtf')
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
    await touch('readme.rtf', 'cover.jpg')
    await expect(discoverPairs(root)).rejects.toThrow(
      `No pairs found in ${root}: it holds no .pdf or .mp3 files (nor any other paper or episode: .pdf, .docx, .md, .txt or .mp3, .m4a, .ogg, .wav)`,
    )
  })

  it('fails when the pairs folder is a file', async () => {
    await touch('a.pdf')
    await expect(discoverPairs(path.join(root, 'a.pdf'))).rejects.toThrow(/is not a folder/)
  })

  it('pairs every paper format with every episode format, and says which formats it used', async () => {
    await touch('a.docx', 'a.m4a', 'b.md', 'b.ogg', 'c.txt', 'c.WAV', 'd.PDF', 'd.mp3')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, p.paper_format, p.episode_format, path.basename(p.pdf), path.basename(p.mp3)])).toEqual([
      ['a', 'docx', 'm4a', 'a.docx', 'a.m4a'],
      ['b', 'md', 'ogg', 'b.md', 'b.ogg'],
      ['c', 'txt', 'wav', 'c.txt', 'c.WAV'],
      ['d', 'pdf', 'mp3', 'd.PDF', 'd.mp3'],
    ])
    expect(found.orphans).toEqual([])
  })

  it('prefers pdf > docx > md > txt and mp3 > m4a > ogg > wav, listing the others as ignored', async () => {
    await touch('x.txt', 'x.md', 'x.docx', 'x.pdf', 'x.wav', 'x.ogg', 'x.m4a', 'x.mp3', 'y.md', 'y.txt', 'y.ogg', 'y.wav')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, path.basename(p.pdf), path.basename(p.mp3)])).toEqual([
      ['x', 'x.pdf', 'x.mp3'],
      ['y', 'y.md', 'y.ogg'],
    ])
    expect(found.orphans.map((o) => [path.basename(o.path), o.reason])).toEqual([
      ['x.docx', 'ignored: x.pdf is used as the paper'],
      ['x.m4a', 'ignored: x.mp3 is used as the episode'],
      ['x.md', 'ignored: x.pdf is used as the paper'],
      ['x.ogg', 'ignored: x.mp3 is used as the episode'],
      ['x.txt', 'ignored: x.pdf is used as the paper'],
      ['x.wav', 'ignored: x.mp3 is used as the episode'],
      ['y.txt', 'ignored: y.md is used as the paper'],
      ['y.wav', 'ignored: y.ogg is used as the episode'],
    ])
  })

  it('walks a folder named like a file and never pairs it', async () => {
    await touch('folder.pdf/inner.pdf', 'folder.pdf/inner.mp3', 'folder.mp3', 'album.mp3/x.pdf')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, p.folder])).toEqual([['inner', 'folder.pdf']])
    expect(found.orphans.map((o) => [path.relative(root, o.path), o.reason])).toEqual([
      ['album.mp3/x.pdf', 'paper without an episode: expected x.mp3 next to it'],
      ['folder.mp3', 'episode without a paper: expected folder.pdf next to it'],
    ])
  })

  it('handles names with spaces and non-ASCII characters', async () => {
    await touch('Résumé des travaux.pdf', 'Résumé des travaux.mp3', 'sub dir/日本語 の 論文.PDF', 'sub dir/日本語 の 論文.mp3')
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => [p.id, p.folder, p.mp3])).toEqual([
      ['Résumé des travaux', '', path.join(root, 'Résumé des travaux.mp3')],
      ['日本語 の 論文', 'sub dir', path.join(root, 'sub dir', '日本語 の 論文.mp3')],
    ])
  })

  it('reports a symlink that points to itself as a loop, and goes on', async () => {
    await touch('a.pdf', 'a.mp3')
    await symlink('self.mp3', path.join(root, 'self.mp3'))
    const found = await discoverPairs(root)
    expect(found.pairs.map((p) => p.id)).toEqual(['a'])
    expect(found.orphans).toEqual([{path: path.join(root, 'self.mp3'), reason: 'symbolic link loop (ELOOP): it points back to itself'}])
  })

  it('lists thousands of files quickly', async () => {
    const names: string[] = []
    for (let i = 0; i < 1500; i++) names.push(`n${i}.pdf`, `n${i}.mp3`)
    for (let i = 0; i < 1000; i++) names.push(`other-${i}.jpg`)
    await Promise.all(names.map((name) => writeFile(path.join(root, name), '')))
    const started = performance.now()
    const found = await discoverPairs(root)
    expect(found.pairs).toHaveLength(1500)
    expect(found.orphans).toEqual([])
    expect(performance.now() - started).toBeLessThan(2000)
  })

  describe('permissions', () => {
    it('reports a folder it cannot list and files it cannot stat, and goes on with the rest', async () => {
      await touch('ok.pdf', 'ok.mp3', 'locked/a.pdf', 'locked/a.mp3', 'blind/b.pdf', 'blind/b.mp3')
      await chmod(path.join(root, 'locked'), 0o000)
      await chmod(path.join(root, 'blind'), 0o644) // names readable by anyone, but no search (x) permission
      await openToOthers(root)
      try {
        // Root would read them anyway: discoverPairs runs as nobody then (see helpers/unprivileged.ts).
        const {value, error} = await callUnprivileged('src/training/stages/discover.ts', 'discoverPairs', [root])
        expect(error).toBeUndefined()
        const found = z.object({root: z.string(), pairs: z.array(PairFiles), orphans: z.array(Orphan)}).parse(value)
        expect(found.pairs.map((p) => p.id)).toEqual(['ok'])
        expect(found.orphans).toEqual([
          {path: path.join(root, 'blind', 'b.mp3'), reason: 'cannot be read (EACCES): check the permissions of the file and its folder'},
          {path: path.join(root, 'blind', 'b.pdf'), reason: 'cannot be read (EACCES): check the permissions of the file and its folder'},
          {path: path.join(root, 'locked'), reason: 'folder could not be read (EACCES); its files were not considered'},
        ])
      } finally {
        await chmod(path.join(root, 'locked'), 0o755)
        await chmod(path.join(root, 'blind'), 0o755)
      }
    })
  })
})
