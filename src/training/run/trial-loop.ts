/**
 * The trial loop: evaluate the current prompt on every pair, stop on convergence or when
 * the budget would be exceeded, otherwise refine the prompt and go again. Each trial's
 * prompt.json is written before it is evaluated, so a resumed run scores the prompt it
 * had proposed rather than proposing another.
 */
import {mkdir, readdir} from 'node:fs/promises'

import {formatUsd} from '../../core/format.js'
import {runPaths, trialFolderName, trialIndexOf} from '../../core/layout.js'
import type {PromptSpec, StopReason, UsageSummary} from '../../core/schemas/common.js'
import {TrialPromptFile, type AggregateProfile, type RunConfig, type TrialResults} from '../../core/schemas/files.js'
import {readJsonIfExists, writeJson} from '../../core/store.js'
import {hasConverged, selectionSeries} from '../../loss/index.js'
import {emptyUsage, mergeUsage, metered, UsageMeter} from '../../providers/usage.js'
import {estimateRun, modelIds} from '../estimate.js'
import {buildHistory, refine} from '../optimise/index.js'
import {initialPrompt, promptHash, renderPrompt} from '../prompt.js'
import {evaluatePrompt, type EvaluateContext, type PreparedPair} from '../stages/evaluate.js'

export interface TrialLoopContext extends EvaluateContext {
  runDir: string
  config: RunConfig
}

export interface Trials {
  results: TrialResults[]
  prompts: TrialPromptFile[]
  stopReason: StopReason
}

interface Proposal {
  prompt: PromptSpec
  changes: string[]
  usage: UsageSummary
}

/** `spentBefore`: what the run spent before its first trial (transcription, analysis), for --max-cost. */
export async function trialLoop(
  ctx: TrialLoopContext,
  pairs: PreparedPair[],
  validation: readonly string[],
  profile: AggregateProfile,
  spentBefore: UsageSummary,
): Promise<Trials> {
  const {config, emit, clock, runDir} = ctx
  const paths = runPaths(runDir)
  const results: TrialResults[] = []
  const prompts: TrialPromptFile[] = []
  const existing = await existingTrialFolders(runDir)
  let next: Proposal = {
    prompt: initialPrompt(profile),
    changes: ['initial prompt, built from the aggregate reference profile'],
    usage: emptyUsage(),
  }
  let stopReason: StopReason = 'max_trials'

  for (let index = 0; index < config.max_trials; index++) {
    ctx.signal?.throwIfAborted()
    const started = clock()
    const dir = existing.get(index) ?? trialFolderName(index, started)
    const trialPaths = paths.trial(dir)
    if (!existing.has(index)) await mkdir(trialPaths.dir)
    const promptFile = await loadOrWritePrompt(trialPaths.prompt, index, next)
    prompts.push(promptFile)
    // Trials are numbered from 0, as their folders are; "(2 of 5)" gives the count.
    const name = `Trial ${index} (${index + 1} of ${config.max_trials})`
    emit({type: 'phase', phase: 'trials', message: name})
    const {results: trial, fresh} = await evaluatePrompt(ctx, {index, dir, runDir, prompt: promptFile, started, name}, pairs, validation)
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
    next = await refineFromTrial(ctx, promptFile.prompt, profile, trial, results, prompts)
  }
  return {results, prompts, stopReason}
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
  const refinement =
    ctx.config.refiner === 'rule-based+llm'
      ? (estimateRun({pairs: [], maxTrials: 2, refiner: ctx.config.refiner, tts: false, models: modelIds(ctx.providers)}).refine_cost_usd ??
        Infinity)
      : 0
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
  })
}

async function refineFromTrial(
  ctx: TrialLoopContext,
  prompt: PromptSpec,
  profile: AggregateProfile,
  trial: TrialResults,
  results: TrialResults[],
  prompts: TrialPromptFile[],
): Promise<Proposal> {
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
