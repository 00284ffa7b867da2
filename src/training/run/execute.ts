/**
 * The run itself, once its folder and manifest exist (new or resumed): ingest -> analyse
 * -> trial loop (evaluate a prompt, optimise) -> report. Every stage lives in its own
 * module; this one orders them, records the manifest and turns a failure or an
 * interruption into the run's final state.
 */
import os from 'node:os'

import {describeError, InputError, InterruptedError, ProviderError} from '../../core/errors.js'
import {runPaths} from '../../core/layout.js'
import type {NewRunEvent} from '../../core/schemas/events.js'
import {AggregateProfile, RunManifest, type SkippedPair} from '../../core/schemas/files.js'
import {writeJson} from '../../core/store.js'
import {mergeUsage} from '../../providers/usage.js'
import {fitLengthModel} from '../length-model.js'
import {writeHtmlReport} from '../report/write.js'
import {aggregateProfiles} from '../stages/analyse.js'
import type {Discovery} from '../stages/discover.js'
import type {PreparedPair} from '../stages/evaluate.js'
import {ingestPairs} from '../stages/ingest.js'
import {writeTrainingReport} from '../stages/report.js'
import {resumableError, type RunContext, type TrainingOutcome} from './context.js'
import {selectValidationPairs} from './holdout.js'
import {updateRegistry} from './registry.js'
import {SignalWriter} from './signals.js'
import {trialStart} from './start.js'
import {trialLoop} from './trial-loop.js'
import {DEFAULT_BATCH_SETTINGS, type BatchContext} from '../batch/batcher.js'

/**
 * `carried`: pairs a resumed run keeps skipped because they were skipped before its trials
 * began (resume.ts); the other pairs must then all be usable again, so that every trial is
 * scored on the same pairs.
 */
export async function execute(
  outer: RunContext,
  startManifest: RunManifest,
  discovery: Discovery,
  carried: SkippedPair[] | null = null,
): Promise<TrainingOutcome> {
  // Its own warning goes to the log directly: told of it, it would rewrite the file again.
  const signals = new SignalWriter({
    outputDir: outer.config.output_dir,
    host: os.hostname(),
    clock: outer.clock,
    warn: (message) => outer.emit({type: 'warning', message}),
  })
  const ctx: RunContext = {
    ...outer,
    emit: (event) => {
      outer.emit(event)
      signals.notify(event)
    },
  }
  const {runDir, config, emit, clock} = ctx
  const paths = runPaths(runDir)
  let manifest = startManifest
  const batch: BatchContext | undefined = config.batch
    ? {runDir, emit, clock, settings: ctx.batchSettings ?? DEFAULT_BATCH_SETTINGS, ...(ctx.signal ? {signal: ctx.signal} : {})}
    : undefined
  try {
    const ingested = await ingestPairs({...ctx, paths, seed: config.seed, concurrency: config.concurrency, batch}, discovery.pairs)
    if (carried) refuseNewlySkipped(manifest, ingested.skipped)
    const prepared = ingested.prepared
    const skipped = [...(carried ?? []), ...ingested.skipped].sort((a, b) => (a.id < b.id ? -1 : 1))
    const validation = selectValidationPairs(
      {count: config.holdout ?? undefined, ids: config.holdout_ids ?? undefined, seed: config.seed},
      prepared.map((p) => p.files.id),
    )
    manifest = {
      ...manifest,
      pairs: manifest.pairs.filter((p) => !skipped.some((s) => s.id === p.id)),
      skipped,
      validation_pairs: validation,
    }
    await writeJson(paths.manifest, RunManifest, manifest)

    emit({type: 'phase', phase: 'analyse', message: 'Aggregating reference profiles'})
    // The profile the prompt is calibrated toward comes from training pairs only.
    const train = prepared.filter((p) => !validation.includes(p.files.id))
    const profile = await writeJson(paths.aggregateProfile, AggregateProfile, aggregateProfiles(train.map((p) => p.analysis)))
    const lengthModel = fitLengthModel(train.map((p) => ({paperWords: p.analysis.paper.words, episodeWords: p.analysis.style.words})))
    const start = await trialStart(profile, lengthModel, config.from_run)

    const ingestUsage = usageOfIngest(prepared, skipped)
    const trialCtx = {...ctx, seed: config.seed, concurrency: config.concurrency, tts: config.tts, batch}
    const trials = await trialLoop(trialCtx, prepared, validation, start, ingestUsage)

    emit({type: 'phase', phase: 'report', message: 'Writing the training report'})
    const report = await writeTrainingReport(runDir, {
      manifest,
      weights: ctx.weights,
      pairs: prepared.map((p) => p.files.id),
      validation,
      skipped,
      results: trials.results,
      prompts: trials.prompts,
      stopReason: trials.stopReason,
      stopDetail: trials.stopDetail,
      lengthModel,
      usage: mergeUsage(ingestUsage, ...trials.results.map((t) => t.usage), ...trials.prompts.map((p) => p.usage)),
      finishedAt: clock(),
    })
    manifest = {...manifest, status: 'finished', finished_at: report.finished_at}
    await writeJson(paths.manifest, RunManifest, manifest)
    emit({type: 'run-finished', stop_reason: report.stop_reason, best_trial: report.best_trial.index, usage: report.usage})
    await afterRun(ctx, emit, signals)
    return {runId: manifest.run_id, runDir, report}
  } catch (error) {
    const interrupted = ctx.signal?.aborted ?? false
    manifest = {
      ...manifest,
      status: interrupted ? 'interrupted' : 'failed',
      finished_at: clock().toISOString(),
      error: interrupted ? 'interrupted by the user' : describeError(error),
    }
    // Best effort: on a full disk these writes may fail too, and must not hide the error.
    // run.json then still says `running` with a pid that is gone, which resumes all the same.
    await writeJson(paths.manifest, RunManifest, manifest).catch(() => {})
    quietly(emit)(interrupted ? {type: 'run-interrupted'} : {type: 'run-failed', message: describeError(error)})
    await afterRun(ctx, emit, signals)
    if (interrupted) {
      throw new InterruptedError(`Run interrupted; what it completed is in ${runDir}`, {
        path: runDir,
        hint: `Continue it with \`studio training run --resume ${runDir}\`.`,
      })
    }
    throw resumableError(error, runDir)
  }
}

