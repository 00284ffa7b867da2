/**
 * Evaluate a prompt: generate a script for every pair from it, have each judged, and
 * score it with every loss of the registry (loss/registry.ts) against the pair's
 * reference episode. Each pair's result is written as soon as it exists, the trial's
 * means last (results.json), so a resumed run scores only what is missing.
 */
import path from 'node:path'

import pLimit from 'p-limit'

import {clampJudgeScores, clampScript, ignoreWarnings, warnOutOfRange, type WarningSink} from '../../core/answer-bounds.js'
import {describeError, ProviderError} from '../../core/errors.js'
import {batchPhase, runPaths, trialPairFiles} from '../../core/layout.js'
import type {CacheTtl, Providers} from '../../core/providers.js'
import {JudgeAnswer} from '../../core/schemas/answers.js'
import {LossBreakdown, type PromptSpec, type Split, type UsageSummary} from '../../core/schemas/common.js'
import type {NewRunEvent} from '../../core/schemas/events.js'
import {PairTrialResult, TrialResults, type FailedPair, type PairAnalysis, type TrialPromptFile} from '../../core/schemas/files.js'
import type {PairFiles} from '../../core/schemas/inputs.js'
import {readJsonIfExists, writeFileAtomic, writeJson} from '../../core/store.js'
import {countWords, mean} from '../../core/text.js'
import {computeLosses, LOSS_NAMES, matchConcepts, totalLoss, type Weights} from '../../loss/index.js'
import type {Paper} from '../../media/paper.js'
import {mergeUsage, metered, UsageMeter} from '../../providers/usage.js'
import {fitPaper} from '../fit-request.js'
import {judgeMessages, renderScriptText} from '../messages.js'
import {generatorMessages, paperValues} from '../prompt.js'
import {rougeScoresOffThread} from '../rouge-pool.js'
import {voiceScript} from '../voice.js'
import {writeScript} from '../write-script.js'
import {batchScope, inUnit, type BatchContext} from '../batch/batcher.js'
import {collapse, shares, styleProfile} from './analyse.js'

/** A pair ready for trials: its files, paper, analysis and reference transcript text. */
export interface PreparedPair {
  files: PairFiles
  paper: Paper
  analysis: PairAnalysis
  referenceText: string
  /** What generation and judging see: the paper body, condensed when it exceeds their token budget. */
  paperText: string
}

export interface EvaluateContext {
  providers: Providers
  weights: Weights
  seed: number
  concurrency: number
  /** --tts: voice every script and score the duration on its measured length. */
  tts: boolean
  emit: (event: NewRunEvent) => void
  signal?: AbortSignal
  clock: () => Date
  /** Lifetime asked for the judge's cached paper (trial-loop.ts decides). */
  cacheTtl?: CacheTtl
  /** --batch: the trial's generate and judge calls go out as batches. */
  batch?: BatchContext
}

/** The trial being evaluated: where it lives and the prompt it scores. */
export interface TrialUnderEvaluation {
  index: number
  /** The trial folder's name, inside the run folder. */
  dir: string
  runDir: string
  prompt: TrialPromptFile
  started: Date
  /** "Trial 2 (3 of 5)", for progress lines and errors. */
  name: string
}

/**
 * One prompt on every pair: the trial's results (`fresh` unless read back from an earlier attempt), with the mean losses of the training
 * pairs and, apart, of the validation pairs. A pair whose provider keeps failing is
 * recorded as failed and left out of the means; a trial left with no training (or no
 * validation) pair has no loss, and fails.
 */
