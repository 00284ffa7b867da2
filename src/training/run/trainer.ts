/**
 * The training run: discover -> ingest -> analyse -> trial loop -> report. Depends
 * only on the provider interfaces and the store; reports progress through events
 * and never prints.
 *
 * Every unit (a pair's analysis, a pair's result in a trial, a trial's results)
 * is written atomically as soon as it exists, and a resumed run picks up each
 * unit from disk instead of recomputing it. Usage and cost are summed from those
 * units, so a resumed run reports the same totals as an uninterrupted one.
 *
 * This module checks a new run's options and creates its folder; execute.ts runs the
 * stages, resume.ts continues an unfinished run.
 */
import {rmdir} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {formatUsd} from '../../core/format.js'
import {canonicalJson, sha256} from '../../core/hash.js'
import {runPaths} from '../../core/layout.js'
import type {Providers} from '../../core/providers.js'
import type {MockWriter} from '../../core/schemas/common.js'
import {MAX_TRIALS, RunManifest, type RunConfig} from '../../core/schemas/files.js'
import type {PairFiles} from '../../core/schemas/inputs.js'
import {acquireRunLock} from '../../core/run-lock.js'
import {createRunDir, updateLatest, writeJson} from '../../core/store.js'
import {LossArgumentError, normalizeWeights, type Weights} from '../../loss/index.js'
import {DEFAULT_SIZE_LIMITS, type SizeLimits} from '../../media/limits.js'
import {estimateRun, modelIds, pairEstimateInputs, requestShape} from '../estimate.js'
import type {Discovery} from '../stages/discover.js'
import type {PaperReader} from '../stages/ingest.js'
import {discoverOrFail, eventEmitter, paperReader, resumableError, type CommonOptions, type TrainingOutcome} from './context.js'
import {execute} from './execute.js'
import {checkHoldoutRequest} from './holdout.js'
import {updateRegistry} from './registry.js'
import {checkFromRun} from './start.js'

export type {Phase} from '../../core/schemas/events.js'
export type {TrainingEvent, TrainingOutcome} from './context.js'
export {resumeTraining, type ResumeOptions} from './resume.js'

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
  /** --from: an earlier run's folder; trial 0 starts from its best prompt. */
  fromRun?: string
  /** --mock-writer, recorded in run.json for resume (mock mode; default: the seed). The providers must use the same. */
  mockWriter?: MockWriter
  /** --batch: model calls through the providers' batch APIs (real providers only). */
  batch?: boolean
}

/** The settings that decide a run's results, hashed: two runs with the same hash are comparable. */
function configHash(config: RunConfig): string {
  // --batch changes what the calls cost and when they answer, not what they answer.
  const {output_dir: _output, concurrency: _concurrency, batch: _batch, ...deciding} = config
  return sha256(canonicalJson(deciding))
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
  refuseMockBatch(options)
  if (options.tts && !options.providers.speech)
    throw new InputError('--tts needs a speech provider (OpenAI TTS)', {hint: 'Run without --tts, or with real providers.'})
  if (options.fromRun) await checkFromRun(options.fromRun)
  const limits = options.limits ?? DEFAULT_SIZE_LIMITS
  const papers = paperReader(limits, options.paperCache)
  if (options.maxCostUsd !== undefined) await checkBudgetCoversIngest(options, discovery, papers, limits)

  const startedAt = clock()
  const {runId, runDir} = await createRunDir(options.outputDir, startedAt)
  // The folder is new, so the lock is free: it keeps a `--resume` in another terminal off this run while it works.
  const lock = await acquireRunLock(runDir, {clock}).catch(async (error: unknown) => {
    await rmdir(runDir).catch(() => {})
    throw error
  })
  try {
    return await startRun(options, {runId, runDir, startedAt, discovery, weights, papers, limits, emit, attach, clock})
  } catch (error) {
    await lock.release()
    // Nothing to resume if run.json could not be written (a full disk): the folder, empty, goes.
    // Once run.json is there, rmdir fails on a folder that is not empty, as it should.
    await rmdir(runDir).catch(() => {})
    throw error
  } finally {
    await lock.release()
  }
}

