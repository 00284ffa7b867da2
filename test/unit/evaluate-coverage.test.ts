/**
 * scorePair's coverage: a key concept counts when the judge lists it in any spelling or the
 * script names it in any inflection (loss/concepts.ts), and nothing else counts. The script
 * and the judge's answer are fixed here, so the expected concepts are known exactly.
 */
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {LanguageModel, Providers, StructuredRequest} from '../../src/core/providers.js'
import type {JudgeAnswer, Script} from '../../src/core/schemas/answers.js'
import {PairAnalysis, TrialPromptFile} from '../../src/core/schemas/files.js'
import type {PairFiles} from '../../src/core/schemas/inputs.js'
import {DEFAULT_WEIGHTS} from '../../src/loss/weights.js'
import type {Paper} from '../../src/media/paper.js'
import {scorePair, type PreparedPair} from '../../src/training/stages/evaluate.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
let analysis: PairAnalysis
let prompt: TrialPromptFile

beforeAll(async () => {
  root = await makeTempDir('studio-coverage-')
  const outcome = await mockTrainingRun(root, {maxTrials: 1})
  const id = 'sparse-attention-long-documents'
  analysis = PairAnalysis.parse(JSON.parse(await readFile(path.join(outcome.runDir, 'pairs', id, 'analysis.json'), 'utf8')))
  const trial = (await readdir(outcome.runDir)).find((name) => name.startsWith('trial_000_'))!
  prompt = TrialPromptFile.parse(JSON.parse(await readFile(path.join(outcome.runDir, trial, 'prompt.json'), 'utf8')))
})
afterAll(async () => {
  await removeDir(root)
})

const SCRIPT: Script = {
  segments: [
    {label: 'intro', lines: [{speaker: 'Host', text: 'Today: a selfattention model fine-tuned on three public datasets.'}]},
    {label: 'method', lines: [{speaker: 'Guest', text: 'Blocks of tokens are routed, and the cost stays linear.'}]},
  ],
}

function providers(judged: string[]): Providers {
  const model: LanguageModel = {
    id: 'stub',
    maxOutputTokens: 64_000,
    structured<T>(request: StructuredRequest<T>) {
      const value =
        request.role === 'generate'
          ? SCRIPT
          : ({
              concepts_explained: judged,
              engagement: 70,
              clarity: 70,
              accuracy: 70,
              weakest_dimension_reason: 'stub',
            } satisfies JudgeAnswer)
      return Promise.resolve({value: value as T, usage: {input_tokens: 1, output_tokens: 1}})
    },
  }
  return {transcriber: {id: 'stub', transcribe: () => Promise.reject(new Error('not called'))}, languageModel: () => model}
}

async function score(concepts: string[], judged: string[]) {
  const pair: PreparedPair = {
    files: {id: 'p'} as PairFiles,
    paper: {title: 'A paper'} as Paper,
    analysis: {...analysis, concepts: concepts.map((term, i) => ({term, weight: 1 / (i + 1)}))},
    referenceText: 'reference text',
    paperText: 'paper text',
  }
  const dir = await makeTempDir('studio-coverage-trial-')
  try {
    return await scorePair(pair, prompt.prompt, DEFAULT_WEIGHTS, dir, 42, providers(judged), 'train')
  } finally {
    await removeDir(dir)
  }
}

describe('scorePair: coverage of the key concepts', () => {
  it('counts concepts the judge spells differently and concepts the script names in another form, in the paper\u2019s order', async () => {
    const result = await score(
      ['Self-Attention', 'data set', 'quadratic complexity', 'graph neural network', 'learned routing', 'token'],
      ['Quadratic-Complexity', 'Learned routing.', 'neural network', 'a concept the paper does not have'],
    )
    expect(result.details.concepts_explained).toEqual(['Self-Attention', 'data set', 'quadratic complexity', 'learned routing', 'token'])
    expect(result.details.concepts_missed).toEqual(['graph neural network'])
    expect(result.details.concepts_total).toBe(6)
    expect(result.losses.coverage).toBeCloseTo(1 - 5 / 6, 12)
  })

  it('counts nothing that is not a key concept, and nothing the script only comes close to', async () => {
    const result = await score(['transformer', 'attention head'], ['transform', 'attention', 'heads of attention'])
    expect(result.details.concepts_explained).toEqual([])
    expect(result.losses.coverage).toBe(1)
  })
})
