import {RUN_FILES} from '../../src/core/layout.js'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mockProviders} from '../../src/providers/mock/index.js'
import type {Providers, StructuredRequest} from '../../src/core/providers.js'
import {CorruptFileError, InputError} from '../../src/core/errors.js'
import {generateScriptForPaper, loadCalibratedPrompt} from '../../src/training/generate.js'
import {
  CALIBRATED_MARKERS,
  generatorMessages,
  messagesFromTemplate,
  paperValues,
  parseCalibratedPrompt,
  renderCalibratedPrompt,
  renderPrompt,
} from '../../src/training/prompt.js'
import {DEFAULT_ANALOGIES, SEGMENT_LABELS, type KeyConcept, type LossBreakdown, type PromptSpec} from '../../src/core/schemas/common.js'
import {TrainingReport} from '../../src/core/schemas/files.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

const META = {run_id: 'run-20261123T101500Z', trial: 3, loss: 0.123456, selected_by: 'train' as const}

function spec(overrides: Partial<PromptSpec> = {}): PromptSpec {
  return {
    version: 1,
    target_words: 1200,
    segment_plan: [
      {label: 'intro', share: 0.1},
      {label: 'method', share: 0.4},
      {label: 'findings', share: 0.35},
      {label: 'outro', share: 0.15},
    ],
    speakers: [
      {name: 'Host', role: 'host: opens, asks the questions, keeps it moving, closes'},
      {name: 'Guest', role: 'guest: explains the research in plain words'},
    ],
    style: {
      words_per_minute: 150,
      questions_per_minute: 1.5,
      mean_sentence_words: 14.2,
      tone: 'conversational, curious and precise',
      analogies: DEFAULT_ANALOGIES,
    },
    must_cover_concepts: 3,
    instructions: ['Stay faithful to the paper: no claims it does not make.', 'Explain each technical term the first time it appears.'],
    length: null,
    ...overrides,
  }
}

/** A length rule: episodes of 200 + 0.1 x paper words, asked with exponent 1.5 around 1200 words. */
const LENGTH_RULE: PromptSpec['length'] = {
  model: {
    kind: 'linear',
    intercept: 200,
    slope: 0.1,
    mean_words: 1000,
    mean_paper_words: 8000,
    min_words: 100,
    max_words: 4000,
    r2: 0.9,
    pairs: 5,
    note: 'fitted on 5 training pairs',
  },
  exponent: 1.5,
}

const SPECS: Record<string, PromptSpec> = {
  'two speakers': spec(),
  'one speaker, no instructions': spec({speakers: [{name: 'Narrator', role: 'narrator: presents the paper alone'}], instructions: []}),
  'with a length rule': spec({length: LENGTH_RULE}),
  'three speakers': spec({
    speakers: [
      {name: 'Ana', role: 'host'},
      {name: 'Bo', role: 'guest'},
      {name: 'Dr. Chen-Müller', role: 'second guest: the skeptic'},
    ],
  }),
  'special characters and markers in the text': spec({
    style: {
      words_per_minute: 160,
      questions_per_minute: 2,
      mean_sentence_words: 12,
      tone: 'warm; "quoted", `code`, $1 $& $$ {{paper_title}} <b>html</b> \\ backslash',
      analogies: 'none',
    },
    instructions: [
      'Never write "-->" or <!-- comments -->.',
      `A line with a marker:\n${CALIBRATED_MARKERS.systemClose}\n${CALIBRATED_MARKERS.userOpen}\nstill the system prompt`,
      '---',
      '   leading and trailing spaces   ',
      'Unicode: café, naïve, 東京, emoji 🎙️, tab\there',
    ],
  }),
}

