/**
 * A resume reads each paper once and hashes each episode once: its changed-input check and
 * the ingest share the reading of a paper and the hash of an episode.
 */
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {sha256File} from '../../src/core/hash.js'
import {readInputFile} from '../../src/core/input-file.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {resumeTraining} from '../../src/training/run/resume.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {interruptedCopy} from '../helpers/run-folder.js'
import {mockTrainingRun} from '../helpers/training.js'

vi.mock('../../src/core/hash.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/core/hash.js')>()
  return {...actual, sha256File: vi.fn(actual.sha256File)}
})

vi.mock('../../src/core/input-file.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/core/input-file.js')>()
  return {...actual, readInputFile: vi.fn(actual.readInputFile)}
})

let root = ''
let runDir = ''

beforeAll(async () => {
  root = await makeTempDir('studio-unit-hash-once-')
  const finished = (await mockTrainingRun(root, {maxTrials: 1})).runDir
  runDir = await interruptedCopy(finished, path.join(root, 'out', 'run-copy'))
})
afterAll(async () => {
  await removeDir(root)
})

const PAPERS = ['aerial-vehicle-positioning-full.pdf', 'soil-microbiome-drought.pdf', 'sparse-attention-long-documents.pdf']

describe('--resume, the paper readings and the episode hashes', () => {
  it('hashes each episode once, though both the changed-input check and the ingest compare it', async () => {
    vi.mocked(sha256File).mockClear()
    vi.mocked(readInputFile).mockClear()
    const resumed = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'})
    expect(resumed.report.trials).toHaveLength(1)
    const episodes = vi
      .mocked(sha256File)
      .mock.calls.filter(([, label]) => label === 'Episode')
      .map(([file]) => path.basename(file))
    expect(episodes.sort()).toEqual([
      'aerial-vehicle-positioning-full.mp3',
      'soil-microbiome-drought.mp3',
      'sparse-attention-long-documents.mp3',
    ])
    // Each paper read once, by the reading the check and the ingest share; never hashed apart.
    const papers = vi
      .mocked(readInputFile)
      .mock.calls.filter(([, label]) => label === 'Paper')
      .map(([file]) => path.basename(file))
    expect(papers.sort()).toEqual(PAPERS)
    expect(vi.mocked(sha256File).mock.calls.filter(([, label]) => label === 'Paper')).toEqual([])
  })
})
