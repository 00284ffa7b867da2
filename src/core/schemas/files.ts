/**
 * Every file studio writes into a run folder (and the output folder's registry),
 * validated before it is written and when it is read back (core/store.ts).
 * The run folder's layout, the names of these files, is core/layout.ts.
 */
import {z} from 'zod'

import type {VerdictMeasure} from '../../loss/verdict.js'

import {
  judgeScore,
  KeyConcept,
  LabelledSegment,
  LengthModel,
  MockWriter,
  LabelShares,
  LossBreakdown,
  PaperFormat,
  PromptSpec,
  RefinerMode,
  SegmentLabel,
  seconds,
  Split,
  StopReason,
  StructureProfile,
  StyleProfile,
  TranscriptSource,
  unit,
  UsageSummary,
  Weights,
} from './common.js'

export const PaperInfo = z.object({
  path: z.string(),
  /** Pages of a PDF; for other formats an estimate, ceil(words / 500). */
  pages: z.number().int().nonnegative(),
  words: z.number().int().nonnegative(),
  sha256: z.string(),
  /** Absent in analyses written before other formats were accepted, which were all PDFs. */
  format: PaperFormat.default('pdf'),
})
export type PaperInfo = z.infer<typeof PaperInfo>

/** Set when the paper exceeded a role's token budget; null when it fitted everywhere. */
export const LongPaper = z.object({
  /** Approximate tokens of the paper body (characters / 4). */
  paper_tokens: z.number().int().nonnegative(),
  /** Overlapping chunks the key concepts were extracted from (1: the whole body at once). */
  concepts_chunks: z.number().int().positive(),
  /** Whether generation receives a condensed body rather than the full one. */
  condensed_for_generation: z.boolean(),
})
export type LongPaper = z.infer<typeof LongPaper>

export const PairAnalysis = z.object({
  pair_id: z.string(),
  paper: PaperInfo,
  episode: z.object({path: z.string(), duration_seconds: seconds, sha256: z.string()}),
  transcript_source: TranscriptSource,
  concepts: z.array(KeyConcept),
  segments: z.array(LabelledSegment),
  structure: StructureProfile,
  style: StyleProfile,
  /** Absent in analyses written before long papers were handled: read as null. */
  long_paper: LongPaper.nullable().default(null),
  /** Calls made to analyse this pair (labels and key concepts); none recorded reads as zero. */
  usage: UsageSummary.default({by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}}),
})
export type PairAnalysis = z.infer<typeof PairAnalysis>

export const AggregateProfile = z.object({
  pairs: z.number().int().positive(),
  /** The most representative reference sequence (smallest summed edit distance to the others). */
  sequence: z.array(SegmentLabel),
  word_shares: LabelShares,
  time_shares: LabelShares,
  duration_seconds: seconds,
  words: z.number().finite().nonnegative(),
  words_per_minute: z.number().finite().nonnegative(),
  mean_sentence_words: z.number().finite().nonnegative(),
  questions_per_minute: z.number().finite().nonnegative(),
  turns_per_minute: z.number().finite().nonnegative(),
  speakers: z.array(z.string()),
})
export type AggregateProfile = z.infer<typeof AggregateProfile>

/** A pair a provider failed on in a trial, after retries: recorded, and the run goes on. */
export const FailedPair = z.object({
  pair_id: z.string(),
  split: Split,
  reason: z.string(),
  /** The calls made for it before the failure (they were paid for). */
  usage: UsageSummary.default({by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}}),
})
export type FailedPair = z.infer<typeof FailedPair>

