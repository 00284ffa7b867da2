/**
 * One dataset example per pair of a finished run, read from its folder alone: the paper as
 * the generator saw it and the calibrated prompt filled in for it (input), the human
 * episode's transcript as a script (target), and what the run measured (metadata).
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {CorruptFileError, InputError} from '../../core/errors.js'
import {fileSystemError} from '../../core/fs-errors.js'
import {sha256} from '../../core/hash.js'
import {RUN_FILES, runPaths} from '../../core/layout.js'
import type {ChatExample, DatasetExample, DatasetSegment} from '../../core/schemas/dataset.js'
import type {LabelledSegment} from '../../core/schemas/common.js'
import type {PairAnalysis} from '../../core/schemas/files.js'
import {guessTitle} from '../../media/paper.js'
import {approximateTokens} from '../budget.js'
import {generationPaperText} from '../condense.js'
import {loadCalibratedPrompt} from '../generate.js'
import {messagesFromTemplate, paperValues} from '../prompt.js'
import {loadRunView} from '../report/view.js'

/**
 * Tokens a chat message costs beyond its text (role and separators), and the reply's
 * priming: what OpenAI's cookbook counts for its chat models (3 and 3).
 */
const MESSAGE_OVERHEAD_TOKENS = 3
const REPLY_OVERHEAD_TOKENS = 3

/** Estimated tokens of a chat fine-tuning line: its texts at ~4 characters a token (budget.ts), plus the per-message overhead. */
export function chatTokens(chat: ChatExample): number {
  return chat.messages.reduce((sum, m) => sum + approximateTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, REPLY_OVERHEAD_TOKENS)
}

/** Consecutive segments with the same label become one script segment; blank ones are left out. */
export function scriptSegments(segments: readonly LabelledSegment[]): DatasetSegment[] {
  const out: DatasetSegment[] = []
  for (const segment of segments) {
    const text = segment.text.trim()
    if (!text) continue
    const line = {speaker: segment.speaker, text}
    const last = out.at(-1)
    if (last && last.label === segment.label) {
      last.lines.push(line)
      last.end = Math.max(last.end, segment.end)
    } else {
      out.push({label: segment.label, start: segment.start, end: segment.end, lines: [line]})
    }
  }
  return out
}

/** The script as text, as studio writes *_script.txt: a [label] heading, then "Speaker: text" (or the text alone). */
export function scriptText(segments: readonly DatasetSegment[]): string {
  if (segments.length === 0) return ''
  return segments
    .map((s) => `[${s.label}]\n${s.lines.map((l) => (l.speaker ? `${l.speaker}: ${l.text}` : l.text)).join('\n')}`)
    .join('\n\n')
    .concat('\n')
}

/**
 * The OpenAI fine-tuning line of an example: the calibrated prompt as system and user
 * messages, and the human episode as the assistant's answer in the JSON the prompt asks for.
 */
export function chatExample(example: DatasetExample): ChatExample {
  const answer = {segments: example.target.segments.map((s) => ({label: s.label, lines: s.lines}))}
  return {
    messages: [
      {role: 'system', content: example.input.system_prompt},
      {role: 'user', content: example.input.user_prompt},
      {role: 'assistant', content: JSON.stringify(answer)},
    ],
  }
}

export interface RunDataset {
  run_id: string
  run_dir: string
  examples: DatasetExample[]
}

async function readPaperText(file: string): Promise<string> {
  try {
    // The run writes the body with one newline after it (ingest.ts).
    return (await readFile(file, 'utf8')).replace(/\n$/, '')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CorruptFileError(`${file} is missing: the run folder is damaged`, {
        path: file,
        hint: 'Restore the run folder from a backup, or train again: the paper text of every pair is needed to export it.',
      })
    }
    throw fileSystemError(error, file, 'read')
  }
}