async function startRun(
  options: TrainingOptions,
  run: {
    runId: string
    runDir: string
    startedAt: Date
    discovery: Discovery
    weights: Weights
    papers: PaperReader
    limits: SizeLimits
    emit: ReturnType<typeof eventEmitter>['emit']
    attach: ReturnType<typeof eventEmitter>['attach']
    clock: () => Date
  },
): Promise<TrainingOutcome> {
  const {runId, runDir, startedAt, discovery, weights, papers, limits, emit, attach, clock} = run
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
    from_run: options.fromRun ? path.resolve(options.fromRun) : null,
    mock_writer: options.mock ? (options.mockWriter ?? options.seed) : null,
    batch: options.batch ?? false,
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
  try {
    // After run.json: a run whose first event cannot be written (a full disk) can be resumed.
    attach(runDir)
    await updateLatest(options.outputDir, runId)
    await updateRegistry(options.outputDir)
  } catch (error) {
    throw resumableError(error, runDir)
  }
  return execute({...options, runDir, config, weights, emit, clock, openPaper: papers, limits}, manifest, discovery)
}

/** --batch needs a batch API: checked by the run and by its --dry-run alike. */
export function refuseMockBatch(options: {batch?: boolean; mock?: boolean}): void {
  if (options.batch && options.mock)
    throw new InputError('--batch needs real providers: the mock has no batch API, and answers at once anyway', {
      hint: 'Leave out --batch with --mock, or run with real providers (TRAINING.md, "Batch mode").',
    })
}

/**
 * --max-cost needs a price for every model it may call, and a budget that covers at
 * least the analysis of every pair; both are checked before any call is made.
 */
async function checkBudgetCoversIngest(
  options: TrainingOptions,
  discovery: Discovery,
  papers: PaperReader,
  limits: SizeLimits,
): Promise<void> {
  const max = options.maxCostUsd!
  if (!(max > 0) || !Number.isFinite(max)) throw new InputError(`--max-cost must be a positive number of USD, got ${max}`)
  const estimate = estimateRun({
    pairs: (await pairEstimateInputs(discovery.pairs, {read: (file) => papers(file).paper, limits})).pairs,
    maxTrials: options.maxTrials,
    refiner: options.refiner ?? 'rule-based',
    tts: options.tts ?? false,
    models: modelIds(options.providers),
    shape: requestShape(options.providers),
  })
  const unpriced = estimate.roles.filter((r) => r.cost_usd === null).map((r) => r.model)
  if (unpriced.length) {
    throw new InputError(`--max-cost cannot be enforced: no price is known for ${[...new Set(unpriced)].join(', ')}`, {
      hint: 'Add the model to src/providers/prices.ts, pick a priced model with --model, or leave out --max-cost.',
    })
  }
  // With --batch, the model calls at the batch price: a budget that fits only that way is enough.
  const costs = options.batch ? estimate.batch : estimate
  const firstTrial = costs.ingest_cost_usd! + costs.trial_cost_usd!
  if (firstTrial > max) {
    throw new InputError(
      `--max-cost ${formatUsd(max)} does not cover transcription, analysis and one trial: about ${formatUsd(firstTrial)} estimated${options.batch ? ' at the batch price' : ''}`,
      {hint: 'Raise --max-cost, or train on fewer pairs. `studio training run --dry-run` shows the estimate per role.'},
    )
  }
}

function transcriptSource(pair: PairFiles, providers: Providers): RunManifest['pairs'][number]['transcript_source'] {
  if (pair.sidecar) return `sidecar-${pair.sidecar.format}`
  return providers.transcriber.id === 'mock' ? 'mock' : 'whisper'
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
