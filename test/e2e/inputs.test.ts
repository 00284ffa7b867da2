/**
 * The bad-input fixture set (scripts/make-fixtures.mjs) through the built CLI: every bad
 * file is named with its reason by list-pairs and skipped by a run, the valid pairs
 * still train, and a folder of only bad pairs fails with exit code 2.
 */
import {execFile} from 'node:child_process'
import {chmod, copyFile, mkdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeFixtures} from '../../scripts/make-fixtures.mjs'
import {PairsListing} from '../../src/core/schemas/inputs.js'
import {RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import {BIN, cliEnv, REPO_ROOT, runCli} from '../helpers/cli.js'
import {makeTempDir, removeDir, writePdf, writeSilentMp3} from '../helpers/media.js'
import {openToOthers, UNPRIVILEGED} from '../helpers/unprivileged.js'

/** Every bad pair of the fixture set and the exact reason it is skipped ({dir} is the fixture folder). */
const BAD: Record<string, string> = {
  'random-bytes': 'Episode {dir}/random-bytes.mp3 is not audio: no MP3 data found in it',
  'renamed-wav': 'Episode {dir}/renamed-wav.mp3 is a WAV file, not MP3: rename it to renamed-wav.wav',
  truncated: 'Episode {dir}/truncated.mp3 is truncated: its Xing header promises 12.1 s of audio but the file holds only about 6.0 s',
  short: 'Episode {dir}/short.mp3 is too short to learn from: 5.1 s (at least 10 s needed)',
  encrypted: 'Paper {dir}/encrypted.pdf is encrypted with a password',
  scanned: 'Paper {dir}/scanned.pdf has no text layer (1 page(s), no extractable words)',
  'zero-byte': 'Paper {dir}/zero-byte.pdf is empty (0 bytes)',
  'bad-vtt': '{dir}/bad-vtt.vtt:3: expected a cue timing line like "00:00:01.000 --> 00:00:04.000", found "1"',
}

/** The fix printed with each bad pair (the error's hint, as TRAINING.md, "Bad files", gives it). */
const HINT: Record<string, string> = {
  'random-bytes': 'Replace it with the original episode file; a failed download sometimes saves an error page instead.',
  'renamed-wav': 'The transcriber sends the file with its extension, so the extension must match the content.',
  truncated: 'The file is incomplete: download or copy it again from the original.',
  short: 'Use the full episode, not a clip or a trailer.',
  encrypted: 'Save an unencrypted copy and use that: e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf, or print it to PDF.',
  scanned: 'It is probably a scan: run OCR on it first (e.g. ocrmypdf in.pdf out.pdf) and use the result.',
  'zero-byte': 'Replace it with the full text of the paper (PDF, .docx, .txt or .md).',
  'bad-vtt': 'Fix that line, or delete the sidecar to have the episode transcribed instead.',
}

let dir = ''
let out = ''
const valid = ['Résumé des travaux', 'm4a-episode', 'nested', 'ogg-episode', 'stereo-48k', 'valid-cbr', 'valid-vbr', 'wav-episode']
const reason = (id: string) => BAD[id]!.replaceAll('{dir}', dir)

describe('bad inputs: the fixture set', () => {
  beforeAll(async () => {
    const base = await makeTempDir('studio-e2e-inputs-')
    out = path.join(base, 'runs')
    dir = (await makeFixtures(path.join(base, 'pairs'))).dir
  })
  afterAll(async () => {
    if (dir) await removeDir(path.dirname(dir))
  })

  it('list-pairs names every bad file with its reason and lists the valid pairs without problems', async () => {
    const result = await runCli(['training', 'list-pairs', '--pairs-dir', dir, '--json'])
    expect(result.code).toBe(0)
    const listing = PairsListing.parse(JSON.parse(result.stdout))
    const problems = Object.fromEntries(listing.pairs.map((p) => [p.id, p.problems]))
    const hints = Object.fromEntries(listing.pairs.map((p) => [p.id, p.problem_hints]))
    for (const id of Object.keys(BAD)) expect([problems[id], hints[id]], id).toEqual([[reason(id)], [HINT[id]]])
    for (const id of valid) expect([problems[id], hints[id]], id).toEqual([[], []])
    expect(Object.keys(problems).sort()).toEqual([...valid, ...Object.keys(BAD)].sort())
    expect(listing.orphans).toEqual([
      {path: path.join(dir, 'folder.mp3'), reason: 'episode without a paper: expected folder.pdf next to it'},
      {path: path.join(dir, 'self-loop.mp3'), reason: 'symbolic link loop (ELOOP): it points back to itself'},
    ])
    const byId = Object.fromEntries(listing.pairs.map((p) => [p.id, p]))
    expect(byId['nested']!.pdf).toBe(path.join(dir, 'folder.pdf', 'nested.pdf'))
    expect(byId['Résumé des travaux']!.mp3).toBe(path.join(dir, 'Résumé des travaux.mp3'))
    expect([byId['wav-episode']!.episode_format, byId['valid-cbr']!.paper_format]).toEqual(['wav', 'pdf'])
    expect([byId['ogg-episode']!.episode_format, byId['m4a-episode']!.episode_format]).toEqual(['ogg', 'm4a'])
    for (const id of valid) expect(byId[id]!.duration_seconds, id).toBeGreaterThanOrEqual(11.9)
  })

  it('list-pairs prints each problem on stderr in a terminal-style run', async () => {
    const result = await runCli(['training', 'list-pairs', '--pairs-dir', dir])
    expect(result.code).toBe(0)
    for (const id of Object.keys(BAD)) expect(result.stderr).toContain(`problem: ${id}: ${reason(id)}\n  hint: ${HINT[id]}\n`)
    expect(result.stderr).toContain(`${path.join(dir, 'self-loop.mp3')}: symbolic link loop`)
  })

  it('a run skips each bad pair with its reason and trains on the valid ones (exit 0)', async () => {
    const result = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--json', '--pairs-dir', dir, '--output-dir', out])
    expect(result.code, result.stderr).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    expect(report.pairs).toEqual(valid)
    expect(report.skipped_pairs).toEqual(
      Object.keys(BAD)
        .sort()
        .map((id) => ({id, reason: reason(id), hint: HINT[id]})),
    )
    // Each skip with its fix, on the line after it.
    for (const id of Object.keys(BAD)) expect(result.stderr).toContain(`skipped ${id}: ${reason(id)}\n  hint: ${HINT[id]}\n`)
    const manifest = RunManifest.parse(JSON.parse(await readFile(path.join(out, report.run_id, 'run.json'), 'utf8')))
    expect(manifest.skipped.map((s) => [s.id, s.hint])).toEqual(
      Object.keys(BAD)
        .sort()
        .map((id) => [id, HINT[id]]),
    )
  })

  it('fails with exit code 2 and every reason when no valid pair is left', async () => {
    const bad = path.join(path.dirname(dir), 'only-bad')
    await mkdir(bad)
    for (const id of ['random-bytes', 'short', 'zero-byte']) {
      await copyFile(path.join(dir, `${id}.pdf`), path.join(bad, `${id}.pdf`))
      await copyFile(path.join(dir, `${id}.mp3`), path.join(bad, `${id}.mp3`))
    }
    const result = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--pairs-dir', bad, '--output-dir', out])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('No usable pair: all 3 pair(s) failed to ingest:')
    expect(result.stderr).toContain(`random-bytes: Episode ${bad}/random-bytes.mp3 is not audio: no MP3 data found in it`)
    expect(result.stderr).toContain(`short: Episode ${bad}/short.mp3 is too short to learn from: 5.1 s (at least 10 s needed)`)
    expect(result.stderr).toContain(`zero-byte: Paper ${bad}/zero-byte.pdf is empty (0 bytes)\n    hint: ${HINT['zero-byte']}`)
  })
})

/** Runs the CLI as `nobody` when tests run as root (root reads everything), else as the current user. */
function runAsUser(args: string[], home: string): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: REPO_ROOT,
        env: cliEnv({CI: '1', NO_COLOR: '1', HOME: home, XDG_CACHE_HOME: home, XDG_CONFIG_HOME: home, XDG_DATA_HOME: home}),
        ...UNPRIVILEGED,
      },
      (error, stdout, stderr) => resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr}),
    )
  })
}

