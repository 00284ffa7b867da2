import {describe, expect, it} from 'vitest'

import {ConceptText, conceptWords, matchConcepts, sameConcept} from '../../../src/loss/concepts.js'
import {porterInflectionStem, porterStem} from '../../../src/loss/porter.js'

const mentions = (script: string, term: string) => new ConceptText(script).mentions(term)

describe('conceptWords', () => {
  it('lower-cases, drops accents, possessives and apostrophes, and splits on everything else', () => {
    expect(conceptWords("The Model’s SELF-Attention (naïve), e.g. don\u2019t/won't; GPT-4")).toEqual([
      'the',
      'model',
      'self',
      'attention',
      'naive',
      'e',
      'g',
      'dont',
      'wont',
      'gpt',
      '4',
    ])
    expect(conceptWords('  -- ')).toEqual([])
  })
})

describe('porterInflectionStem', () => {
  it('joins plurals and verb forms, as porterStem does', () => {
    for (const [a, b] of [
      ['networks', 'network'],
      ['explains', 'explained'],
      ['explaining', 'explain'],
      ['studies', 'study'],
      ['embeddings', 'embedded'],
      ['tuning', 'tuned'],
    ]) {
      expect(porterInflectionStem(a!), `${a} ~ ${b}`).toBe(porterInflectionStem(b!))
    }
  })

  it('keeps derived words apart where full Porter joins them', () => {
    expect(porterStem('generalization')).toBe(porterStem('general'))
    expect(porterInflectionStem('generalization')).not.toBe(porterInflectionStem('general'))
    expect(porterStem('transformer')).toBe(porterStem('transform'))
    expect(porterInflectionStem('transformer')).not.toBe(porterInflectionStem('transform'))
  })
})

describe('ConceptText.mentions: near-miss spellings count', () => {
  it.each([
    ['plural in the script', 'the encoder uses attention heads', 'attention head'],
    ['singular in the script', 'a single graph neural network', 'graph neural networks'],
    ['-es plural', 'three classes of errors', 'class'],
    ['-ies plural', 'two ablation studies', 'ablation study'],
    ['case', 'We use an Extended KALMAN Filter', 'extended kalman filter'],
    ['punctuation between and around words', 'the loss (contrastive, learning-based)...', 'contrastive learning'],
    ['possessive', "the transformer's attention", 'transformer attention'],
    ['hyphen in the script, space in the concept', 'self-attention layers', 'self attention'],
    ['space in the script, hyphen in the concept', 'self attention layers', 'self-attention'],
    ['written together in the script', 'selfattention layers', 'self-attention'],
    ['written apart in the script', 'a new data set', 'dataset'],
    ['written together, plural', 'three datasets', 'data set'],
    ['hyphenated prefix written together, other word plural', 'multihead attention mechanisms', 'multi-head attention mechanism'],
    ['stemmed verb form: -ed', 'the model was fine-tuned on it', 'fine-tuning'],
    ['stemmed verb form: -s', 'it explains the result', 'explaining'],
    ['stemmed verb form, written together', 'we finetuned it', 'fine-tuning'],
    ['accent', 'a naïve Bayes classifier', 'naive bayes'],
    ['at the start and the end of the text', 'Sparse attention', 'sparse attention'],
  ])('%s: %j contains %j', (_, script, term) => {
    expect(mentions(script, term)).toBe(true)
  })
})

describe('ConceptText.mentions: true negatives', () => {
  it.each([
    ['a different word with a shared prefix', 'we transform the data', 'transformer'],
    ['a different word with a shared prefix (derivation)', 'in general, the generated text', 'generalization'],
    ['a word that contains the concept', 'a lapse of inattention', 'attention'],
    ['a word the concept contains', 'the attention layer', 'attentions span'],
    ['a longer word starting with the concept', 'the tokenizer splits words', 'token'],
    ['a longer word starting with the concept (adjective)', 'graphical models', 'graph'],
    ['part of a multiword concept', 'a neural network', 'graph neural network'],
    ['the words of a multiword concept, apart', 'graph data fed to a neural network', 'graph neural network'],
    ['the words of a multiword concept, out of order', 'filter: kalman, extended', 'extended kalman filter'],
    ['words written together that are not the concept', 'the self-attentive reader', 'self-attention'],
    ['a concept without letters or digits', 'anything at all', '—'],
  ])('%s: %j does not contain %j', (_, script, term) => {
    expect(mentions(script, term)).toBe(false)
  })
})

describe('sameConcept', () => {
  it('compares the judge\u2019s wording with the concept after normalisation', () => {
    expect(sameConcept('Self-Attention', 'self attention')).toBe(true)
    expect(sameConcept('selfattention', 'self-attention')).toBe(true)
    expect(sameConcept('  Extended Kalman Filters. ', 'extended kalman filter')).toBe(true)
    expect(sameConcept('data sets', 'Dataset')).toBe(true)
  })

  it('does not take a part for the whole or a neighbour for the word', () => {
    expect(sameConcept('neural network', 'graph neural network')).toBe(false)
    expect(sameConcept('transform', 'transformer')).toBe(false)
    expect(sameConcept('', '')).toBe(false)
  })
})

describe('matchConcepts', () => {
  const concepts = ['self-attention', 'sparse attention', 'quadratic complexity', 'learned routing']

  it('counts a concept the judge lists in other words, or the script names, in the paper\u2019s order', () => {
    const result = matchConcepts(concepts, {
      claimed: ['Learned Routing', 'Self Attention'],
      script: 'HOST: Sparse-attention models skip most token pairs.',
    })
    expect(result).toEqual({explained: ['self-attention', 'sparse attention', 'learned routing'], missed: ['quadratic complexity']})
  })

  it('never counts what is not among the paper\u2019s key concepts, whatever the judge lists or the script says', () => {
    const result = matchConcepts(['sparse attention'], {
      claimed: ['dense attention', 'quadratic complexity', 'attention'],
      script: 'Quadratic complexity and dense attention, with attention everywhere.',
    })
    expect(result).toEqual({explained: [], missed: ['sparse attention']})
    expect(matchConcepts([], {claimed: ['anything'], script: 'anything'})).toEqual({explained: [], missed: []})
  })

  it('explains each concept once, listed as the paper spells it', () => {
    const result = matchConcepts(['Tokens'], {claimed: ['tokens', 'TOKEN', 'token'], script: 'tokens tokens'})
    expect(result).toEqual({explained: ['Tokens'], missed: []})
  })

  it('keeps up with a long script', () => {
    const script = Array.from({length: 20_000}, (_, i) => `word${i % 997} filler-text, again`).join(' ')
    const started = performance.now()
    const result = matchConcepts(
      Array.from({length: 12}, (_, i) => `missing concept number ${i}`),
      {claimed: [], script},
    )
    expect(result.explained).toEqual([])
    expect(performance.now() - started).toBeLessThan(2000)
  })
})