export const PairTrialResult = z.object({
  pair_id: z.string(),
  status: z.literal('ok'),
  /** Validation pairs are scored like the others but never shown to the refiner. */
  split: Split,
  script_file: z.string(),
  losses: LossBreakdown,
  details: z.object({
    /** Words the prompt asked of this paper's script; absent in results written before lengths were per paper. */
    asked_words: z.number().int().positive().optional(),
    generated_words: z.number().int().nonnegative(),
    generated_seconds: seconds,
    /** words: generated words at the reference's pace; audio: the measured length of <pair-id>_audio.mp3 (--tts). */
    duration_source: z.enum(['words', 'audio']).default('words'),
    audio_file: z.string().optional(),
    reference_seconds: seconds,
    reference_words_per_minute: z.number().finite().nonnegative(),
    concepts_total: z.number().int().nonnegative(),
    concepts_explained: z.array(z.string()),
    concepts_missed: z.array(z.string()),
    generated_sequence: z.array(SegmentLabel),
    reference_sequence: z.array(SegmentLabel),
    generated_word_shares: LabelShares,
    generated_questions_per_minute: z.number().finite().nonnegative(),
    generated_mean_sentence_words: z.number().finite().nonnegative(),
    judge: z.object({engagement: judgeScore, clarity: judgeScore, accuracy: judgeScore, weakest_dimension_reason: z.string()}),
    rouge: z.object({rouge1: unit, rouge2: unit, rougeL: unit}),
  }),
  /** Generation and judging calls for this pair in this trial. */
  usage: UsageSummary,
})
export type PairTrialResult = z.infer<typeof PairTrialResult>

export const TrialResults = z.object({
  index: z.number().int().nonnegative(),
  dir: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  prompt_sha256: z.string(),
  /** Means over the training pairs. */
  mean_losses: LossBreakdown,
  /** Means over the validation pairs; null without a holdout. */
  validation_mean_losses: LossBreakdown.nullable(),
  pairs: z.array(PairTrialResult),
  /** Pairs whose provider calls failed for good in this trial; the means leave them out. */
  failed: z.array(FailedPair).default([]),
  /** Generation and judging calls of this trial. */
  usage: UsageSummary,
})
export type TrialResults = z.infer<typeof TrialResults>

/** The prompt knobs the optimiser probes for judged quality (they have no reference target of their own). */
export const QUALITY_KNOBS = ['questions_per_minute', 'mean_sentence_words'] as const
export const QualityKnob = z.enum(QUALITY_KNOBS)
export type QualityKnob = z.infer<typeof QualityKnob>

/** What the optimiser did to make a trial's prompt: read back to continue its search (training/optimise/step.ts). */
export const OptimiserStep = z.object({
  /** The trial whose prompt this one was made from: the best so far by the selection loss. */
  base_trial: z.number().int().nonnegative(),
  /** A quality probe: one knob moved by a relative step in one direction; null when none was made. */
  probe: z
    .object({
      knob: QualityKnob,
      direction: z.union([z.literal(1), z.literal(-1)]),
      size: z.number().finite().positive(),
    })
    .nullable(),
  /** Whether the length rule changed (to detect an overshoot and halve the next length step). */
  length_changed: z.boolean(),
})
export type OptimiserStep = z.infer<typeof OptimiserStep>

export const TrialPromptFile = z.object({
  index: z.number().int().nonnegative(),
  sha256: z.string(),
  prompt: PromptSpec,
  /** What the refiner changed to produce this prompt from the previous trial's. */
  changes: z.array(z.string()),
  rendered: z.object({system: z.string(), user_template: z.string()}),
  /** Calls the refiner made to produce this prompt (none for trial 0 and the rule-based refiner). */
  usage: UsageSummary,
  /** How the optimiser made this prompt; null for trial 0 and prompts written before it recorded its steps. */
  step: OptimiserStep.nullable().default(null),
})
export type TrialPromptFile = z.infer<typeof TrialPromptFile>

/** A pair left out of the run; `provider` is set when a provider failed on it (not the files). */
export const SkippedPair = z.object({
  id: z.string(),
  reason: z.string(),
  /** The fix for `reason` (the error's hint, as TRAINING.md gives it); absent when there is none. */
  hint: z.string().optional(),
  provider: z.string().optional(),
  /** What the pair's ingest had cost before it failed (calls already paid for); absent when nothing. */
  usage: UsageSummary.optional(),
})
export type SkippedPair = z.infer<typeof SkippedPair>

/** The most trials a run may ask for: far beyond where runs converge, and a bound that keeps mistakes (1e20) out. */
export const MAX_TRIALS = 1000

