/**
 * The fix of a skipped pair (`hint`, recorded in run.json's `skipped` since the run
 * command printed it) is shown wherever skipped pairs are: `training status` (text and
 * JSON) and the HTML report. Runs written before hints were recorded still read.
 */
import os from 'node:os'
import path from 'node:path'
import {readFile, writeFile} from 'node:fs/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunManifest} from '../../src/core/schemas/files.js'
import {renderReportHtml} from '../../src/training/report/html.js'
import {escapeHtml} from '../../src/training/report/template.js'
import {describeRun} from '../../src/training/report/status.js'
import {loadRunView} from '../../src/training/report/view.js'
import {runCli} from '../helpers/cli.js'
import {parseJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

const HINTED = {
  id: 'broken-paper',
  reason: 'Paper /pairs/broken-paper.pdf: not a PDF (it starts with "<html>")',
  hint: 'Replace it with the real PDF, or move the pair out of the folder.',
}
/** As run.json held skipped pairs before hints were recorded. */
const OLD = {id: 'old-episode', reason: 'Episode /pairs/old-episode.mp3: no MPEG audio frames found'}

let root = ''
let runDir = ''

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-skip-hints-')
  runDir = (await mockTrainingRun(root, {maxTrials: 1})).runDir
  const file = path.join(runDir, 'run.json')
  const manifest = parseJson(await readFile(file, 'utf8'), RunManifest)
  await writeFile(file, JSON.stringify({...manifest, skipped: [HINTED, OLD]}))
})
afterAll(async () => {
  await removeDir(root)
})

describe('the fix of a skipped pair', () => {
  it('training status prints each skipped pair with its reason and its hint; --json carries the hint', async () => {
    const text = await runCli(['training', 'status', runDir])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain(`  ${HINTED.id}: ${HINTED.reason}\n    hint: ${HINTED.hint}\n`)
    expect(text.stdout).toContain(`  ${OLD.id}: ${OLD.reason}\n`)

    const view = await loadRunView(runDir, {host: os.hostname()})
    expect(describeRun(view, new Date()).skipped).toEqual([HINTED, OLD])
  })

  it('the HTML report shows the hint under the reason, and nothing for a pair without one', async () => {
    const page = renderReportHtml(await loadRunView(runDir, {host: os.hostname()})).replace(/\s*([<>])\s*/g, '$1')
    // The reason quotes the file's start ("<html>"): escaped, as every text of the page.
    expect(page).toContain(
      `${HINTED.id}</span>: ${escapeHtml(HINTED.reason)}<br /><span class="muted small skip-hint">Fix: ${escapeHtml(HINTED.hint)}</span>`,
    )
    expect(page).toContain(`${OLD.id}</span>: ${OLD.reason}</li>`)
  })
})
