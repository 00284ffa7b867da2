import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {extractKeyConcepts} from '../../src/providers/mock/concepts.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import type {Providers, StructuredRequest} from '../../src/core/providers.js'
import {MAX_KEY_CONCEPTS, analysePair, mergeConceptAnswers} from '../../src/training/stages/analyse.js'
import {DEFAULT_TOKEN_BUDGETS, approximateTokens, chunkSpans, chunkText, defaultOverlapTokens} from '../../src/training/budget.js'
import {OMISSION, condenseForGeneration} from '../../src/training/condense.js'
import type {Paper} from '../../src/media/paper.js'
import {PairAnalysis} from '../../src/core/schemas/files.js'
import {type KeyConcept, type Transcript} from '../../src/core/schemas/common.js'

// ------------------------------------------------------------------ inputs

const FILLER = [
  'The weather station logged readings every hour.',
  'Several volunteers checked the instruments each week.',
  'Results were stored in a shared spreadsheet.',
  'The team met on Fridays to review progress.',
  'Funding came from a regional science programme.',
  'Older records were digitised from paper notebooks.',
]

/** A deterministic long "paper": numbered sections of filler prose with some planted key terms. */
function longBody(paragraphs: number): string {
  const parts = [
    'Coastal Fog Forecasting with Graph Networks',
    '',
    'Abstract',
    'We forecast coastal fog with a graph network over sensor stations. The graph network beats persistence baselines.',
    '',
    '1 Introduction',
  ]
  for (let p = 0; p < paragraphs; p++) {
    if (p === Math.floor(paragraphs / 2)) parts.push('', '2 Method')
    const sentences = Array.from({length: 5}, (_, s) => FILLER[(p * 5 + s) % FILLER.length]!)
    if (p % 7 === 3) sentences.push(`Paragraph ${p} discusses dew point depression at station ${p}.`)
    parts.push(sentences.join(' '), '')
  }
  parts.push('5 Conclusion', 'The graph network forecasts fog six hours ahead. Dew point depression remains the strongest single signal.')
  return parts.join('\n')
}

function paperOf(body: string): Paper {
  return {
    path: '/papers/fog.pdf',
    sha256: 'x',
    format: 'pdf',
    pages: 9,
    title: 'Coastal Fog Forecasting with Graph Networks',
    body,
    references: '',
    words: body.split(/\s+/).length,
  }
}

const transcript: Transcript = {
  source: 'sidecar-json',
  duration_seconds: 60,
  segments: [
    {start: 0, end: 20, speaker: 'Host', text: 'Welcome! Today: fog forecasting with graph networks.'},
    {start: 20, end: 40, speaker: 'Guest', text: 'We used a graph network over weather stations.'},
    {start: 40, end: 60, speaker: 'Host', text: 'Thanks for listening.'},
  ],
}

/** Mock providers that record every concepts request. */
function countingProviders(): {providers: Providers; conceptRequests: Array<StructuredRequest<unknown>>} {
  const inner = mockProviders()
  const conceptRequests: Array<StructuredRequest<unknown>> = []
  const providers: Providers = {
    transcriber: inner.transcriber,
    languageModel: (role) => {
      const model = inner.languageModel(role)
      return {
        id: model.id,
        maxOutputTokens: model.maxOutputTokens,
        structured: (request) => {
          if (request.task.kind === 'key-concepts') conceptRequests.push(request)
          return model.structured(request)
        },
      }
    },
  }
  return {providers, conceptRequests}
}

const input = (body: string, budgets?: Partial<typeof DEFAULT_TOKEN_BUDGETS>) => ({
  pairId: 'fog',
  paper: paperOf(body),
  episode: {path: '/papers/fog.mp3', durationSeconds: 60, sha256: 'y'},
  transcript,
  seed: 7,
  budgets,
})

// ------------------------------------------------------------------ budget

describe('approximateTokens and budgets', () => {
  it('counts ceil(characters / 4)', () => {
    expect(approximateTokens('')).toBe(0)
    expect(approximateTokens('abcd')).toBe(1)
    expect(approximateTokens('abcde')).toBe(2)
  })

  it('has a paper-text budget for every role', () => {
    expect(DEFAULT_TOKEN_BUDGETS).toEqual({classify: 60_000, concepts: 60_000, generate: 60_000, judge: 60_000})
    expect(defaultOverlapTokens(60_000)).toBe(3_000)
  })
})