export async function evaluatePrompt(
  ctx: EvaluateContext,
  trial: TrialUnderEvaluation,
  pairs: PreparedPair[],
  validation: readonly string[],
): Promise<{results: TrialResults; fresh: boolean}> {
  const paths = runPaths(trial.runDir).trial(trial.dir)
  const stored = await readJsonIfExists(paths.results, TrialResults)
  if (stored) return {results: stored, fresh: false}
  // In batch mode every pair is in flight at once: a batch holds the calls of all of them.
  const scope = batchScope(ctx.batch, batchPhase.trial(trial.index), 'trials')
  const limit = pLimit(scope ? Number.POSITIVE_INFINITY : ctx.concurrency)
  const unitCtx = scope ? {...ctx, providers: scope.providers(ctx.providers)} : ctx
  let done = 0
  const failed: FailedPair[] = []
  const outcomes = await Promise.all(
    pairs.map((pair) =>
      limit(() =>
        inUnit(scope, pair.files.id, async () => {
          ctx.signal?.throwIfAborted()
          const split: Split = validation.includes(pair.files.id) ? 'validation' : 'train'
          let value: PairTrialResult | null = null
          try {
            const result = await scoreOrReuse(unitCtx, pair, trial, split)
            if (result.fresh) {
              ctx.emit({
                type: 'pair-scored',
                trial: trial.index,
                pair: pair.files.id,
                losses: result.value.losses,
                usage: result.value.usage,
              })
            }
            value = result.value
          } catch (error) {
            // A provider that keeps failing costs this pair this trial, not the run.
            if (!(error instanceof PairFailure)) throw error
            failed.push({pair_id: pair.files.id, split, reason: describeError(error.failure), usage: error.usage})
            ctx.emit({type: 'pair-failed', trial: trial.index, pair: pair.files.id, reason: describeError(error.failure)})
          }
          done++
          ctx.emit({
            type: 'progress',
            phase: 'trials',
            done,
            total: pairs.length,
            message: `${trial.name}: scored ${done}/${pairs.length} pairs`,
            trial: trial.index,
            pair: pair.files.id,
          })
          return value
        }),
      ),
    ),
  )
  const scored = outcomes.filter((r): r is PairTrialResult => r !== null)
  const trainResults = scored.filter((p) => p.split === 'train')
  const validationResults = scored.filter((p) => p.split === 'validation')
  failed.sort((a, b) => (a.pair_id < b.pair_id ? -1 : 1))
  if (trainResults.length === 0 || (validation.length > 0 && validationResults.length === 0)) {
    const which = trainResults.length === 0 ? 'training' : 'validation'
    throw new ProviderError(
      `${trial.name}: every ${which} pair failed, so the trial has no loss:\n${failed.map((f) => `  ${f.pair_id}: ${f.reason}`).join('\n')}`,
      {
        provider: 'several',
        hint: 'Fix the cause above (key, quota, network), then continue with `studio training run --resume`.',
      },
    )
  }
  const results = await writeJson(paths.results, TrialResults, {
    index: trial.index,
    dir: trial.dir,
    started_at: trial.started.toISOString(),
    finished_at: ctx.clock().toISOString(),
    prompt_sha256: trial.prompt.sha256,
    mean_losses: meanBreakdown(trainResults.map((s) => s.losses)),
    validation_mean_losses: validationResults.length ? meanBreakdown(validationResults.map((s) => s.losses)) : null,
    pairs: scored,
    failed,
    usage: mergeUsage(...scored.map((s) => s.usage), ...failed.map((f) => f.usage)),
  })
  return {results, fresh: true}
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
  ctx: EvaluateContext,
  pair: PreparedPair,
  trial: TrialUnderEvaluation,
  split: Split,
): Promise<{value: PairTrialResult; fresh: boolean}> {
  const trialPaths = runPaths(trial.runDir).trial(trial.dir)
  const file = trialPaths.pair(pair.files.id).result
  const stored = await readJsonIfExists(file, PairTrialResult)
  if (stored) return {value: stored, fresh: false}
  const meter = new UsageMeter()
  let result
  try {
    result = await scorePair(
      pair,
      trial.prompt.prompt,
      ctx.weights,
      trialPaths.dir,
      ctx.seed,
      metered(ctx.providers, meter),
      split,
      ctx.tts,
      ctx.cacheTtl,
      (message) => ctx.emit({type: 'warning', message: `Trial ${trial.index}, pair ${pair.files.id}: ${message}`}),
    )
  } catch (error) {
    // Calls that succeeded before the failure were paid for: they count.
    throw error instanceof ProviderError ? new PairFailure(error, meter.usage) : error
  }
  return {value: await writeJson(file, PairTrialResult, {...result, usage: meter.usage}), fresh: true}
}

/** The plain mean of each loss (and of the total) over pairs. */
function meanBreakdown(items: LossBreakdown[]): LossBreakdown {
  const keys = [...LOSS_NAMES, 'total'] as const
  return LossBreakdown.parse(Object.fromEntries(keys.map((k) => [k, mean(items.map((i) => i[k]))])))
}

/**
 * max_tokens of a judge answer: the concepts it lists and a sentence of reasons. Sized
 * close to the answer because Anthropic charges max_tokens against the output-tokens-per-minute
 * limit until the answer ends.
 */
export function judgeOutputTokens(concepts: number): number {
  return 1500 + concepts * 40
}

