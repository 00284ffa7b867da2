/**
 * The trial loop: evaluate the current prompt on every pair, stop on convergence or when
 * the budget would be exceeded, otherwise refine the prompt and go again. Each trial's
 * prompt.json is written before it is evaluated, so a resumed run scores the prompt it
 * had proposed rather than proposing another.
 */
import {readdir} from 'node:fs/promises'

import {formatUsd} from '../../core/format.js'
import {batchPhase, runPaths, trialFolderName, trialIndexOf} from '../../core/layout.js'
import type {PromptSpec, StopReason, UsageSummary} from '../../core/schemas/common.js'
import {TrialPromptFile, type AggregateProfile, type OptimiserStep, type RunConfig, type TrialResults} from '../../core/schemas/files.js'
import {makeDir, readJsonIfExists, writeJson} from '../../core/store.js'
import {hasConverged, selectionSeries} from '../../loss/index.js'
import {bestTrial} from '../../loss/selection.js'
import {emptyUsage, mergeUsage, metered, UsageMeter} from '../../providers/usage.js'
import {estimateRun, modelIds} from '../estimate.js'
import {batchScope, inUnit} from '../batch/batcher.js'
import {refine, trainingOnly, type ObservedTrial} from '../optimise/index.js'
import {promptHash, renderPrompt} from '../prompt.js'
import {evaluatePrompt, type EvaluateContext, type PreparedPair} from '../stages/evaluate.js'
import type {PromptCacheSetting} from './context.js'
import type {CacheTtl} from '../../core/providers.js'

export interface TrialLoopContext extends EvaluateContext {
  runDir: string
  config: RunConfig
  promptCacheTtl?: PromptCacheSetting
}

export interface Trials {
  results: TrialResults[]
  prompts: TrialPromptFile[]
  stopReason: StopReason
  /** Why the optimiser stopped, in words, when it did (stopReason 'exhausted'). */
  stopDetail: string | null
}

/** Where the trials start: the profile they calibrate toward, trial 0's prompt, and evidence from an earlier run. */
export interface TrialStart {
  profile: AggregateProfile
  prompt: PromptSpec
  /** What trial 0's prompt is, in words (its change line). */
  origin: string
  /** An earlier run's trials (--from): evidence of how the writer responds. */
  prior: ObservedTrial[]
}

interface Proposal {
  kind: 'proposal'
  prompt: PromptSpec
  changes: string[]
  step: OptimiserStep | null
  usage: UsageSummary
}

/** `spentBefore`: what the run spent before its first trial (transcription, analysis), for --max-cost. */
export async function trialLoop(
  ctx: TrialLoopContext,
  pairs: PreparedPair[],
  validation: readonly string[],
  start: TrialStart,
  spentBefore: UsageSummary,
): Promise<Trials> {
  const {config, emit, clock, runDir} = ctx
  const paths = runPaths(runDir)
  const results: TrialResults[] = []
  const prompts: TrialPromptFile[] = []
  const existing = await existingTrialFolders(runDir)
  let next: Proposal = {kind: 'proposal', prompt: start.prompt, changes: [start.origin], step: null, usage: emptyUsage()}
  let stopReason: StopReason = 'max_trials'
  let stopDetail: string | null = null
  // Training pairs only: the optimiser never hears of validation pairs.
  const paperWords = Object.fromEntries(
    pairs.filter((p) => !validation.includes(p.files.id)).map((p) => [p.files.id, p.analysis.paper.words]),
  )

  let previousTrialMs: number | undefined
  for (let index = 0; index < config.max_trials; index++) {
    ctx.signal?.throwIfAborted()
    const started = clock()
    const dir = existing.get(index) ?? trialFolderName(index, started)
    const trialPaths = paths.trial(dir)
    if (!existing.has(index)) await makeDir(trialPaths.dir)
    const promptFile = await loadOrWritePrompt(trialPaths.prompt, index, next)
    prompts.push(promptFile)
    // Trials are numbered from 0, as their folders are; "(2 of 5)" gives the count.
    const name = `Trial ${index} (${index + 1} of ${config.max_trials})`
    emit({type: 'phase', phase: 'trials', message: name})
    const cacheTtl = promptCacheTtl(ctx.promptCacheTtl ?? 'auto', previousTrialMs)
    const {results: trial, fresh} = await evaluatePrompt(
      {...ctx, cacheTtl},
      {index, dir, runDir, prompt: promptFile, started, name},
      pairs,
      validation,
    )
    previousTrialMs = clock().getTime() - started.getTime()
    if (fresh) {
      emit({
        type: 'trial-finished',
        trial: index,
        mean_losses: trial.mean_losses,
        validation_mean_losses: trial.validation_mean_losses,
        changes: promptFile.changes,
        usage: trial.usage,
      })
    }
    results.push(trial)

    if (hasConverged(selectionSeries(results), {window: config.window, threshold: config.threshold})) {
      stopReason = 'converged'
      break
    }
    if (index + 1 >= config.max_trials) break
    if (config.max_cost_usd !== null && wouldExceedBudget(ctx, spentBefore, results, prompts, config.max_cost_usd)) {
      emit({
        type: 'warning',
        message: `Stopping before trial ${index + 1}: it would take the run over --max-cost ${formatUsd(config.max_cost_usd)}`,
      })
      stopReason = 'budget'
      break
    }
    const proposal = await proposeFromTrials(ctx, start, paperWords, results, prompts)
    if (proposal.kind === 'stop') {
      emit({type: 'warning', message: `Stopping after trial ${index}: the optimiser has nothing left to try (${proposal.reason})`})
      stopReason = 'exhausted'
      stopDetail = proposal.reason
      break
    }
    next = proposal
  }
  return {results, prompts, stopReason, stopDetail}
}

