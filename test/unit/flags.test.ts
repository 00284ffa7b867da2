import {describe, expect, it} from 'vitest'

import {
  cacheDirFlag,
  concurrencyFlag,
  configFlag,
  holdoutFlag,
  holdoutIdsFlag,
  maxCostFlag,
  maxTrialsFlag,
  mockWriterFlag,
  modelFlag,
  outputDirFlag,
  pairsDirFlag,
  refinerFlag,
  seedFlag,
  thresholdFlag,
  weightsFlag,
  windowFlag,
} from '../../src/cli/flags.js'
import {EXIT, FlagError} from '../../src/core/errors.js'
import {REFINER_MODES} from '../../src/core/schemas/common.js'
import {LOSS_NAMES} from '../../src/loss/index.js'
import {TRAINING_RUN} from '../helpers/bad-flags.js'

interface ParsedFlag<T> {
  parse?: (input: string, context: never, flag: never) => Promise<T>
}

/** What oclif does with a value given on the command line: the flag's parser, told its name. */
function parse<T>(flag: ParsedFlag<T>, name: string, input: string): Promise<T> {
  return flag.parse!(input, {} as never, {...flag, name} as never)
}

async function failure(promise: Promise<unknown>): Promise<FlagError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(FlagError)
  return error as FlagError
}

describe('shared flags', () => {
  it('turn whole numbers into numbers, within their bounds', async () => {
    expect(await parse(maxTrialsFlag, 'max-trials', ' 12 ')).toBe(12)
    expect(await parse(maxTrialsFlag, 'max-trials', '1000')).toBe(1000)
    expect(await parse(windowFlag, 'window', '+3')).toBe(3)
    expect(await parse(concurrencyFlag, 'concurrency', '64')).toBe(64)
    expect(await parse(seedFlag, 'seed', '-5')).toBe(-5)
    expect(Object.is(await parse(seedFlag, 'seed', '-0'), 0)).toBe(true)
  })

  it('reject a bad value with a FlagError that names the flag, exits 2 and keeps its message for the user', async () => {
    const error = await failure(parse(concurrencyFlag, 'concurrency', '65'))
    expect(error.exitCode).toBe(EXIT.input)
    expect(error.message).toBe('--concurrency must be a whole number from 1 to 64, got "65"')
    expect(error.text).toBe(error.message)
    expect(error.hint).toMatch(/--concurrency 4/)
    for (const input of ['', '1e3', '0x10', '3.0', '٣']) await failure(parse(maxTrialsFlag, 'max-trials', input))
  })

  it('parse --threshold and --max-cost as decimal numbers only', async () => {
    expect(await parse(thresholdFlag, 'threshold', '0.05')).toBe(0.05)
    expect(await parse(thresholdFlag, 'threshold', '0')).toBe(0)
    expect(await parse(thresholdFlag, 'threshold', '1e-3')).toBe(0.001)
    expect(await parse(maxCostFlag, 'max-cost', '.5')).toBe(0.5)
    // Number() would read these as 0, 16 and Infinity.
    for (const input of ['', ' ', '0x10', 'Infinity']) {
      await failure(parse(thresholdFlag, 'threshold', input))
      await failure(parse(maxCostFlag, 'max-cost', input))
    }
  })

  it('--weights yields the weights as given, checked as the run will use them', async () => {
    expect(await parse(weightsFlag, 'weights', 'duration=0.3, rouge=0.2')).toEqual({duration: 0.3, rouge: 0.2})
    // The losses not named keep their default weights, so these are not all 0.
    expect(await parse(weightsFlag, 'weights', 'duration=0,coverage=0')).toEqual({duration: 0, coverage: 0})
    const allZero = await failure(parse(weightsFlag, 'weights', LOSS_NAMES.map((name) => `${name}=0`).join(',')))
    expect(allZero.message).toBe('--weights: weights must not all be 0')
    expect(allZero.hint).toContain('at least one above 0')
    const unknown = await failure(parse(weightsFlag, 'weights', 'speed=1'))
    expect(unknown.message).toBe(`--weights: unknown weight name "speed" in item 1 ("speed=1"); valid names: ${LOSS_NAMES.join(', ')}`)
    expect(unknown.hint).toContain(`names: ${LOSS_NAMES.join(', ')}`)
  })

  it('--holdout-ids yields the ids, without blanks or repeats', async () => {
    expect(await parse(holdoutIdsFlag, 'holdout-ids', ' a, b,')).toEqual(['a', 'b'])
    expect((await failure(parse(holdoutIdsFlag, 'holdout-ids', ', ,'))).message).toBe('--holdout-ids: no pair id in ", ,"')
    expect((await failure(parse(holdoutIdsFlag, 'holdout-ids', 'a,b,a'))).message).toBe('--holdout-ids: a is named more than once')
  })

  it('--model checks ROLE=PROVIDER:MODEL when parsed and keeps the value', async () => {
    expect(await parse(modelFlag, 'model', 'judge=openai:gpt-4o-mini')).toBe('judge=openai:gpt-4o-mini')
    const error = await failure(parse(modelFlag, 'model', 'judge=gpt-4o-mini'))
    expect(error.message).toBe('--model judge=gpt-4o-mini: expected ROLE=PROVIDER:MODEL')
    expect(error.hint).toMatch(/ROLE is one of/)
  })

  it('refuse an empty path instead of taking the current folder', async () => {
    expect(await parse(outputDirFlag, 'output-dir', 'runs')).toBe('runs')
    expect((await failure(parse(outputDirFlag, 'output-dir', ' '))).message).toBe('--output-dir must name a folder, got an empty value')
  })

  it('--mock-writer takes identity or a whole number, the seed of a drawn writer', async () => {
    expect(await parse(mockWriterFlag, 'mock-writer', 'identity')).toBe('identity')
    expect(await parse(mockWriterFlag, 'mock-writer', ' identity ')).toBe('identity')
    expect(await parse(mockWriterFlag, 'mock-writer', '7')).toBe(7)
    expect(await parse(mockWriterFlag, 'mock-writer', '-12')).toBe(-12)
    expect(Object.is(await parse(mockWriterFlag, 'mock-writer', '-0'), 0)).toBe(true)
    expect(mockWriterFlag.dependsOn).toEqual(['mock'])
    expect(mockWriterFlag.default).toBeUndefined()
  })

  it('--refiner offers the refiner modes of the schema', () => {
    expect(refinerFlag.options).toEqual(REFINER_MODES)
    expect(refinerFlag.default).toBe('rule-based')
  })
})

