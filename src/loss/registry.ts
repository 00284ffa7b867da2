/**
 * The loss registry: every loss studio scores a script with, once. Its order is the
 * order of every table, chart and file field; its default weights are `--weights`'
 * defaults; its descriptions are what the terminal, the HTML report and the LLM
 * refiner say a loss measures. The schemas of LossBreakdown and Weights
 * (core/schemas/common.ts) are built from its names.
 *
 * Adding a loss is one entry here plus its function (TRAINING.md, "Adding a loss"):
 * `compute` receives everything scoring one script knows (LossInputs) and returns a
 * number in [0, 1], 0 being a perfect match.
 */
import {coverageLoss, durationLoss, qualityLoss, structureLoss, type LabelledWords} from './losses.js'
import {rougeLossFromScores, type RougeScores} from './rouge.js'

/** One side of a comparison: the generated script, or the human episode it is scored against. */
export interface ScriptMeasures {
  /** Spoken length in seconds (the generated side: its words at the reference's pace, or its measured audio). */
  seconds: number
  /** Segments in order, with their word counts. */
  sections: LabelledWords[]
  questionsPerMinute: number
  meanSentenceWords: number
}

/** Everything known about one script when it is scored. */
export interface LossInputs {
  generated: ScriptMeasures
  reference: ScriptMeasures
  /** The paper's key concepts, and how many of them the judge found explained. */
  concepts: {total: number; explained: number}
  /** The judge's scores, 0 to 100. */
  judge: {engagement: number; clarity: number; accuracy: number}
  /** ROUGE of the script against the reference transcript (stemmed). */
  rouge: RougeScores
}

export interface LossDefinition {
  /** The key in files, flags and events (`--weights duration=0.3`). */
  readonly name: string
  /** How tables and charts title it. */
  readonly title: string
  /** Its share of the total before normalisation, when --weights does not set it. */
  readonly defaultWeight: number
  /** What it measures, in a few words. */
  readonly summary: string
  /** How it is computed, for the LLM refiner and the docs. */
  readonly description: string
  /** A number in [0, 1], 0 being a perfect match. */
  compute(inputs: LossInputs): number
}

/** Keeps the literal names (for the LossName type) while checking each entry's shape. */
function defineLosses<const L extends readonly LossDefinition[]>(losses: L): L {
  return losses
}

export const LOSSES = defineLosses([
  {
    name: 'duration',
    title: 'Duration',
    defaultWeight: 0.25,
    summary: 'script length vs the episode',
    description: 'script length against the episode: min(1, |generated - reference| / reference) in seconds',
    compute: (x) => durationLoss(x.generated.seconds, x.reference.seconds),
  },
  {
    name: 'coverage',
    title: 'Coverage',
    defaultWeight: 0.25,
    summary: 'key concepts not explained',
    description: "the share of the paper's key concepts the script fails to explain, as the judge sees it",
    // A paper without key concepts has nothing to miss.
    compute: (x) => (x.concepts.total === 0 ? 0 : coverageLoss(x.concepts.explained, x.concepts.total)),
  },
  {
    name: 'structure',
    title: 'Structure',
    defaultWeight: 0.2,
    summary: 'segment order and shares',
    description:
      'order and word shares of the segments (intro, background, method, findings, discussion, outro) against the episode: half edit distance of the sequences, half total variation of the shares',
    compute: (x) => structureLoss(x.generated.sections, x.reference.sections),
  },
  {
    name: 'quality',
    title: 'Quality',
    defaultWeight: 0.2,
    summary: 'judge scores (engagement, clarity, accuracy)',
    description: "a judge's engagement, clarity and accuracy scores: 1 - their mean / 100",
    compute: (x) => qualityLoss(x.judge),
  },
  {
    name: 'rouge',
    title: 'ROUGE',
    defaultWeight: 0.1,
    summary: 'word overlap with the transcript',
    description: 'word overlap with the episode transcript: 1 - the mean of the ROUGE-1, ROUGE-2 and ROUGE-L F-measures',
    compute: (x) => rougeLossFromScores(x.rouge),
  },
])

export type LossName = (typeof LOSSES)[number]['name']
export type Losses = Record<LossName, number>
export type Weights = Record<LossName, number>