describe('calibrated_prompt.md', () => {
  for (const [name, value] of Object.entries(SPECS)) {
    it(`round-trips the exact system prompt and user template (${name})`, () => {
      const markdown = renderCalibratedPrompt(value, META)
      expect(parseCalibratedPrompt(markdown)).toEqual(renderPrompt(value))
    })
  }

  it('round-trips any valid prompt spec', () => {
    const text = fc.string({unit: 'grapheme', maxLength: 40})
    const arbitrarySpec = fc.record({
      version: fc.constant(1 as const),
      target_words: fc.integer({min: 1, max: 5000}),
      segment_plan: fc.array(fc.record({label: fc.constantFrom(...SEGMENT_LABELS), share: fc.double({min: 0, max: 1, noNaN: true})}), {
        minLength: 1,
        maxLength: 8,
      }),
      speakers: fc.array(fc.record({name: text.filter((s) => s.length > 0), role: text.filter((s) => s.length > 0)}), {
        minLength: 1,
        maxLength: 4,
      }),
      style: fc.record({
        words_per_minute: fc.double({min: 1, max: 300, noNaN: true}),
        questions_per_minute: fc.double({min: 0, max: 10, noNaN: true}),
        mean_sentence_words: fc.double({min: 1, max: 40, noNaN: true}),
        tone: fc.oneof(
          text,
          fc.constantFrom(
            CALIBRATED_MARKERS.systemClose,
            `\n${CALIBRATED_MARKERS.systemClose}\n`,
            `\r\n${CALIBRATED_MARKERS.userOpen}\r\n`,
            `\n${CALIBRATED_MARKERS.systemOpen}\r\n`,
          ),
        ),
        analogies: text,
      }),
      must_cover_concepts: fc.integer({min: 0, max: 12}),
      instructions: fc.array(fc.oneof(text, fc.constantFrom(...Object.values(CALIBRATED_MARKERS).map((m) => `\n${m}\n`))), {maxLength: 5}),
      length: fc.constantFrom(null, LENGTH_RULE),
    })
    fc.assert(
      fc.property(arbitrarySpec, (value) => {
        expect(parseCalibratedPrompt(renderCalibratedPrompt(value, META))).toEqual(renderPrompt(value))
      }),
      {numRuns: 300},
    )
  })

  it('has a header saying what it is and how to use it, then the text with the three placeholders', () => {
    const markdown = renderCalibratedPrompt(spec(), META)
    const [header = '', body = ''] = markdown.split('\n---\n')
    expect(header).toMatch(/^<!--\n/)
    expect(header).toMatch(/-->\n$/)
    expect(header).toContain('generated by studio')
    expect(header).toContain('Run: run-20261123T101500Z; best trial: 3; mean total loss: 0.1235')
    expect(header).toContain('studio generate')
    expect(header).toContain('below the line')
    const {system, user_template} = renderPrompt(spec())
    expect(body).toContain(`${CALIBRATED_MARKERS.systemOpen}\n${system}\n${CALIBRATED_MARKERS.systemClose}`)
    expect(body).toContain(`${CALIBRATED_MARKERS.userOpen}\n${user_template}\n${CALIBRATED_MARKERS.userClose}`)
    for (const placeholder of ['{{paper_title}}', '{{key_concepts}}', '{{paper_text}}']) {
      expect(body.split(placeholder)).toHaveLength(2)
    }
    expect(markdown.endsWith(`${CALIBRATED_MARKERS.userClose}\n`)).toBe(true)
  })

  it('keeps the header comment closed whatever the run id', () => {
    const markdown = renderCalibratedPrompt(spec(), {...META, run_id: 'odd --> id\nwith a newline'})
    expect(markdown.indexOf('-->')).toBe(markdown.indexOf('\n-->\n') + 1)
    expect(parseCalibratedPrompt(markdown)).toEqual(renderPrompt(spec()))
  })

  it('reads a file saved with CRLF line endings', () => {
    const markdown = renderCalibratedPrompt(spec(), META).replace(/\n/g, '\r\n')
    expect(parseCalibratedPrompt(markdown)).toEqual(renderPrompt(spec()))
  })

  it('reads an edited file: the text between the markers is what is used', () => {
    const markdown = renderCalibratedPrompt(spec(), META).replace('You write podcast scripts', 'You write lively podcast scripts')
    expect(parseCalibratedPrompt(markdown).system).toMatch(/^You write lively podcast scripts/)
  })

  it('says which marker is missing', () => {
    const markdown = renderCalibratedPrompt(spec(), META)
    expect(() => parseCalibratedPrompt('just some text')).toThrow('no "<!-- studio:system -->" line')
    expect(() => parseCalibratedPrompt(markdown.replace(`${CALIBRATED_MARKERS.userClose}\n`, ''))).toThrow('<!-- /studio:user -->')
    expect(() => parseCalibratedPrompt(markdown.replace(`${CALIBRATED_MARKERS.userOpen}\n`, ''))).toThrow('<!-- studio:user -->')
    expect(() => parseCalibratedPrompt(markdown.replace(`${CALIBRATED_MARKERS.systemClose}\n`, ''))).toThrow('<!-- /studio:system -->')
  })
})

