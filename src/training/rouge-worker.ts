/**
 * The ROUGE worker thread of rouge-pool.ts: it only calls the pure rougeScores. Shipped
 * as a self-contained bundle (scripts/bundle.mjs builds it beside the pool's output),
 * so it loads in milliseconds and needs nothing from src/ or node_modules at run time.
 */
import {parentPort} from 'node:worker_threads'

import {rougeScores, type RougeOptions} from '../loss/rouge.js'

export type RougeJob = {id: number; target: string; prediction: string; options: RougeOptions}

parentPort?.on('message', ({id, target, prediction, options}: RougeJob) => {
  try {
    parentPort!.postMessage({id, scores: rougeScores(target, prediction, options)})
  } catch {
    // The pool recomputes a failed job on its own thread, which throws the real error.
    parentPort!.postMessage({id, failed: true})
  }
})
