/**
 * Resuming a run that did not finish: with its own configuration, on the pairs it
 * started with; completed units are read back and the rest is computed, so the report
 * is the one an uninterrupted run would have written.
 */
import {readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {repairTornLine} from '../../core/event-log.js'
import {runPaths} from '../../core/layout.js'
import {RunManifest} from '../../core/schemas/files.js'
import {DEFAULT_SIZE_LIMITS} from '../../media/limits.js'
import {readJsonIfExists, writeJson} from '../../core/store.js'
import type {Discovery} from '../stages/discover.js'
import {discoverOrFail, eventEmitter, paperReader, type CommonOptions, type TrainingOutcome} from './context.js'
import {execute} from './execute.js'
import {updateRegistry} from './registry.js'

export interface ResumeOptions extends CommonOptions {
  runDir: string
}

/**
 * Continues a run that did not finish, with its own configuration: completed
 * units are read back, the rest is computed, and the report is the one an
 * uninterrupted run would have written.
 */
export async function resumeTraining(options: ResumeOptions): Promise<TrainingOutcome> {
  const clock = options.clock ?? (() => new Date())
  const runDir = path.resolve(options.runDir)
  const manifest = await readJsonIfExists(runPaths(runDir).manifest, RunManifest)
  if (!manifest) {
    throw new InputError(`Cannot resume ${runDir}: it has no run.json`, {
      path: runDir,
      hint: 'Pass a run folder such as artifacts/training_output/run-20261123T101500Z.',
    })
  }
  if (manifest.status === 'finished') {
    throw new InputError(`Run ${manifest.run_id} has already finished: there is nothing to resume`, {
      path: runDir,
      hint: 'Start a new run with `studio training run`, or look at this one with `studio training report`.',
    })
  }
  await removeStaleTempFiles(runDir)
  await repairTornLine(runPaths(runDir).events)
  const {emit, attach} = eventEmitter(options, clock)
  attach(runDir)
  emit({type: 'run-resumed', pid: process.pid})
  const discovery = sameSetOfPairs(manifest, await discoverOrFail(manifest.config.pairs_dir, emit))
  const resumed: RunManifest = {
    ...manifest,
    status: 'running',
    pid: process.pid,
    host: os.hostname(),
    finished_at: null,
    error: null,
    resumed_at: [...manifest.resumed_at, clock().toISOString()],
  }
  await writeJson(runPaths(runDir).manifest, RunManifest, resumed)
  await updateRegistry(manifest.config.output_dir)
  // The limits of the configuration read now, as for timeouts; pairs analysed already are not checked again (ingest.ts).
  const limits = options.limits ?? DEFAULT_SIZE_LIMITS
  // Stored normalised; normalising again is not exact in floating point, and the losses must not move.
  return execute(
    {...options, runDir, config: manifest.config, weights: manifest.config.weights, emit, clock, openPaper: paperReader(limits), limits},
    resumed,
    discovery,
  )
}

/**
 * A resumed run works on the pairs it started with: a pair added to the folder since
 * would be missing from the earlier trials, and one removed cannot be scored in the rest.
 */
function sameSetOfPairs(manifest: RunManifest, discovery: Discovery): Discovery {
  const known = new Set([...manifest.pairs.map((p) => p.id), ...manifest.skipped.map((p) => p.id)])
  const found = new Set(discovery.pairs.map((p) => p.id))
  const gone = [...known].filter((id) => !found.has(id)).sort()
  if (gone.length) {
    throw new InputError(
      `Cannot resume ${manifest.run_id}: ${gone.length === 1 ? 'pair' : 'pairs'} ${gone.join(', ')} no longer in ${manifest.config.pairs_dir}`,
      {
        path: manifest.config.pairs_dir,
        hint: 'Put the files back, or start a new run with `studio training run`.',
      },
    )
  }
  return {...discovery, pairs: discovery.pairs.filter((p) => known.has(p.id))}
}

/** A process killed between writing a temp file and renaming it leaves the temp file: never the target half-written. */
async function removeStaleTempFiles(runDir: string): Promise<void> {
  const names = await readdir(runDir, {recursive: true})
  await Promise.all(names.filter((name) => /(^|\/)\.[^/]+\.tmp$/.test(name)).map((name) => rm(path.join(runDir, name), {force: true})))
}