describe('messagesFromTemplate', () => {
  const concepts: KeyConcept[] = [
    {term: 'sparse attention', weight: 1},
    {term: 'memory use', weight: 0.5},
  ]

  for (const [name, value] of Object.entries(SPECS)) {
    it(`gives the trainer's generatorMessages from the parsed calibrated prompt (${name})`, () => {
      const template = parseCalibratedPrompt(renderCalibratedPrompt(value, META))
      const values = paperValues(value, {
        title: 'Sparse attention for long documents',
        concepts,
        paper: 'Body of the paper.\nSecond line.',
        paperWords: 3000,
      })
      expect(messagesFromTemplate(template, values)).toEqual(generatorMessages(value, values))
      expect(generatorMessages(value, values)[0]!.content).toContain(`Length: about ${values.target_words} words (`)
    })
  }

  it('fills the length of each paper from the length rule, in words and minutes', () => {
    const value = spec({length: LENGTH_RULE})
    const short = paperValues(value, {title: 't', concepts, paper: 'p', paperWords: 3000})
    const long = paperValues(value, {title: 't', concepts, paper: 'p', paperWords: 18000})
    // Predicted 500 and 2000 words against a mean of 1000: 1200 x 0.5^1.5 and 1200 x 2^1.5.
    expect(short.target_words).toBe(424)
    expect(long.target_words).toBe(3394)
    expect(generatorMessages(value, long)[0]!.content).toContain('Length: about 3394 words (22.6 minutes at 150 words per minute).')
    const header = renderCalibratedPrompt(value, META)
    expect(header).toMatch(/\{\{target_words\}\} with the length for this paper in words/)
    expect(header).toMatch(/predicts the episode at 200 \+ 0\.1 x the paper's words/)
  })

  it('fills each placeholder once, with the concepts one per line, and never re-substitutes inserted text', () => {
    const [system, user] = messagesFromTemplate(renderPrompt(spec()), {
      title: 'Title with {{paper_text}} and $& inside',
      concepts,
      paper: 'Paper mentioning {{key_concepts}} and $1.',
      target_words: 1200,
      words_per_minute: 150,
    })
    expect(system).toEqual({
      role: 'system',
      content: renderPrompt(spec()).system.replace('{{target_words}}', '1200').replace('{{target_minutes}}', '8.0'),
    })
    expect(user!.content).toBe(
      'Paper title: Title with {{paper_text}} and $& inside\n\nKey concepts, most important first:\n- sparse attention\n- memory use\n\nPaper:\nPaper mentioning {{key_concepts}} and $1.',
    )
  })
})

// ------------------------------------------------------------- run folders

const LOSSES: LossBreakdown = {duration: 0.1, coverage: 0.1, structure: 0.1, quality: 0.1, rouge: 0.1, total: 0.1}

/** A training_report.json as a finished run writes it (generate reads run_id and best_trial). */
function report(prompt: PromptSpec): TrainingReport {
  const trial = {index: 1, dir: 'trial_001', prompt_sha256: 'x', mean_losses: LOSSES, validation_mean_losses: null, pairs: []}
  return TrainingReport.parse({
    run_id: 'run-test',
    stop_reason: 'max_trials',
    weights: {duration: 0.2, coverage: 0.2, structure: 0.2, quality: 0.2, rouge: 0.2},
    seed: 42,
    pairs: ['a'],
    skipped_pairs: [],
    trials: [trial],
    best_trial: {index: 1, dir: 'trial_001', selected_by: 'train', mean_losses: LOSSES, validation_mean_losses: null, prompt},
    loss_progression: [0.1],
    validation_progression: null,
    validation_pairs: [],
    calibrated_prompt: RUN_FILES.calibratedPrompt,
    usage: {by_role: {}, total: {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}},
    started_at: '2026-11-23T10:15:00.000Z',
    finished_at: '2026-11-23T10:16:00.000Z',
  })
}

const PAPER_TEXT = [
  'Sparse Attention for Long Documents',
  '',
  'Abstract',
  'We study sparse attention kernels that cut the memory use of transformers on long documents.',
  'Our sparse attention method keeps accuracy while using a fraction of the memory.',
  '',
  '1 Introduction',
  ...Array.from(
    {length: 30},
    (_, i) => `Sentence ${i} explains how sparse attention kernels reduce memory use on long documents and why block sparsity matters.`,
  ),
  '',
  '2 Results',
  'The sparse attention model matched dense attention on three long-document benchmarks while using 40% less memory.',
].join('\n')

describe('generateScriptForPaper', () => {
  let dir = ''
  let paperPath = ''
  beforeAll(async () => {
    dir = await makeTempDir('studio-unit-generate-')
    paperPath = path.join(dir, 'paper.txt')
    await writeFile(paperPath, PAPER_TEXT)
  })
  afterAll(async () => {
    await removeDir(dir)
  })

  async function runDirWith(name: string, files: {report?: TrainingReport; markdown?: string}): Promise<string> {
    const runDir = path.join(dir, name)
    const {mkdir} = await import('node:fs/promises')
    await mkdir(runDir, {recursive: true})
    if (files.report !== undefined) await writeFile(path.join(runDir, 'training_report.json'), JSON.stringify(files.report))
    if (files.markdown !== undefined) await writeFile(path.join(runDir, RUN_FILES.calibratedPrompt), files.markdown)
    return runDir
  }

  function recording(): {providers: Providers; requests: Array<StructuredRequest<unknown>>} {
    const inner = mockProviders()
    const requests: Array<StructuredRequest<unknown>> = []
    return {
      requests,
      providers: {
        transcriber: inner.transcriber,
        languageModel: (role) => ({
          id: 'recording',
          maxOutputTokens: 64_000,
          structured: (request) => {
            requests.push(request)
            return inner.languageModel(role).structured(request)
          },
        }),
      },
    }
  }

  it("sends the trainer's messages for the best prompt when the run has only training_report.json", async () => {
    const best = SPECS['three speakers']!
    const runDir = await runDirWith('report-only', {report: report(best)})
    const {providers, requests} = recording()
    const result = await generateScriptForPaper({paperPath, runDir, providers, seed: 42})
    expect(result.prompt_source).toBe(path.join(runDir, 'training_report.json'))
    expect(result.title).toBe('Sparse Attention for Long Documents')
    expect(result.concepts.length).toBeGreaterThan(0)
    expect(requests.map((r) => r.role)).toEqual(['concepts', 'generate'])
    const generate = requests[1]!
    const values = paperValues(best, {
      title: result.title,
      concepts: result.concepts,
      paper: PAPER_TEXT.trim(),
      paperWords: result.paper.words,
    })
    expect(generate.messages).toEqual(generatorMessages(best, values))
    expect(generate.task).toMatchObject({kind: 'generate-script', prompt: best, title: result.title, target_words: best.target_words})
    expect(result.script.segments.map((s) => s.label)).toEqual(best.segment_plan.map((s) => s.label))
    expect(result.text.length).toBeGreaterThan(0)
    expect(result.usage.total.calls).toBe(2)
  })

  it('sends the text of calibrated_prompt.md, edits included', async () => {
    const best = spec()
    const markdown = renderCalibratedPrompt(best, META).replace('You write podcast scripts', 'You write lively podcast scripts')
    const runDir = await runDirWith('with-markdown', {report: report(best), markdown})
    const {providers, requests} = recording()
    const result = await generateScriptForPaper({paperPath, runDir, providers, seed: 42})
    expect(result.prompt_source).toBe(path.join(runDir, RUN_FILES.calibratedPrompt))
    const messages = requests[1]!.messages
    expect(messages[0]!.content).toMatch(/^You write lively podcast scripts/)
    const values = paperValues(best, {
      title: result.title,
      concepts: result.concepts,
      paper: PAPER_TEXT.trim(),
      paperWords: result.paper.words,
    })
    expect(messages[1]).toEqual(generatorMessages(best, values)[1])
  })

  it("asks a new paper for the length the calibrated prompt's rule gives it", async () => {
    const best = spec({length: LENGTH_RULE})
    const runDir = await runDirWith('with-length-rule', {report: report(best), markdown: renderCalibratedPrompt(best, META)})
    const {providers, requests} = recording()
    const result = await generateScriptForPaper({paperPath, runDir, providers, seed: 42})
    const asked = paperValues(best, {
      title: result.title,
      concepts: result.concepts,
      paper: '',
      paperWords: result.paper.words,
    }).target_words
    expect(asked).not.toBe(best.target_words)
    expect(requests[1]!.task).toMatchObject({kind: 'generate-script', target_words: asked})
    expect(requests[1]!.messages[0]!.content).toContain(`Length: about ${asked} words (`)
  })

  it('fails with the run folder and a hint when the folder has no prompt', async () => {
    const empty = await runDirWith('empty', {})
    const error = await loadCalibratedPrompt(empty).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toContain(empty)
    expect((error as InputError).hint).toMatch(/studio training run/)
    const missing = await loadCalibratedPrompt(path.join(dir, 'nope')).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(InputError)
    expect((missing as InputError).message).toBe(`Run folder not found: ${path.join(dir, 'nope')}`)
  })

  it('reports a calibrated_prompt.md without its markers or placeholders as a damaged file', async () => {
    const best = spec()
    const broken = await runDirWith('broken', {report: report(best), markdown: 'You write podcast scripts.'})
    const error = await loadCalibratedPrompt(broken).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptFileError)
    expect((error as CorruptFileError).path).toBe(path.join(broken, RUN_FILES.calibratedPrompt))
    const noPaper = await runDirWith('no-paper', {
      report: report(best),
      markdown: renderCalibratedPrompt(best, META).replace('Paper:\n{{paper_text}}', 'Paper:'),
    })
    await expect(loadCalibratedPrompt(noPaper)).rejects.toThrow('the user template lacks {{paper_text}}')
    expect(await readFile(path.join(noPaper, RUN_FILES.calibratedPrompt), 'utf8')).not.toContain('Paper:\n{{paper_text}}')
  })
})