/** An emit that drops an event the log cannot take (a full disk) rather than throw. */
function quietly(emit: (event: NewRunEvent) => void): (event: NewRunEvent) => void {
  return (event) => {
    try {
      emit(event)
    } catch {
      // The error that ended the run is the one to report.
    }
  }
}

/** A pair earlier trials were scored on that cannot be used now would leave the trials scored on different pairs. */
function refuseNewlySkipped(manifest: RunManifest, skipped: SkippedPair[]): void {
  const first = skipped[0]
  if (!first) return
  const message = `Cannot resume ${manifest.run_id}: pair ${first.id}, scored in its earlier trials, cannot be used now: ${first.reason}`
  const hint = 'Fix the cause and resume again (the trials of a run are all scored on the same pairs), or start a new run.'
  if (first.provider) throw new ProviderError(message, {provider: first.provider, hint})
  throw new InputError(message, {hint})
}

/** What transcription and analysis cost: the analysed pairs', and the calls made for pairs then skipped. */
function usageOfIngest(prepared: PreparedPair[], skipped: SkippedPair[]) {
  return mergeUsage(...prepared.map((p) => p.analysis.usage), ...skipped.flatMap((s) => (s.usage ? [s.usage] : [])))
}

/** The HTML report, the registry and the signals are views of files already written: failing to update them must not fail the run. */
async function afterRun(ctx: RunContext, emitEvent: (event: NewRunEvent) => void, signals: SignalWriter): Promise<void> {
  // A warning the event log cannot take (a full disk) is dropped: this step must not fail.
  const emit = quietly(emitEvent)
  try {
    await writeHtmlReport(ctx.runDir, {host: os.hostname()})
  } catch (error) {
    emit({
      type: 'warning',
      message: `Could not write the HTML report: ${describeError(error)}. Run \`studio training report ${ctx.runDir}\` to retry.`,
    })
  }
  await updateRegistry(ctx.config.output_dir).catch((error: unknown) =>
    emit({type: 'warning', message: `Could not update the run registry: ${describeError(error)}`}),
  )
  // Last: its signal names the HTML report just written.
  await signals.close()
}
