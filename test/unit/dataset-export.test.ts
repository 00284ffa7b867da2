import {describe, expect, it} from 'vitest'

import {EXIT} from '../../src/core/errors.js'
import {DatasetExample, ChatExample} from '../../src/core/schemas/dataset.js'
import type {LabelledSegment} from '../../src/core/schemas/common.js'
import {chatExample, chatTokens, scriptSegments, scriptText} from '../../src/training/dataset/build.js'
import {checkDataset, DatasetCheckError} from '../../src/training/dataset/checks.js'
import {renderSummaryMarkdown, summarise} from '../../src/training/dataset/summary.js'

function segment(label: LabelledSegment['label'], speaker: string | null, text: string, start: number): LabelledSegment {
  return {label, speaker, text, start, end: start + 5, words: text.split(/\s+/).filter(Boolean).length}
}

/** A valid example; `paper` sets its paper text (and so its hash), `split` its split. */
function example(id: string, options: {paper?: string; split?: 'train' | 'validation'; transcript?: string} = {}): DatasetExample {
  const paper = options.paper ?? `The paper of ${id}.`
  const segments = scriptSegments([
    segment('intro', 'Host', 'Welcome to the show.', 0),
    segment('findings', 'Guest', options.transcript ?? `What ${id} found.`, 5),
  ])
  return DatasetExample.parse({
    input: {
      title: `Title of ${id}`,
      key_concepts: [{term: 'drought', weight: 1}],
      paper_text: paper,
      paper_condensed: false,
      paper_text_sha256: `sha-${paper}`,
      system_prompt: 'You write podcast scripts.',
      user_prompt: `Paper:\n${paper}`,
      target_words: 300,
    },
    target: {segments, text: scriptText(segments), words: 7, speakers: ['Host', 'Guest']},
    metadata: {
      pair_id: id,
      split: options.split ?? 'train',
      run_id: 'run-1',
      paper_words: 4,
      episode_seconds: 10,
      transcript_source: 'sidecar-vtt',
      structure: {sequence: ['intro', 'findings'], time_shares: {intro: 0.5, findings: 0.5}, word_shares: {intro: 0.5, findings: 0.5}},
      style: {
        words: 7,
        duration_seconds: 10,
        words_per_minute: 42,
        mean_sentence_words: 3.5,
        questions_per_minute: 0,
        speaker_turns: 1,
        turns_per_minute: 6,
        speakers: ['Host', 'Guest'],
      },
      best_trial: {index: 1, losses: null, script_file: null, generated_seconds: null},
    },
  })
}

const defaults = {minExamples: 1, maxTokens: 65_536}

describe('the target script', () => {
  it('merges consecutive segments of one label, keeps unknown speakers as null and drops blank segments', () => {
    const segments = scriptSegments([
      segment('intro', 'Host', 'Hello.', 0),
      segment('intro', null, 'Welcome.', 5),
      segment('intro', 'Guest', '   ', 10),
      segment('method', 'Guest', 'We measured.', 15),
    ])
    expect(segments).toEqual([
      {
        label: 'intro',
        start: 0,
        end: 10,
        lines: [
          {speaker: 'Host', text: 'Hello.'},
          {speaker: null, text: 'Welcome.'},
        ],
      },
      {label: 'method', start: 15, end: 20, lines: [{speaker: 'Guest', text: 'We measured.'}]},
    ])
    expect(scriptText(segments)).toBe('[intro]\nHost: Hello.\nWelcome.\n\n[method]\nGuest: We measured.\n')
  })

  it('is the assistant answer of the chat example, as the JSON the calibrated prompt asks for', () => {
    const chat = ChatExample.parse(chatExample(example('a')))
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant'])
    expect(JSON.parse(chat.messages[2].content)).toEqual({
      segments: [
        {label: 'intro', lines: [{speaker: 'Host', text: 'Welcome to the show.'}]},
        {label: 'findings', lines: [{speaker: 'Guest', text: 'What a found.'}]},
      ],
    })
    // ceil(chars / 4) per message, 3 tokens of overhead each, 3 for the reply.
    const expected = chat.messages.reduce((sum, m) => sum + Math.ceil(m.content.length / 4) + 3, 3)
    expect(chatTokens(chat)).toBe(expected)
  })
})

