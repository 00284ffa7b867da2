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
import {mkdir, readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pLimit from 'p-limit'

import type {Providers} from '../../core/providers.js'
import {aggregateProfiles, analysePair} from '../stages/analyse.js'
import {DEFAULT_TOKEN_BUDGETS} from '../budget.js'
import {discoverPairs, pairSlug, type Discovery} from '../stages/discover.js'
import {CorruptFileError, describeError, InputError, InterruptedError, ProviderError, StudioError} from '../../core/errors.js'
import {EVENTS_FILE, EventLog} from '../../core/event-log.js'
import {canonicalJson, sha256, sha256File} from '../../core/hash.js'
import {checkHoldoutRequest, selectValidationPairs} from './holdout.js'
import {audioDurationSeconds} from '../../media/audio.js'
import {condenseForGeneration} from '../condense.js'
import {openPaper, type Paper, type PaperReading} from '../../media/paper.js'
import {readSidecar} from '../../media/sidecar.js'
import {estimateRun, modelIds, pairEstimateInputs} from '../estimate.js'
import {bestTrialIndex, hasConverged, normalizeWeights, type Weights} from '../../loss/index.js'
import {CALIBRATED_PROMPT_FILE, initialPrompt, promptHash, renderCalibratedPrompt, renderPrompt} from '../prompt.js'
import {buildHistory, refine} from '../optimise/index.js'
import {updateRegistry} from './registry.js'
import {writeHtmlReport} from '../report/write.js'
import {
  AggregateProfile,
  type FailedPair,
  PairAnalysis,
  PairTrialResult,
  RunManifest,
  TrainingReport,
  TrialPromptFile,
  TrialResults,
  type RunConfig,
  type SkippedPair,
} from '../../core/schemas/files.js'
import {Transcript, type LossBreakdown, type PromptSpec, type StopReason, type UsageSummary} from '../../core/schemas/common.js'
import {type PairFiles} from '../../core/schemas/inputs.js'
import {type RunEvent} from '../../core/schemas/events.js'
import {scorePair, type PreparedPair} from '../stages/evaluate.js'
import {compactTimestamp, createRunDir, readJson, readJsonIfExists, updateLatest, writeFileAtomic, writeJson} from '../../core/store.js'
import {mean} from '../../core/text.js'
import {emptyUsage, mergeUsage, metered, UsageMeter} from '../../providers/usage.js'

export type {Phase} from '../../core/schemas/events.js'

/** What the trainer reports as it goes: the lines of events.jsonl. */
export type TrainingEvent = RunEvent

/** An event before the trainer stamps its time. */
type NewEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never

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
  emit: (event: NewEvent) => void
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
  const emit = (event: NewEvent) => {
    const stamped = {...event, time: clock().toISOString()} as RunEvent
    if (log) log.append(stamped)
    else early.push(stamped)
    options.onEvent?.(stamped)
  }
  const attach = (runDir: string) => {
    log = new EventLog(path.join(runDir, EVENTS_FILE))
    for (const event of early.splice(0)) log.append(event)
  }
  return {emit, attach}
}

/** The settings that decide a run's results, hashed: two runs with the same hash are comparable. */
function configHash(config: RunConfig): string {
  const {output_dir: _output, concurrency: _concurrency, ...deciding} = config
  return sha256(canonicalJson(deciding))
}

