/**
 * What a user trains for: a podcast script for a new paper, written with the
 * calibrated prompt of a finished run. The prompt text comes from the run's
 * calibrated_prompt.md (the same text a user would paste into a chat), the key
 * concepts are found exactly as in training (analyse.ts), and the paper is
 * condensed the same way when it exceeds the generate role's token budget.
 */
import {readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {clampScript, ignoreWarnings, warnOutOfRange, type WarningSink} from '../core/answer-bounds.js'
import type {Providers} from '../core/providers.js'
import {conceptsOfChunks, normaliseConcepts} from './stages/analyse.js'
import {DEFAULT_TOKEN_BUDGETS, approximateTokens, chunkText, defaultOverlapTokens} from './budget.js'
import {CorruptFileError, InputError} from '../core/errors.js'
import {condenseForGeneration} from './condense.js'
import type {SizeLimits} from '../media/limits.js'
import type {PaperTextCache} from '../media/paper-cache.js'
import {readPaper} from '../media/paper.js'
import {renderScriptText} from './messages.js'
import {writeScript} from './write-script.js'
import {CALIBRATED_PLACEHOLDERS, messagesFromTemplate, paperValues, parseCalibratedPrompt, renderCalibratedPrompt} from './prompt.js'
import type {Script} from '../core/schemas/answers.js'
import {TrainingReport} from '../core/schemas/files.js'
import {type KeyConcept, type PaperFormat, type PromptSpec, type UsageSummary} from '../core/schemas/common.js'
import {readJsonIfExists} from '../core/store.js'
import {RUN_FILES, runPaths} from '../core/layout.js'
import {bestTrial} from '../loss/selection.js'
import {metered, UsageMeter} from '../providers/usage.js'

export interface CalibratedPrompt {
  run_id: string
  /** The best trial's prompt: what the mock writes from (real models read the text). */
  spec: PromptSpec
  /** The text sent: system prompt and user template with {{paper_title}}, {{key_concepts}}, {{paper_text}}. */
  template: {system: string; user_template: string}
  /** The file the text came from: calibrated_prompt.md, or training_report.json when the run has no .md. */
  source: string
}

export interface GenerateOptions {
  paperPath: string
  runDir: string
  providers: Providers
  seed: number
  /** Where answers brought back within bounds are reported (core/answer-bounds.ts); default: nowhere. */
  warn?: WarningSink
  /** A paper past these is refused (InputError) before it is read whole and before any call; default DEFAULT_SIZE_LIMITS. */
  limits?: SizeLimits
  /** A paper read before (by list-pairs, a run or generate) comes from it (media/paper-cache.ts). */
  paperCache?: PaperTextCache | null
}

export interface GeneratedScript {
  script: Script
  /** The script as text, as the trainer writes *_script.txt files. */
  text: string
  title: string
  concepts: KeyConcept[]
  /** calibrated_prompt.md, or training_report.json when the run has none. */
  prompt_source: string
  prompt: PromptSpec
  run_id: string
  paper: {path: string; format: PaperFormat; pages: number; words: number; condensed_for_generation: boolean}
  /** The concepts and generate calls made. */
  usage: UsageSummary
}

async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    throw new InputError(`Cannot read ${file}: ${code ?? String(error)}`, {path: file, cause: error})
  }
}

/**
 * The calibrated prompt of a run folder: the text of calibrated_prompt.md, or,
 * for a run that has none, the same text rendered from training_report.json's
 * best trial. training_report.json is needed either way (for the prompt spec).
 */
