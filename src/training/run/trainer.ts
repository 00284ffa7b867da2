/**
 * The training run: discover -> ingest -> analyse -> trial loop -> report. Depends
 * only on the provider interfaces and the store; reports progress through events
 * and never prints.
 *
 * Every unit (a pair's analysis, a pair's result in a trial, a trial's results)
 * is written atomically as soon as it exists, and a resumed run picks up each
 * unit from disk instead of recomputing it. Usage and cost are summed from those
 * units, so a resumed run reports the same totals as an uninterrupted one.
 */
import {readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describeError, InputError, InterruptedError} from '../../core/errors.js'
import {formatUsd} from '../../core/format.js'
import {EventLog} from '../../core/event-log.js'
import {canonicalJson, sha256} from '../../core/hash.js'
import {runPaths} from '../../core/layout.js'
import type {Providers} from '../../core/providers.js'
import type {MockWriter} from '../../core/schemas/common.js'
import type {NewRunEvent, RunEvent} from '../../core/schemas/events.js'
import {AggregateProfile, MAX_TRIALS, RunManifest, type RunConfig, type SkippedPair, type TrainingReport} from '../../core/schemas/files.js'
import type {PairFiles} from '../../core/schemas/inputs.js'
import {createRunDir, readJsonIfExists, updateLatest, writeJson} from '../../core/store.js'
import {LossArgumentError, normalizeWeights, type Weights} from '../../loss/index.js'
import {openPaper, type PaperReading} from '../../media/paper.js'
import {mergeUsage} from '../../providers/usage.js'
import {estimateRun, modelIds, pairEstimateInputs} from '../estimate.js'
import {writeHtmlReport} from '../report/write.js'
import {aggregateProfiles} from '../stages/analyse.js'
import {discoverPairs, type Discovery} from '../stages/discover.js'
import type {PreparedPair} from '../stages/evaluate.js'
import {ingestPairs} from '../stages/ingest.js'
import {writeTrainingReport} from '../stages/report.js'
import {checkHoldoutRequest, selectValidationPairs} from './holdout.js'
import {updateRegistry} from './registry.js'
import {trialLoop} from './trial-loop.js'

export type {Phase} from '../../core/schemas/events.js'

/** What the trainer reports as it goes: the lines of events.jsonl. */
export type TrainingEvent = RunEvent

interface CommonOptions {
  providers: Providers
  toolVersion: string
  onEvent?: (event: TrainingEvent) => void
  /** Aborting stops the run after the units in progress; it then ends as `interrupted`. */
  signal?: AbortSignal
  /** Injected so that tests can pin timestamps. */
  clock?: () => Date
}

export interface TrainingOptions extends CommonOptions {
  pairsDir: string
  outputDir: string
  maxTrials: number
  seed: number
  weights?: Partial<Weights>
  window: number
  threshold: number
  concurrency: number
  mock: boolean
  /** --holdout N: validation pairs drawn with the seed. */
  holdout?: number
  /** --holdout-ids: validation pairs by id. */
  holdoutIds?: string[]
  /** The rule-based refiner alone (mock mode), or followed by the LLM refiner. Default: rule-based. */
  refiner?: RunConfig['refiner']
  /** Provider and model per role, recorded in run.json (real mode). */
  providerRoles?: RunConfig['providers']
  /** --max-cost in USD. */
  maxCostUsd?: number
  /** --tts: needs providers.speech. */
  tts?: boolean
  /** --mock-writer, recorded in run.json for resume (mock mode; default: the seed). The providers must use the same. */
  mockWriter?: MockWriter
}

export interface ResumeOptions extends CommonOptions {
  runDir: string
}

export interface TrainingOutcome {
  runId: string
  runDir: string
  report: TrainingReport
}

/** Everything a run needs once its folder and manifest exist, new or resumed. */
interface RunContext extends CommonOptions {
  runDir: string
  config: RunConfig
  weights: Weights
  emit: (event: NewRunEvent) => void
  clock: () => Date
  /** openPaper, once per file and run: the --max-cost estimate and the ingest share it. */
  openPaper: (file: string) => PaperReading
}

function paperReader(): (file: string) => PaperReading {
  const papers = new Map<string, PaperReading>()
  return (file) => {
    let reading = papers.get(file)
    if (!reading) papers.set(file, (reading = openPaper(file)))
    return reading
  }
}

function eventEmitter(options: CommonOptions, clock: () => Date) {
  // Events before the run folder exists are kept and written to its log once it does.
  let log: EventLog | null = null
  const early: RunEvent[] = []
  const emit = (event: NewRunEvent) => {
    const stamped = {...event, time: clock().toISOString()}
    if (log) log.append(stamped)
    else early.push(stamped)
    options.onEvent?.(stamped)
  }
  const attach = (runDir: string) => {
    log = new EventLog(runPaths(runDir).events)
    for (const event of early.splice(0)) log.append(event)
  }
  return {emit, attach}
}

