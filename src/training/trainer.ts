/**
 * The training run: discover -> ingest -> analyse -> trial loop -> report. Depends
 * only on the provider interfaces and the store; reports progress through events
 * and never prints.
 */
import {mkdir} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pLimit from 'p-limit'

import type {Providers} from '../providers/types.js'
import {aggregateProfiles, analysePair, collapse, shares, styleProfile} from './analyse.js'
import {discoverPairs, pairSlug} from './discover.js'
import {describeError, InputError, InterruptedError, StudioError} from './errors.js'
import {EVENTS_FILE, EventLog} from './events.js'
import {writeHtmlReport} from './report/write.js'
import {DEFAULT_TOKEN_BUDGETS} from './budget.js'
import {sha256File} from './hash.js'
import {condenseForGeneration} from './ingest/condense.js'
import {audioDurationSeconds} from './ingest/audio.js'
import {readPaper, type Paper} from './ingest/paper.js'
import {readSidecar} from './ingest/sidecar.js'
import {
  bestTrialIndex,
  coverageLoss,
  durationLoss,
  hasConverged,
  normalizeWeights,
  qualityLoss,
  rougeLossFromScores,
  rougeScores,
  structureLoss,
  totalLoss,
  type Weights,
} from './loss/index.js'
import {judgeMessages, renderScriptText} from './messages.js'
import {generatorMessages, initialPrompt, promptHash, renderPrompt} from './prompt.js'
import {refineRuleBased} from './refine.js'
import {
  AggregateProfile,
  JudgeAnswer,
  PairAnalysis,
  RunManifest,
  ScriptAnswer,
  TrainingReport,
  Transcript,
  TrialPromptFile,
  TrialResults,
  type LossBreakdown,
  type PairFiles,
  type PairTrialResult,
  type PromptSpec,
  type RunEvent,
  type StopReason,
} from './schemas.js'
import {compactTimestamp, createRunDir, updateLatest, writeFileAtomic, writeJson} from './store.js'
import {countWords, mean} from './text.js'
import {metered, UsageMeter} from './usage.js'

export type {Phase} from './schemas.js'

/** What the trainer reports as it goes: the lines of events.jsonl. */
export type TrainingEvent = RunEvent

/** An event before the trainer stamps its time. */
type NewEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never

export interface TrainingOptions {
  pairsDir: string
  outputDir: string
  maxTrials: number
  seed: number
  weights?: Partial<Weights>
  window: number
  threshold: number
  concurrency: number
  mock: boolean
  providers: Providers
  toolVersion: string
  onEvent?: (event: TrainingEvent) => void
  /** Aborting stops the run after the units in progress; it then ends as `interrupted`. */
  signal?: AbortSignal
  /** Injected so that tests can pin timestamps. */
  clock?: () => Date
}

export interface TrainingOutcome {
  runId: string
  runDir: string
  report: TrainingReport
}

interface PreparedPair {
  files: PairFiles
  paper: Paper
  analysis: PairAnalysis
  referenceText: string
  /** What generation and judging see: the paper body, condensed when it exceeds their token budget. */
  paperText: string
}

