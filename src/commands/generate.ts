import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {StudioCommand} from '../cli/base-command.js'
import {cacheDirFlag, cacheFlag, configFlag, mockFlag, mockWriterFlag, modelFlag, outputDirFlag, seedFlag, ttsFlag} from '../cli/flags.js'
import {formatUsage} from '../cli/summary.js'
import {InputError} from '../core/errors.js'
import type {KeyConcept, MockWriter, UsageSummary} from '../core/schemas/common.js'
import type {Script} from '../core/schemas/answers.js'

export interface GenerateResult {
  paper: string
  title: string
  run_dir: string
  prompt_file: string
  concepts: KeyConcept[]
  script: Script
  text: string
  words: number
  estimated_minutes: number
  usage: UsageSummary
  out: string | null
  /** --tts: the MP3 written next to --out and its measured length. */
  audio: {file: string; seconds: number} | null
}

export default class Generate extends StudioCommand {
  static override summary = 'Write a podcast script for a new paper with a calibrated prompt'
  static override description = `Uses what a training run produced: the calibrated prompt in <run-dir>/calibrated_prompt.md, the same text you can paste into any chat. studio finds the paper's key concepts as training does (the concepts role), fills the prompt's {{paper_title}}, {{key_concepts}} and {{paper_text}} with them, and asks the generate role for the script.

The paper may be a .pdf, .docx, .txt or .md file; a paper longer than the generate role's token budget is condensed, never cut off. --prompt takes a run folder (default: the latest run in --output-dir); a run without calibrated_prompt.md uses the best prompt in its training_report.json.

The script goes to stdout (a summary goes to stderr), or to --out FILE. With --json, stdout carries one JSON object: paper, title, run_dir, prompt_file, concepts, script, text, words, estimated_minutes, usage, out.

Without --mock it uses the real providers of studio.config.json (or the defaults: Claude for both roles); --mock runs offline and deterministically. --tts voices the script into FILE.mp3 next to --out FILE.`

  static override examples = [
    {
      description: "Script for a new paper with the latest run's calibrated prompt",
      command: '<%= config.bin %> <%= command.id %> paper.pdf --mock',
    },
    {
      description: 'With the prompt of a given run, written to a file',
      command:
        '<%= config.bin %> <%= command.id %> paper.pdf --mock --prompt artifacts/training_output/run-20261123T101500Z --out script.txt',
    },
    {
      description: 'Script, concepts and usage as JSON',
      command: '<%= config.bin %> <%= command.id %> paper.docx --mock --json > script.json',
    },
  ]

  static override args = {
    paper: Args.file({description: 'The paper to write a script about (.pdf, .docx, .txt or .md)', required: true}),
  }

  static override flags = {
    prompt: Flags.directory({
      description: "Run folder whose calibrated prompt to use (default: <output-dir>/latest, the latest run's best prompt)",
      helpValue: 'RUN_DIR',
    }),
    'output-dir': outputDirFlag,
    out: Flags.file({description: 'Write the script to this file (atomically) instead of stdout', helpValue: 'FILE'}),
    mock: mockFlag,
    'mock-writer': mockWriterFlag,
    config: configFlag,
    model: modelFlag,
    cache: cacheFlag,
    'cache-dir': cacheDirFlag,
    seed: seedFlag,
    tts: ttsFlag,
  }