/** The settings that decide a run's results, hashed: two runs with the same hash are comparable. */
function configHash(config: RunConfig): string {
  const {output_dir: _output, concurrency: _concurrency, ...deciding} = config
  return sha256(canonicalJson(deciding))
}

async function discoverOrFail(pairsDir: string, emit: (event: NewRunEvent) => void): Promise<Discovery> {
  emit({type: 'phase', phase: 'discover', message: `Discovering pairs in ${pairsDir}`})
  const discovery = await discoverPairs(pairsDir)
  for (const orphan of discovery.orphans) emit({type: 'warning', message: `${orphan.path}: ${orphan.reason}`})
  if (discovery.pairs.length === 0) {
    throw new InputError(`No complete pair in ${discovery.root}: ${discovery.orphans.length} file(s) have no partner`, {
      path: discovery.root,
      hint: 'Each paper needs an episode with the same base name next to it (x.pdf + x.mp3). Run `studio training list-pairs` to see what was found.',
    })
  }
  return discovery
}

export async function runTraining(options: TrainingOptions): Promise<TrainingOutcome> {
  const clock = options.clock ?? (() => new Date())
  const {emit, attach} = eventEmitter(options, clock)
  if (!Number.isSafeInteger(options.maxTrials) || options.maxTrials < 1 || options.maxTrials > MAX_TRIALS) {
    throw new InputError(`--max-trials must be a whole number from 1 to ${MAX_TRIALS}, got ${options.maxTrials}`, {
      hint: 'Runs usually converge within 10 trials; --window and --threshold decide when.',
    })
  }
  // Invalid weights and holdouts fail here, before any work is done.
  const weights = checkedWeights(options.weights)
  const discovery = await discoverOrFail(options.pairsDir, emit)
  const holdout = {count: options.holdout, ids: options.holdoutIds, seed: options.seed}
  checkHoldoutRequest(
    holdout,
    discovery.pairs.map((p) => p.id),
  )
  if (options.tts && !options.providers.speech)
    throw new InputError('--tts needs a speech provider (OpenAI TTS)', {hint: 'Run without --tts, or with real providers.'})
  const papers = paperReader()
  if (options.maxCostUsd !== undefined) await checkBudgetCoversIngest(options, discovery, papers)

  const startedAt = clock()
  const {runId, runDir} = await createRunDir(options.outputDir, startedAt)
  attach(runDir)
  const config: RunConfig = {
    pairs_dir: discovery.root,
    output_dir: path.resolve(options.outputDir),
    max_trials: options.maxTrials,
    mock: options.mock,
    seed: options.seed,
    weights,
    window: options.window,
    threshold: options.threshold,
    concurrency: options.concurrency,
    holdout: options.holdout ?? null,
    holdout_ids: options.holdoutIds ?? null,
    refiner: options.refiner ?? 'rule-based',
    providers: options.providerRoles ?? null,
    max_cost_usd: options.maxCostUsd ?? null,
    tts: options.tts ?? false,
    mock_writer: options.mock ? (options.mockWriter ?? options.seed) : null,
  }
  const manifest: RunManifest = {
    run_id: runId,
    status: 'running',
    pid: process.pid,
    host: os.hostname(),
    tool_version: options.toolVersion,
    node_version: process.version,
    started_at: startedAt.toISOString(),
    finished_at: null,
    seed: options.seed,
    config,
    config_sha256: configHash(config),
    resumed_at: [],
    providers: {transcriber: options.providers.transcriber.id, language_model: options.providers.languageModel('generate').id},
    pairs: discovery.pairs.map((p) => ({id: p.id, pdf: p.pdf, mp3: p.mp3, transcript_source: transcriptSource(p, options.providers)})),
    skipped: [],
    validation_pairs: [],
    error: null,
  }
  await writeJson(runPaths(runDir).manifest, RunManifest, manifest)
  await updateLatest(options.outputDir, runId)
  await updateRegistry(options.outputDir)
  return execute({...options, runDir, config, weights, emit, clock, openPaper: papers}, manifest, discovery)
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
  // Stored normalised; normalising again is not exact in floating point, and the losses must not move.
  return execute(
    {...options, runDir, config: manifest.config, weights: manifest.config.weights, emit, clock, openPaper: paperReader()},
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

/**
 * --max-cost needs a price for every model it may call, and a budget that covers at
 * least the analysis of every pair; both are checked before any call is made.
 */
async function checkBudgetCoversIngest(
  options: TrainingOptions,
  discovery: Discovery,
  papers: (file: string) => PaperReading,
): Promise<void> {
  const max = options.maxCostUsd!
  if (!(max > 0) || !Number.isFinite(max)) throw new InputError(`--max-cost must be a positive number of USD, got ${max}`)
  const estimate = estimateRun({
    pairs: await pairEstimateInputs(discovery.pairs, (file) => papers(file).paper),
    maxTrials: options.maxTrials,
    refiner: options.refiner ?? 'rule-based',
    tts: options.tts ?? false,
    models: modelIds(options.providers),
  })
  const unpriced = estimate.roles.filter((r) => r.cost_usd === null).map((r) => r.model)
  if (unpriced.length) {
    throw new InputError(`--max-cost cannot be enforced: no price is known for ${[...new Set(unpriced)].join(', ')}`, {
      hint: 'Add the model to src/providers/prices.ts, pick a priced model with --model, or leave out --max-cost.',
    })
  }
  const firstTrial = estimate.ingest_cost_usd! + estimate.trial_cost_usd!
  if (firstTrial > max) {
    throw new InputError(
      `--max-cost ${formatUsd(max)} does not cover transcription, analysis and one trial: about ${formatUsd(firstTrial)} estimated`,
      {hint: 'Raise --max-cost, or train on fewer pairs. `studio training run --dry-run` shows the estimate per role.'},
    )
  }
}

/** A process killed between writing a temp file and renaming it leaves the temp file: never the target half-written. */
async function removeStaleTempFiles(runDir: string): Promise<void> {
  const names = await readdir(runDir, {recursive: true})
  await Promise.all(names.filter((name) => /(^|\/)\.[^/]+\.tmp$/.test(name)).map((name) => rm(path.join(runDir, name), {force: true})))
}

function transcriptSource(pair: PairFiles, providers: Providers): RunManifest['pairs'][number]['transcript_source'] {
  if (pair.sidecar) return `sidecar-${pair.sidecar.format}`
  return providers.transcriber.id === 'mock' ? 'mock' : 'whisper'
}

async function execute(ctx: RunContext, startManifest: RunManifest, discovery: Discovery): Promise<TrainingOutcome> {
  const {runDir, config, emit, clock} = ctx
  const paths = runPaths(runDir)
  let manifest = startManifest
  try {
    const {prepared, skipped} = await ingestPairs({...ctx, paths, seed: config.seed, concurrency: config.concurrency}, discovery.pairs)
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

    const ingestUsage = usageOfIngest(prepared, skipped)
    const trialCtx = {...ctx, seed: config.seed, concurrency: config.concurrency, tts: config.tts}
    const trials = await trialLoop(trialCtx, prepared, validation, profile, ingestUsage)

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
      usage: mergeUsage(ingestUsage, ...trials.results.map((t) => t.usage), ...trials.prompts.map((p) => p.usage)),
      finishedAt: clock(),
    })
    manifest = {...manifest, status: 'finished', finished_at: report.finished_at}
    await writeJson(paths.manifest, RunManifest, manifest)
    emit({type: 'run-finished', stop_reason: report.stop_reason, best_trial: report.best_trial.index, usage: report.usage})
    await afterRun(ctx, emit)
    return {runId: manifest.run_id, runDir, report}
  } catch (error) {
    const interrupted = ctx.signal?.aborted ?? false
    manifest = {
      ...manifest,
      status: interrupted ? 'interrupted' : 'failed',
      finished_at: clock().toISOString(),
      error: interrupted ? 'interrupted by the user' : describeError(error),
    }
    await writeJson(paths.manifest, RunManifest, manifest).catch(() => {})
    emit(interrupted ? {type: 'run-interrupted'} : {type: 'run-failed', message: describeError(error)})
    await afterRun(ctx, emit)
    if (interrupted) {
      throw new InterruptedError(`Run interrupted; what it completed is in ${runDir}`, {
        path: runDir,
        hint: `Continue it with \`studio training run --resume ${runDir}\`.`,
      })
    }
    throw error
  }
}

/** What transcription and analysis cost: the analysed pairs', and the calls made for pairs then skipped. */
function usageOfIngest(prepared: PreparedPair[], skipped: SkippedPair[]) {
  return mergeUsage(...prepared.map((p) => p.analysis.usage), ...skipped.flatMap((s) => (s.usage ? [s.usage] : [])))
}

/** Weights a run can use: bad ones are the caller's input, named as --weights. */
function checkedWeights(weights: Partial<Weights> | undefined): Weights {
  try {
    return normalizeWeights(weights)
  } catch (error) {
    if (!(error instanceof LossArgumentError)) throw error
    throw new InputError(`--weights: ${error.message.replace(/^normalizeWeights: /, '')}`, {
      hint: 'Give every loss a weight >= 0, at least one above 0, e.g. --weights duration=0.3,rouge=0.2.',
    })
  }
}

/** The HTML report and the registry are views of files already written: failing to update them must not fail the run. */
async function afterRun(ctx: RunContext, emit: (event: NewRunEvent) => void): Promise<void> {
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
}
