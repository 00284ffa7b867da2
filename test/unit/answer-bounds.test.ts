/**
 * Answers the APIs cannot constrain: the schemas accept what the code can bring into
 * range, and core/answer-bounds.ts brings it there (clamped or dropped, with a note per
 * change) instead of a corrective retry and a lost pair.
 */
import {describe, expect, it} from 'vitest'

import {clampJudgeScores, clampKeyConcepts, clampScript, clampSegmentLabels, warnOutOfRange} from '../../src/core/answer-bounds.js'
import {
  JudgeAnswer,
  KeyConceptsAnswer,
  RefineAnswer,
  ScriptAnswer,
  SegmentLabelsAnswer,
  type Script,
} from '../../src/core/schemas/answers.js'
import type {PromptSpec} from '../../src/core/schemas/common.js'
import {checkRefinedPrompt, RefinementRejectedError} from '../../src/training/optimise/llm.js'
import {mergeConceptAnswers, normaliseConcepts} from '../../src/training/stages/analyse.js'

const judge = (scores: Partial<JudgeAnswer> = {}): JudgeAnswer => ({
  concepts_explained: ['attention'],
  engagement: 70,
  clarity: 80,
  accuracy: 90,
  weakest_dimension_reason: 'r',
  ...scores,
})

describe('the answer schemas accept what the code can bring into range', () => {
  it('takes a judge score of 104 or -3, an importance of 7 or -1, any label index, blank script lines', () => {
    expect(JudgeAnswer.safeParse(judge({engagement: 104, accuracy: -3})).success).toBe(true)
    expect(
      KeyConceptsAnswer.safeParse({
        concepts: [
          {term: 'a', importance: 7},
          {term: '', importance: -1},
        ],
      }).success,
    ).toBe(true)
    expect(
      SegmentLabelsAnswer.safeParse({
        labels: [
          {index: -1, label: 'intro'},
          {index: 99, label: 'outro'},
        ],
      }).success,
    ).toBe(true)
    const script = {
      segments: [
        {
          label: 'intro',
          lines: [
            {speaker: '', text: 'Hi.'},
            {speaker: 'Host', text: ''},
            {speaker: 'Host', text: 'Welcome.'},
          ],
        },
      ],
    }
    expect(ScriptAnswer.safeParse(script).success).toBe(true)
  })

  it('still rejects what an API enforces or the code cannot do without (a corrective retry)', () => {
    // Types and enums: enforced by every API's structured outputs.
    expect(SegmentLabelsAnswer.safeParse({labels: [{index: 1.5, label: 'intro'}]}).success).toBe(false)
    expect(SegmentLabelsAnswer.safeParse({labels: [{index: 1, label: 'chorus'}]}).success).toBe(false)
    expect(JudgeAnswer.safeParse({...judge(), clarity: '80'}).success).toBe(false)
    // A script needs a segment, and one line with a speaker and text, to be scored at all.
    expect(ScriptAnswer.safeParse({segments: []}).success).toBe(false)
    const silent = ScriptAnswer.safeParse({
      segments: [
        {
          label: 'intro',
          lines: [
            {speaker: 'Host', text: ' '},
            {speaker: '', text: 'Hi.'},
          ],
        },
      ],
    })
    expect(silent.success).toBe(false)
    expect(silent.error!.issues[0]!.message).toBe('the script has no line with both a speaker and text')
  })
})

describe('clampJudgeScores', () => {
  it('clamps scores outside 0..100 to the nearer end, naming each field', () => {
    const answer = judge({engagement: 104, accuracy: -3})
    const bounded = clampJudgeScores(answer)
    expect(bounded.value).toEqual(judge({engagement: 100, accuracy: 0}))
    expect(bounded.notes).toEqual(['engagement 104 is above 100, clamped to 100', 'accuracy -3 is below 0, clamped to 0'])
    // Pure: the answer given is left as it was.
    expect(answer.engagement).toBe(104)
  })

  it('leaves scores within the scale (fractions and both ends included) alone', () => {
    const answer = judge({engagement: 0, clarity: 72.5, accuracy: 100})
    expect(clampJudgeScores(answer)).toEqual({value: answer, notes: []})
  })
})

describe('clampKeyConcepts', () => {
  it('clamps a negative importance to 0 and drops a concept without a term', () => {
    const answer = {
      concepts: [
        {term: 'sparse attention', importance: 9},
        {term: '  ', importance: 5},
        {term: ' routing ', importance: -2},
        {term: 'blocks', importance: 3},
      ],
    }
    const bounded = clampKeyConcepts(answer)
    expect(bounded.value.concepts).toEqual([
      {term: 'sparse attention', importance: 9},
      {term: ' routing ', importance: 0},
      {term: 'blocks', importance: 3},
    ])
    expect(bounded.notes).toEqual(['concepts[1] has no term, dropped', 'concepts[2].importance -2 ("routing") is below 0, clamped to 0'])
    expect(answer.concepts).toHaveLength(4)
  })

  it('accepts any non-negative scale: a 1-10 answer weighs the same as its 0-1 version once rescaled', () => {
    const tenths = {concepts: [8, 10, 4, 1].map((importance, i) => ({term: `t${i}`, importance}))}
    const unit = {concepts: tenths.concepts.map((c) => ({...c, importance: c.importance / 10}))}
    expect(clampKeyConcepts(tenths).notes).toEqual([])
    expect(normaliseConcepts(clampKeyConcepts(tenths).value)).toEqual(normaliseConcepts(unit))
    expect(normaliseConcepts(tenths).map((c) => c.weight)).toEqual([0.8, 1, 0.4, 0.1])
    // Chunks merge the same way whatever the scale.
    expect(mergeConceptAnswers([tenths, tenths])).toEqual(mergeConceptAnswers([unit, unit]))
  })

  it('weighs every concept 1 when none has a positive importance (a clamped answer of zeros)', () => {
    const bounded = clampKeyConcepts({
      concepts: [
        {term: 'a', importance: -1},
        {term: 'b', importance: 0},
      ],
    })
    expect(normaliseConcepts(bounded.value)).toEqual([
      {term: 'a', weight: 1},
      {term: 'b', weight: 1},
    ])
  })
})