async function discoverOrFail(pairsDir: string, emit: (event: NewEvent) => void): Promise<Discovery> {
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
  if (!Number.isInteger(options.maxTrials) || options.maxTrials < 1) {
    throw new InputError(`--max-trials must be a whole number of at least 1, got ${options.maxTrials}`)
  }
  // Invalid weights and holdouts fail here, before any work is done.
  const weights = normalizeWeights(options.weights)
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
  await writeJson(path.join(runDir, 'run.json'), RunManifest, manifest)
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
  const manifest = await readJsonIfExists(path.join(runDir, 'run.json'), RunManifest)
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
  await writeJson(path.join(runDir, 'run.json'), RunManifest, resumed)
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
  if (estimate.ingest_cost_usd! + estimate.trial_cost_usd! > max) {
    throw new InputError(
      `--max-cost ${max} USD does not cover transcription, analysis and one trial: about ${(estimate.ingest_cost_usd! + estimate.trial_cost_usd!).toFixed(4)} USD estimated`,
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
  const manifestFile = path.join(runDir, 'run.json')
  let manifest = startManifest
  try {
    const {prepared, skipped} = await ingestAll(ctx, discovery)
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
    await writeJson(manifestFile, RunManifest, manifest)

    emit({type: 'phase', phase: 'analyse', message: 'Aggregating reference profiles'})
    // The profile the prompt is calibrated toward comes from training pairs only.
    const train = prepared.filter((p) => !validation.includes(p.files.id))
    const profile = await writeJson(
      path.join(runDir, 'aggregate_profile.json'),
      AggregateProfile,
      aggregateProfiles(train.map((p) => p.analysis)),
    )

    const trials = await trialLoop(ctx, prepared, validation, profile, ingestUsage(prepared, skipped))

    emit({type: 'phase', phase: 'report', message: 'Writing the training report'})
    const report = await writeReport(ctx, manifest, prepared, skipped, validation, trials)
    manifest = {...manifest, status: 'finished', finished_at: report.finished_at}
    await writeJson(manifestFile, RunManifest, manifest)
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
    await writeJson(manifestFile, RunManifest, manifest).catch(() => {})
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

/** The HTML report and the registry are views of files already written: failing to update them must not fail the run. */
async function afterRun(ctx: RunContext, emit: (event: NewEvent) => void): Promise<void> {
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

// ------------------------------------------------------------------ ingest

async function ingestAll(ctx: RunContext, discovery: Discovery): Promise<{prepared: PreparedPair[]; skipped: SkippedPair[]}> {
  const {emit} = ctx
  const limit = pLimit(ctx.config.concurrency)
  const prepared: PreparedPair[] = []
  const skipped: SkippedPair[] = []
  let done = 0
  emit({type: 'phase', phase: 'ingest', message: `Ingesting and analysing ${discovery.pairs.length} pair(s)`})
  await Promise.all(
    discovery.pairs.map((files) =>
      limit(async () => {
        ctx.signal?.throwIfAborted()
        const meter = new UsageMeter()
        try {
          const {pair, fresh} = await preparePair(ctx, files, meter)
          prepared.push(pair)
          // Events carry new calls only, so that adding them up never counts a call twice.
          if (fresh) emit({type: 'pair-analysed', pair: files.id, usage: pair.analysis.usage})
        } catch (error) {
          if (!(error instanceof StudioError) || error instanceof CorruptFileError) throw error
          // Calls made for the pair before it failed were paid for: they count.
          const paid = meter.usage.total.calls > 0 ? {usage: meter.usage} : {}
          skipped.push({
            id: files.id,
            reason: describeError(error),
            ...(error instanceof ProviderError ? {provider: error.provider} : {}),
            ...paid,
          })
          emit({type: 'pair-skipped', pair: files.id, reason: describeError(error), ...paid})
        }
        done++
        emit({
          type: 'progress',
          phase: 'ingest',
          done,
          total: discovery.pairs.length,
          message: `Ingested and analysed ${done}/${discovery.pairs.length} pairs`,
          pair: files.id,
        })
      }),
    ),
  )
  prepared.sort((a, b) => (a.files.id < b.files.id ? -1 : 1))
  skipped.sort((a, b) => (a.id < b.id ? -1 : 1))
  if (prepared.length === 0) {
    const list = skipped.map((s) => `  ${s.id}: ${s.reason}`).join('\n')
    const provider = skipped.find((s) => s.provider)?.provider
    if (provider) {
      // Not the files: the service (a rejected key, no quota, an outage) failed on them.
      throw new ProviderError(`No usable pair: all ${skipped.length} pair(s) failed to ingest:\n${list}`, {
        provider,
        hint: 'Fix the cause named above (key, quota, network), then run again; answers already paid for come from the cache.',
      })
    }
    throw new InputError(`No usable pair: all ${skipped.length} pair(s) failed to ingest:\n${list}`, {
      hint: 'Fix the files named above, then run again.',
    })
  }
  return {prepared, skipped}
}

/** A pair ready for trials; `fresh` when it was analysed now rather than read back from an earlier attempt. */
async function preparePair(ctx: RunContext, files: PairFiles, meter: UsageMeter): Promise<{pair: PreparedPair; fresh: boolean}> {
  const pairDir = path.join(ctx.runDir, 'pairs', pairSlug(files.id))
  // Extraction runs on the PDF worker; its first page (the title) comes back ahead of full texts.
  const reading = ctx.openPaper(files.pdf)
  await mkdir(pairDir, {recursive: true})
  let analysis = await readJsonIfExists(path.join(pairDir, 'analysis.json'), PairAnalysis)
  const fresh = analysis === null
  let transcript: Transcript
  let paper: Paper
  if (analysis) {
    // Resuming: the analysis is reused only for the very same paper and episode.
    const [read, episodeSha] = await Promise.all([reading.paper, sha256File(files.mp3)])
    paper = read
    if (analysis.paper.sha256 !== paper.sha256 || analysis.episode.sha256 !== episodeSha) {
      throw new InputError(`${files.id}: the paper or episode changed since this run analysed it`, {
        path: files.pdf,
        hint: 'Start a new run: a resumed run must see the same files as the run it continues.',
      })
    }
    transcript = await readJson(path.join(pairDir, 'transcript.json'), Transcript)
  } else {
    // Local checks first, so that a bad file costs no call: the episode, a sidecar, and the
    // paper's first page. The transcription, usually the longest call, needs only the
    // title, so it starts as soon as that page is read.
    const [title, durationSeconds, sidecar] = await Promise.all([
      reading.title,
      audioDurationSeconds(files.mp3),
      files.sidecar ? readSidecar(files.sidecar.path, files.sidecar.format) : null,
    ])
    const providers = metered(ctx.providers, meter)
    const transcribed = (async () => {
      const raw =
        sidecar ??
        (await providers.transcriber.transcribe({
          audioPath: files.mp3,
          durationSeconds,
          title,
          paperText: async () => (await reading.paper).body,
          seed: ctx.config.seed,
        }))
      return writeJson(path.join(pairDir, 'transcript.json'), Transcript, raw)
    })()
    // Its failure is handled where it is awaited (analysePair); this only keeps Node from
    // calling it unhandled while the lines below run.
    transcribed.catch(() => {})
    try {
      const episodeSha = await sha256File(files.mp3)
      // The paper's key concepts and the transcript's labels do not depend on each other:
      // each call starts as soon as its own input exists.
      const analysed = await analysePair(
        {
          pairId: files.id,
          paper: reading.paper,
          episode: {path: files.mp3, durationSeconds, sha256: episodeSha},
          transcript: transcribed,
          seed: ctx.config.seed,
        },
        providers,
      )
      paper = await reading.paper
      await writeFileAtomic(path.join(pairDir, 'paper.txt'), `${paper.body}\n`)
      transcript = await transcribed
      analysis = await writeJson(path.join(pairDir, 'analysis.json'), PairAnalysis, {...analysed, usage: meter.usage})
    } catch (error) {
      // The pair ends with everything it started: nothing is written for it after it was skipped.
      await transcribed.catch(() => {})
      throw error
    }
  }
  // Never silently truncated: a long paper is condensed (analysis.json's long_paper says so).
  const budget = Math.min(DEFAULT_TOKEN_BUDGETS.generate, DEFAULT_TOKEN_BUDGETS.judge)
  const paperText = analysis.long_paper?.condensed_for_generation
    ? condenseForGeneration(paper.body, analysis.concepts, budget)
    : paper.body
  return {pair: {files, paper, analysis, referenceText: transcript.segments.map((s) => s.text).join('\n'), paperText}, fresh}
}

// -------------------------------------------------------------- trial loop

interface Trials {
  results: TrialResults[]
  prompts: TrialPromptFile[]
  stopReason: StopReason
}

/** The series the best trial is chosen by, and convergence judged on: validation when there is one. */
function selectionTotals(results: TrialResults[]): number[] {
  return results.map((t) => (t.validation_mean_losses ?? t.mean_losses).total)
}

async function existingTrialDirs(runDir: string): Promise<Map<number, string>> {
  const dirs = new Map<number, string>()
  for (const name of await readdir(runDir)) {
    const match = /^trial_(\d{3,})_/.exec(name)
    if (match) dirs.set(Number(match[1]), name)
  }
  return dirs
}

/** What transcription and analysis cost: the analysed pairs', and the calls made for pairs then skipped. */
function ingestUsage(prepared: PreparedPair[], skipped: SkippedPair[]): UsageSummary {
  return mergeUsage(...prepared.map((p) => p.analysis.usage), ...skipped.flatMap((s) => (s.usage ? [s.usage] : [])))
}

/** `ingest`: what the run spent before its first trial, for --max-cost. */
async function trialLoop(
  ctx: RunContext,
  pairs: PreparedPair[],
  validation: string[],
  profile: AggregateProfile,
  ingest: UsageSummary,
): Promise<Trials> {
  const {config, emit, clock, runDir} = ctx
  const results: TrialResults[] = []
  const prompts: TrialPromptFile[] = []
  const existing = await existingTrialDirs(runDir)
  let next: {prompt: PromptSpec; changes: string[]; usage: UsageSummary} = {
    prompt: initialPrompt(profile),
    changes: ['initial prompt, built from the aggregate reference profile'],
    usage: emptyUsage(),
  }
  let stopReason: StopReason = 'max_trials'
  const limit = pLimit(config.concurrency)

  for (let index = 0; index < config.max_trials; index++) {
    ctx.signal?.throwIfAborted()
    const started = clock()
    const dir = existing.get(index) ?? `trial_${String(index).padStart(3, '0')}_${compactTimestamp(started)}`
    const trialDir = path.join(runDir, dir)
    if (!existing.has(index)) await mkdir(trialDir)
    const promptFile = await loadOrWritePrompt(trialDir, index, next)
    prompts.push(promptFile)
    // Trials are numbered from 0, as their folders are; "(2 of 5)" gives the count.
    const trialName = `Trial ${index} (${index + 1} of ${config.max_trials})`
    emit({type: 'phase', phase: 'trials', message: trialName})

    let trial = await readJsonIfExists(path.join(trialDir, 'results.json'), TrialResults)
    if (!trial) {
      let done = 0
      const failed: FailedPair[] = []
      const outcomes = await Promise.all(
        pairs.map((pair) =>
          limit(async () => {
            ctx.signal?.throwIfAborted()
            const split = validation.includes(pair.files.id) ? 'validation' : 'train'
            let value: PairTrialResult | null = null
            try {
              const result = await scoreOrReuse(ctx, pair, promptFile.prompt, trialDir, split)
              if (result.fresh)
                emit({type: 'pair-scored', trial: index, pair: pair.files.id, losses: result.value.losses, usage: result.value.usage})
              value = result.value
            } catch (error) {
              // A provider that keeps failing costs this pair this trial, not the run.
              if (!(error instanceof PairFailure)) throw error
              failed.push({pair_id: pair.files.id, split, reason: describeError(error.failure), usage: error.usage})
              emit({type: 'pair-failed', trial: index, pair: pair.files.id, reason: describeError(error.failure)})
            }
            done++
            emit({
              type: 'progress',
              phase: 'trials',
              done,
              total: pairs.length,
              message: `${trialName}: scored ${done}/${pairs.length} pairs`,
              trial: index,
              pair: pair.files.id,
            })
            return value
          }),
        ),
      )
      const scored = outcomes.filter((r): r is PairTrialResult => r !== null)
      const trainResults = scored.filter((p) => p.split === 'train')
      const validationResults = scored.filter((p) => p.split === 'validation')
      failed.sort((a, b) => (a.pair_id < b.pair_id ? -1 : 1))
      if (trainResults.length === 0 || (validation.length > 0 && validationResults.length === 0)) {
        const which = trainResults.length === 0 ? 'training' : 'validation'
        throw new ProviderError(
          `${trialName}: every ${which} pair failed, so the trial has no loss:\n${failed.map((f) => `  ${f.pair_id}: ${f.reason}`).join('\n')}`,
          {
            provider: 'several',
            hint: 'Fix the cause above (key, quota, network), then continue with `studio training run --resume`.',
          },
        )
      }
      trial = await writeJson(path.join(trialDir, 'results.json'), TrialResults, {
        index,
        dir,
        started_at: started.toISOString(),
        finished_at: clock().toISOString(),
        prompt_sha256: promptFile.sha256,
        mean_losses: meanBreakdown(trainResults.map((s) => s.losses)),
        validation_mean_losses: validationResults.length ? meanBreakdown(validationResults.map((s) => s.losses)) : null,
        pairs: scored,
        failed,
        usage: mergeUsage(...scored.map((s) => s.usage), ...failed.map((f) => f.usage)),
      })
      emit({type: 'trial-finished', trial: index, mean_losses: trial.mean_losses, changes: promptFile.changes, usage: trial.usage})
    }
    results.push(trial)

    if (hasConverged(selectionTotals(results), {window: config.window, threshold: config.threshold})) {
      stopReason = 'converged'
      break
    }
    if (
      index + 1 < config.max_trials &&
      config.max_cost_usd !== null &&
      wouldExceedBudget(ctx, ingest, results, prompts, config.max_cost_usd)
    ) {
      emit({
        type: 'warning',
        message: `Stopping before trial ${index + 1}: it would take the run over --max-cost ${config.max_cost_usd} USD`,
      })
      stopReason = 'budget'
      break
    }
    if (index + 1 < config.max_trials) next = await refineFromTrial(ctx, promptFile.prompt, profile, trial, results, prompts)
  }
  return {results, prompts, stopReason}
}

/**
 * Whether a refinement and one more trial would take the run over the budget: what
 * was spent so far (every unit on disk) plus the last trial's cost as the estimate of
 * the next, plus the refinement's estimate.
 */
function wouldExceedBudget(
  ctx: RunContext,
  ingest: UsageSummary,
  results: TrialResults[],
  prompts: TrialPromptFile[],
  max: number,
): boolean {
  const spent = mergeUsage(ingest, ...results.map((t) => t.usage), ...prompts.map((p) => p.usage)).total.cost_usd ?? Infinity
  const lastTrial = results[results.length - 1]!.usage.total.cost_usd ?? Infinity
  const refine =
    ctx.config.refiner === 'rule-based+llm'
      ? (estimateRun({pairs: [], maxTrials: 2, refiner: ctx.config.refiner, tts: false, models: modelIds(ctx.providers)}).refine_cost_usd ??
        Infinity)
      : 0
  return spent + lastTrial + refine > max
}

/** The prompt of a trial: from its prompt.json when resuming, else the one the refiner proposed. */
async function loadOrWritePrompt(
  trialDir: string,
  index: number,
  next: {prompt: PromptSpec; changes: string[]; usage: UsageSummary},
): Promise<TrialPromptFile> {
  const file = path.join(trialDir, 'prompt.json')
  const stored = await readJsonIfExists(file, TrialPromptFile)
  if (stored) {
    // Deterministic refinement gives the same prompt again; if not, the stored one is what was scored.
    return stored
  }
  return writeJson(file, TrialPromptFile, {
    index,
    sha256: promptHash(next.prompt),
    prompt: next.prompt,
    changes: next.changes,
    rendered: renderPrompt(next.prompt),
    usage: next.usage,
  })
}

/** A provider that kept failing on a pair: the reason, and what the calls made before it cost. */
class PairFailure extends Error {
  constructor(
    readonly failure: ProviderError,
    readonly usage: UsageSummary,
  ) {
    super(failure.message)
  }
}

async function scoreOrReuse(
  ctx: RunContext,
  pair: PreparedPair,
  prompt: PromptSpec,
  trialDir: string,
  split: 'train' | 'validation',
): Promise<{value: PairTrialResult; fresh: boolean}> {
  const file = path.join(trialDir, `${pairSlug(pair.files.id)}_result.json`)
  const stored = await readJsonIfExists(file, PairTrialResult)
  if (stored) return {value: stored, fresh: false}
  const meter = new UsageMeter()
  let result
  try {
    result = await scorePair(pair, prompt, ctx.weights, trialDir, ctx.config.seed, metered(ctx.providers, meter), split, ctx.config.tts)
  } catch (error) {
    // Calls that succeeded before the failure were paid for: they count.
    throw error instanceof ProviderError ? new PairFailure(error, meter.usage) : error
  }
  return {value: await writeJson(file, PairTrialResult, {...result, usage: meter.usage}), fresh: true}
}

async function refineFromTrial(
  ctx: RunContext,
  prompt: PromptSpec,
  profile: AggregateProfile,
  trial: TrialResults,
  results: TrialResults[],
  prompts: TrialPromptFile[],
): Promise<{prompt: PromptSpec; changes: string[]; usage: UsageSummary}> {
  // The refiner sees training pairs only: validation results never leave this function.
  const trainOnly: TrialResults = {...trial, pairs: trial.pairs.filter((p) => p.split === 'train'), validation_mean_losses: null}
  const history = buildHistory(
    results.map((r, i) => ({index: r.index, sha256: r.prompt_sha256, prompt: prompts[i]!.prompt, mean_losses: r.mean_losses})),
  )
  const meter = new UsageMeter()
  const providers = metered(ctx.providers, meter)
  const refined = await refine({
    prompt,
    profile,
    trial: trainOnly,
    history,
    mode: ctx.config.refiner,
    model: providers.languageModel('refine'),
    seed: ctx.config.seed,
  })
  return {prompt: refined.prompt, changes: refined.changes, usage: meter.usage}
}

// ------------------------------------------------------------------ report

async function writeReport(
  ctx: RunContext,
  manifest: RunManifest,
  prepared: PreparedPair[],
  skipped: SkippedPair[],
  validation: string[],
  trials: Trials,
): Promise<TrainingReport> {
  const {runDir, config} = ctx
  const best = bestTrialIndex(selectionTotals(trials.results))
  const bestTrial = trials.results[best]!
  const bestPrompt = trials.prompts[best]!
  await writeFileAtomic(
    path.join(runDir, CALIBRATED_PROMPT_FILE),
    renderCalibratedPrompt(bestPrompt.prompt, {
      run_id: manifest.run_id,
      trial: best,
      mean_total_loss: (bestTrial.validation_mean_losses ?? bestTrial.mean_losses).total,
    }),
  )
  const usage = mergeUsage(ingestUsage(prepared, skipped), ...trials.results.map((t) => t.usage), ...trials.prompts.map((p) => p.usage))
  return writeJson(path.join(runDir, 'training_report.json'), TrainingReport, {
    run_id: manifest.run_id,
    stop_reason: trials.stopReason,
    weights: ctx.weights,
    seed: config.seed,
    pairs: prepared.map((p) => p.files.id),
    skipped_pairs: skipped,
    failed_pairs: trials.results.flatMap((t) => t.failed.map((f) => ({trial: t.index, pair_id: f.pair_id, reason: f.reason}))),
    validation_pairs: validation,
    trials: trials.results.map((t) => ({
      index: t.index,
      dir: t.dir,
      prompt_sha256: t.prompt_sha256,
      mean_losses: t.mean_losses,
      validation_mean_losses: t.validation_mean_losses,
      pairs: t.pairs.map((p) => ({pair_id: p.pair_id, split: p.split, losses: p.losses})),
    })),
    best_trial: {
      index: best,
      dir: bestTrial.dir,
      selected_by: validation.length ? 'validation' : 'train',
      mean_losses: bestTrial.mean_losses,
      validation_mean_losses: bestTrial.validation_mean_losses,
      prompt: bestPrompt.prompt,
    },
    loss_progression: trials.results.map((t) => t.mean_losses.total),
    validation_progression: validation.length ? trials.results.map((t) => t.validation_mean_losses!.total) : null,
    calibrated_prompt: CALIBRATED_PROMPT_FILE,
    usage,
    started_at: manifest.started_at,
    finished_at: ctx.clock().toISOString(),
  })
}

function meanBreakdown(items: LossBreakdown[]): LossBreakdown {
  const keys = ['duration', 'coverage', 'structure', 'quality', 'rouge', 'total'] as const
  return Object.fromEntries(keys.map((k) => [k, mean(items.map((i) => i[k]))])) as LossBreakdown
}
