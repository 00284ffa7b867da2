/**
 * The rule-based refiner: moves the prompt's numeric targets and segment plan so
 * that the scripts of the last trial land where the references are. Each rule is a
 * proportional correction of one measured error, so a generator that is biased
 * (always 10% short, say) is corrected in one step and then left alone.
 */
import type {AggregateProfile, TrialResults} from '../../core/schemas/files.js'
import type {PromptSpec} from '../../core/schemas/common.js'
import {mean, round} from '../../core/text.js'

export interface Refinement {
  prompt: PromptSpec
  changes: string[]
}

/** Ratios within this of 1 are noise, not something to correct. */
const TOLERANCE = 0.02
const MIN_WORDS = 50
const MAX_WORDS = 30_000

function ratio(target: number, measured: number): number {
  if (!(measured > 0) || !(target > 0)) return 1
  return target / measured
}

export function refineRuleBased(prompt: PromptSpec, profile: AggregateProfile, trial: TrialResults): Refinement {
  const next: PromptSpec = structuredClone(prompt)
  const changes: string[] = []
  const pairs = trial.pairs
  if (pairs.length === 0) return {prompt: next, changes}

  const length = ratio(mean(pairs.map((p) => p.details.reference_seconds)), mean(pairs.map((p) => p.details.generated_seconds)))
  if (Math.abs(length - 1) > TOLERANCE) {
    const target = Math.min(MAX_WORDS, Math.max(MIN_WORDS, Math.round(prompt.target_words * length)))
    if (target !== prompt.target_words) {
      next.target_words = target
      changes.push(
        `target_words ${prompt.target_words} -> ${target}: scripts ran ${Math.round(Math.abs(1 - 1 / length) * 100)}% ${length > 1 ? 'short' : 'long'} of the reference durations`,
      )
    }
  }

  const missed = mean(pairs.map((p) => p.details.concepts_missed.length))
  const available = Math.max(...pairs.map((p) => p.details.concepts_total))
  if (missed > 0 && prompt.must_cover_concepts < available) {
    const cover = Math.min(available, prompt.must_cover_concepts + Math.ceil(missed))
    next.must_cover_concepts = cover
    changes.push(
      `must_cover_concepts ${prompt.must_cover_concepts} -> ${cover}: scripts missed ${missed.toFixed(1)} key concepts on average`,
    )
  }

  // Per label: scale each planned share by reference share / generated share.
  const generatedShare = (label: string) =>
    mean(pairs.map((p) => p.details.generated_word_shares[label as keyof typeof p.details.generated_word_shares] ?? 0))
  const scaled = next.segment_plan.map((step) => {
    const reference = profile.word_shares[step.label] ?? 0
    const generated = generatedShare(step.label)
    const factor = reference > 0 && generated > 0 ? reference / generated : 1
    return step.share * factor
  })
  const sum = scaled.reduce((a, b) => a + b, 0)
  if (sum > 0) {
    const plan = next.segment_plan.map((step, i) => ({label: step.label, share: round(scaled[i]! / sum, 4)}))
    const moved = plan.filter((step, i) => Math.abs(step.share - next.segment_plan[i]!.share) > 0.005)
    if (moved.length) {
      changes.push(`segment_plan shares moved toward the reference word shares (${moved.map((s) => s.label).join(', ')})`)
      next.segment_plan = plan
    }
  }

  const questions = ratio(profile.questions_per_minute, mean(pairs.map((p) => p.details.generated_questions_per_minute)))
  if (Math.abs(questions - 1) > TOLERANCE && profile.questions_per_minute > 0) {
    const value = round(Math.min(profile.questions_per_minute * 4, Math.max(0.05, prompt.style.questions_per_minute * questions)), 2)
    if (value !== prompt.style.questions_per_minute) {
      changes.push(
        `questions_per_minute ${prompt.style.questions_per_minute} -> ${value}: scripts asked ${questions > 1 ? 'too few' : 'too many'} questions`,
      )
      next.style.questions_per_minute = value
    }
  }

  const sentence = ratio(profile.mean_sentence_words, mean(pairs.map((p) => p.details.generated_mean_sentence_words)))
  if (Math.abs(sentence - 1) > TOLERANCE) {
    const value = round(Math.max(3, prompt.style.mean_sentence_words * sentence), 1)
    if (value !== prompt.style.mean_sentence_words) {
      changes.push(
        `mean_sentence_words ${prompt.style.mean_sentence_words} -> ${value}: script sentences were ${sentence > 1 ? 'shorter' : 'longer'} than the reference's`,
      )
      next.style.mean_sentence_words = value
    }
  }
  return {prompt: next, changes}
}