function example(
  analysis: PairAnalysis,
  body: string,
  context: {run_id: string; split: 'train' | 'validation'; prompt: Awaited<ReturnType<typeof loadCalibratedPrompt>>; best: BestOfPair},
): DatasetExample {
  const title = guessTitle(body)
  const paperText = generationPaperText(body, analysis)
  const values = paperValues(context.prompt.spec, {title, concepts: analysis.concepts, paper: paperText, paperWords: analysis.paper.words})
  // The same messages studio generate sends for this paper (prompt.ts).
  const [system, user] = messagesFromTemplate(context.prompt.template, values)
  const segments = scriptSegments(analysis.segments)
  return {
    input: {
      title,
      key_concepts: analysis.concepts,
      paper_text: paperText,
      paper_condensed: paperText !== body,
      paper_text_sha256: sha256(body),
      system_prompt: system!.content,
      user_prompt: user!.content,
      target_words: values.target_words,
    },
    target: {
      segments,
      text: scriptText(segments),
      words: analysis.segments.reduce((sum, s) => sum + s.words, 0),
      speakers: analysis.style.speakers,
    },
    metadata: {
      pair_id: analysis.pair_id,
      split: context.split,
      run_id: context.run_id,
      paper_words: analysis.paper.words,
      episode_seconds: analysis.episode.duration_seconds,
      transcript_source: analysis.transcript_source,
      structure: analysis.structure,
      style: analysis.style,
      best_trial: context.best,
    },
  }
}

type BestOfPair = DatasetExample['metadata']['best_trial']

/**
 * Every usable pair of a finished run as an example, in pair id order. A run without
 * training_report.json (still going, failed, interrupted) is refused (InputError, exit 2), as
 * studio generate refuses it; a run whose best trial or pair files are gone is damaged (exit 3).
 */
export async function buildRunDataset(runDir: string, options: {host: string}): Promise<RunDataset> {
  const dir = path.resolve(runDir)
  const view = await loadRunView(dir, options)
  if (!view.report) {
    throw new InputError(
      `Run ${dir} has not finished (${view.state}): it has no ${RUN_FILES.report}, so no best trial or calibrated prompt to export`,
      {
        path: dir,
        hint:
          view.state === 'running'
            ? 'Wait until it finishes (see `studio training status`), then export it.'
            : 'Continue it with `studio training run --resume <run-dir>` until it finishes, or export a finished run.',
      },
    )
  }
  const report = view.report
  const prompt = await loadCalibratedPrompt(dir)
  const paths = runPaths(dir)
  const trial = view.trials.find((t) => t.results.index === report.best_trial.index)
  if (!trial) {
    const file = paths.trial(report.best_trial.dir).results
    throw new CorruptFileError(`${file} is missing: the best trial of ${RUN_FILES.report} has no results`, {
      path: file,
      hint: 'Restore the run folder from a backup, or train again.',
    })
  }
  const validation = new Set(view.manifest.validation_pairs)
  const examples: DatasetExample[] = []
  for (const id of [...report.pairs].sort()) {
    const analysis = view.analyses[id]
    if (!analysis) {
      const file = paths.pair(id).analysis
      throw new CorruptFileError(`${file} is missing: pair ${id} of the run has no analysis`, {
        path: file,
        hint: 'Restore the run folder from a backup, or train again.',
      })
    }
    const result = trial.results.pairs.find((p) => p.pair_id === id)
    const best: BestOfPair = {
      index: trial.results.index,
      losses: result?.losses ?? null,
      script_file: result ? path.posix.join(trial.results.dir, result.script_file) : null,
      generated_seconds: result?.details.generated_seconds ?? null,
    }
    const body = await readPaperText(paths.pair(id).paperText)
    examples.push(example(analysis, body, {run_id: view.manifest.run_id, split: validation.has(id) ? 'validation' : 'train', prompt, best}))
  }
  return {run_id: view.manifest.run_id, run_dir: dir, examples}
}
