/**
 * ROUGE on worker threads (src/training/rouge-pool.ts): the worker is built the way
 * scripts/bundle.mjs builds it for dist/, so these tests run the code that ships.
 */
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {build} from 'esbuild'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LossArgumentError, rougeScores} from '../../src/loss/index.js'
import {ROUGE_POOL_SIZE, rougeScoresOffThread, setRougeWorkerFile, stopRougeWorkers} from '../../src/training/rouge-pool.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

let dir = ''
let built: URL
let previous: URL | null = null
beforeAll(async () => {
  dir = await makeTempDir('studio-rouge-pool-')
  const outfile = path.join(dir, 'rouge-worker.mjs')
  await build({
    entryPoints: [path.resolve('src/training/rouge-worker.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  })
  built = pathToFileURL(outfile)
  previous = setRougeWorkerFile(built)
})
afterAll(async () => {
  await stopRougeWorkers()
  setRougeWorkerFile(previous)
  await removeDir(dir)
})

/** A transcript-like text of `lines` lines of 20-40 words from a small vocabulary. */
function text(seed: number, lines: number): string {
  const words = ['the', 'sleep', 'memories', 'running', 'of', 'neurons', 'replayed', 'and', 'study', 'cats', 'night', 'a']
  let s = seed
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    return s / 2 ** 32
  }
  return Array.from({length: lines}, () =>
    Array.from({length: 20 + Math.floor(next() * 21)}, () => words[Math.floor(next() * words.length)]).join(' '),
  ).join('\n')
}

describe('rougeScoresOffThread', () => {
  it('sizes the pool min(cores - 1, 2), at least 1', () => {
    expect(ROUGE_POOL_SIZE).toBeGreaterThanOrEqual(1)
    expect(ROUGE_POOL_SIZE).toBeLessThanOrEqual(2)
  })

  it('gives exactly the scores of rougeScores, for many jobs at once', async () => {
    const pairs = Array.from({length: 6}, (_, i) => [text(i + 1, 30), text(i + 100, 25)] as const)
    const got = await Promise.all(pairs.map(([t, p], i) => rougeScoresOffThread(t, p, {stem: i % 2 === 0})))
    got.forEach((scores, i) => expect(scores).toEqual(rougeScores(pairs[i]![0], pairs[i]![1], {stem: i % 2 === 0})))
  })

  it('keeps the event loop turning while a long pair is scored', async () => {
    const target = text(7, 400)
    const prediction = text(8, 400)
    await rougeScoresOffThread('warm', 'up') // the worker is started
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const started = performance.now()
    const scores = await rougeScoresOffThread(target, prediction, {stem: true})
    const elapsed = performance.now() - started
    clearInterval(timer)
    expect(scores).toEqual(rougeScores(target, prediction, {stem: true}))
    // On the calling thread the interval could not fire at all until the end.
    if (elapsed > 20) expect(ticks).toBeGreaterThan(1)
  })

  it("rejects with rougeScores' own error on bad arguments", async () => {
    await expect(rougeScoresOffThread(undefined as unknown as string, 'x')).rejects.toThrow(LossArgumentError)
    await expect(rougeScoresOffThread('x', 'y', {stem: 'yes' as unknown as boolean})).rejects.toThrow(/options\.stem must be a boolean/)
  })

  it('scores on the calling thread when no worker can be had', async () => {
    const before = setRougeWorkerFile(pathToFileURL(path.join(dir, 'missing-worker.mjs')))
    try {
      await stopRougeWorkers()
      expect(await rougeScoresOffThread('a b c d', 'a c d e')).toEqual(rougeScores('a b c d', 'a c d e'))
      setRougeWorkerFile(null)
      expect(await rougeScoresOffThread('a b', 'b a', {stem: true})).toEqual(rougeScores('a b', 'b a', {stem: true}))
    } finally {
      setRougeWorkerFile(before)
    }
  })

  it('scores on the calling thread when the worker dies at start', async () => {
    const broken = path.join(dir, 'broken-worker.mjs')
    await import('node:fs/promises').then((fs) => fs.writeFile(broken, "throw new Error('cannot start')\n"))
    const before = setRougeWorkerFile(pathToFileURL(broken))
    try {
      await stopRougeWorkers()
      const jobs = Array.from({length: 5}, (_, i) => rougeScoresOffThread(text(i, 3), text(i + 9, 3)))
      const got = await Promise.all(jobs)
      got.forEach((scores, i) => expect(scores).toEqual(rougeScores(text(i, 3), text(i + 9, 3))))
    } finally {
      setRougeWorkerFile(before)
    }
  })
})