export async function loadCalibratedPrompt(runDir: string): Promise<CalibratedPrompt> {
  const folder = await stat(runDir).catch(() => null)
  if (!folder?.isDirectory()) {
    throw new InputError(`Run folder not found: ${runDir}`, {
      path: runDir,
      hint: 'Pass the folder of a finished training run with --prompt (one of <output-dir>/<run-id>), or train first with `studio training run --mock`.',
    })
  }
  const reportFile = runPaths(runDir).report
  const report = await readJsonIfExists(reportFile, TrainingReport)
  if (!report) {
    const started = (await readTextIfExists(runPaths(runDir).manifest)) !== null
    throw new InputError(
      started
        ? `Run ${runDir} has no calibrated prompt yet: it has no ${RUN_FILES.report} (still running, failed or interrupted)`
        : `${runDir} is not a training run folder: it has neither ${RUN_FILES.calibratedPrompt} nor ${RUN_FILES.report}`,
      {
        path: runDir,
        hint: started
          ? 'Wait until it finishes (see `studio training status`), or pass a finished run with --prompt RUN_DIR.'
          : 'Pass the folder of a finished training run with --prompt (one of <output-dir>/<run-id>), or train first with `studio training run --mock`.',
      },
    )
  }
  const spec = report.best_trial.prompt
  // The report names the file (relative to the run folder); calibrated_prompt.md unless it says otherwise.
  const promptFile = path.resolve(runDir, report.calibrated_prompt || RUN_FILES.calibratedPrompt)
  const markdown = await readTextIfExists(promptFile)
  if (markdown === null) {
    const best = bestTrial(report.trials, report.best_trial)
    const rendered = renderCalibratedPrompt(spec, {
      run_id: report.run_id,
      trial: report.best_trial.index,
      loss: best?.loss ?? report.best_trial.mean_losses.total,
      selected_by: report.best_trial.selected_by,
    })
    return {run_id: report.run_id, spec, template: parseCalibratedPrompt(rendered), source: reportFile}
  }
  let template: {system: string; user_template: string}
  try {
    template = parseCalibratedPrompt(markdown)
  } catch (error) {
    throw new CorruptFileError(`${promptFile} is not a calibrated prompt: ${(error as Error).message}`, {
      path: promptFile,
      hint: `Restore the studio:system and studio:user marker lines, or delete the file to use the best prompt in ${RUN_FILES.report}.`,
      cause: error,
    })
  }
  const missing = CALIBRATED_PLACEHOLDERS.filter((placeholder) => !template.user_template.includes(placeholder))
  if (missing.length) {
    throw new CorruptFileError(`${promptFile}: the user template lacks ${missing.join(', ')}`, {
      path: promptFile,
      hint: `Put the placeholder(s) back between the studio:user marker lines, or delete the file to use the best prompt in ${RUN_FILES.report}.`,
    })
  }
  return {run_id: report.run_id, spec, template, source: promptFile}
}

/**
 * A script for the paper at paperPath, written with the run's calibrated prompt:
 * key concepts from the concepts role (chunked for a long paper, as in
 * training), then one generate call with the calibrated prompt's messages.
 */
export async function generateScriptForPaper(options: GenerateOptions): Promise<GeneratedScript> {
  const prompt = await loadCalibratedPrompt(options.runDir)
  const paper = await readPaper(options.paperPath, options.limits, {cache: options.paperCache ?? null})
  const meter = new UsageMeter()
  const providers = metered(options.providers, meter)

  const conceptsBudget = DEFAULT_TOKEN_BUDGETS.concepts
  const paperTokens = approximateTokens(paper.body)
  const chunks = paperTokens > conceptsBudget ? chunkText(paper.body, conceptsBudget, defaultOverlapTokens(conceptsBudget)) : [paper.body]
  const warn = options.warn ?? ignoreWarnings
  const concepts = normaliseConcepts(await conceptsOfChunks(chunks, options.seed, providers, warn))

  // Never silently truncated: a paper over the generate budget is condensed, as in training.
  const condensed = paperTokens > DEFAULT_TOKEN_BUDGETS.generate
  const paperText = condensed ? condenseForGeneration(paper.body, concepts, DEFAULT_TOKEN_BUDGETS.generate) : paper.body
  const title = paper.title
  // The length rule of the calibrated prompt, applied to this paper.
  const values = paperValues(prompt.spec, {title, concepts, paper: paperText, paperWords: paper.words})
  const written = await writeScript({
    model: providers.languageModel('generate'),
    messages: messagesFromTemplate(prompt.template, values),
    task: {kind: 'generate-script', prompt: prompt.spec, target_words: values.target_words, title, paper: paperText, concepts},
    seed: options.seed,
  })
  const bounded = clampScript(written.script)
  warnOutOfRange(warn, 'generate', bounded.notes)
  const script = bounded.value
  return {
    script,
    text: renderScriptText(script),
    title,
    concepts,
    prompt_source: prompt.source,
    prompt: prompt.spec,
    run_id: prompt.run_id,
    paper: {path: paper.path, format: paper.format, pages: paper.pages, words: paper.words, condensed_for_generation: condensed},
    usage: meter.usage,
  }
}
