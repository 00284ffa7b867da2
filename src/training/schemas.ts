/**
 * Every file studio writes or reads, and every structured answer it expects from a
 * language model, is described once here. Types come from `z.infer`; files are
 * validated with the same schema when read back (see store.ts).
 */
import {z} from 'zod'

export const SEGMENT_LABELS = ['intro', 'background', 'method', 'findings', 'discussion', 'outro'] as const
export const SegmentLabel = z.enum(SEGMENT_LABELS)
export type SegmentLabel = z.infer<typeof SegmentLabel>

const seconds = z.number().finite().nonnegative()
const unit = z.number().finite().min(0).max(1)

// ---------------------------------------------------------------- transcripts

export const TranscriptSegment = z.object({
  start: seconds,
  end: seconds,
  speaker: z.string().min(1).nullable(),
  text: z.string(),
})
export type TranscriptSegment = z.infer<typeof TranscriptSegment>

/** The project's own transcript format, also accepted as an `x.transcript.json` sidecar. */
export const TranscriptFile = z.object({
  version: z.literal(1),
  duration_seconds: seconds.optional(),
  segments: z.array(
    z.object({
      start: seconds,
      end: seconds,
      speaker: z.string().min(1).nullable().optional(),
      text: z.string(),
    }),
  ),
})
export type TranscriptFile = z.infer<typeof TranscriptFile>

export const TranscriptSource = z.enum(['sidecar-vtt', 'sidecar-srt', 'sidecar-json', 'mock', 'whisper'])
export type TranscriptSource = z.infer<typeof TranscriptSource>

export const Transcript = z.object({
  source: TranscriptSource,
  duration_seconds: seconds,
  segments: z.array(TranscriptSegment),
})
export type Transcript = z.infer<typeof Transcript>

// ------------------------------------------------------------------ discovery

export const SidecarFormat = z.enum(['vtt', 'srt', 'json'])
export type SidecarFormat = z.infer<typeof SidecarFormat>

/** Episode file formats, by extension without the dot (lower case). */
export const EpisodeFormat = z.enum(['mp3', 'm4a', 'ogg', 'wav'])
export type EpisodeFormat = z.infer<typeof EpisodeFormat>

export const PairFiles = z.object({
  id: z.string().min(1),
  /** Folder of the pair relative to the pairs root ('' for the root itself). */
  folder: z.string(),
  /** The paper file, whatever its format (the name is kept for the published list-pairs JSON). */
  pdf: z.string(),
  /** The episode file, whatever its format. */
  mp3: z.string(),
  /** PaperFormat is declared further down (with PaperInfo): lazy, so it is read after it exists. */
  paper_format: z.lazy(() => PaperFormat),
  episode_format: EpisodeFormat,
  sidecar: z.object({path: z.string(), format: SidecarFormat}).nullable(),
})
export type PairFiles = z.infer<typeof PairFiles>

export const Orphan = z.object({path: z.string(), reason: z.string()})
export type Orphan = z.infer<typeof Orphan>

export const PairListing = z.object({
  id: z.string(),
  /** The paper file, whatever its format (see paper_format). */
  pdf: z.string(),
  /** The episode file, whatever its format (see episode_format). */
  mp3: z.string(),
  paper_format: z.lazy(() => PaperFormat),
  episode_format: EpisodeFormat,
  pages: z.number().int().nonnegative().nullable(),
  words: z.number().int().nonnegative().nullable(),
  duration_seconds: seconds.nullable(),
  transcript_source: z.enum(['sidecar-vtt', 'sidecar-srt', 'sidecar-json', 'transcribe']),
  sidecar: z.string().nullable(),
  problems: z.array(z.string()),
})
export type PairListing = z.infer<typeof PairListing>

export const PairsListing = z.object({
  root: z.string(),
  pairs: z.array(PairListing),
  orphans: z.array(Orphan),
})
export type PairsListing = z.infer<typeof PairsListing>

// ---------------------------------------------------------------------- usage

export const ROLES = ['classify', 'concepts', 'generate', 'judge', 'refine'] as const
export const Role = z.enum(ROLES)
/** What usage is counted by: the language-model roles, transcription and speech. */
export const USAGE_ROLES = [...ROLES, 'transcribe', 'speech'] as const
export const UsageRole = z.enum(USAGE_ROLES)
export type UsageRole = z.infer<typeof UsageRole>

/** Calls and tokens of one role (or all); cost is null when a model's price is unknown. */
export const RoleUsage = z.object({
  calls: z.number().int().nonnegative(),
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().finite().nonnegative().nullable(),
  /** Transcription: seconds of audio sent (present when non-zero). */
  audio_seconds: z.number().finite().nonnegative().optional(),
  /** Speech: characters synthesised (present when non-zero). */
  characters: z.number().int().nonnegative().optional(),
})
export type RoleUsage = z.infer<typeof RoleUsage>

