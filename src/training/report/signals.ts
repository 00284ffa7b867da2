/**
 * <output-dir>/signals/latest.json, and `studio training status --all`: every running run of
 * an output folder and the one that ended last, each with its phase, percent complete, last
 * activity, best loss and HTML report, as one small document to poll.
 *
 * The document is derived from the run folders alone, as registry.json is: every run that
 * writes it rebuilds it from disk, so two runs sharing the folder never drop each other (the
 * last rename wins and holds both), a write is atomic, `status --all` computes exactly the same
 * document, and a deleted or killed run can never be left behind by a stale copy of its own.
 */
import {readdir, stat} from 'node:fs/promises'
import path from 'node:path'

import {describeError} from '../../core/errors.js'
import {isRunFolderName, OUTPUT_FILES, outputPaths, runPaths} from '../../core/layout.js'
import type {Phase, RunEvent} from '../../core/schemas/events.js'
import {RunManifest} from '../../core/schemas/files.js'
import {Signals, type RunSignal} from '../../core/schemas/signals.js'
import {makeDir, readJsonIfExists, writeJson} from '../../core/store.js'
import {readEventLog} from '../../core/event-log.js'
import {describeRun} from './status.js'
import {loadRunView, runState, type RunState, type RunView} from './view.js'

/**
 * The share of a run's work given to ingest and analysis; the trials take the rest. A
 * convention, not a measure: with real providers transcription can take longer, and a run
 * that converges early jumps to 100 when it finishes.
 */
export const INGEST_SHARE = 0.2

export interface PercentInput {
  state: RunState
  events: readonly RunEvent[]
  /** Complete trials (with results.json). */
  trialsDone: number
  maxTrials: number
}

/**
 * Percent complete, 0-100, whole: 100 when finished; else, by the latest phase,
 *   discover: 0;  ingest: 20 x done/total pairs;  analyse: 20;
 *   trials: 20 + 80 x (trials done + done/total pairs of the trial in progress) / max trials;
 *   report: 99;
 * rounded down and at most 99 until the run has finished. A run that failed or was
 * interrupted keeps the percent it reached.
 */
export function percentComplete({state, events, trialsDone, maxTrials}: PercentInput): number {
  if (state === 'finished') return 100
  let phase: Phase | null = null
  let ingested = 0
  let trial: {index: number; fraction: number} | null = null
  for (const event of events) {
    if (event.type === 'phase') phase = event.phase
    else if (event.type === 'progress' && event.total > 0) {
      if (event.phase === 'ingest') ingested = event.done / event.total
      else if (event.phase === 'trials' && event.trial !== undefined) trial = {index: event.trial, fraction: event.done / event.total}
    }
  }
  let share: number
  if (phase === null || phase === 'discover') share = 0
  else if (phase === 'ingest') share = INGEST_SHARE * ingested
  else if (phase === 'analyse') share = INGEST_SHARE
  else if (phase === 'trials') {
    // Progress of a trial already complete (its results.json written) is counted in trialsDone.
    const current = trial?.index === trialsDone ? trial.fraction : 0
    share = INGEST_SHARE + (1 - INGEST_SHARE) * Math.min(1, (trialsDone + current) / maxTrials)
  } else share = 1
  return Math.min(99, Math.floor(share * 100 + 1e-9))
}

/** One run's signal, from what `training status` computes of it. */
export function runSignal(view: RunView, options: {now: Date; htmlReport: string | null}): RunSignal {
  const status = describeRun(view, options.now)
  let message: string | null = null
  for (const event of view.events) if (event.type === 'phase' || event.type === 'progress') message = event.message
  return {
    run_id: status.run_id,
    run_dir: status.run_dir,
    state: status.state,
    pid: view.manifest.pid,
    host: view.manifest.host,
    phase: status.phase,
    message,
    percent: percentComplete({state: status.state, events: view.events, trialsDone: status.trials_done, maxTrials: status.max_trials}),
    started_at: status.started_at,
    finished_at: status.finished_at,
    last_activity: view.events.at(-1)?.time ?? null,
    trials_done: status.trials_done,
    max_trials: status.max_trials,
    best_trial: status.best_trial?.index ?? null,
    best_loss: status.best_trial?.total ?? null,
    selected_by: status.best_trial?.selected_by ?? null,
    stop_reason: status.stop_reason,
    error: status.error,
    html_report: options.htmlReport,
  }
}

/** What choosing the runs to show needs to know of a run. */
export interface RunHeader {
  run_id: string
  state: RunState
  started_at: string
  /** When it ended: finished_at, or the time of its last event for a run whose process died; null when unknown. */
  ended_at: string | null
}

/**
 * The runs latest.json shows: every running one, and of the others the one that ended last
 * (by ended_at, else started_at), whatever its end: a status bar must show that the last run
 * failed, not an older success.
 */
