/**
 * The files of `studio training export-dataset`: one example per pair of a finished run
 * (examples.jsonl, training.parquet), the chat fine-tuning lines, and the summary the
 * command prints under --json. schema.json is z.toJSONSchema of DatasetExample, so the
 * schema a user validates against is the one studio validates with.
 */
import {z} from 'zod'

import {KeyConcept, LossBreakdown, SegmentLabel, seconds, Split, StructureProfile, StyleProfile, TranscriptSource} from './common.js'

/**
 * Tokens one fine-tuning example may hold: the training context of gpt-4o-mini-2024-07-18
 * (and gpt-4o-2024-08-06) in OpenAI's fine-tuning guide; longer examples are truncated.
 */
export const DEFAULT_MAX_TOKENS = 65_536
/** OpenAI's fine-tuning refuses a training file with fewer examples. */
export const FINE_TUNING_MIN_EXAMPLES = 10
/** Any example is a dataset; --min-examples raises the bar. */
export const DEFAULT_MIN_EXAMPLES = 1

/** One line of the human episode, as a script line; null speaker where the transcript names none (e.g. Whisper). */
export const DatasetLine = z.object({speaker: z.string().min(1).nullable(), text: z.string().min(1)})
export type DatasetLine = z.infer<typeof DatasetLine>

/** Consecutive transcript segments with the same label, as one script segment. */
export const DatasetSegment = z.object({
  label: SegmentLabel,
  start: seconds,
  end: seconds,
  lines: z.array(DatasetLine).min(1),
})
export type DatasetSegment = z.infer<typeof DatasetSegment>

export const DatasetExample = z.object({
  /** What a model is given: the paper and the calibrated prompt, filled in exactly as studio generate fills it. */
  input: z.object({
    title: z.string(),
    key_concepts: z.array(KeyConcept),
    /** The paper's body as the generator saw it: condensed when it exceeded the generate budget. */
    paper_text: z.string(),
    paper_condensed: z.boolean(),
    /** sha256 of the paper's whole body text: the same paper under two pair ids has the same hash. */
    paper_text_sha256: z.string(),
    /** The calibrated prompt's system message, its length placeholders filled for this paper. */
    system_prompt: z.string(),
    /** The calibrated prompt's user message: title, key concepts and paper filled in. */
    user_prompt: z.string(),
    /** Words the calibrated prompt asks of this paper's script. */
    target_words: z.number().int().positive(),
  }),
  /** What a model should write: the human episode's transcript as a script. */
  target: z.object({
    segments: z.array(DatasetSegment),
    /** The same as text: a "[label]" heading per segment, one "Speaker: text" line per turn ("text" alone without a speaker). */
    text: z.string(),
    words: z.number().int().nonnegative(),
    speakers: z.array(z.string()),
  }),
  metadata: z.object({
    pair_id: z.string(),
    split: Split,
    run_id: z.string(),
    paper_words: z.number().int().nonnegative(),
    episode_seconds: seconds,
    transcript_source: TranscriptSource,
    structure: StructureProfile,
    style: StyleProfile,
    best_trial: z.object({
      index: z.number().int().nonnegative(),
      /** This pair's losses in the best trial; null when a provider failed on it in that trial. */
      losses: LossBreakdown.nullable(),
      /** The script the best trial wrote for this paper, relative to the run folder; null as above. */
      script_file: z.string().nullable(),
      generated_seconds: seconds.nullable(),
    }),
  }),
})
export type DatasetExample = z.infer<typeof DatasetExample>

/** One line of the chat fine-tuning files, in the OpenAI fine-tuning format. */
export const ChatExample = z.object({
  messages: z.tuple([
    z.object({role: z.literal('system'), content: z.string().min(1)}),
    z.object({role: z.literal('user'), content: z.string().min(1)}),
    z.object({role: z.literal('assistant'), content: z.string().min(1)}),
  ]),
})
export type ChatExample = z.infer<typeof ChatExample>

const Stats = z.object({
  min: z.number().finite(),
  median: z.number().finite(),
  mean: z.number().finite(),
  max: z.number().finite(),
})

/** What export-dataset prints under --json, and what dataset_summary.md says in words. */
export const DatasetSummary = z.object({
  run_id: z.string(),
  run_dir: z.string(),
  /** The export folder, absolute. */
  out: z.string(),
  examples: z.number().int().nonnegative(),
  splits: z.object({train: z.number().int().nonnegative(), validation: z.number().int().nonnegative()}),
  /** Names of the files written, relative to `out`; chat_validation is null without validation pairs. */
  files: z.object({
    examples: z.string(),
    parquet: z.string(),
    schema: z.string(),
    summary: z.string(),
    chat_train: z.string(),
    chat_validation: z.string().nullable(),
  }),
  /** Per example, null without examples. */
  lengths: z.object({
    paper_words: Stats.nullable(),
    target_words: Stats.nullable(),
    episode_seconds: Stats.nullable(),
    /** Estimated tokens of each chat fine-tuning line (messages and their overhead). */
    chat_tokens: Stats.nullable(),
  }),
  /** Segments and words of the targets per label, and each label's share of all target words. */
  labels: z.array(
    z.object({label: SegmentLabel, segments: z.number().int().nonnegative(), words: z.number().int().nonnegative(), share: z.number()}),
  ),
  checks: z.object({min_examples: z.number().int().nonnegative(), max_tokens: z.number().int().positive()}),
  warnings: z.array(z.string()),
})
export type DatasetSummary = z.infer<typeof DatasetSummary>