/** A cached prefix lives five minutes after its last use by default; past four, the hour is worth its price. */
const LONG_TRIAL_MS = 4 * 60_000

/**
 * The judge's paper is sent again one trial later: when a trial takes longer than
 * the default cache lifetime, the five-minute entry is gone by then and every pair
 * pays for writing it again (1.25x) instead of reading it (0.1x). The hour-long entry
 * costs 2x to write, once.
 */
export function promptCacheTtl(setting: PromptCacheSetting, trialMs: number | undefined): CacheTtl {
  if (setting !== 'auto') return setting
  return trialMs !== undefined && trialMs > LONG_TRIAL_MS ? '1h' : '5m'
}

/** Trial folders already in the run folder (a resumed run), by trial number. */
async function existingTrialFolders(runDir: string): Promise<Map<number, string>> {
  const dirs = new Map<number, string>()
  for (const name of await readdir(runDir)) {
    const index = trialIndexOf(name)
    if (index !== null) dirs.set(index, name)
  }
  return dirs
}

/**
 * Whether a refinement and one more trial would take the run over the budget: what
 * was spent so far (every unit on disk) plus the last trial's cost as the estimate of
 * the next, plus the refinement's estimate.
 */
function wouldExceedBudget(
  ctx: TrialLoopContext,
  spentBefore: UsageSummary,
  results: TrialResults[],
  prompts: TrialPromptFile[],
  max: number,
): boolean {
  const spent = mergeUsage(spentBefore, ...results.map((t) => t.usage), ...prompts.map((p) => p.usage)).total.cost_usd ?? Infinity
  const lastTrial = results[results.length - 1]!.usage.total.cost_usd ?? Infinity
  // With --batch the last trial was billed at the batch price, and so is the refinement.
  const refineEstimate = () => {
    const estimate = estimateRun({pairs: [], maxTrials: 2, refiner: ctx.config.refiner, tts: false, models: modelIds(ctx.providers)})
    return (ctx.config.batch ? estimate.batch.refine_cost_usd : estimate.refine_cost_usd) ?? Infinity
  }
  const refinement = ctx.config.refiner === 'rule-based+llm' ? refineEstimate() : 0
  return spent + lastTrial + refinement > max
}

/** The prompt of a trial: from its prompt.json when resuming, else the one the refiner proposed. */
async function loadOrWritePrompt(file: string, index: number, next: Proposal): Promise<TrialPromptFile> {
  // Deterministic refinement gives the same prompt again; if not, the stored one is what was scored.
  const stored = await readJsonIfExists(file, TrialPromptFile)
  if (stored) return stored
  return writeJson(file, TrialPromptFile, {
    index,
    sha256: promptHash(next.prompt),
    prompt: next.prompt,
    changes: next.changes,
    rendered: renderPrompt(next.prompt),
    usage: next.usage,
    step: next.step,
  })
}

/** The optimiser's next prompt (with what it cost in LLM mode), or why it stops. */
async function proposeFromTrials(
  ctx: TrialLoopContext,
  start: TrialStart,
  paperWords: Record<string, number>,
  results: TrialResults[],
  prompts: TrialPromptFile[],
): Promise<Proposal | {kind: 'stop'; reason: string}> {
  // The optimiser reads training pairs only; the selection rule, which may read validation
  // losses, only tells it which trial to start from.
  const best = bestTrial(results)!
  const meter = new UsageMeter()
  const scope = batchScope(ctx.batch, batchPhase.refine(results.length - 1), 'trials')
  const providers = metered(scope ? scope.providers(ctx.providers) : ctx.providers, meter)
  const outcome = await inUnit(scope, 'refine', () =>
    refine({
      trials: results.map((r, i) => trainingOnly({index: r.index, prompt: prompts[i]!.prompt, step: prompts[i]!.step, results: r})),
      base: {index: best.index, selectedBy: best.selectedBy, loss: best.loss},
      prior: start.prior,
      profile: start.profile,
      weights: ctx.weights,
      paperWords,
      mode: ctx.config.refiner,
      model: providers.languageModel('refine'),
      seed: ctx.config.seed,
    }),
  )
  if (outcome.kind === 'stop') return outcome
  return {kind: 'proposal', prompt: outcome.prompt, changes: outcome.changes, step: outcome.step, usage: meter.usage}
}
