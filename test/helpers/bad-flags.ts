/**
 * Bad values of `studio training run`'s flags, with the message each must give: the
 * unit test checks every row through the flag's own parser (test/unit/flags.test.ts);
 * the end-to-end test sends the rows marked `cli` through the built CLI, once as text and
 * once under --json, to prove the message, the hint and exit code 2 reach the user intact.
 */
import {LOSS_NAMES} from '../../src/loss/weights.js'

export interface BadValue {
  args: string[]
  message: RegExp
  /** false: oclif's own check (a value outside a flag's options), which gives no hint. */
  hint?: RegExp | false
  /** Also sent through the built CLI: one row per kind of check keeps the suite fast. */
  cli?: true
}

const LOSSES = LOSS_NAMES.join(', ')

export const TRAINING_RUN: BadValue[] = [
  {
    args: ['--weights', 'duration=0,coverage=0,structure=0,quality=0,rouge=0'],
    message: /^--weights: weights must not all be 0$/,
    hint: /at least one above 0/,
    cli: true,
  },
  {args: ['--weights', 'speed=1'], message: new RegExp(`^--weights: unknown weight name "speed" .*; valid names: ${LOSSES}$`), cli: true},
  {args: ['--weights', 'duration=heavy'], message: /^--weights: weight duration must be a number, got "heavy"$/},
  {args: ['--weights', 'duration=-1'], message: /^--weights: weight duration must be >= 0, got -1$/},
  {args: ['--weights', 'duration=1e400'], message: /^--weights: weight duration must be finite/},
  {args: ['--max-trials', '1e20'], message: /^--max-trials must be a whole number from 1 to 1000, got "1e20"$/, cli: true},
  {args: ['--max-trials', '100000000000000000000'], message: /^--max-trials must be a whole number from 1 to 1000, got "1{1}0{20}"$/},
  {args: ['--max-trials', '1001'], message: /^--max-trials must be a whole number from 1 to 1000, got "1001"$/},
  {args: ['--max-trials', '0'], message: /^--max-trials must be a whole number from 1 to 1000, got "0"$/},
  {args: ['--max-trials', '2.5'], message: /^--max-trials must be a whole number from 1 to 1000, got "2\.5"$/},
  {args: ['--max-trials=-3'], message: /^--max-trials must be a whole number from 1 to 1000, got "-3"$/, cli: true},
  {args: ['--concurrency', '0'], message: /^--concurrency must be a whole number from 1 to 64, got "0"$/},
  {args: ['--concurrency', '1000000'], message: /^--concurrency must be a whole number from 1 to 64, got "1000000"$/},
  {args: ['--window', '0'], message: /^--window must be a whole number from 1 to 1000, got "0"$/},
  {args: ['--window', 'two'], message: /^--window must be a whole number from 1 to 1000, got "two"$/},
  {args: ['--threshold=-1'], message: /^--threshold must be a number >= 0, got "-1"$/},
  {args: ['--threshold', 'abc'], message: /^--threshold must be a number >= 0, got "abc"$/, cli: true},
  {args: ['--threshold', 'NaN'], message: /^--threshold must be a number >= 0, got "NaN"$/},
  {args: ['--threshold', 'Infinity'], message: /^--threshold must be a number >= 0, got "Infinity"$/},
  {args: ['--threshold', '1e400'], message: /^--threshold must be a number >= 0, got "1e400"$/},
  {args: ['--max-cost', '0'], message: /^--max-cost must be a positive number of USD, got "0"$/, cli: true},
  {args: ['--max-cost', 'abc'], message: /^--max-cost must be a positive number of USD, got "abc"$/},
  {args: ['--max-cost=-5'], message: /^--max-cost must be a positive number of USD, got "-5"$/},
  {args: ['--max-cost', '1e400'], message: /^--max-cost must be a positive number of USD, got "1e400"$/},
  {args: ['--seed', '1.5'], message: /^--seed must be a whole number from -9007199254740991 to 9007199254740991, got "1\.5"$/},
  {args: ['--seed', '100000000000000000000'], message: /^--seed must be a whole number from -\d+ to \d+, got "1{1}0{20}"$/},
  {
    args: ['--mock-writer', 'seven'],
    message: /^--mock-writer must be identity or a whole number, got "seven"$/,
    hint: /--mock-writer identity/,
    cli: true,
  },
  {args: ['--mock-writer', '2.5'], message: /^--mock-writer must be identity or a whole number, got "2\.5"$/},
  {args: ['--mock-writer', 'Identity'], message: /^--mock-writer must be identity or a whole number, got "Identity"$/},
  {args: ['--mock-writer', '1e3'], message: /^--mock-writer must be identity or a whole number, got "1e3"$/},
  {args: ['--mock-writer', '100000000000000000000'], message: /^--mock-writer must be identity or a whole number, got "1{1}0{20}"$/},
  {args: ['--holdout', '0'], message: /^--holdout must be a whole number from 1 to 1000, got "0"$/},
  {args: ['--holdout', '100000000000000000000'], message: /^--holdout must be a whole number from 1 to 1000, got "1{1}0{20}"$/},
  {args: ['--holdout-ids', ','], message: /^--holdout-ids: no pair id in ","$/},
  {args: ['--holdout-ids', ' '], message: /^--holdout-ids: no pair id in " "$/},
  {
    args: ['--holdout-ids', 'soil-microbiome-drought,soil-microbiome-drought'],
    message: /^--holdout-ids: soil-microbiome-drought is named more than once$/,
    cli: true,
  },
  {args: ['--model', 'judge'], message: /^--model judge: expected ROLE=PROVIDER:MODEL$/, hint: /ROLE is one of/, cli: true},
  {args: ['--pairs-dir', ' '], message: /^--pairs-dir must name a folder, got an empty value$/, cli: true},
  {args: ['--cache-dir', ' '], message: /^--cache-dir must name a folder, got an empty value$/},
  {args: ['--config', ' '], message: /^--config must name a file, got an empty value$/},
  {args: ['--refiner', 'genetic'], message: /--refiner=genetic to be one of: rule-based, rule-based\+llm/, hint: false, cli: true},
]