describe('checkDataset', () => {
  it('passes three good examples, with a warning that fine-tuning needs 10', () => {
    const {problems, warnings} = checkDataset([example('a'), example('b'), example('c', {split: 'validation'})], defaults)
    expect(problems).toEqual([])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("3 example(s): OpenAI's fine-tuning needs at least 10 training examples")
    expect(
      checkDataset(
        Array.from({length: 10}, (_, i) => example(`p${i}`)),
        defaults,
      ).warnings,
    ).toEqual([])
  })

  it('refuses fewer examples than --min-examples', () => {
    const {problems} = checkDataset([example('a')], {...defaults, minExamples: 2})
    expect(problems.map((p) => [p.pair_id, p.message])).toEqual([[null, '1 example(s), fewer than --min-examples 2']])
    expect(problems[0]!.fix).toContain('lower --min-examples')
  })

  it('names an empty field by its path', () => {
    const blank = example('a')
    blank.input.title = '  '
    blank.input.key_concepts = []
    const {problems} = checkDataset([blank], defaults)
    expect(problems.map((p) => `${p.pair_id}: ${p.message}`)).toEqual(['a: input.title is empty', 'a: input.key_concepts is empty'])
  })

  it('refuses a pair twice, and the same paper with the same episode under two ids', () => {
    const {problems} = checkDataset(
      [example('a'), example('a'), example('b', {paper: 'The paper of a.', transcript: 'What a found.'})],
      defaults,
    )
    expect(problems.map((p) => `${p.pair_id}: ${p.message}`)).toEqual([
      'a: the pair appears twice',
      'b: duplicates a: the same paper and the same episode',
    ])
  })

  it('allows the same paper twice in one split with different episodes, and refuses it across the splits', () => {
    const same = {paper: 'One paper.'}
    expect(checkDataset([example('a', same), example('b', same)], defaults).problems).toEqual([])
    const {problems} = checkDataset([example('a', same), example('b', {...same, split: 'validation'})], defaults)
    expect(problems.map((p) => p.pair_id)).toEqual(['b'])
    expect(problems[0]!.message).toContain('a validation pair with the same paper as training pair(s) a')
    expect(problems[0]!.fix).toContain('--holdout-ids naming every pair of this paper (a, b)')
  })

  it('refuses an example over --max-tokens, naming its size and the model of the default', () => {
    const long = example('long', {paper: 'x'.repeat(8000)})
    const {problems} = checkDataset([example('a'), long], {...defaults, maxTokens: 1000})
    expect(problems.map((p) => p.pair_id)).toEqual(['long'])
    expect(problems[0]!.message).toMatch(/^its chat example is about 2,0\d\d tokens, over --max-tokens 1,000$/)
    expect(problems[0]!.fix).toContain('(default 65,536, gpt-4o-mini-2024-07-18)')
  })

  it('turns problems into one error with exit code 3 naming each example and its fix', () => {
    const {problems} = checkDataset([example('a', {paper: 'x'.repeat(8000)})], {...defaults, maxTokens: 1000})
    const error = new DatasetCheckError(problems)
    expect(error.exitCode).toBe(EXIT.corrupt)
    expect(error.message).toContain('nothing was written')
    expect(error.message).toContain('  a: its chat example is about')
    expect(error.hint).toBe(problems[0]!.fix)
  })
})

describe('the summary', () => {
  it('counts splits, length statistics and words per label', () => {
    const summary = summarise([example('a'), example('b', {split: 'validation', transcript: 'Three more words.'})], {
      run_id: 'run-1',
      run_dir: '/runs/run-1',
      out: '/out',
      files: {
        examples: 'examples.jsonl',
        parquet: 'training.parquet',
        schema: 'schema.json',
        summary: 'dataset_summary.md',
        chat_train: 'chat_train.jsonl',
        chat_validation: 'chat_validation.jsonl',
      },
      checks: {min_examples: 1, max_tokens: 65_536},
      warnings: ['few'],
    })
    expect(summary.splits).toEqual({train: 1, validation: 1})
    expect(summary.lengths.paper_words).toEqual({min: 4, median: 4, mean: 4, max: 4})
    // intro: "Welcome to the show." twice (8 words); findings: "What a found." (3) and "Three more words." (3).
    expect(summary.labels.filter((l) => l.segments > 0)).toEqual([
      {label: 'intro', segments: 2, words: 8, share: 0.5714},
      {label: 'findings', segments: 2, words: 6, share: 0.4286},
    ])
    const markdown = renderSummaryMarkdown(summary)
    expect(markdown).toContain('- examples: 2 (1 train, 1 validation)')
    expect(markdown).toContain('| intro | 2 | 8 | 57.1% |')
    expect(markdown).toContain('## Warnings\n\n- few')
  })
})
