import {describe, expect, it} from 'vitest'

import {askedWords, askedWordsFor, describeLengthRule, fitLengthModel, predictWords} from '../../src/training/length-model.js'
import {initialPrompt} from '../../src/training/prompt.js'
import {AggregateProfile} from '../../src/core/schemas/files.js'

const PROFILE = AggregateProfile.parse({
  pairs: 4,
  sequence: ['intro', 'method', 'outro'],
  word_shares: {intro: 0.2, method: 0.6, outro: 0.2},
  time_shares: {intro: 0.2, method: 0.6, outro: 0.2},
  duration_seconds: 600,
  words: 1500,
  words_per_minute: 150,
  mean_sentence_words: 12,
  questions_per_minute: 1,
  turns_per_minute: 3,
  speakers: ['Host', 'Guest'],
})

describe('fitLengthModel', () => {
  it('fits episode words linearly on paper words when the fit is good', () => {
    const points = [2000, 4000, 6000, 8000].map((paperWords) => ({paperWords, episodeWords: 300 + 0.2 * paperWords}))
    const model = fitLengthModel(points)
    expect(model.kind).toBe('linear')
    expect(model.intercept).toBeCloseTo(300, 0)
    expect(model.slope).toBeCloseTo(0.2, 5)
    expect(model.r2).toBeCloseTo(1, 5)
    expect(model.mean_words).toBe(1300)
    expect(predictWords(model, 5000)).toBeCloseTo(1300, 0)
    expect(model.note).toMatch(/fitted on 4 training pairs/)
  })

  it('keeps predictions within half the shortest and twice the longest episode', () => {
    const model = fitLengthModel([1000, 2000, 3000].map((paperWords) => ({paperWords, episodeWords: paperWords / 2})))
    expect(predictWords(model, 1_000_000)).toBe(3000)
    expect(predictWords(model, 0)).toBe(250)
  })

  it('falls back to the mean with fewer than 3 pairs, and says why', () => {
    const model = fitLengthModel([
      {paperWords: 1000, episodeWords: 500},
      {paperWords: 3000, episodeWords: 1500},
    ])
    expect(model).toMatchObject({kind: 'mean', slope: 0, mean_words: 1000, r2: null})
    expect(model.note).toMatch(/too few to fit.*3 needed/)
    expect(predictWords(model, 9000)).toBe(1000)
  })

  it('falls back to the mean when paper length explains little of episode length', () => {
    const model = fitLengthModel([
      {paperWords: 1000, episodeWords: 1500},
      {paperWords: 2000, episodeWords: 500},
      {paperWords: 3000, episodeWords: 1600},
      {paperWords: 4000, episodeWords: 700},
    ])
    expect(model.kind).toBe('mean')
    expect(model.note).toMatch(/explains only \d+%|did not have longer episodes/)
  })

  it('falls back to the mean when longer papers have shorter episodes', () => {
    const model = fitLengthModel([1000, 2000, 3000].map((paperWords) => ({paperWords, episodeWords: 4000 - paperWords})))
    expect(model.kind).toBe('mean')
    expect(model.note).toMatch(/did not have longer episodes/)
  })
})

describe('askedWords', () => {
  const model = fitLengthModel([2000, 4000, 6000].map((paperWords) => ({paperWords, episodeWords: 0.25 * paperWords})))

  it('asks a paper for its predicted length under exponent 1 and a typical target', () => {
    const prompt = initialPrompt(PROFILE, model)
    expect(prompt.target_words).toBe(1000)
    expect(askedWords(prompt, 2000)).toBe(500)
    expect(askedWords(prompt, 6000)).toBe(1500)
  })

  it('scales asks by the exponent around the typical paper', () => {
    const rule = {model, exponent: 2}
    expect(askedWordsFor(1200, rule, 4000)).toBe(1200)
    expect(askedWordsFor(1200, rule, 2000)).toBe(300)
  })

  it('asks every paper for target_words without a length rule (prompts written before it existed)', () => {
    const prompt = {...initialPrompt(PROFILE), length: null}
    expect(askedWords(prompt, 100)).toBe(prompt.target_words)
    expect(askedWords(prompt, 100_000)).toBe(prompt.target_words)
    expect(describeLengthRule(prompt)).toBe(`every paper is asked for ${prompt.target_words} words`)
  })

  it('describes the rule in words', () => {
    expect(describeLengthRule(initialPrompt(PROFILE, model))).toMatch(
      /predicts the episode at .* x the paper's words.*asked for 1000 x \(prediction \/ 1000\)\^1 words/,
    )
  })
})