describe('chunkText', () => {
  const sentence = fc.stringMatching(/^[A-Z][a-z]{0,12}(?: [a-z]{1,12}){0,15}[.!?]$/)
  const paragraph = fc.array(sentence, {minLength: 1, maxLength: 8}).map((s) => s.join(' '))
  const document = fc.array(paragraph, {minLength: 1, maxLength: 30}).map((p) => p.join('\n\n'))
  const budget = fc
    .integer({min: 2, max: 300})
    .chain((max) => fc.tuple(fc.constant(max), fc.integer({min: 0, max: Math.ceil(max / 2) - 1})))

  it('keeps every chunk within the budget and covers the whole text, in order, with overlap', () => {
    fc.assert(
      fc.property(
        fc.oneof(document, fc.string({maxLength: 3000}), fc.string({unit: 'grapheme', maxLength: 800})),
        budget,
        (text, [max, overlap]) => {
          const spans = chunkSpans(text, max, overlap)
          const chunks = chunkText(text, max, overlap)
          expect(chunks).toEqual(spans.map((s) => text.slice(s.start, s.end)))
          expect(spans[0]!.start).toBe(0)
          expect(spans.at(-1)!.end).toBe(text.length)
          for (const chunk of chunks) expect(approximateTokens(chunk)).toBeLessThanOrEqual(max)
          for (let i = 1; i < spans.length; i++) {
            expect(spans[i]!.start).toBeGreaterThan(spans[i - 1]!.start)
            if (overlap > 0) expect(spans[i]!.start).toBeLessThan(spans[i - 1]!.end)
            else expect(spans[i]!.start).toBe(spans[i - 1]!.end)
          }
        },
      ),
      {numRuns: 300},
    )
  })

  it('returns a text within budget as one chunk', () => {
    expect(chunkText('Short text.', 100, 10)).toEqual(['Short text.'])
    expect(chunkText('', 100, 10)).toEqual([''])
  })

  it('cuts at paragraph breaks, and starts the overlap at a sentence', () => {
    const paragraphs = Array.from({length: 12}, (_, i) => `Paragraph ${i} opens here. It has a second sentence. And a third one to end it.`)
    const text = paragraphs.join('\n\n')
    const chunks = chunkText(text, 60, 10)
    expect(chunks.length).toBeGreaterThan(2)
    for (const chunk of chunks.slice(0, -1)) expect(chunk.endsWith('\n\n')).toBe(true)
    for (const chunk of chunks.slice(1)) expect(chunk).toMatch(/^[A-Z]/)
  })

  it('rejects a budget the overlap does not fit in', () => {
    expect(() => chunkText('x', 0, 0)).toThrow(RangeError)
    expect(() => chunkText('x', 10, 5)).toThrow(RangeError)
    expect(() => chunkText('x', 10, -1)).toThrow(RangeError)
  })
})

// ------------------------------------------------------------------ reduce

describe('mergeConceptAnswers', () => {
  it('merges terms case-insensitively, sums importance over chunks and keeps the top ones', () => {
    const merged = mergeConceptAnswers([
      {
        concepts: [
          {term: 'Graph Network', importance: 1},
          {term: 'fog', importance: 0.5},
          {term: 'graph network', importance: 0.9},
        ],
      },
      {
        concepts: [
          {term: 'dew point', importance: 1},
          {term: 'FOG', importance: 0.75},
        ],
      },
      {
        concepts: [
          {term: 'graph network ', importance: 0.5},
          {term: 'dew point', importance: 0.2},
        ],
      },
    ])
    expect(merged.concepts).toEqual([
      {term: 'Graph Network', importance: 1},
      {term: 'fog', importance: round(1.25 / 1.5)},
      {term: 'dew point', importance: round(1.2 / 1.5)},
    ])
  })

  it('keeps at most MAX_KEY_CONCEPTS, ties in order of first appearance', () => {
    const many = Array.from({length: 20}, (_, i) => ({term: `term ${i}`, importance: 0.5}))
    const merged = mergeConceptAnswers([{concepts: many.slice(0, 10)}, {concepts: many.slice(10)}])
    expect(merged.concepts.map((c) => c.term)).toEqual(many.slice(0, MAX_KEY_CONCEPTS).map((c) => c.term))
    expect(merged.concepts.every((c) => c.importance === 1)).toBe(true)
  })

  it('copes with chunks that found nothing', () => {
    expect(mergeConceptAnswers([{concepts: []}, {concepts: []}])).toEqual({concepts: []})
  })
})

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6
}

// ------------------------------------------------------------------ analysePair