export async function runTraining(options: TrainingOptions): Promise<TrainingOutcome> {
  const clock = options.clock ?? (() => new Date())
  // Events before the run folder exists are kept and written to its log once it does.
  let log: EventLog | null = null
  const early: RunEvent[] = []
  const emit = (event: NewEvent) => {
    const stamped = {...event, time: clock().toISOString()} as RunEvent
    if (log) log.append(stamped)
    else early.push(stamped)
    options.onEvent?.(stamped)
  }
  if (!Number.isInteger(options.maxTrials) || options.maxTrials < 1) {
    throw new InputError(`--max-trials must be a whole number of at least 1, got ${options.maxTrials}`)
  }
  // Invalid weights fail here, before any work is done.
  const weights = normalizeWeights(options.weights)

  emit({type: 'phase', phase: 'discover', message: `Discovering pairs in ${options.pairsDir}`})
  const discovery = await discoverPairs(options.pairsDir)
  for (const orphan of discovery.orphans) emit({type: 'warning', message: `${orphan.path}: ${orphan.reason}`})
  if (discovery.pairs.length === 0) {
    throw new InputError(`No complete pair in ${discovery.root}: ${discovery.orphans.length} file(s) have no partner`, {
      path: discovery.root,
      hint: 'Each paper needs an episode with the same base name next to it (x.pdf + x.mp3). Run `studio training list-pairs` to see what was found.',
    })
  }

  const startedAt = clock()
  const {runId, runDir} = await createRunDir(options.outputDir, startedAt)
  log = new EventLog(path.join(runDir, EVENTS_FILE))
  for (const event of early.splice(0)) log.append(event)
  const manifestFile = path.join(runDir, 'run.json')
  const runMeter = new UsageMeter()
  let manifest: RunManifest = {
    run_id: runId,
    status: 'running',
    pid: process.pid,
    host: os.hostname(),
    tool_version: options.toolVersion,
    node_version: process.version,
    started_at: startedAt.toISOString(),
    finished_at: null,
    seed: options.seed,
    config: {
      pairs_dir: discovery.root,
      output_dir: path.resolve(options.outputDir),
      max_trials: options.maxTrials,
      mock: options.mock,
      seed: options.seed,
      weights,
      window: options.window,
      threshold: options.threshold,
      concurrency: options.concurrency,
    },
    providers: {transcriber: options.providers.transcriber.id, language_model: options.providers.languageModel('generate').id},
    pairs: discovery.pairs.map((p) => ({id: p.id, pdf: p.pdf, mp3: p.mp3, transcript_source: p.sidecar ? (`sidecar-${p.sidecar.format}` as const) : options.providers.transcriber.id === 'mock' ? ('mock' as const) : ('whisper' as const)})),
    skipped: [],
    error: null,
  }
  await writeJson(manifestFile, RunManifest, manifest)
  await updateLatest(options.outputDir, runId)

  try {
    const limit = pLimit(options.concurrency)
    const prepared: PreparedPair[] = []
    const skipped: Array<{id: string; reason: string}> = []
    let done = 0
    emit({type: 'phase', phase: 'ingest', message: `Ingesting and analysing ${discovery.pairs.length} pair(s)`})
    await Promise.all(
      discovery.pairs.map((files) =>
        limit(async () => {
          options.signal?.throwIfAborted()
          try {
            const pairMeter = new UsageMeter()
            prepared.push(await preparePair(files, runDir, {...options, providers: metered(options.providers, runMeter, pairMeter)}))
            emit({type: 'pair-analysed', pair: files.id, usage: pairMeter.usage})
          } catch (error) {
            if (!(error instanceof StudioError)) throw error
            skipped.push({id: files.id, reason: describeError(error)})
            emit({type: 'pair-skipped', pair: files.id, reason: describeError(error)})
          }
          done++
          emit({type: 'progress', phase: 'ingest', done, total: discovery.pairs.length, message: `Ingested and analysed ${done}/${discovery.pairs.length} pairs`, pair: files.id})
        }),
      ),
    )
    prepared.sort((a, b) => (a.files.id < b.files.id ? -1 : 1))
    skipped.sort((a, b) => (a.id < b.id ? -1 : 1))
    manifest = {...manifest, pairs: manifest.pairs.filter((p) => !skipped.some((s) => s.id === p.id)), skipped}
    await writeJson(manifestFile, RunManifest, manifest)
    if (prepared.length === 0) {
      throw new InputError(`No usable pair: all ${skipped.length} pair(s) failed to ingest:\n${skipped.map((s) => `  ${s.id}: ${s.reason}`).join('\n')}`, {
        hint: 'Fix the files named above, then run again.',
      })
    }

    emit({type: 'phase', phase: 'analyse', message: 'Aggregating reference profiles'})
    const profile = await writeJson(path.join(runDir, 'aggregate_profile.json'), AggregateProfile, aggregateProfiles(prepared.map((p) => p.analysis)))

    const trials = await trialLoop(prepared, profile, weights, runDir, options, emit, clock, runMeter)

    emit({type: 'phase', phase: 'report', message: 'Writing the training report'})
    const totals = trials.results.map((t) => t.mean_losses.total)
    const best = bestTrialIndex(totals)
    const finishedAt = clock()
    const report = await writeJson(path.join(runDir, 'training_report.json'), TrainingReport, {
      run_id: runId,
      stop_reason: trials.stopReason,
      weights,
      seed: options.seed,
      pairs: prepared.map((p) => p.files.id),
      skipped_pairs: skipped,
      trials: trials.results.map((t) => ({
        index: t.index,
        dir: t.dir,
        prompt_sha256: t.prompt_sha256,
        mean_losses: t.mean_losses,
        pairs: t.pairs.map((p) => ({pair_id: p.pair_id, losses: p.losses})),
      })),
      best_trial: {index: best, dir: trials.results[best]!.dir, mean_losses: trials.results[best]!.mean_losses, prompt: trials.prompts[best]!},
      loss_progression: totals,
      usage: runMeter.usage,
      started_at: startedAt.toISOString(),
      finished_at: finishedAt.toISOString(),
    })
    manifest = {...manifest, status: 'finished', finished_at: finishedAt.toISOString()}
    await writeJson(manifestFile, RunManifest, manifest)
    emit({type: 'run-finished', stop_reason: report.stop_reason, best_trial: best, usage: runMeter.usage})
    await writeHtmlReportSafely(runDir, emit)
    return {runId, runDir, report}
  } catch (error) {
    if (options.signal?.aborted) {
      manifest = {...manifest, status: 'interrupted', finished_at: clock().toISOString(), error: 'interrupted by the user'}
      await writeJson(manifestFile, RunManifest, manifest).catch(() => {})
      emit({type: 'run-interrupted'})
      await writeHtmlReportSafely(runDir, emit)
      throw new InterruptedError(`Run interrupted; what it completed is in ${runDir}`, {path: runDir})
    }
    manifest = {...manifest, status: 'failed', finished_at: clock().toISOString(), error: describeError(error)}
    await writeJson(manifestFile, RunManifest, manifest).catch(() => {})
    emit({type: 'run-failed', message: describeError(error)})
    await writeHtmlReportSafely(runDir, emit)
    throw error
  }
}

