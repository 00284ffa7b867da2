import {symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {PairsListing} from '../../src/core/schemas/inputs.js'
import {EXAMPLE_PAIRS, runCli} from '../helpers/cli.js'
import {makeTempDir, removeDir, writePdf, writeSilentMp3} from '../helpers/media.js'

describe('studio training list-pairs', () => {
  it('lists the bundled pairs as JSON with measured durations and transcript sources', async () => {
    const result = await runCli(['training', 'list-pairs', '--json'])
    expect(result.code).toBe(0)
    const listing = PairsListing.parse(JSON.parse(result.stdout))
    expect(listing.root).toBe(EXAMPLE_PAIRS)
    expect(listing.orphans).toEqual([])
    expect(listing.pairs.map((p) => [p.id, p.transcript_source, p.problems])).toEqual([
      ['aerial-vehicle-positioning-full', 'sidecar-vtt', []],
      ['soil-microbiome-drought', 'transcribe', []],
      ['sparse-attention-long-documents', 'sidecar-json', []],
    ])
    for (const pair of listing.pairs) {
      expect(pair.pdf).toBe(path.join(EXAMPLE_PAIRS, `${pair.id}.pdf`))
      expect(pair.mp3).toBe(path.join(EXAMPLE_PAIRS, `${pair.id}.mp3`))
      expect(pair.duration_seconds).toBeGreaterThan(60)
      expect(pair.pages).toBeGreaterThanOrEqual(1)
      expect(pair.words).toBeGreaterThan(300)
    }
  })

  it('prints a table with one row per pair', async () => {
    const result = await runCli(['training', 'list-pairs'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/id\s+pages\s+words\s+duration\s+transcript\s+status/)
    expect(result.stdout).toMatch(/aerial-vehicle-positioning-full\s+\d+\s+\d+\s+\d+:\d\d\s+sidecar-vtt\s+ok/)
    expect(result.stdout).toContain('3 pair(s), 0 orphan(s)')
  })

  it('lists a link to /dev/zero named like an episode as an orphan, never reading it', async () => {
    const dir = await makeTempDir('studio-e2e-list-special-')
    try {
      await writePdf(path.join(dir, 'talk.pdf'), ['A short paper about things.'])
      await symlink('/dev/zero', path.join(dir, 'talk.mp3'))
      const result = await runCli(['training', 'list-pairs', '--pairs-dir', dir, '--json'])
      expect(result.code).toBe(0)
      const listing = PairsListing.parse(JSON.parse(result.stdout))
      expect(listing.pairs).toEqual([])
      expect(listing.orphans).toEqual([
        {path: path.join(dir, 'talk.mp3'), reason: 'a character device, not a regular file: studio reads regular files only'},
        {path: path.join(dir, 'talk.pdf'), reason: 'paper without an episode: expected talk.mp3 next to it'},
      ])
    } finally {
      await removeDir(dir)
    }
  })

  it('warns about orphans and measures the real MP3 duration', async () => {
    const dir = await makeTempDir('studio-e2e-list-')
    try {
      await writePdf(path.join(dir, 'paper.pdf'), ['A short paper about things.'])
      await writeSilentMp3(path.join(dir, 'paper.mp3'), 42)
      await writePdf(path.join(dir, 'lonely.pdf'), ['No episode for this one.'])
      await writeFile(path.join(dir, 'stray.MP3'), '')
      const result = await runCli(['training', 'list-pairs', '--pairs-dir', dir, '--json'])
      expect(result.code).toBe(0)
      const listing = PairsListing.parse(JSON.parse(result.stdout))
      expect(listing.pairs).toHaveLength(1)
      expect(listing.pairs[0]!.duration_seconds).toBeCloseTo(42, 0)
      expect(listing.orphans).toEqual([
        {path: path.join(dir, 'lonely.pdf'), reason: 'paper without an episode: expected lonely.mp3 next to it'},
        {path: path.join(dir, 'stray.MP3'), reason: 'episode without a paper: expected stray.pdf next to it'},
      ])
      const text = await runCli(['training', 'list-pairs', '--pairs-dir', dir])
      expect(text.stderr).toContain('warning: 2 file(s) have no partner and will be ignored:')
      expect(text.stderr).toContain(`${path.join(dir, 'lonely.pdf')}: paper without an episode`)
    } finally {
      await removeDir(dir)
    }
  })

  it('fails clearly on a missing folder', async () => {
    const result = await runCli(['training', 'list-pairs', '--pairs-dir', '/nonexistent/pairs'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Error: Pairs folder not found: /nonexistent/pairs')
    expect(result.stderr).toContain('Hint:')
  })

  it('fails clearly on an empty folder', async () => {
    const dir = await makeTempDir('studio-e2e-empty-')
    try {
      const result = await runCli(['training', 'list-pairs', '--pairs-dir', dir])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`Error: No pairs found in ${dir}: it holds no .pdf or .mp3 files`)
    } finally {
      await removeDir(dir)
    }
  })
})
