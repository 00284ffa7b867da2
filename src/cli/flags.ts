/**
 * The flags more than one command takes, or whose values need checking, defined once:
 * one description and one default each, and a parser that validates the value when
 * oclif parses it (as Salesforce's sf-plugins-core does with Flags.custom). Commands get
 * typed values (numbers, the parsed weights, a list of ids) and never parse strings
 * themselves; a bad value fails with a FlagError (exit 2) that names the flag, before
 * any work is done or any folder is created.
 */
import {Flags} from '@oclif/core'

import {FlagError, InputError} from '../core/errors.js'
import {DEFAULT_SEED} from '../core/random.js'
import {REFINER_MODES, type MockWriter} from '../core/schemas/common.js'
import {DEFAULT_MAX_TOKENS, DEFAULT_MIN_EXAMPLES} from '../core/schemas/dataset.js'
import {MAX_TRIALS} from '../core/schemas/files.js'
import {LossArgumentError} from '../loss/errors.js'
import type {Weights} from '../loss/registry.js'
import {DEFAULT_WEIGHTS, LOSS_NAMES, normalizeWeights, parseWeights} from '../loss/weights.js'

/*
 * Upper bounds, stated in the flags' descriptions. Each trial costs a generate and a judge
 * call per pair: more than MAX_TRIALS trials (or a window that long) is a typo, not a plan.
 */
/** Pairs in flight at once: more only trips the providers' rate limits and opens more files at once. */
export const MAX_CONCURRENCY = 64
/** Validation pairs: the run checks the real limit (fewer than the usable pairs) once it has found them. */
export const MAX_HOLDOUT = 1000

/** What oclif passes a flag's parser: the flag itself, its name included. */
type FlagParser<T> = (input: string, context: unknown, flag: {name: string}) => Promise<T>

/** oclif awaits a flag's parser; ours check synchronously, and a check that throws rejects. */
function parser<T>(check: (input: string, flag: string) => T): FlagParser<T> {
  return (input, _context, flag) => new Promise((resolve) => resolve(check(input, flag.name)))
}

const WHOLE_NUMBER = /^[+-]?\d+$/
const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A whole number in [min, max], written in digits (no exponent, no fraction). */
function wholeNumber(min: number, max: number, hint: string): FlagParser<number> {
  return parser((input, flag) => {
    const text = input.trim()
    const value = WHOLE_NUMBER.test(text) ? Number(text) : Number.NaN
    if (value >= min && value <= max) return value === 0 ? 0 : value
    throw new FlagError(`--${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(input)}`, {hint})
  })
}

/** A finite decimal number (Number() alone would take "", "0x10" and "Infinity"). */
function decimal(input: string): number {
  const text = input.trim()
  return DECIMAL_NUMBER.test(text) ? Number(text) : Number.NaN
}

/** A file or folder path: an empty one would silently mean the current folder. */
function nonEmptyPath(what: 'file' | 'folder'): FlagParser<string> {
  return parser((input, flag) => {
    if (input.trim() !== '') return input
    throw new FlagError(`--${flag} must name a ${what}, got an empty value`, {hint: `Leave out --${flag} to use its default.`})
  })
}

export const pairsDirFlag = Flags.custom<string>({
  description: 'Folder of pairs (x.pdf + x.mp3 with the same base name), searched recursively',
  default: 'artifacts/training_data',
  helpValue: 'DIR',
  parse: nonEmptyPath('folder'),
})()

export const outputDirFlag = Flags.custom<string>({
  description: 'Folder of the run folders: each run is written to <output-dir>/<run-id>, and <output-dir>/latest is the latest run',
  default: 'artifacts/training_output',
  helpValue: 'DIR',
  parse: nonEmptyPath('folder'),
})()

export const mockFlag = Flags.boolean({
  description: 'Use the offline deterministic providers: no API keys, no network, no cost',
  default: false,
})

export const seedFlag = Flags.custom<number>({
  description:
    'Seed of the mock and of every sampling call that takes one: the same seed and inputs give the same results (a whole number)',
  default: DEFAULT_SEED,
  helpValue: 'N',
  parse: wholeNumber(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, `For example --seed ${DEFAULT_SEED}.`),
})()

/**
 * Who writes under --mock: `identity`, a writer that does exactly what the prompt asks, or
 * the seed of a writer with a hidden personality (src/providers/mock/personality.ts).
 */
