/**
 * Resuming a run that did not finish: with its own configuration, on the pairs it
 * started with; completed units are read back and the rest is computed, so the report
 * is the one an uninterrupted run would have written.
 */
import {readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {recoverEventLog} from '../../core/event-log.js'
import {sha256File} from '../../core/hash.js'
import {runPaths, trialIndexOf} from '../../core/layout.js'
import {acquireRunLock} from '../../core/run-lock.js'
import type {NewRunEvent} from '../../core/schemas/events.js'
import {PairAnalysis, RunManifest, type SkippedPair} from '../../core/schemas/files.js'
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
  const paths = runPaths(runDir)
  await readManifest(runDir)
  const {emit, attach} = eventEmitter(options, clock)
  // Everything below changes the folder: one process at a time (a second one is refused here).
  const lock = await acquireRunLock(runDir, {clock, onTakeOver: (message) => emit({type: 'warning', message})})
  try {
    // Read again under the lock: another process may have finished the run meanwhile.
    const manifest = await readManifest(runDir)
    if (manifest.status === 'finished') {
      throw new InputError(`Run ${manifest.run_id} has already finished: there is nothing to resume`, {
        path: runDir,
        hint: 'Start a new run with `studio training run`, or look at this one with `studio training report`.',
      })
    }
    // Events wait in memory until the log is attached: a resume refused below writes nothing.
    emit({type: 'run-resumed', pid: process.pid})
    const trialsBegun = await hasTrialFolders(runDir)
    const {discovery, carried} = pairsToResume(manifest, await discoverOrFail(manifest.config.pairs_dir, emit), trialsBegun, emit)
    await refuseChangedInputs(manifest, runDir, discovery)
    await removeStaleTempFiles(runDir)
    const dropped = await recoverEventLog(paths.events)
    attach(runDir)
    if (dropped) {
      emit({
        type: 'warning',
        message: `${paths.events}: dropped its last line, cut short by a crash or a full disk (${dropped.bytes} bytes: ${dropped.preview})`,
      })
    }
    const resumed: RunManifest = {
      ...manifest,
      status: 'running',
      pid: process.pid,
      host: os.hostname(),
      finished_at: null,
      error: null,
      resumed_at: [...manifest.resumed_at, clock().toISOString()],
    }
    await writeJson(paths.manifest, RunManifest, resumed)
    await updateRegistry(manifest.config.output_dir)
    // The limits of the configuration read now, as for timeouts; pairs analysed already are not checked again (ingest.ts).
    const limits = options.limits ?? DEFAULT_SIZE_LIMITS
    // Stored normalised; normalising again is not exact in floating point, and the losses must not move.
    return await execute(
      {
        ...options,
        runDir,
        config: manifest.config,
        weights: manifest.config.weights,
        emit,
        clock,
        openPaper: paperReader(limits, options.paperCache),
        limits,
      },
      resumed,
      discovery,
      carried,
    )
  } finally {
    await lock.release()
  }
}

async function readManifest(runDir: string): Promise<RunManifest> {
  const manifest = await readJsonIfExists(runPaths(runDir).manifest, RunManifest)
  if (!manifest) {
    throw new InputError(`Cannot resume ${runDir}: it has no run.json`, {
      path: runDir,
      hint: 'Pass a run folder such as artifacts/training_output/run-20261123T101500Z.',
    })
  }
  return manifest
}

/** Has the trial loop started? Its first step is to create trial 0's folder, after the pair set was recorded. */
async function hasTrialFolders(runDir: string): Promise<boolean> {
  return (await readdir(runDir)).some((name) => trialIndexOf(name) !== null)
}

/**
 * A resumed run works on the pairs it started with: a pair added to the folder since
 * would be missing from the earlier trials, and one removed cannot be scored in the rest.
 *
 * Once trials have begun, the pair set is the one trial 0 was scored on: a pair skipped
 * before it (a provider failure, a bad file) stays skipped, with its recorded reason
 * (`carried`), so that every trial of the run is scored on the same pairs. Before trial
 * 0, nothing has been compared yet, and skipped pairs are tried again.
 */
function pairsToResume(
  manifest: RunManifest,
  discovery: Discovery,
  trialsBegun: boolean,
  emit: (event: NewRunEvent) => void,
): {discovery: Discovery; carried: SkippedPair[] | null} {
  const skippedIds = new Set(manifest.skipped.map((p) => p.id))
  const inTrials = new Set(manifest.pairs.map((p) => p.id).filter((id) => !skippedIds.has(id)))
  const known = new Set([...inTrials, ...skippedIds])
  const found = new Set(discovery.pairs.map((p) => p.id))
  const gone = [...(trialsBegun ? inTrials : known)].filter((id) => !found.has(id)).sort()
  if (gone.length) {
    throw new InputError(
      `Cannot resume ${manifest.run_id}: ${gone.length === 1 ? 'pair' : 'pairs'} ${gone.join(', ')} no longer in ${manifest.config.pairs_dir}`,
      {
        path: manifest.config.pairs_dir,
        hint: 'Put the files back, or start a new run with `studio training run`.',
      },
    )
  }
  if (!trialsBegun) return {discovery: {...discovery, pairs: discovery.pairs.filter((p) => known.has(p.id))}, carried: null}
  for (const skipped of manifest.skipped) {
    emit({
      type: 'warning',
      message: `${skipped.id}: stays skipped (${skipped.reason}): it was skipped before trial 0, and a resumed run keeps the pairs its trials were scored on. Start a new run to include it.`,
    })
  }
  return {discovery: {...discovery, pairs: discovery.pairs.filter((p) => inTrials.has(p.id))}, carried: manifest.skipped}
}

/**
 * Refuses, before anything is written, a pair whose paper or episode is not the file this
 * run analysed (sha256): its earlier results would be scored on other inputs than the rest.
 */
async function refuseChangedInputs(manifest: RunManifest, runDir: string, discovery: Discovery): Promise<void> {
  for (const pair of discovery.pairs) {
    const analysis = await readJsonIfExists(runPaths(runDir).pair(pair.id).analysis, PairAnalysis)
    if (!analysis) continue
    for (const [file, recorded, label] of [
      [pair.pdf, analysis.paper.sha256, 'Paper'],
      [pair.mp3, analysis.episode.sha256, 'Episode'],
    ] as const) {
      if ((await sha256File(file, label)) !== recorded) {
        throw new InputError(
          `Cannot resume ${manifest.run_id}: pair ${pair.id} changed since this run analysed it: ${file} is not the same file`,
          {
            path: file,
            hint: 'Start a new run with `studio training run` (a resumed run must see the files the run started with), or put the original file back.',
          },
        )
      }
    }
  }
}

/** A process killed between writing a temp file and renaming it leaves the temp file: never the target half-written. */
async function removeStaleTempFiles(runDir: string): Promise<void> {
  const names = await readdir(runDir, {recursive: true})
  await Promise.all(names.filter((name) => /(^|\/)\.[^/]+\.tmp$/.test(name)).map((name) => rm(path.join(runDir, name), {force: true})))
}