/** The HTML report is a view of files already written: failing to render it must not fail the run. */
async function writeHtmlReportSafely(runDir: string, emit: (event: NewEvent) => void): Promise<void> {
  try {
    await writeHtmlReport(runDir, {host: os.hostname()})
  } catch (error) {
    emit({type: 'warning', message: `Could not write the HTML report: ${describeError(error)}. Run \`studio training report ${runDir}\` to retry.`})
  }
}

async function preparePair(files: PairFiles, runDir: string, options: TrainingOptions): Promise<PreparedPair> {
  const pairDir = path.join(runDir, 'pairs', pairSlug(files.id))
  await mkdir(pairDir, {recursive: true})
  const paper = await readPaper(files.pdf)
  const [durationSeconds, episodeSha] = await Promise.all([audioDurationSeconds(files.mp3), sha256File(files.mp3)])
  const transcript = files.sidecar
    ? await readSidecar(files.sidecar.path, files.sidecar.format)
    : await options.providers.transcriber.transcribe({audioPath: files.mp3, durationSeconds, paperText: paper.body, seed: options.seed})
  await writeJson(path.join(pairDir, 'transcript.json'), Transcript, transcript)
  await writeFileAtomic(path.join(pairDir, 'paper.txt'), `${paper.body}\n`)
  const analysis = await analysePair({pairId: files.id, paper, episode: {path: files.mp3, durationSeconds, sha256: episodeSha}, transcript, seed: options.seed}, options.providers)
  await writeJson(path.join(pairDir, 'analysis.json'), PairAnalysis, analysis)
  // Never silently truncated: a long paper is condensed (analysis.json's long_paper says so).
  const budget = Math.min(DEFAULT_TOKEN_BUDGETS.generate, DEFAULT_TOKEN_BUDGETS.judge)
  const paperText = analysis.long_paper?.condensed_for_generation ? condenseForGeneration(paper.body, analysis.concepts, budget) : paper.body
  return {files, paper, analysis, referenceText: transcript.segments.map((s) => s.text).join('\n'), paperText}
}