export const RunConfig = z.object({
  pairs_dir: z.string(),
  output_dir: z.string(),
  max_trials: z.number().int().positive(),
  mock: z.boolean(),
  seed: z.number().int(),
  weights: Weights,
  window: z.number().int().positive(),
  threshold: z.number().finite().nonnegative(),
  concurrency: z.number().int().positive(),
  /** --holdout N, or --holdout-ids; at most one is set. */
  holdout: z.number().int().positive().nullable(),
  holdout_ids: z.array(z.string()).nullable(),
  refiner: RefinerMode,
  /** Provider and model per role (real mode); null in mock mode. */
  providers: z
    .record(
      z.string(),
      z.object({
        provider: z.string(),
        model: z.string(),
        base_url: z.string().optional(),
        structured_output: z.enum(['output-format', 'tool']).optional(),
      }),
    )
    .nullable()
    .default(null),
  /** --max-cost: the run stops (stop_reason budget) before spending more. */
  max_cost_usd: z.number().finite().positive().nullable().default(null),
  /** --tts: audio per script, and the duration loss on its measured length. */
  tts: z.boolean().default(false),
  /** --from: the earlier run whose best prompt trial 0 starts from and whose trials are evidence of the writer. */
  from_run: z.string().nullable().default(null),
  /**
   * --mock-writer: the mock's simulated writer, `identity` or the seed of its personality
   * (the run's seed unless given); null in real mode. Runs written before it existed read
   * as null, and resume with the writer of their seed.
   */
  mock_writer: MockWriter.nullable().default(null),
  /** --batch: model calls go through the providers' batch APIs (half the price, up to 24 hours). Runs from before it read as false. */
  batch: z.boolean().default(false),
})
export type RunConfig = z.infer<typeof RunConfig>

/** One batch a phase submitted, as batches/<phase>.json records it before it is polled. */
export const BatchRecord = z.object({
  /** The provider's batch id (msgbatch_..., batch_...). */
  id: z.string().min(1),
  /** The batch client (vendor and server) and the group (one model) the batch holds. */
  client: z.string(),
  group: z.string(),
  submitted_at: z.string(),
  /** custom_id -> the unit that asked (a pair id, or the refinement) and the request's cache hash. */
  requests: z.record(z.string(), z.object({unit: z.string(), request_sha256: z.string()})),
  /** When its results were read; null while pending. */
  ended_at: z.string().nullable().default(null),
})
export type BatchRecord = z.infer<typeof BatchRecord>

export const BatchesFile = z.object({
  phase: z.string(),
  batches: z.array(BatchRecord),
})
export type BatchesFile = z.infer<typeof BatchesFile>

export const RunManifest = z.object({
  run_id: z.string(),
  status: z.enum(['running', 'finished', 'failed', 'interrupted']),
  /** Process and machine of the run, so that `status` can tell a live run from a dead one. */
  pid: z.number().int().positive(),
  host: z.string(),
  tool_version: z.string(),
  node_version: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  seed: z.number().int(),
  config: RunConfig,
  /** sha256 of the settings that decide the results (not output_dir, not concurrency). */
  config_sha256: z.string(),
  /** When the run was continued with --resume. */
  resumed_at: z.array(z.string()),
  providers: z.object({transcriber: z.string(), language_model: z.string()}),
  pairs: z.array(z.object({id: z.string(), pdf: z.string(), mp3: z.string(), transcript_source: TranscriptSource})),
  skipped: z.array(SkippedPair),
  /** Pairs held out of refinement, chosen once the usable pairs are known. */
  validation_pairs: z.array(z.string()),
  error: z.string().nullable(),
})
export type RunManifest = z.infer<typeof RunManifest>

/**
 * run.lock: the process working on a run folder. Created when a run starts or resumes,
 * removed when it ends; a second process finds it and refuses (core/run-lock.ts).
 */
export const RunLock = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  /** When the lock was taken (ISO 8601). */
  since: z.string(),
  /** Tells this process's lock from a later holder's (the same pid on another boot). */
  token: z.string(),
})
export type RunLock = z.infer<typeof RunLock>

/**
 * Which loss chose the best trial (loss/selection.ts): the training pairs', the validation
 * pairs', or all scored pairs pooled (1 or 2 validation pairs). Files written before
 * "pooled" existed hold one of the other two and still read.
 */
export const SelectedBy = z.enum(['train', 'validation', 'pooled'])
export type SelectedBy = z.infer<typeof SelectedBy>