describe('analysePair with a long paper', () => {
  it('makes one concepts call and records nothing when the paper fits', async () => {
    const {providers, conceptRequests} = countingProviders()
    const analysis = await analysePair(input(longBody(20)), providers)
    expect(conceptRequests).toHaveLength(1)
    expect(analysis.long_paper).toBeNull()
    expect(analysis.paper.format).toBe('pdf')
    expect(() => PairAnalysis.parse(analysis)).not.toThrow()
  })

  it('extracts concepts per overlapping chunk with the mock, merges them and says so', async () => {
    const body = longBody(120)
    const {providers, conceptRequests} = countingProviders()
    const analysis = await analysePair(input(body, {concepts: 1_000, generate: 2_000}), providers)
    const expected = chunkText(body, 1_000, defaultOverlapTokens(1_000))
    expect(expected.length).toBeGreaterThan(2)
    expect(conceptRequests.map((r) => (r.task as {paper: string}).paper)).toEqual(expected)
    expect(conceptRequests.every((r) => r.task.kind === 'key-concepts' && r.task.max === MAX_KEY_CONCEPTS)).toBe(true)
    expect(analysis.long_paper).toEqual({
      paper_tokens: approximateTokens(body),
      concepts_chunks: expected.length,
      condensed_for_generation: true,
    })
    expect(analysis.concepts.length).toBeGreaterThan(0)
    expect(analysis.concepts.length).toBeLessThanOrEqual(MAX_KEY_CONCEPTS)
    expect(analysis.concepts[0]!.weight).toBe(1)
    // The mock's per-chunk answers, reduced: what the analysis must hold.
    const perChunk = expected.map((chunk) => ({
      concepts: extractKeyConcepts(chunk, MAX_KEY_CONCEPTS).map((c) => ({term: c.term, importance: c.weight})),
    }))
    expect(perChunk.every((a) => a.concepts.length > 0)).toBe(true)
    expect(analysis.concepts).toEqual(
      mergeConceptAnswers(perChunk).concepts.map((c) => ({term: c.term, weight: Math.max(c.importance, 1e-6)})),
    )
    expect(() => PairAnalysis.parse(analysis)).not.toThrow()
  })

  it('flags condensation alone when only the generate budget is exceeded', async () => {
    const body = longBody(40)
    const {providers, conceptRequests} = countingProviders()
    const analysis = await analysePair(input(body, {generate: 500}), providers)
    expect(conceptRequests).toHaveLength(1)
    expect(analysis.long_paper).toEqual({paper_tokens: approximateTokens(body), concepts_chunks: 1, condensed_for_generation: true})
  })

  it('reads analyses written before long_paper and format existed', () => {
    const old = PairAnalysis.parse({
      pair_id: 'a',
      paper: {path: 'a.pdf', pages: 1, words: 10, sha256: 'x'},
      episode: {path: 'a.mp3', duration_seconds: 1, sha256: 'y'},
      transcript_source: 'mock',
      concepts: [],
      segments: [],
      structure: {sequence: [], time_shares: {}, word_shares: {}},
      style: {
        words: 0,
        duration_seconds: 1,
        words_per_minute: 0,
        mean_sentence_words: 0,
        questions_per_minute: 0,
        speaker_turns: 0,
        turns_per_minute: 0,
        speakers: [],
      },
    })
    expect(old.long_paper).toBeNull()
    expect(old.paper.format).toBe('pdf')
  })
})

// ------------------------------------------------------------------ condense

describe('condenseForGeneration', () => {
  const body = longBody(150)
  const concepts: KeyConcept[] = [
    {term: 'dew point depression', weight: 1},
    {term: 'graph network', weight: 0.8},
    {term: 'spreadsheet', weight: 0.1},
  ]

  it('returns the body unchanged when it fits', () => {
    expect(condenseForGeneration('A short paper.', concepts, 100)).toBe('A short paper.')
  })

  it('stays within the budget at any size', () => {
    for (const max of [3, 20, 200, 1_000, 3_000]) {
      expect(approximateTokens(condenseForGeneration(body, concepts, max))).toBeLessThanOrEqual(max)
    }
  })

  it('keeps the sentences naming the top concepts, in the paper order, marking omissions', () => {
    const condensed = condenseForGeneration(body, concepts, 1_500)
    expect(approximateTokens(body)).toBeGreaterThan(1_500)
    for (let p = 3; p < 150; p += 7) expect(condensed).toContain(`Paragraph ${p} discusses dew point depression at station ${p}.`)
    expect(condensed).toContain('We forecast coastal fog with a graph network over sensor stations.')
    expect(condensed).toContain('The graph network forecasts fog six hours ahead.')
    expect(condensed).toContain(OMISSION)
    // Order: every kept sentence appears in the body after the one kept before it.
    let from = 0
    for (const piece of condensed.split(/\n\n| ?\[\.\.\.\] ?/).filter(Boolean)) {
      for (const sentence of piece.split(/(?<=[.!?]) (?=[A-Z])/)) {
        const at = body.replace(/\s+/g, ' ').indexOf(sentence, from)
        expect(at, sentence).toBeGreaterThanOrEqual(from)
        from = at + sentence.length
      }
    }
  })

  it('prefers the abstract, introduction and conclusion when concepts do not decide', () => {
    const condensed = condenseForGeneration(body, [], 200)
    expect(condensed).toContain('Abstract')
    expect(condensed).toContain('We forecast coastal fog')
    expect(condensed).toContain('5 Conclusion')
    expect(condensed).not.toContain('2 Method')
  })

  it('is deterministic', () => {
    expect(condenseForGeneration(body, concepts, 800)).toBe(condenseForGeneration(body, concepts, 800))
  })
})
