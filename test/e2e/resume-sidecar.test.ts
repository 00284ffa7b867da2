/**
 * A sidecar transcript changed, removed or added between a run and its --resume: the
 * transcript the run's earlier results were scored against would not be the one a new
 * run reads, so the resume is refused like a changed episode, before anything is written.
 */
import {copyFile, cp, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunManifest} from '../../src/core/schemas/files.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {resumeTraining} from '../../src/training/run/resume.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {readJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {interruptedCopy} from '../helpers/run-folder.js'
import {mockTrainingRun} from '../helpers/training.js'

const AERIAL = 'aerial-vehicle-positioning-full'
const SOIL = 'soil-microbiome-drought'

let root = ''
let pairs = ''
let template = ''
let copies = 0

beforeAll(async () => {
  root = await makeTempDir('studio-e2e-resume-sidecar-')
  pairs = path.join(root, 'pairs')
  await cp(path.join(REPO_ROOT, 'artifacts/training_data'), pairs, {recursive: true})
  template = (await mockTrainingRun(path.join(root, 'template'), {pairsDir: pairs, maxTrials: 1})).runDir
})
afterAll(async () => {
  await removeDir(root)
})

const interruptedRun = () => interruptedCopy(template, path.join(root, 'runs', `run-copy-${++copies}`))

/** Runs `change` on the pairs folder, then `check`, and puts the folder back whatever happens. */
async function withChangedPairs(change: () => Promise<void>, check: () => Promise<void>): Promise<void> {
  const saved = path.join(root, `saved-${copies}`)
  await cp(pairs, saved, {recursive: true})
  try {
    await change()
    await check()
  } finally {
    await rm(pairs, {recursive: true})
    await cp(saved, pairs, {recursive: true})
  }
}

describe('--resume and a sidecar transcript', () => {
  it('refuses a sidecar changed since the run read it (exit 2, the file and the fix named), and writes nothing', async () => {
    const runDir = await interruptedRun()
    const vtt = path.join(pairs, `${AERIAL}.vtt`)
    const events = await readFile(path.join(runDir, 'events.jsonl'), 'utf8')
    await withChangedPairs(
      async () => writeFile(vtt, (await readFile(vtt, 'utf8')).replace('Welcome to Signal and Noise', 'Welcome back to Signal and Noise')),
      async () => {
        const result = await runCli(['training', 'run', '--mock', '--resume', runDir])
        expect(result.code, result.stderr).toBe(2)
        expect(result.stderr).toContain(`pair ${AERIAL} changed since this run analysed it: ${vtt} is not the same file`)
        expect(result.stderr).toContain('Hint: Start a new run with `studio training run`')
      },
    )
    expect((await readJson(path.join(runDir, 'run.json'), RunManifest)).status).toBe('interrupted')
    expect(await readFile(path.join(runDir, 'events.jsonl'), 'utf8')).toBe(events)
    await expect(readFile(path.join(runDir, 'run.lock'))).rejects.toThrow(/ENOENT/)
  })

  it('refuses a sidecar removed, or added to an episode the run transcribed', async () => {
    const resume = (runDir: string) => resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'})
    const removed = await interruptedRun()
    await withChangedPairs(
      () => rm(path.join(pairs, `${AERIAL}.vtt`)),
      async () => {
        await expect(resume(removed)).rejects.toThrow(
          `pair ${AERIAL} changed since this run analysed it: ${path.join(pairs, `${AERIAL}.mp3`)} has lost its sidecar transcript (the run used a vtt file)`,
        )
      },
    )
    const added = await interruptedRun()
    await withChangedPairs(
      () => copyFile(path.join(pairs, `${AERIAL}.vtt`), path.join(pairs, `${SOIL}.vtt`)),
      async () => {
        await expect(resume(added)).rejects.toThrow(
          `pair ${SOIL} changed since this run analysed it: ${path.join(pairs, `${SOIL}.vtt`)} was added as the transcript of ${path.join(pairs, `${SOIL}.mp3`)}, which the run transcribed`,
        )
      },
    )
    // An unchanged folder still resumes.
    await expect(resume(await interruptedRun())).resolves.toMatchObject({report: {trials: [expect.anything()]}})
  })
})
