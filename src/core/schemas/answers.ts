/**
 * Every structured answer studio expects from a language model. The same schema is
 * sent to the API as JSON Schema (providers/structured.ts) and validates the answer.
 */
import {z} from 'zod'

import {judgeScore, PromptSpec, SegmentLabel} from './common.js'

/** Answer of the refine role: the next prompt, and why it changed what it changed. */
export const RefineAnswer = z.object({
  /** The length rule is the optimiser's, fitted on numbers the model does not see: the answer keeps the proposal's. */
  prompt: PromptSpec.omit({length: true}),
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

/** Answer of the judge role: one call scores coverage and quality together. */
export const JudgeAnswer = z.object({
  concepts_explained: z.array(z.string()),
  engagement: judgeScore,
  clarity: judgeScore,
  accuracy: judgeScore,
  weakest_dimension_reason: z.string(),
})
export type JudgeAnswer = z.infer<typeof JudgeAnswer>