export const mockWriterFlag = Flags.custom<MockWriter>({
  description:
    'The simulated writer under --mock: identity (writes exactly what the prompt asks) or a whole number, the seed of a writer with hidden habits of its own (default: --seed); see TRAINING.md, "Mock writers"',
  helpValue: 'identity|N',
  dependsOn: ['mock'],
  parse: parser((input, flag) => {
    const text = input.trim()
    if (text === 'identity') return 'identity'
    const value = WHOLE_NUMBER.test(text) ? Number(text) : Number.NaN
    if (Number.isSafeInteger(value)) return value === 0 ? 0 : value
    throw new FlagError(`--${flag} must be identity or a whole number, got ${JSON.stringify(input)}`, {
      hint: 'For example --mock-writer identity, or --mock-writer 7 for the writer drawn from seed 7.',
    })
  }),
})()

export const configFlag = Flags.custom<string>({
  description:
    'Provider and model per role, timeout, retries and size limits (default: ./studio.config.json when present); see TRAINING.md',
  helpValue: 'FILE',
  parse: nonEmptyPath('file'),
})()

export const modelFlag = Flags.custom<string>({
  description: 'Provider and model of one role, e.g. judge=openai:gpt-4o-mini (repeatable; wins over the config file)',
  helpValue: 'ROLE=PROVIDER:MODEL',
  multiple: true,
  async parse(input) {
    // Loaded here, not at start-up: the providers' config module brings zod schemas along.
    const {parseModelFlag} = await import('../providers/config.js')
    try {
      parseModelFlag(input)
    } catch (error) {
      if (error instanceof InputError) throw new FlagError(error.message, {hint: error.hint})
      throw error
    }
    return input
  },
})()

export const cacheFlag = Flags.boolean({
  description:
    'Answer identical earlier calls from the response cache, and papers read before from the paper cache (on by default; --no-cache neither reads nor writes them)',
  default: true,
  allowNo: true,
})

export const cacheDirFlag = Flags.custom<string>({
  description:
    'Cache folder, for provider answers and paper texts (default: $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio)',
  helpValue: 'DIR',
  parse: nonEmptyPath('folder'),
})()

export const ttsFlag = Flags.boolean({
  description:
    'Voice each generated script (OpenAI TTS, one voice per speaker): a training run scores its duration on the measured audio; generate writes it as an MP3 next to --out',
  default: false,
})

export const batchFlag = Flags.boolean({
  description:
    'Send the model calls through the providers\' batch APIs: about half the price, answers within 24 hours; resumable while batches are pending (TRAINING.md, "Batch mode")',
  default: false,
})

export const maxTrialsFlag = Flags.custom<number>({
  description: `Stop after this many trials at most (1 to ${MAX_TRIALS}); the run stops earlier once the loss stops improving (--window, --threshold)`,
  default: 5,
  helpValue: 'N',
  parse: wholeNumber(1, MAX_TRIALS, 'For example --max-trials 5.'),
})()

const defaultWeights = LOSS_NAMES.map((name) => `${name}=${DEFAULT_WEIGHTS[name]}`).join(',')
const weightsHint = `Give name=value pairs separated by commas, each value >= 0 and at least one above 0; names: ${LOSS_NAMES.join(', ')}. For example --weights duration=0.3,rouge=0.2.`

/**
 * The weights as given (unnamed losses are left out: the trainer fills in their defaults
 * and normalises), checked by normalizeWeights so that a set the run could not use, all
 * zero say, fails here.
 */
export const weightsFlag = Flags.custom<Partial<Weights>>({
  description: `Loss weights as name=value pairs, e.g. duration=0.3,rouge=0.2; names and defaults: ${defaultWeights}; losses not named keep their default, and the weights are normalised to sum 1`,
  helpValue: 'SPEC',
  parse: parser((input) => {
    try {
      const weights = parseWeights(input)
      normalizeWeights(weights)
      return weights
    } catch (error) {
      if (!(error instanceof LossArgumentError)) throw error
      // The loss library names its function for programmers; a flag's user needs the problem alone.
      throw new FlagError(`--weights: ${error.message.replace(/^(?:parseWeights|normalizeWeights): /, '')}`, {hint: weightsHint})
    }
  }),
})()

export const windowFlag = Flags.custom<number>({
  description: `Convergence window W (1 to ${MAX_TRIALS}): compare the mean total loss of the last W trials with that of the W before`,
  default: 2,
  helpValue: 'W',
  parse: wholeNumber(1, MAX_TRIALS, 'For example --window 2 compares the last 2 trials with the 2 before.'),
})()