export const UsageSummary = z.object({
  by_role: z.partialRecord(UsageRole, RoleUsage),
  total: RoleUsage,
})
export type UsageSummary = z.infer<typeof UsageSummary>

// ------------------------------------------------------------------- analysis

export const LabelledSegment = TranscriptSegment.extend({
  label: SegmentLabel,
  words: z.number().int().nonnegative(),
})
export type LabelledSegment = z.infer<typeof LabelledSegment>

export const LabelShares = z.partialRecord(SegmentLabel, unit)
export type LabelShares = z.infer<typeof LabelShares>

export const StructureProfile = z.object({
  /** Label sequence in episode order, consecutive repeats collapsed. */
  sequence: z.array(SegmentLabel),
  /** Share of episode time per label (sums to 1 when the episode has time). */
  time_shares: LabelShares,
  /** Share of spoken words per label; what the structure loss compares. */
  word_shares: LabelShares,
})
export type StructureProfile = z.infer<typeof StructureProfile>

export const StyleProfile = z.object({
  words: z.number().int().nonnegative(),
  duration_seconds: seconds,
  words_per_minute: z.number().finite().nonnegative(),
  mean_sentence_words: z.number().finite().nonnegative(),
  questions_per_minute: z.number().finite().nonnegative(),
  speaker_turns: z.number().int().nonnegative(),
  turns_per_minute: z.number().finite().nonnegative(),
  speakers: z.array(z.string()),
})
export type StyleProfile = z.infer<typeof StyleProfile>

export const KeyConcept = z.object({
  term: z.string().min(1),
  /** Relative importance in (0, 1]; the first concept of a paper has weight 1. */
  weight: z.number().finite().positive().max(1),
})
export type KeyConcept = z.infer<typeof KeyConcept>

/** File formats a paper may come in (by extension: .pdf, .docx, .txt, .md). */
export const PAPER_FORMATS = ['pdf', 'docx', 'txt', 'md'] as const
export const PaperFormat = z.enum(PAPER_FORMATS)
export type PaperFormat = z.infer<typeof PaperFormat>

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

// --------------------------------------------------------------------- prompt

/** Trial 0's analogy directive; also what a prompt saved before the field existed reads as. */
export const DEFAULT_ANALOGIES = 'one everyday analogy for each idea a listener could not picture, never in place of the precise statement'

export const PromptSpec = z.object({
  version: z.literal(1),
  target_words: z.number().int().positive(),
  segment_plan: z.array(z.object({label: SegmentLabel, share: unit})).min(1),
  speakers: z.array(z.object({name: z.string().min(1), role: z.string().min(1)})).min(1),
  style: z.object({
    /** Reference speaking pace: converts the word target and question rate into time. */
    words_per_minute: z.number().finite().positive(),
    questions_per_minute: z.number().finite().nonnegative(),
    mean_sentence_words: z.number().finite().positive(),
    tone: z.string(),
    /** How the script should use analogies: a directive the LLM refiner may rewrite. */
    analogies: z.string().default(DEFAULT_ANALOGIES),
  }),
  /** How many of the paper's key concepts (by importance) every script must explain. */
  must_cover_concepts: z.number().int().nonnegative(),
  instructions: z.array(z.string()),
})
export type PromptSpec = z.infer<typeof PromptSpec>

// ------------------------------------------------- structured model answers

/** Answer of the refine role: the next prompt, and why it changed what it changed. */
export const RefineAnswer = z.object({
  prompt: PromptSpec,
  changes: z.array(z.string()).describe('Each change made, in words, with the evidence behind it'),
})
export type RefineAnswer = z.infer<typeof RefineAnswer>

/** Answer of the classify role: one label per numbered transcript segment. */
export const SegmentLabelsAnswer = z.object({
  labels: z.array(z.object({index: z.number().int().nonnegative(), label: SegmentLabel})),
})
export type SegmentLabelsAnswer = z.infer<typeof SegmentLabelsAnswer>

/** Answer of the concepts role. */
export const KeyConceptsAnswer = z.object({
  concepts: z.array(z.object({term: z.string().min(1), importance: z.number().finite().min(0).max(1)})),
})
export type KeyConceptsAnswer = z.infer<typeof KeyConceptsAnswer>

/** Answer of the generate role: a typed script, validated before it is scored. */
export const ScriptAnswer = z.object({
  segments: z
    .array(
      z.object({
        label: SegmentLabel,
        lines: z.array(z.object({speaker: z.string().min(1), text: z.string().min(1)})).min(1),
      }),
    )
    .min(1),
})
export type Script = z.infer<typeof ScriptAnswer>

const score = z.number().finite().min(0).max(100)
/** Answer of the judge role: one call scores coverage and quality together. */
export const JudgeAnswer = z.object({
  concepts_explained: z.array(z.string()),
  engagement: score,
  clarity: score,
  accuracy: score,
  weakest_dimension_reason: z.string(),
})
export type JudgeAnswer = z.infer<typeof JudgeAnswer>