/** The flags with a parser of their own, by name; --refiner's options are oclif's to check (the CLI test covers it). */
const PARSED: Record<string, ParsedFlag<unknown>> = {
  weights: weightsFlag,
  'max-trials': maxTrialsFlag,
  window: windowFlag,
  concurrency: concurrencyFlag,
  threshold: thresholdFlag,
  'max-cost': maxCostFlag,
  seed: seedFlag,
  'mock-writer': mockWriterFlag,
  holdout: holdoutFlag,
  'holdout-ids': holdoutIdsFlag,
  model: modelFlag,
  'pairs-dir': pairsDirFlag,
  'cache-dir': cacheDirFlag,
  config: configFlag,
}

/** `['--name', 'value']` or `['--name=value']` as oclif splits them. */
function nameAndValue(args: string[]): [string, string] {
  const [first = '', second = ''] = args
  const eq = first.indexOf('=')
  return eq < 0 ? [first.slice(2), second] : [first.slice(2, eq), first.slice(eq + 1)]
}

describe('every bad value of training run', () => {
  it.each(TRAINING_RUN.filter((bad) => nameAndValue(bad.args)[0] in PARSED).map((bad) => [bad.args.join(' '), bad] as const))(
    '%s fails with its message and a hint',
    async (_name, bad) => {
      const [name, value] = nameAndValue(bad.args)
      const error = await failure(parse(PARSED[name]!, name, value))
      expect(error.message).toMatch(bad.message)
      expect(error.hint).toMatch(bad.hint || /\S/)
    },
  )
})