/** The best trial against the thresholds of excellent training (loss/verdict.ts). */
export const Verdict = z.object({
  excellent: z.boolean(),
  /** "excellent", or "not yet: " and the measures that miss their threshold ("not yet: coverage, ROUGE-1"). */
  summary: z.string(),
  /** The pairs measured: those the best trial was chosen by. */
  split: SelectedBy,
  pairs: z.number().int().nonnegative(),
  checks: z.array(
    z.object({
      measure: z.enum(['coverage', 'quality', 'rouge1'] as const satisfies readonly VerdictMeasure[]),
      title: z.string(),
      value: z.number().finite(),
      threshold: z.number().finite(),
      met: z.boolean(),
      text: z.string(),
    }),
  ),
})
export type Verdict = z.infer<typeof Verdict>

export const TrainingReport = z.object({
  run_id: z.string(),
  stop_reason: StopReason,
  /** Why the optimiser stopped (stop_reason exhausted), in words; null otherwise. */
  stop_detail: z.string().nullable().default(null),
  /** The length model fitted on the training pairs (what each paper is asked for); null in reports written before it existed. */
  length_model: LengthModel.nullable().default(null),
  /** --from: the run trial 0 started from; null otherwise. */
  from_run: z.string().nullable().default(null),
  weights: Weights,
  seed: z.number().int(),
  pairs: z.array(z.string()),
  skipped_pairs: z.array(SkippedPair),
  /** Pairs that failed in some trial (a provider error after retries), by trial. */
  failed_pairs: z.array(z.object({trial: z.number().int().nonnegative(), pair_id: z.string(), reason: z.string()})).default([]),
  trials: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      dir: z.string(),
      prompt_sha256: z.string(),
      mean_losses: LossBreakdown,
      validation_mean_losses: LossBreakdown.nullable(),
      pairs: z.array(z.object({pair_id: z.string(), split: Split, losses: LossBreakdown})),
    }),
  ),
  best_trial: z.object({
    index: z.number().int().nonnegative(),
    dir: z.string(),
    /** The loss the best trial was chosen by (loss/selection.ts). */
    selected_by: SelectedBy,
    /** That rule as one sentence; null in reports written before it was recorded. */
    selection_rule: z.string().nullable().default(null),
    mean_losses: LossBreakdown,
    validation_mean_losses: LossBreakdown.nullable(),
    prompt: PromptSpec,
  }),
  /** The best trial against the thresholds of excellent training; null in reports written before the verdict existed. */
  verdict: Verdict.nullable().default(null),
  /** Mean total training loss per trial. */
  loss_progression: z.array(unit),
  /** Mean total validation loss per trial; null without a holdout. */
  validation_progression: z.array(unit).nullable(),
  validation_pairs: z.array(z.string()),
  /** The best trial's prompt as text to paste into any chat, relative to the run folder. */
  calibrated_prompt: z.string(),
  usage: UsageSummary,
  started_at: z.string(),
  finished_at: z.string(),
})
export type TrainingReport = z.infer<typeof TrainingReport>

/** <output-dir>/registry.json: every run in the folder, rebuilt from the run folders. */
export const Registry = z.object({
  version: z.literal(1),
  runs: z.array(
    z.object({
      run_id: z.string(),
      path: z.string(),
      started_at: z.string(),
      finished_at: z.string().nullable(),
      status: z.enum(['running', 'finished', 'failed', 'interrupted']),
      pairs: z.number().int().nonnegative(),
      validation_pairs: z.number().int().nonnegative(),
      config_sha256: z.string(),
      best_trial: z.number().int().nonnegative().nullable(),
      /** Which loss chose the best trial (loss/selection.ts), and its value. */
      selected_by: SelectedBy.nullable().default(null),
      best_loss: unit.nullable().default(null),
      best_train_loss: unit.nullable(),
      best_validation_loss: unit.nullable(),
      stop_reason: StopReason.nullable(),
      calibrated_prompt: z.string().nullable(),
    }),
  ),
  /** Run folders whose run.json is missing or cannot be read: listed with the reason, never left out silently. */
  damaged: z.array(z.object({run_id: z.string(), path: z.string(), reason: z.string()})).default([]),
})
export type Registry = z.infer<typeof Registry>
