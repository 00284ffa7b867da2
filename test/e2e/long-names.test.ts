/**
 * Pair names of any legal length (issue 16, item 2): 75 CJK characters take 225 bytes,
 * and studio's own names around them (`<pair>_result.json`, the `.<name>.<pid>.<hex>.tmp`
 * of an atomic write) went over the file system's 255 bytes a name, crashing a run after
 * ingest. Derived names are shortened with a hash; the pair id stays the full name.
 */
import {copyFile, mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {pairSlug} from '../../src/core/layout.js'
import {PairsListing} from '../../src/core/schemas/inputs.js'
import {RunManifest, TrainingReport} from '../../src/core/schemas/files.js'
import {EXAMPLE_PAIRS, runCli} from '../helpers/cli.js'
import {readJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

const LONG = '研'.repeat(75)
/** Same first 100 bytes as LONG: the hash alone tells their files apart. */
const TWIN = `${'研'.repeat(74)}究`
const SOURCE = path.join(EXAMPLE_PAIRS, 'soil-microbiome-drought')

async function everyName(dir: string): Promise<string[]> {
  const names: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    names.push(entry.name)
    if (entry.isDirectory()) names.push(...(await everyName(path.join(dir, entry.name))))
  }
  return names
}

describe('pair names of 75 CJK characters (225 bytes)', () => {
  let base = ''
  let pairs = ''
  beforeAll(async () => {
    base = await makeTempDir('studio-e2e-long-names-')
    pairs = path.join(base, 'pairs')
    await mkdir(pairs)
    for (const id of [LONG, TWIN]) {
      await copyFile(`${SOURCE}.pdf`, path.join(pairs, `${id}.pdf`))
      await copyFile(`${SOURCE}.mp3`, path.join(pairs, `${id}.mp3`))
    }
  })
  afterAll(async () => {
    if (base) await removeDir(base)
  })

  it('list-pairs lists them as ok under their full names', async () => {
    const result = await runCli(['training', 'list-pairs', '--pairs-dir', pairs, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const listing = PairsListing.parse(JSON.parse(result.stdout))
    expect(listing.pairs.map((p) => [p.id, p.problems])).toEqual([
      [LONG, []],
      [TWIN, []],
    ])
  })

  it('a full mock run trains on both (exit 0): full ids in the report, short hashed names on disk', async () => {
    const out = path.join(base, 'runs')
    const result = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--json', '--pairs-dir', pairs, '--output-dir', out])
    expect(result.code, result.stderr).toBe(0)
    const report = TrainingReport.parse(JSON.parse(result.stdout))
    expect(report.pairs).toEqual([LONG, TWIN])
    expect(report.skipped_pairs).toEqual([])
    expect(report.trials).toHaveLength(1)

    const runDir = path.join(out, report.run_id)
    const manifest = await readJson(path.join(runDir, 'run.json'), RunManifest)
    expect(manifest.status).toBe('finished')
    const [slugLong, slugTwin] = [pairSlug(LONG), pairSlug(TWIN)]
    expect(slugLong).toMatch(/^研{33}-[0-9a-f]{8}$/)
    expect(slugTwin).not.toBe(slugLong)
    expect((await readdir(path.join(runDir, 'pairs'))).sort()).toEqual([slugLong, slugTwin].sort())
    const trialDirs = (await readdir(runDir)).filter((n) => n.startsWith('trial_'))
    expect(trialDirs).toHaveLength(1)
    for (const trial of trialDirs) {
      const files = await readdir(path.join(runDir, trial))
      for (const slug of [slugLong, slugTwin]) expect(files).toEqual(expect.arrayContaining([`${slug}_script.txt`, `${slug}_result.json`]))
    }
    // No name over 255 bytes, and no temp file left behind by an atomic write.
    const names = await everyName(out)
    expect(names.filter((n) => Buffer.byteLength(n) > 255)).toEqual([])
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([])

    const status = await runCli(['training', 'status', runDir])
    expect(status.code, status.stderr).toBe(0)
    const html = await runCli(['training', 'report', runDir])
    expect(html.code, html.stderr).toBe(0)
  })
})
