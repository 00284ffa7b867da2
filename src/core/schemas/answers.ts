/**
 * Every structured answer studio expects from a language model. The same schema is
 * sent to the API as JSON Schema (providers/structured.ts) and validates the answer.
 *
 * They hold only what the code needs, and only what an API can enforce where it can:
 * types, required properties, closed objects, enums. Structured outputs do not enforce
 * numeric or length bounds (the Anthropic SDK's helper moves them into the field's
 * description; a forced tool enforces nothing), so a bound here would turn a harmless
 * out-of-range value into a corrective retry, then a lost pair. Values the code can
 * bring into range are accepted here and brought into range afterwards, with a
 * warning, by the pure functions of core/answer-bounds.ts. TRAINING.md
 * ("Structured answers: what is enforced where") lists every constraint.
 */
import {z} from 'zod'

import {DEFAULT_ANALOGIES, PromptSpec, SegmentLabel} from './common.js'

/**
 * A whole number, sent as `{"type": "integer"}` alone: zod's `.int()` also writes
 * minimum and maximum +-Number.MAX_SAFE_INTEGER, which no API enforces and which the
 * Anthropic helper would copy into the field's description. Metadata set to undefined
 * removes those keys from zod's JSON Schema; validation still wants an integer.
 */
function integer() {
  return z.number().int().meta({minimum: undefined, maximum: undefined})
}

/**
 * The prompt as the refine role answers it: PromptSpec's fields without `length` (the
 * optimiser's) and without PromptSpec's bounds. The answer is then held to PromptSpec
 * itself by checkRefinedPrompt (training/optimise/llm.ts): a prompt that breaks it is
 * rejected and the rule-based proposal kept, instead of a retry and a failed run.
 * `satisfies` keeps the two in step: a field PromptSpec gains must be added here.
 */
const RefinedPrompt = z.object({
  version: z.literal(1),
  target_words: integer(),
  segment_plan: z.array(z.object({label: SegmentLabel, share: z.number()})),
  speakers: z.array(z.object({name: z.string(), role: z.string()})),
  style: z.object({
    words_per_minute: z.number(),
    questions_per_minute: z.number(),
    mean_sentence_words: z.number(),
    tone: z.string(),
    analogies: z.string().default(DEFAULT_ANALOGIES),
  }),
  must_cover_concepts: integer(),
  instructions: z.array(z.string()),
}) satisfies z.ZodType<Omit<PromptSpec, 'length'>>

/** Answer of the refine role: the next prompt, and why it changed what it changed. */
export const RefineAnswer = z.object({
  /** The length rule is the optimiser's, fitted on numbers the model does not see: the answer keeps the proposal's. */
  prompt: RefinedPrompt,
  changes: z.array(z.string()).describe('Each change made, in words, with the evidence behind it'),
})
export type RefineAnswer = z.infer<typeof RefineAnswer>

/**
 * Answer of the classify role: one label per numbered transcript segment. The label is an
 * enum (enforced by the APIs); an index that names no segment is dropped with a warning.
 */
export const SegmentLabelsAnswer = z.object({
  labels: z.array(z.object({index: integer().describe('The number of the segment, as given in brackets'), label: SegmentLabel})),
})
export type SegmentLabelsAnswer = z.infer<typeof SegmentLabelsAnswer>

/**
 * Answer of the concepts role. Importance is only ever used relative to the top concept's
 * (training/stages/analyse.ts rescales it so the first weighs 1), so any scale is accepted:
 * 0-1 as asked, 1-10, percentages. A negative importance is clamped to 0 and a blank term
 * dropped, each with a warning.
 */
export const KeyConceptsAnswer = z.object({
  concepts: z.array(
    z.object({
      term: z.string(),
      importance: z.number().describe('Importance relative to the other concepts, from 0 to 1 (1: the most important)'),
    }),
  ),
})
export type KeyConceptsAnswer = z.infer<typeof KeyConceptsAnswer>

/** A line that can be spoken: it has text and names its speaker (answer-bounds.ts drops or fills the others). */
export function isSpokenLine(line: {speaker: string; text: string}): boolean {
  return line.speaker.trim() !== '' && line.text.trim() !== ''
}

/**
 * Answer of the generate role: a typed script, validated before it is scored. A script
 * needs one segment (minItems 1, which Anthropic's output format enforces) and one line
 * with a speaker and text to be a script at all; anything short of that is a corrective
 * retry. Past that, a blank line or a segment without lines is dropped and a blank
 * speaker filled in, with a warning.
 */
export const ScriptAnswer = z
  .object({
    segments: z.array(z.object({label: SegmentLabel, lines: z.array(z.object({speaker: z.string(), text: z.string()}))})).min(1),
  })
  .refine((script) => script.segments.some((segment) => segment.lines.some(isSpokenLine)), {
    message: 'the script has no line with both a speaker and text',
  })
export type Script = z.infer<typeof ScriptAnswer>

/**
 * One judge score, 0 to 100 by the instructions. Sent as a plain number and clamped into
 * 0..100 with a warning (answer-bounds.ts), not as an integer enum 0..100, which the APIs
 * would enforce: the enum would put 101 values into the schema three times on every judge
 * call (the most frequent call of a run), forbid the fractional scores judges give (72.5;
 * the mock's have one decimal), and still need the clamp for a forced tool, which
 * enforces no schema. A score past either end of the scale means that end, so clamping
 * loses nothing a retry would have gained.
 */
const judgeScoreAnswer = z.number().describe('A score from 0 to 100')

/** Answer of the judge role: one call scores coverage and quality together. */
export const JudgeAnswer = z.object({
  concepts_explained: z.array(z.string()),
  engagement: judgeScoreAnswer,
  clarity: judgeScoreAnswer,
  accuracy: judgeScoreAnswer,
  weakest_dimension_reason: z.string(),
})
export type JudgeAnswer = z.infer<typeof JudgeAnswer>