describe('clampSegmentLabels', () => {
  it('drops labels whose index names no segment, and keeps the others in order', () => {
    const answer: SegmentLabelsAnswer = {
      labels: [
        {index: 0, label: 'intro'},
        {index: -1, label: 'background'},
        {index: 2, label: 'method'},
        {index: 3, label: 'outro'},
      ],
    }
    const bounded = clampSegmentLabels(answer, 3)
    expect(bounded.value.labels).toEqual([
      {index: 0, label: 'intro'},
      {index: 2, label: 'method'},
    ])
    expect(bounded.notes).toEqual([
      'labels[1].index -1 names no segment (0..2), dropped',
      'labels[3].index 3 names no segment (0..2), dropped',
    ])
    expect(clampSegmentLabels({labels: [{index: 0, label: 'intro'}]}, 0).notes).toEqual([
      'labels[0].index 0 names no segment (there are none), dropped',
    ])
  })
})

describe('clampScript', () => {
  it('drops lines without text and segments left empty, and gives a line without a speaker the one before', () => {
    const script: Script = {
      segments: [
        {
          label: 'intro',
          lines: [
            {speaker: ' ', text: 'Welcome.'},
            {speaker: 'Host', text: 'Hi.'},
          ],
        },
        {label: 'background', lines: [{speaker: 'Guest', text: '  '}]},
        {label: 'method', lines: []},
        {
          label: 'findings',
          lines: [
            {speaker: 'Guest', text: 'It works.'},
            {speaker: '', text: 'Mostly.'},
          ],
        },
      ],
    }
    const bounded = clampScript(script)
    expect(bounded.value).toEqual({
      segments: [
        {
          label: 'intro',
          lines: [
            {speaker: 'Host', text: 'Welcome.'},
            {speaker: 'Host', text: 'Hi.'},
          ],
        },
        {
          label: 'findings',
          lines: [
            {speaker: 'Guest', text: 'It works.'},
            {speaker: 'Guest', text: 'Mostly.'},
          ],
        },
      ],
    })
    expect(bounded.notes).toEqual([
      'segments[0].lines[0] has no speaker, given "Host"',
      'segments[1].lines[0] has no text, dropped',
      'segments[1] (background) has no line left, dropped',
      'segments[2] (method) has no line left, dropped',
      'segments[3].lines[1] has no speaker, given "Guest"',
    ])
  })

  it('returns a well-formed script as it is, without notes', () => {
    const script: Script = {segments: [{label: 'intro', lines: [{speaker: 'Host', text: 'Hi.'}]}]}
    expect(clampScript(script)).toEqual({value: script, notes: []})
  })
})

describe('warnOutOfRange', () => {
  it('makes one warning per answer, naming the answer and each change, five at most', () => {
    const messages: string[] = []
    warnOutOfRange((m) => messages.push(m), 'judge', [])
    expect(messages).toEqual([])
    warnOutOfRange((m) => messages.push(m), 'judge', clampJudgeScores(judge({clarity: 104})).notes)
    const notes = Array.from({length: 7}, (_, i) => `labels[${i}].index ${i + 10} names no segment (0..9), dropped`)
    warnOutOfRange((m) => messages.push(m), 'classify', notes)
    expect(messages).toEqual([
      'the judge answer was out of range: clarity 104 is above 100, clamped to 100',
      `the classify answer was out of range: ${notes.slice(0, 5).join('; ')}; and 2 more`,
    ])
  })
})

describe('the refine answer is held to PromptSpec after validation', () => {
  const current: PromptSpec = {
    version: 1,
    target_words: 1000,
    length: null,
    segment_plan: [
      {label: 'intro', share: 0.2},
      {label: 'findings', share: 0.8},
    ],
    speakers: [
      {name: 'Host', role: 'asks'},
      {name: 'Guest', role: 'explains'},
    ],
    style: {words_per_minute: 150, questions_per_minute: 1, mean_sentence_words: 15, tone: 'warm', analogies: 'some'},
    must_cover_concepts: 5,
    instructions: [],
  }
  const {length: _length, ...answered} = current

  it('accepts out-of-bounds numbers in the answer, then rejects the prompt naming each (the rule-based proposal is kept)', () => {
    const prompt = {
      ...answered,
      segment_plan: [
        {label: 'intro' as const, share: -0.2},
        {label: 'findings' as const, share: 1.2},
      ],
      speakers: [
        {name: 'Host', role: ''},
        {name: 'Guest', role: 'explains'},
      ],
      style: {...answered.style, words_per_minute: 0},
      must_cover_concepts: -1,
    }
    expect(RefineAnswer.safeParse({prompt, changes: []}).success).toBe(true)
    let error: unknown
    try {
      checkRefinedPrompt(prompt, {current, proposal: current})
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(RefinementRejectedError)
    const problems = (error as RefinementRejectedError).problems.join('\n')
    for (const path of [
      'segment_plan.0.share',
      'segment_plan.1.share',
      'speakers.0.role',
      'style.words_per_minute',
      'must_cover_concepts',
    ]) {
      expect(problems).toContain(`${path}: `)
    }
  })

  it('passes a prompt within PromptSpec unchanged', () => {
    expect(checkRefinedPrompt(answered, {current, proposal: current})).toEqual({prompt: current, notes: []})
  })
})
