/**
 * Resuming a run that did not finish: with its own configuration, on the pairs it
 * started with; completed units are read back and the rest is computed, so the report
 * is the one an uninterrupted run would have written.
 */
import {readdir} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {recoverEventLog} from '../../core/event-log.js'
import {canonicalJson} from '../../core/hash.js'
import {OUTPUT_FILES, runPaths, trialIndexOf} from '../../core/layout.js'
import {acquireRunLock, processAlive} from '../../core/run-lock.js'
import {Transcript} from '../../core/schemas/common.js'
import type {NewRunEvent} from '../../core/schemas/events.js'
import type {PairFiles} from '../../core/schemas/inputs.js'
import {PairAnalysis, RunManifest, type SkippedPair} from '../../core/schemas/files.js'
import {DEFAULT_SIZE_LIMITS, NO_SIZE_LIMITS} from '../../media/limits.js'
import {readSidecar} from '../../media/sidecar.js'
import {readJsonIfExists, removeStaleTempFiles, writeJson} from '../../core/store.js'
import type {Discovery} from '../stages/discover.js'
import {episodeHasher, type EpisodeHasher, type PaperReader} from '../stages/ingest.js'
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
    // The changed-input check and the ingest share each file's reading: a paper is read and
    // hashed once, an episode hashed once.
    const hashEpisode = episodeHasher()
    // The limits of the configuration read now, as for timeouts; pairs analysed already are not checked again (ingest.ts).
    const limits = options.limits ?? DEFAULT_SIZE_LIMITS
    const openPaper = paperReader(limits, options.paperCache)
    await refuseChangedInputs(manifest, runDir, discovery, openPaper, hashEpisode)
    // Under the lock every temp file in the run folder is a dead process's; in the output
    // folder (registry.json's) and its signals folder (latest.json's), only those of
    // processes that are gone.
    await removeStaleTempFiles(runDir, {recursive: true, isStale: () => true})
    const goneWriter = {isStale: (pid: number) => !processAlive(pid)}
    await removeStaleTempFiles(manifest.config.output_dir, goneWriter).catch(() => {})
    await removeStaleTempFiles(path.join(manifest.config.output_dir, OUTPUT_FILES.signals), goneWriter).catch(() => {})
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
    // Stored normalised; normalising again is not exact in floating point, and the losses must not move.
    return await execute(
      {
        ...options,
        runDir,
        config: manifest.config,
        weights: manifest.config.weights,
        emit,
        clock,
        openPaper,
        limits,
        hashEpisode,
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
 * run analysed (sha256), or whose transcript would not be the one it used (a sidecar
 * changed, added or removed): its earlier results would be scored on other inputs than the rest.
 */
async function refuseChangedInputs(
  manifest: RunManifest,
  runDir: string,
  discovery: Discovery,
  openPaper: PaperReader,
  hashEpisode: EpisodeHasher,
): Promise<void> {
  for (const pair of discovery.pairs) {
    const pairPaths = runPaths(runDir).pair(pair.id)
    const analysis = await readJsonIfExists(pairPaths.analysis, PairAnalysis)
    if (!analysis) continue
    const changed = (file: string, what = 'is not the same file') =>
      new InputError(`Cannot resume ${manifest.run_id}: pair ${pair.id} changed since this run analysed it: ${file} ${what}`, {
        path: file,
        hint: 'Start a new run with `studio training run` (a resumed run must see the files the run started with), or put the original file back.',
      })
    // Opened as the ingest of an analysed pair opens it (without the size limits): the
    // ingest then takes the same reading, bytes and text, instead of reading it again.
    if ((await openPaper(pair.pdf, {checked: false}).sha256) !== analysis.paper.sha256) throw changed(pair.pdf)
    if ((await hashEpisode(pair.mp3)) !== analysis.episode.sha256) throw changed(pair.mp3)
    await refuseChangedSidecar(pair, analysis, pairPaths.transcript, changed)
  }
}

/**
 * The analysis records no sidecar hash, but the run kept the transcript it used: a sidecar
 * is the same when it reads as that transcript again (so older run folders are checked too).
 */
async function refuseChangedSidecar(
  pair: PairFiles,
  analysis: PairAnalysis,
  transcriptFile: string,
  changed: (file: string, what?: string) => InputError,
): Promise<void> {
  const usedSidecar = analysis.transcript_source.startsWith('sidecar-')
  if (!pair.sidecar) {
    if (usedSidecar) throw changed(pair.mp3, `has lost its sidecar transcript (the run used a ${analysis.transcript_source.slice(8)} file)`)
    return
  }
  if (!usedSidecar) throw changed(pair.sidecar.path, `was added as the transcript of ${pair.mp3}, which the run transcribed`)
  const used = await readJsonIfExists(transcriptFile, Transcript)
  // No stored transcript: the ingest reads the sidecar again and reports the damaged unit.
  if (!used) return
  // Checked when it was first read; pairs analysed already are not checked against the limits again.
  const now = await readSidecar(pair.sidecar.path, pair.sidecar.format, NO_SIZE_LIMITS)
  if (canonicalJson(Transcript.parse(now)) !== canonicalJson(used)) throw changed(pair.sidecar.path)
}