export const thresholdFlag = Flags.custom<number>({
  description:
    'Converged when the last window is no worse than the one before and improved on it by less than this, relatively (a number >= 0; 0.05 is 5%; 0 never stops early)',
  default: 0.05,
  helpValue: 'T',
  parse: parser((input) => {
    const value = decimal(input)
    if (Number.isFinite(value) && value >= 0) return value === 0 ? 0 : value
    throw new FlagError(`--threshold must be a number >= 0, got ${JSON.stringify(input)}`, {
      hint: 'For example --threshold 0.05 stops when the loss improves by less than 5%.',
    })
  }),
})()

export const concurrencyFlag = Flags.custom<number>({
  description: `Pairs processed at the same time, in ingest and in each trial (1 to ${MAX_CONCURRENCY})`,
  default: 4,
  helpValue: 'N',
  parse: wholeNumber(1, MAX_CONCURRENCY, 'For example --concurrency 4; more than the pairs gains nothing.'),
})()

export const holdoutFlag = Flags.custom<number>({
  description: `Hold this many pairs (drawn with --seed) out of refinement; the best trial is chosen on them with 3 or more, on all pairs pooled with 1 or 2 (1 to ${MAX_HOLDOUT}, and fewer than the usable pairs)`,
  helpValue: 'N',
  exclusive: ['holdout-ids'],
  parse: wholeNumber(1, MAX_HOLDOUT, 'For example --holdout 1 keeps one pair for validation.'),
})()

/**
 * readonly: oclif's Flags.custom takes an array type only for a repeatable flag, and
 * --holdout-ids is one comma-separated value.
 */
export const holdoutIdsFlag = Flags.custom<readonly string[]>({
  description:
    'Hold these pairs (ids separated by commas, as `studio training list-pairs` shows them) out of refinement; the best trial is chosen on them with 3 or more, on all pairs pooled with 1 or 2',
  helpValue: 'IDS',
  exclusive: ['holdout'],
  parse: parser((input) => {
    const ids = input
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean)
    const hint = 'For example --holdout-ids soil-microbiome-drought; `studio training list-pairs` shows the ids.'
    if (ids.length === 0) throw new FlagError(`--holdout-ids: no pair id in ${JSON.stringify(input)}`, {hint})
    const twice = ids.find((id, i) => ids.indexOf(id) !== i)
    if (twice !== undefined) throw new FlagError(`--holdout-ids: ${twice} is named more than once`, {hint})
    return ids
  }),
})()

export const refinerFlag = Flags.option({
  description:
    "How the next prompt is proposed: rule-based (from the best trial so far, length, segment plan and coverage corrected with a model of the writer's response, style probed for the judge) or rule-based+llm (a language model then rewrites tone, roles and instructions from the same evidence, the prompt history and the worst pairs)",
  options: REFINER_MODES,
  default: 'rule-based' as const,
})()

export const maxCostFlag = Flags.custom<number>({
  description:
    'Budget in USD (a positive number; default: none): refuse to start when it cannot cover transcription, analysis and one trial, and stop cleanly (stop_reason budget) before a trial would exceed it',
  helpValue: 'USD',
  parse: parser((input) => {
    const value = decimal(input)
    if (Number.isFinite(value) && value > 0) return value
    throw new FlagError(`--max-cost must be a positive number of USD, got ${JSON.stringify(input)}`, {
      hint: 'For example --max-cost 5 stops the run before it spends more than 5 USD.',
    })
  }),
})()

/** export-dataset: the fewest examples an export may hold (OpenAI's fine-tuning itself needs 10: below that is a warning). */
export const minExamplesFlag = Flags.custom<number>({
  description:
    'Refuse the export (exit 3) with fewer examples than this (1 to 1000000); below 10, the minimum of OpenAI fine-tuning, it only warns',
  default: DEFAULT_MIN_EXAMPLES,
  helpValue: 'N',
  parse: wholeNumber(1, 1_000_000, 'For example --min-examples 10.'),
})()

/** export-dataset: the fine-tuning token limit per example; the default is gpt-4o-mini-2024-07-18's training context. */
export const maxTokensFlag = Flags.custom<number>({
  description:
    'Refuse the export (exit 3) when a chat example is estimated above this many tokens (1000 to 10000000); default 65536, the training context of gpt-4o-mini-2024-07-18',
  default: DEFAULT_MAX_TOKENS,
  helpValue: 'N',
  parse: wholeNumber(1000, 10_000_000, 'For example --max-tokens 65536 (gpt-4o-mini-2024-07-18).'),
})()

export const datasetOutFlag = Flags.custom<string>({
  description: 'Folder to write the dataset into: a new folder, or an empty one (an earlier export is never overwritten)',
  required: true,
  helpValue: 'DIR',
  parse: nonEmptyPath('folder'),
})()