/** One pair: generate its script, judge it and score it; the caller writes the result. */
export async function scorePair(
  pair: PreparedPair,
  prompt: PromptSpec,
  weights: Weights,
  trialDir: string,
  seed: number,
  providers: Providers,
  split: Split,
  /** --tts: voice the script and score the duration on the audio's measured length. */
  tts = false,
  cacheTtl: CacheTtl = '5m',
  /** Where answers brought back within bounds are reported (core/answer-bounds.ts). */
  warn: WarningSink = ignoreWarnings,
): Promise<Omit<PairTrialResult, 'usage'>> {
  const {analysis, paper} = pair
  const title = paper.title
  const values = paperValues(prompt, {title, concepts: analysis.concepts, paper: pair.paperText, paperWords: analysis.paper.words})
  const written = await writeScript({
    model: providers.languageModel('generate'),
    messages: generatorMessages(prompt, values),
    task: {kind: 'generate-script', prompt, target_words: values.target_words, title, paper: pair.paperText, concepts: analysis.concepts},
    seed,
  })
  const generated = clampScript(written.script)
  warnOutOfRange(warn, 'generate', generated.notes)
  const script = generated.value
  // The judge call goes out now; the writing and local scoring below run while it is in flight.
  const judgeModel = providers.languageModel('judge')
  const judgeMaxTokens = judgeOutputTokens(analysis.concepts.length)
  const judgePaper = fitPaper(judgeModel, judgeMaxTokens, pair.paperText, analysis.concepts, (text) =>
    judgeMessages(script, text, analysis.concepts, analysis.style),
  )
  if (judgePaper.condensed) {
    const {fromTokens, toTokens, allowance} = judgePaper.condensed
    warn(
      `the judge saw the paper condensed from about ${fromTokens.toLocaleString('en-US')} to ${toTokens.toLocaleString('en-US')} tokens: with the script, the whole paper would exceed the ${allowance.toLocaleString('en-US')} input tokens one request may carry under the account's rate limits (rate_limits in studio.config.json)`,
    )
  }
  const judgeCall = judgeModel.structured({
    role: 'judge',
    messages: judgeMessages(script, judgePaper.paper, analysis.concepts, analysis.style),
    schema: JudgeAnswer,
    task: {kind: 'judge', script, paper: judgePaper.paper, concepts: analysis.concepts, reference_style: analysis.style},
    seed,
    maxOutputTokens: judgeMaxTokens,
    cacheTtl,
  })
  judgeCall.catch(() => {})
  const names = trialPairFiles(pair.files.id)
  const scriptFile = names.script
  await writeFileAtomic(path.join(trialDir, scriptFile), renderScriptText(script))

  const generatedSegments = script.segments.map((s) => ({label: s.label, words: s.lines.reduce((n, l) => n + countWords(l.text), 0)}))
  const generatedWords = generatedSegments.reduce((n, s) => n + s.words, 0)
  const referenceWpm = analysis.style.words_per_minute
  let generatedSeconds = referenceWpm > 0 ? (generatedWords / referenceWpm) * 60 : 0
  let audioFile: string | undefined
  if (tts) {
    if (!providers.speech) throw new Error('scorePair: --tts needs a speech provider')
    const voiced = await voiceScript(
      script,
      prompt.speakers.map((s) => s.name),
      providers.speech,
    )
    audioFile = names.audio
    await writeFileAtomic(path.join(trialDir, audioFile), voiced.bytes)
    // The measured length of the voiced script, not an estimate from its words.
    generatedSeconds = voiced.durationSeconds
  }
  const referenceSeconds = analysis.episode.duration_seconds
  const prediction = script.segments.flatMap((s) => s.lines.map((l) => l.text)).join('\n')
  // On a worker thread, while the judge answers: tens of milliseconds of CPU for an
  // hour-long episode, which would otherwise hold every other pair's answers.
  const rougeCall = rougeScoresOffThread(pair.referenceText, prediction, {stem: true})
  rougeCall.catch(() => {})
  const scriptStyle = styleProfile(
    script.segments.flatMap((s) => s.lines),
    generatedSeconds,
  )

  const judged = clampJudgeScores((await judgeCall).value)
  const rouge = await rougeCall
  warnOutOfRange(warn, 'judge', judged.notes)
  const judge = judged.value
  // Only the paper's own concepts count, whatever else a judge may list; a concept the judge
  // spelt differently, or left out though the script names it, still counts (loss/concepts.ts).
  const {explained, missed} = matchConcepts(
    analysis.concepts.map((c) => c.term),
    {claimed: judge.concepts_explained, script: prediction},
  )

  const losses = computeLosses({
    generated: {
      seconds: generatedSeconds,
      sections: generatedSegments,
      questionsPerMinute: scriptStyle.questions_per_minute,
      meanSentenceWords: scriptStyle.mean_sentence_words,
    },
    reference: {
      seconds: referenceSeconds,
      sections: analysis.segments.map((s) => ({label: s.label, words: s.words})),
      questionsPerMinute: analysis.style.questions_per_minute,
      meanSentenceWords: analysis.style.mean_sentence_words,
    },
    concepts: {total: analysis.concepts.length, explained: explained.length},
    judge,
    rouge,
  })
  return {
    pair_id: pair.files.id,
    status: 'ok',
    split,
    script_file: scriptFile,
    losses: {...losses, total: totalLoss(losses, weights)},
    details: {
      asked_words: values.target_words,
      generated_words: generatedWords,
      generated_seconds: generatedSeconds,
      duration_source: audioFile ? 'audio' : 'words',
      ...(audioFile ? {audio_file: audioFile} : {}),
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
      judge: {
        engagement: judge.engagement,
        clarity: judge.clarity,
        accuracy: judge.accuracy,
        weakest_dimension_reason: judge.weakest_dimension_reason,
      },
      rouge: {rouge1: rouge.rouge1.fmeasure, rouge2: rouge.rouge2.fmeasure, rougeL: rouge.rougeL.fmeasure},
    },
  }
}