  public async run(): Promise<GenerateResult> {
    const {args, flags} = await this.parse(Generate)
    if (flags.tts && (flags.out === undefined || /\.mp3$/i.test(flags.out))) {
      throw new InputError(
        '--tts writes the audio next to the script: give the script a file with --out (not an .mp3, which the audio would overwrite)',
        {
          hint: 'For example --out episode.txt --tts writes episode.txt and episode.mp3.',
        },
      )
    }
    // The generator and its dependencies (pdf-parse, mammoth, the SDKs) load only when a script is made.
    const [{resolveRunDir}, {generateScriptForPaper}, {buildProviders}, {makeDir, writeFileAtomic}, {OUT_FILE}, {countWords, round}] =
      await Promise.all([
        import('../training/report/status.js'),
        import('../training/generate.js'),
        import('../cli/providers.js'),
        import('../core/store.js'),
        import('../core/fs-errors.js'),
        import('../core/text.js'),
      ])
    const runDir = await resolveRunDir(flags.prompt, flags['output-dir'])
    const {providers, limits, paperCache} = await buildProviders({
      mock: flags.mock,
      // The writer the prompt was calibrated against, unless another is asked for.
      mockWriter: flags['mock-writer'] ?? (flags.mock ? await recordedWriter(runDir) : undefined),
      configFile: flags.config,
      models: flags.model,
      cache: flags.cache,
      cacheDir: flags['cache-dir'],
      tts: flags.tts,
      generateOnly: true,
    })
    const generated = await generateScriptForPaper({
      paperPath: args.paper,
      runDir,
      providers,
      seed: flags.seed,
      limits,
      paperCache,
      // On stderr in every mode: stdout carries the script, or the JSON.
      warn: (message) => process.stderr.write(`warning: ${message}\n`),
    })
    const words = generated.script.segments.reduce((n, s) => n + s.lines.reduce((m, l) => m + countWords(l.text), 0), 0)
    const minutes = round(words / generated.prompt.style.words_per_minute, 2)

    let out: string | null = null
    let audio: {file: string; seconds: number} | null = null
    if (flags.out !== undefined) {
      out = path.resolve(flags.out)
      // A full disk, a read-only folder, a folder named as the file: core/fs-errors.ts's message, path and fix.
      await makeDir(path.dirname(out), {recursive: true, elsewhere: OUT_FILE})
      await writeFileAtomic(out, generated.text, OUT_FILE)
    }
    let usage = generated.usage
    if (flags.tts && out !== null) {
      const [{voiceScript}, {UsageMeter, metered, mergeUsage}] = await Promise.all([
        import('../training/voice.js'),
        import('../providers/usage.js'),
      ])
      const meter = new UsageMeter()
      const voiced = await voiceScript(
        generated.script,
        generated.prompt.speakers.map((s) => s.name),
        metered(providers, meter).speech!,
      )
      usage = mergeUsage(usage, meter.usage)
      const file = out.replace(/\.[^./]*$/, '') + '.mp3'
      await writeFileAtomic(file, voiced.bytes, OUT_FILE)
      audio = {file, seconds: round(voiced.durationSeconds, 2)}
    }
    const result: GenerateResult = {
      paper: path.resolve(args.paper),
      title: generated.title,
      run_dir: runDir,
      prompt_file: generated.prompt_source,
      concepts: generated.concepts,
      script: generated.script,
      text: generated.text,
      words,
      estimated_minutes: minutes,
      usage,
      out,
      audio,
    }
    if (!this.jsonEnabled()) {
      const summary = [
        `Script for "${generated.title}": ${words} words, about ${minutes.toFixed(1)} min, ${generated.script.segments.length} segments (${generated.script.segments.map((s) => s.label).join(', ')})`,
        `Prompt: ${generated.prompt_source}`,
        `Usage: ${formatUsage(usage.total)}`,
      ]
      if (out === null) {
        // stdout carries the script alone, so that it can be piped or redirected.
        process.stdout.write(generated.text)
        process.stderr.write(`\n${summary.join('\n')}\n`)
      } else {
        for (const line of summary) this.log(line)
        this.log(`Wrote ${out}`)
        if (audio) this.log(`Wrote ${audio.file} (${audio.seconds.toFixed(1)} s of audio)`)
      }
    }
    return result
  }
}

/** The mock writer a mock run trained with (its seed's, for a run from before writers were recorded); none for a real run. */
async function recordedWriter(runDir: string): Promise<MockWriter | undefined> {
  const [{runPaths}, {RunManifest}, {readJsonIfExists}] = await Promise.all([
    import('../core/layout.js'),
    import('../core/schemas/files.js'),
    import('../core/store.js'),
  ])
  const manifest = await readJsonIfExists(runPaths(runDir).manifest, RunManifest)
  return manifest?.config.mock ? (manifest.config.mock_writer ?? manifest.config.seed) : undefined
}