// --------------------------------------------------------------------- losses

const LossValue = unit
export const LossBreakdown = z.object({
  duration: LossValue,
  coverage: LossValue,
  structure: LossValue,
  quality: LossValue,
  rouge: LossValue,
  total: LossValue,
})
export type LossBreakdown = z.infer<typeof LossBreakdown>

export const Weights = z.object({
  duration: z.number().finite().nonnegative(),
  coverage: z.number().finite().nonnegative(),
  structure: z.number().finite().nonnegative(),
  quality: z.number().finite().nonnegative(),
  rouge: z.number().finite().nonnegative(),
})

export const Split = z.enum(['train', 'validation'])
export type Split = z.infer<typeof Split>

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
    judge: z.object({engagement: score, clarity: score, accuracy: score, weakest_dimension_reason: z.string()}),
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

export const TrialPromptFile = z.object({
  index: z.number().int().nonnegative(),
  sha256: z.string(),
  prompt: PromptSpec,
  /** What the refiner changed to produce this prompt from the previous trial's. */
  changes: z.array(z.string()),
  rendered: z.object({system: z.string(), user_template: z.string()}),
  /** Calls the refiner made to produce this prompt (none for trial 0 and the rule-based refiner). */
  usage: UsageSummary,
})
export type TrialPromptFile = z.infer<typeof TrialPromptFile>

// ------------------------------------------------------------- run and report

export const StopReason = z.enum(['max_trials', 'converged', 'budget'])
export type StopReason = z.infer<typeof StopReason>

/** A pair left out of the run; `provider` is set when a provider failed on it (not the files). */
export const SkippedPair = z.object({
  id: z.string(),
  reason: z.string(),
  provider: z.string().optional(),
  /** What the pair's ingest had cost before it failed (calls already paid for); absent when nothing. */
  usage: UsageSummary.optional(),
})
export type SkippedPair = z.infer<typeof SkippedPair>

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
  refiner: z.enum(['rule-based', 'rule-based+llm']),
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
})
export type RunConfig = z.infer<typeof RunConfig>

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

export const TrainingReport = z.object({
  run_id: z.string(),
  stop_reason: StopReason,
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
    /** The loss the best trial was chosen by: validation when there are validation pairs. */
    selected_by: Split,
    mean_losses: LossBreakdown,
    validation_mean_losses: LossBreakdown.nullable(),
    prompt: PromptSpec,
  }),
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

// --------------------------------------------------------------------- events

export const Phase = z.enum(['discover', 'ingest', 'analyse', 'trials', 'report'])
export type Phase = z.infer<typeof Phase>

/**
 * One line of <run-dir>/events.jsonl, appended as it happens so that another
 * terminal (or `studio training status`) can follow a run.
 */
export const RunEvent = z.discriminatedUnion('type', [
  z.object({type: z.literal('phase'), time: z.string(), phase: Phase, message: z.string()}),
  z.object({
    type: z.literal('progress'),
    time: z.string(),
    phase: Phase,
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    message: z.string(),
    trial: z.number().int().nonnegative().optional(),
    pair: z.string().optional(),
  }),
  z.object({type: z.literal('warning'), time: z.string(), message: z.string()}),
  z.object({type: z.literal('pair-skipped'), time: z.string(), pair: z.string(), reason: z.string(), usage: UsageSummary.optional()}),
  z.object({type: z.literal('pair-analysed'), time: z.string(), pair: z.string(), usage: UsageSummary}),
  z.object({
    type: z.literal('pair-scored'),
    time: z.string(),
    trial: z.number().int().nonnegative(),
    pair: z.string(),
    losses: LossBreakdown,
    usage: UsageSummary,
  }),
  z.object({
    type: z.literal('trial-finished'),
    time: z.string(),
    trial: z.number().int().nonnegative(),
    mean_losses: LossBreakdown,
    changes: z.array(z.string()),
    usage: UsageSummary,
  }),
  z.object({
    type: z.literal('run-finished'),
    time: z.string(),
    stop_reason: StopReason,
    best_trial: z.number().int().nonnegative(),
    usage: UsageSummary,
  }),
  z.object({type: z.literal('pair-failed'), time: z.string(), trial: z.number().int().nonnegative(), pair: z.string(), reason: z.string()}),
  z.object({type: z.literal('run-failed'), time: z.string(), message: z.string()}),
  z.object({type: z.literal('run-interrupted'), time: z.string()}),
  z.object({type: z.literal('run-resumed'), time: z.string(), pid: z.number().int()}),
])
export type RunEvent = z.infer<typeof RunEvent>

// ------------------------------------------------------------------- registry

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
      best_train_loss: unit.nullable(),
      best_validation_loss: unit.nullable(),
      stop_reason: StopReason.nullable(),
      calibrated_prompt: z.string().nullable(),
    }),
  ),
})
export type Registry = z.infer<typeof Registry>
