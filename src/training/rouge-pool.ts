/**
 * ROUGE off the main thread. Scoring an hour-long script against its transcript takes
 * tens of milliseconds of CPU (BENCHMARKS.md); on the main thread that held the event
 * loop, so the model answers of other pairs waited behind it. The loss itself stays the
 * pure rougeScores (loss/rouge.ts): the worker (rouge-worker.ts) only calls it, and gives
 * the same numbers, since the same code runs there.
 *
 * A small pool: min(cores - 1, 2) workers and at least one, started on first use, idle
 * ones unref'd so they never keep the process alive. Whenever a worker cannot be had
 * (its file is missing, as when running from src/ in tests; it fails to start; it
 * dies), the job is computed on the calling thread instead: slower for the event loop,
 * same result.
 */
import {existsSync} from 'node:fs'
import os from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import {rougeScores, type RougeOptions, type RougeScores} from '../loss/index.js'
import type {RougeJob} from './rouge-worker.js'

type Reply = {id: number; scores: RougeScores} | {id: number; failed: true}
interface Job extends RougeJob {
  resolve(scores: RougeScores): void
  reject(error: unknown): void
}

/** One core stays for the main thread; more than two workers would only queue on two cores' worth of jobs. */
export const ROUGE_POOL_SIZE = Math.max(1, Math.min(os.availableParallelism() - 1, 2))

/**
 * The built worker, beside this module in dist/ (scripts/bundle.mjs). From src/ there is
 * none (the worker is TypeScript there) and scoring stays on the calling thread, unless
 * a test points the pool at a built one with setRougeWorkerFile.
 */
let workerFile: URL | null = new URL('./rouge-worker.mjs', import.meta.url)

/** Uses another worker file (tests); null computes on the calling thread. Returns the previous one. */
export function setRougeWorkerFile(file: URL | null): URL | null {
  const previous = workerFile
  workerFile = file
  startFailures = 0
  return previous
}

/** After this many workers died or would not start, stop trying: the calling thread does the work. */
const MAX_START_FAILURES = 3
let startFailures = 0

const queue: Job[] = []
/** Each worker runs one job at a time. */
const busy = new Map<Worker, Job | null>()
let nextId = 0

function inThread(job: Job): void {
  try {
    job.resolve(rougeScores(job.target, job.prediction, job.options))
  } catch (error) {
    job.reject(error)
  }
}

function usable(): boolean {
  return workerFile !== null && startFailures < MAX_START_FAILURES && existsSync(fileURLToPath(workerFile))
}

function spawn(file: URL): Worker {
  const worker = new Worker(file)
  busy.set(worker, null)
  worker.on('message', (reply: Reply) => {
    const job = busy.get(worker)
    if (!job || job.id !== reply.id) return
    busy.set(worker, null)
    // A job the worker could not score (bad arguments) is redone here to throw the real error.
    if ('failed' in reply) inThread(job)
    else job.resolve(reply.scores)
    dispatch()
  })
  // A worker that fails to start or dies gives its job to the calling thread; the
  // queue goes to a new worker, or to the calling thread once workers keep failing.
  const lost = () => {
    if (!busy.has(worker)) return
    const job = busy.get(worker)
    busy.delete(worker)
    startFailures++
    if (job) inThread(job)
    dispatch()
  }
  worker.on('error', lost)
  worker.on('exit', lost)
  return worker
}

function dispatch(): void {
  while (queue.length > 0) {
    let idle = [...busy.entries()].find(([, job]) => job === null)?.[0]
    if (!idle && busy.size < ROUGE_POOL_SIZE) {
      if (!usable()) {
        // No worker to be had: what waits is scored here, in order.
        for (const job of queue.splice(0)) inThread(job)
        break
      }
      try {
        idle = spawn(workerFile!)
      } catch {
        startFailures++
        continue
      }
    }
    if (!idle) break
    const job = queue.shift()!
    busy.set(idle, job)
    const {id, target, prediction, options} = job
    try {
      idle.postMessage({id, target, prediction, options} satisfies RougeJob)
    } catch {
      // Arguments that cannot be copied to a thread (options holding a function, say).
      busy.set(idle, null)
      inThread(job)
    }
  }
  // An idle pool does not keep the process alive; a pool with work does, so that a
  // caller awaiting only this work does not see the process exit under it.
  for (const [worker, job] of busy) {
    if (job) worker.ref()
    else worker.unref()
  }
}

/**
 * rougeScores(target, prediction, options), computed on a worker thread when one can be
 * had. Rejects with rougeScores' own error on bad arguments.
 */
export function rougeScoresOffThread(target: string, prediction: string, options: RougeOptions = {}): Promise<RougeScores> {
  return new Promise<RougeScores>((resolve, reject) => {
    queue.push({id: ++nextId, target, prediction, options, resolve, reject})
    dispatch()
  })
}

/** Stops the workers (tests; a CLI process just exits). Jobs in flight are finished on the calling thread. */
export async function stopRougeWorkers(): Promise<void> {
  const workers = [...busy.keys()]
  const inFlight = workers.map((worker) => busy.get(worker)).filter((job) => job !== null && job !== undefined)
  busy.clear()
  for (const job of inFlight) inThread(job)
  await Promise.all(workers.map((worker) => worker.terminate()))
}
