/**
 * The vocabulary the other schemas share: segment labels, transcripts, profiles,
 * usage, losses and the prompt. Types come from `z.infer`; every file and answer
 * schema is built from these.
 */
import {z} from 'zod'

import type {LossName} from '../../loss/registry.js'
import {LOSS_NAMES} from '../../loss/weights.js'

export const SEGMENT_LABELS = ['intro', 'background', 'method', 'findings', 'discussion', 'outro'] as const
export const SegmentLabel = z.enum(SEGMENT_LABELS)
export type SegmentLabel = z.infer<typeof SegmentLabel>

/** A time in seconds. */
export const seconds = z.number().finite().nonnegative()
/** A share or a loss: a number in [0, 1]. */
export const unit = z.number().finite().min(0).max(1)

export const TranscriptSegment = z.object({
  start: seconds,
  end: seconds,
  speaker: z.string().min(1).nullable(),
  text: z.string(),
})
export type TranscriptSegment = z.infer<typeof TranscriptSegment>

export const TranscriptSource = z.enum(['sidecar-vtt', 'sidecar-srt', 'sidecar-json', 'mock', 'whisper'])
export type TranscriptSource = z.infer<typeof TranscriptSource>

export const Transcript = z.object({
  source: TranscriptSource,
  duration_seconds: seconds,
  segments: z.array(TranscriptSegment),
})
export type Transcript = z.infer<typeof Transcript>

export const SidecarFormat = z.enum(['vtt', 'srt', 'json'])
export type SidecarFormat = z.infer<typeof SidecarFormat>

/** Episode file formats, by extension without the dot (lower case). */
export const EpisodeFormat = z.enum(['mp3', 'm4a', 'ogg', 'wav'])
export type EpisodeFormat = z.infer<typeof EpisodeFormat>

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
  /** Of input_tokens: written to Anthropic's prompt cache (1.25x the input price; 2x for the part written for an hour), present when non-zero. */
  cache_write_tokens: z.number().int().nonnegative().optional(),
  cache_write_1h_tokens: z.number().int().nonnegative().optional(),
  /** Of input_tokens: read from the prompt cache (0.1x the input price), present when non-zero. */
  cache_read_tokens: z.number().int().nonnegative().optional(),
})
export type RoleUsage = z.infer<typeof RoleUsage>

export const UsageSummary = z.object({
  by_role: z.partialRecord(UsageRole, RoleUsage),
  total: RoleUsage,
})
export type UsageSummary = z.infer<typeof UsageSummary>

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

/** Trial 0's analogy directive; also what a prompt saved before the field existed reads as. */
export const DEFAULT_ANALOGIES = 'one everyday analogy for each idea a listener could not picture, never in place of the precise statement'

/**
 * How long a paper's episode should be, fitted on the training pairs: episode words as a
 * linear function of paper words when that fits, the mean otherwise (training/length-model.ts).
 */
export const LengthModel = z.object({
  /** linear: intercept + slope * paper words; mean: the training episodes' mean words for every paper. */
  kind: z.enum(['linear', 'mean']),
  intercept: z.number().finite(),
  slope: z.number().finite(),
  /** Mean words of the training episodes: the length a typical paper is asked for. */
  mean_words: z.number().finite().positive(),
  mean_paper_words: z.number().finite().nonnegative(),
  /** Predictions are kept within these (half the shortest, twice the longest training episode). */
  min_words: z.number().finite().positive(),
  max_words: z.number().finite().positive(),
  /** Coefficient of determination of the linear fit on the training pairs; null when it could not be fitted. */
  r2: z.number().finite().nullable(),
  pairs: z.number().int().nonnegative(),
  /** Why this kind was chosen, in words (the report and calibrated_prompt.md show it). */
  note: z.string(),
})
export type LengthModel = z.infer<typeof LengthModel>

/**
 * The per-paper length rule: a paper whose episode the length model predicts at P words is
 * asked for target_words * (P / model.mean_words) ^ exponent words. The exponent is the
 * inverse of how the writer's delivered length grows with the asked one (1: proportionally).
 */
export const LengthRule = z.object({
  model: LengthModel,
  exponent: z.number().finite().positive(),
})
export type LengthRule = z.infer<typeof LengthRule>

export const PromptSpec = z.object({
  version: z.literal(1),
  /** Words asked of a paper of typical length; the length rule scales it per paper. */
  target_words: z.number().int().positive(),
  /** Absent in prompts written before lengths were per paper: every paper is asked for target_words. */
  length: LengthRule.nullable().default(null),
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

/** One schema per registered loss (loss/registry.ts), keyed by its name, in registry order. */
function perLoss<T extends z.ZodType>(schema: T): Record<LossName, T> {
  return Object.fromEntries(LOSS_NAMES.map((name) => [name, schema])) as Record<LossName, T>
}

/** Every loss of a script (or the mean over pairs), and their weighted total. */
export const LossBreakdown = z.object({...perLoss(unit), total: unit})
export type LossBreakdown = z.infer<typeof LossBreakdown>

/** Normalised loss weights, as a run records them. */
export const Weights = z.object(perLoss(z.number().finite().nonnegative()))

export const Split = z.enum(['train', 'validation'])
export type Split = z.infer<typeof Split>

export const StopReason = z.enum(['max_trials', 'converged', 'budget', 'exhausted'])
export type StopReason = z.infer<typeof StopReason>

/**
 * How the next prompt is proposed: the rule-based refiner alone, or followed by the LLM
 * refiner (training/optimise/).
 */
export const REFINER_MODES = ['rule-based', 'rule-based+llm'] as const
export const RefinerMode = z.enum(REFINER_MODES)
export type RefinerMode = z.infer<typeof RefinerMode>

/**
 * Which simulated writer --mock uses (src/providers/mock/personality.ts): `identity`, which
 * does exactly what the prompt asks, or the seed a hidden personality is drawn from.
 */
export const MockWriter = z.union([z.literal('identity'), z.number().int()])
export type MockWriter = z.infer<typeof MockWriter>

/** Why a run stopped, in words: every view says it the same way. */
export const STOP_REASON_TEXT: Readonly<Record<StopReason, string>> = Object.freeze({
  max_trials: 'reached --max-trials',
  converged: 'converged',
  budget: 'stopped before going over --max-cost',
  exhausted: 'the optimiser had nothing left to try',
})

/** The top of the judge's scale: scores run from 0 to JUDGE_SCORE_MAX. */
export const JUDGE_SCORE_MAX = 100
/**
 * A judge's score of one dimension, 0 to 100, as studio stores it (results.json). The judge's
 * answer itself is not bounded (answers.ts): a score outside the scale is clamped into it, with a
 * warning, before it is stored or scored (core/answer-bounds.ts).
 */
export const judgeScore = z.number().finite().min(0).max(JUDGE_SCORE_MAX)