async function trialLoop(
  pairs: PreparedPair[],
  profile: AggregateProfile,
  weights: Weights,
  runDir: string,
  options: TrainingOptions,
  emit: (event: NewEvent) => void,
  clock: () => Date,
  runMeter: UsageMeter,
): Promise<{results: TrialResults[]; prompts: PromptSpec[]; stopReason: StopReason}> {
  const results: TrialResults[] = []
  const prompts: PromptSpec[] = []
  let prompt = initialPrompt(profile)
  let changes = ['initial prompt, built from the aggregate reference profile']
  let stopReason: StopReason = 'max_trials'
  const limit = pLimit(options.concurrency)

  for (let index = 0; index < options.maxTrials; index++) {
    options.signal?.throwIfAborted()
    const started = clock()
    const dir = `trial_${String(index).padStart(3, '0')}_${compactTimestamp(started)}`
    const trialDir = path.join(runDir, dir)
    await mkdir(trialDir)
    const sha = promptHash(prompt)
    await writeJson(path.join(trialDir, 'prompt.json'), TrialPromptFile, {index, sha256: sha, prompt, changes, rendered: renderPrompt(prompt)})
    // Trials are numbered from 0, as their folders are; "(2 of 5)" gives the count.
    const trialName = `Trial ${index} (${index + 1} of ${options.maxTrials})`
    emit({type: 'phase', phase: 'trials', message: trialName})

    const trialMeter = new UsageMeter()
    let done = 0
    const scored = await Promise.all(
      pairs.map((pair) =>
        limit(async () => {
          options.signal?.throwIfAborted()
          const pairMeter = new UsageMeter()
          const providers = metered(options.providers, runMeter, trialMeter, pairMeter)
          const result = await scorePair(pair, prompt, weights, trialDir, options.seed, providers)
          emit({type: 'pair-scored', trial: index, pair: pair.files.id, losses: result.losses, usage: pairMeter.usage})
          done++
          emit({type: 'progress', phase: 'trials', done, total: pairs.length, message: `${trialName}: scored ${done}/${pairs.length} pairs`, trial: index, pair: pair.files.id})
          return result
        }),
      ),
    )
    const meanLosses = meanBreakdown(scored.map((s) => s.losses))
    const trial = await writeJson(path.join(trialDir, 'results.json'), TrialResults, {
      index,
      dir,
      started_at: started.toISOString(),
      finished_at: clock().toISOString(),
      prompt_sha256: sha,
      mean_losses: meanLosses,
      pairs: scored,
      usage: trialMeter.usage,
    })
    results.push(trial)
    prompts.push(prompt)
    emit({type: 'trial-finished', trial: index, mean_losses: meanLosses, changes, usage: trialMeter.usage})

    if (hasConverged(results.map((r) => r.mean_losses.total), {window: options.window, threshold: options.threshold})) {
      stopReason = 'converged'
      break
    }
    if (index + 1 < options.maxTrials) ({prompt, changes} = refineRuleBased(prompt, profile, trial))
  }
  return {results, prompts, stopReason}
}