export function runsToShow(headers: readonly RunHeader[]): Set<string> {
  const shown = new Set(headers.filter((h) => h.state === 'running').map((h) => h.run_id))
  const time = (h: RunHeader) => Date.parse(h.ended_at ?? h.started_at)
  let last: RunHeader | null = null
  for (const header of headers) {
    if (header.state === 'running') continue
    if (!last || time(header) > time(last) || (time(header) === time(last) && header.run_id > last.run_id)) last = header
  }
  if (last) shown.add(last.run_id)
  return shown
}

/** The document: the runs to show, newest start first. */
export function signalsDocument(outputDir: string, signals: readonly RunSignal[], damaged: Signals['damaged'] = []): Signals {
  const shown = runsToShow(
    signals.map((s) => ({run_id: s.run_id, state: s.state, started_at: s.started_at, ended_at: s.finished_at ?? s.last_activity})),
  )
  const runs = signals
    .filter((s) => shown.has(s.run_id))
    .sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || (a.run_id < b.run_id ? 1 : a.run_id > b.run_id ? -1 : 0))
  return {version: 1, output_dir: outputDir, runs, damaged: [...damaged].sort((a, b) => (a.run_id < b.run_id ? -1 : 1))}
}

/**
 * The document from the run folders of `outputDir`. Only run.json is read of every run; the
 * full view (event log, trials) only of those shown, so that a folder with a long history
 * stays cheap to rebuild at every event.
 */
/**
 * run.json files read before, by path, with the stat they were read at: a writer rebuilding at
 * every event then parses only those that changed (a run.json is replaced whole, by rename).
 */
export type ManifestCache = Map<string, {key: string; manifest: RunManifest}>

export interface BuildSignalsOptions {
  host: string
  now: Date
  cache?: ManifestCache
}

export async function buildSignals(outputDir: string, options: BuildSignalsOptions): Promise<Signals> {
  const dir = path.resolve(outputDir)
  let names: string[] = []
  try {
    names = (await readdir(dir, {withFileTypes: true})).filter((e) => e.isDirectory() && isRunFolderName(e.name)).map((e) => e.name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const damaged: Signals['damaged'] = []
  const headers: Array<RunHeader & {dir: string}> = []
  for (const name of names.sort()) {
    const runDir = path.join(dir, name)
    try {
      const manifest = await readManifest(runPaths(runDir).manifest, options.cache)
      // A folder without run.json is a run that never got started; list-runs names those.
      if (!manifest) continue
      const state = runState(manifest, options.host)
      // A run whose process died never wrote its end: its last event is when it stopped.
      const lastEvent = state === 'interrupted' && !manifest.finished_at ? (await readEventLog(runPaths(runDir).events)).at(-1)?.time : null
      headers.push({
        run_id: manifest.run_id,
        dir: runDir,
        state,
        started_at: manifest.started_at,
        ended_at: manifest.finished_at ?? lastEvent ?? null,
      })
    } catch (error) {
      damaged.push({run_id: name, path: runDir, reason: describeError(error)})
    }
  }
  const shown = runsToShow(headers)
  const signals: RunSignal[] = []
  for (const header of headers.filter((h) => shown.has(h.run_id))) {
    try {
      const view = await loadRunView(header.dir, {host: options.host})
      signals.push(runSignal(view, {now: options.now, htmlReport: await existingFile(runPaths(header.dir).htmlReport)}))
    } catch (error) {
      damaged.push({run_id: header.run_id, path: header.dir, reason: describeError(error)})
    }
  }
  return signalsDocument(dir, signals, damaged)
}

/** Rebuilds <output-dir>/signals/latest.json (atomically) and returns it. */
export async function writeSignals(outputDir: string, options: BuildSignalsOptions): Promise<Signals> {
  const signals = await buildSignals(outputDir, options)
  await makeDir(path.join(outputDir, OUTPUT_FILES.signals), {recursive: true})
  return writeJson(outputPaths(outputDir).signals, Signals, signals)
}

async function readManifest(file: string, cache: ManifestCache | undefined): Promise<RunManifest | null> {
  if (!cache) return readJsonIfExists(file, RunManifest)
  const found = await stat(file).catch(() => null)
  const key = found ? `${found.ino}:${found.size}:${found.mtimeMs}` : null
  const cached = cache.get(file)
  if (key && cached?.key === key) return cached.manifest
  const manifest = await readJsonIfExists(file, RunManifest)
  if (manifest && key) cache.set(file, {key, manifest})
  else cache.delete(file)
  return manifest
}

async function existingFile(file: string): Promise<string | null> {
  return (await stat(file).catch(() => null))?.isFile() ? file : null
}