describe('bad inputs: permissions', () => {
  let base = ''
  beforeAll(async () => {
    base = await makeTempDir('studio-e2e-perms-')
    await openToOthers(base)
  })
  afterAll(async () => {
    for (const sub of ['locked', 'blind']) await chmod(path.join(base, 'pairs', sub), 0o755).catch(() => {})
    await removeDir(base)
  })

  it('reports unreadable files and folders and lists the rest', async () => {
    const pairs = path.join(base, 'pairs')
    const home = path.join(base, 'home')
    await mkdir(home)
    for (const sub of ['', 'locked', 'blind']) await mkdir(path.join(pairs, sub), {recursive: true})
    for (const [folder, id] of [
      ['', 'ok'],
      ['', 'secret'],
      ['locked', 'a'],
      ['blind', 'b'],
    ] as const) {
      await writePdf(path.join(pairs, folder, `${id}.pdf`), ['A short paper about drought and soil microbes.'])
      await writeSilentMp3(path.join(pairs, folder, `${id}.mp3`), 30)
    }
    await chmod(path.join(base, 'home'), 0o777)
    await chmod(path.join(pairs, 'secret.mp3'), 0o000)
    await chmod(path.join(pairs, 'locked'), 0o000)
    await chmod(path.join(pairs, 'blind'), 0o644) // names readable, files not reachable
    const result = await runAsUser(['training', 'list-pairs', '--pairs-dir', pairs, '--json'], home)
    expect(result.code, result.stderr).toBe(0)
    const listing = PairsListing.parse(JSON.parse(result.stdout))
    expect(listing.pairs.map((p) => [p.id, p.problems])).toEqual([
      ['ok', []],
      ['secret', [`Cannot read episode ${path.join(pairs, 'secret.mp3')}: EACCES`]],
    ])
    expect(listing.orphans).toEqual([
      {path: path.join(pairs, 'blind', 'b.mp3'), reason: 'cannot be read (EACCES): check the permissions of the file and its folder'},
      {path: path.join(pairs, 'blind', 'b.pdf'), reason: 'cannot be read (EACCES): check the permissions of the file and its folder'},
      {path: path.join(pairs, 'locked'), reason: 'folder could not be read (EACCES); its files were not considered'},
    ])
  })
})
