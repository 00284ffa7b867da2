/**
 * The checks an export must pass before anything is written: enough examples, no empty
 * field, no duplicate pair, no paper in both the training and the validation split, and
 * every chat example within the fine-tuning token limit. Pure: examples in, problems out.
 */
import {EXIT, StudioError} from '../../core/errors.js'
import {DEFAULT_MAX_TOKENS, DEFAULT_MIN_EXAMPLES, FINE_TUNING_MIN_EXAMPLES, type DatasetExample} from '../../core/schemas/dataset.js'
import {chatExample, chatTokens} from './build.js'

export interface CheckOptions {
  minExamples: number
  maxTokens: number
}

export interface DatasetProblem {
  /** The example concerned; null for the dataset as a whole. */
  pair_id: string | null
  message: string
  fix: string
}

/** A dataset check failed: nothing was written. Exit code 3, like a file that does not hold what it must. */
export class DatasetCheckError extends StudioError {
  readonly problems: DatasetProblem[]

  constructor(problems: DatasetProblem[]) {
    const lines = problems.map((p) => `  ${p.pair_id ?? 'dataset'}: ${p.message}\n    fix: ${p.fix}`)
    super(`The dataset failed ${problems.length} check(s); nothing was written:\n${lines.join('\n')}`, {
      exitCode: EXIT.corrupt,
      hint: problems.length === 1 ? problems[0]!.fix : 'Fix each example as said above, then export again.',
    })
    this.problems = problems
  }
}

/** Paths of the string fields that are blank, e.g. "input.title", "target.segments.2.lines.0.text". */
function blankFields(value: unknown, at: string[] = []): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [at.join('.')] : []
  if (Array.isArray(value)) return value.flatMap((item, i) => blankFields(item, [...at, String(i)]))
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => blankFields(item, [...at, key]))
  return []
}

/** Lists that an example is useless without. */
const REQUIRED_LISTS: Array<{field: string; get: (e: DatasetExample) => readonly unknown[]}> = [
  {field: 'input.key_concepts', get: (e) => e.input.key_concepts},
  {field: 'target.segments', get: (e) => e.target.segments},
]

const FIX_PAIR =
  "Check the pair's paper and transcript (`studio training list-pairs`), fix or remove the pair in the pairs folder, then train again and export the new run."

export function checkDataset(examples: readonly DatasetExample[], options: CheckOptions): {problems: DatasetProblem[]; warnings: string[]} {
  const problems: DatasetProblem[] = []
  const warnings: string[] = []
  if (examples.length < options.minExamples) {
    problems.push({
      pair_id: null,
      message: `${examples.length} example(s), fewer than --min-examples ${options.minExamples}`,
      fix: `Add pairs to the pairs folder and train again, or lower --min-examples (default ${DEFAULT_MIN_EXAMPLES}).`,
    })
  }
  if (examples.length < FINE_TUNING_MIN_EXAMPLES) {
    warnings.push(
      `${examples.length} example(s): OpenAI's fine-tuning needs at least ${FINE_TUNING_MIN_EXAMPLES} training examples; add pairs before fine-tuning on this dataset`,
    )
  }

  const seen = new Map<string, number>()
  const byContent = new Map<string, string>()
  for (const example of examples) {
    const id = example.metadata.pair_id
    if (seen.has(id)) {
      problems.push({pair_id: id, message: 'the pair appears twice', fix: FIX_PAIR})
      continue
    }
    seen.set(id, 1)
    for (const field of blankFields(example)) problems.push({pair_id: id, message: `${field} is empty`, fix: FIX_PAIR})
    for (const list of REQUIRED_LISTS) {
      if (list.get(example).length === 0) problems.push({pair_id: id, message: `${list.field} is empty`, fix: FIX_PAIR})
    }
    // The same paper with the same episode under two ids: one example twice.
    const content = `${example.input.paper_text_sha256}\n${example.target.text}`
    const twin = byContent.get(content)
    if (twin !== undefined) {
      problems.push({
        pair_id: id,
        message: `duplicates ${twin}: the same paper and the same episode`,
        fix: `Remove one of ${twin} and ${id} from the pairs folder, then train again and export the new run.`,
      })
    } else byContent.set(content, id)
    const tokens = chatTokens(chatExample(example))
    if (tokens > options.maxTokens) {
      problems.push({
        pair_id: id,
        message: `its chat example is about ${tokens.toLocaleString('en-US')} tokens, over --max-tokens ${options.maxTokens.toLocaleString('en-US')}`,
        fix: `Raise --max-tokens to the training context of the model you fine-tune (default ${DEFAULT_MAX_TOKENS.toLocaleString('en-US')}, gpt-4o-mini-2024-07-18), or remove the pair (its episode or paper is too long for one example).`,
      })
    }
  }

  // Leakage: a paper (by the hash of its text) both trained on and validated on.
  const splitsOf = new Map<string, {train: string[]; validation: string[]}>()
  for (const example of examples) {
    const entry = splitsOf.get(example.input.paper_text_sha256) ?? {train: [], validation: []}
    entry[example.metadata.split].push(example.metadata.pair_id)
    splitsOf.set(example.input.paper_text_sha256, entry)
  }
  for (const {train, validation} of splitsOf.values()) {
    if (train.length === 0 || validation.length === 0) continue
    for (const id of validation) {
      problems.push({
        pair_id: id,
        message: `a validation pair with the same paper as training pair(s) ${train.join(', ')}: the validation loss would not measure unseen papers`,
        fix: `Train again with --holdout-ids naming every pair of this paper (${[...train, id].join(', ')}) or none of them, or remove the duplicate paper from the pairs folder.`,
      })
    }
  }
  return {problems, warnings}
}