async function scorePair(
  pair: PreparedPair,
  prompt: PromptSpec,
  weights: Weights,
  trialDir: string,
  seed: number,
  providers: Providers,
): Promise<PairTrialResult> {
  const {analysis, paper} = pair
  const title = paper.title
  const script = (
    await providers.languageModel('generate').structured({
      role: 'generate',
      messages: generatorMessages(prompt, title, pair.paperText, analysis.concepts),
      schema: ScriptAnswer,
      task: {kind: 'generate-script', prompt, title, paper: pair.paperText, concepts: analysis.concepts},
      seed,
    })
  ).value
  const scriptFile = `${pairSlug(pair.files.id)}_script.txt`
  await writeFileAtomic(path.join(trialDir, scriptFile), renderScriptText(script))

  const judge = (
    await providers.languageModel('judge').structured({
      role: 'judge',
      messages: judgeMessages(script, pair.paperText, analysis.concepts, analysis.style),
      schema: JudgeAnswer,
      task: {kind: 'judge', script, paper: pair.paperText, concepts: analysis.concepts, reference_style: analysis.style},
      seed,
    })
  ).value

  const generatedSegments = script.segments.map((s) => ({label: s.label, words: s.lines.reduce((n, l) => n + countWords(l.text), 0)}))
  const generatedWords = generatedSegments.reduce((n, s) => n + s.words, 0)
  const referenceWpm = analysis.style.words_per_minute
  const generatedSeconds = referenceWpm > 0 ? (generatedWords / referenceWpm) * 60 : 0
  const referenceSeconds = analysis.episode.duration_seconds

  // Only the paper's own concepts count, whatever else a judge may list.
  const claimed = new Set(judge.concepts_explained.map((t) => t.trim().toLowerCase()))
  const explained = analysis.concepts.filter((c) => claimed.has(c.term.toLowerCase())).map((c) => c.term)
  const missed = analysis.concepts.filter((c) => !claimed.has(c.term.toLowerCase())).map((c) => c.term)

  const prediction = script.segments.flatMap((s) => s.lines.map((l) => l.text)).join('\n')
  const rouge = rougeScores(pair.referenceText, prediction, {stem: true})
  const scriptStyle = styleProfile(script.segments.flatMap((s) => s.lines), generatedSeconds)
  const losses = {
    duration: durationLoss(generatedSeconds, referenceSeconds),
    // A paper without key concepts has nothing to miss.
    coverage: analysis.concepts.length ? coverageLoss(explained.length, analysis.concepts.length) : 0,
    structure: structureLoss(generatedSegments, analysis.segments.map((s) => ({label: s.label, words: s.words}))),
    quality: qualityLoss(judge),
    rouge: rougeLossFromScores(rouge),
  }
  return {
    pair_id: pair.files.id,
    status: 'ok',
    script_file: scriptFile,
    losses: {...losses, total: totalLoss(losses, weights)},
    details: {
      generated_words: generatedWords,
      generated_seconds: generatedSeconds,
      reference_seconds: referenceSeconds,
      reference_words_per_minute: referenceWpm,
      concepts_total: analysis.concepts.length,
      concepts_explained: explained,
      concepts_missed: missed,
      generated_sequence: collapse(generatedSegments.map((s) => s.label)),
      reference_sequence: analysis.structure.sequence,
      generated_word_shares: shares(generatedSegments, (i) => generatedSegments[i]!.words),
      generated_questions_per_minute: scriptStyle.questions_per_minute,
      generated_mean_sentence_words: scriptStyle.mean_sentence_words,
      judge: {engagement: judge.engagement, clarity: judge.clarity, accuracy: judge.accuracy, weakest_dimension_reason: judge.weakest_dimension_reason},
      rouge: {rouge1: rouge.rouge1.fmeasure, rouge2: rouge.rouge2.fmeasure, rougeL: rouge.rougeL.fmeasure},
    },
  }
}

function meanBreakdown(items: LossBreakdown[]): LossBreakdown {
  const keys = ['duration', 'coverage', 'structure', 'quality', 'rouge', 'total'] as const
  return Object.fromEntries(keys.map((k) => [k, mean(items.map((i) => i[k]))])) as LossBreakdown
}
