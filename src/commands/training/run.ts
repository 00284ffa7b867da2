import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {createProgressReporter} from '../../cli/progress.js'
import {formatUsage, renderTrialTable} from '../../cli/summary.js'
import {EXIT, InputError} from '../../training/errors.js'
import type {TrainingReport} from '../../training/schemas.js'

export const DEFAULT_SEED = 42

export default class Run extends StudioCommand {
  static override summary = 'Calibrate a script-generation prompt against human podcast episodes'
  static override description = `Runs the whole pipeline on a folder of pairs (see \`studio training list-pairs\`):

1. discover the pairs;
2. ingest each paper's text, its episode's duration and transcript (a sidecar, or transcription);
3. analyse: label transcript segments, find the paper's key concepts, profile structure and style;
4. trials: generate a script per paper, score it with five losses (duration, coverage, structure, quality, ROUGE) weighted by --weights, refine the prompt; stop when the loss stops improving (--window, --threshold) or after --max-trials;
5. write everything to a new folder <output-dir>/<run-id>/, never overwriting an earlier run, and point <output-dir>/latest at it.

training_report.json names the best trial and holds its calibrated prompt. TRAINING.md documents every formula, file format and exit code.

--mock runs everything offline and deterministically: no API keys, no network. Progress goes to stderr; with --json, stdout carries only the report.`

  static override examples = [
    {description: 'Train offline on the bundled example pairs', command: '<%= config.bin %> <%= command.id %> --mock --max-trials 3'},
    {description: 'Weight duration and ROUGE more heavily', command: '<%= config.bin %> <%= command.id %> --mock --weights duration=0.4,rouge=0.2'},
    {description: 'Machine-readable report on stdout, progress on stderr', command: '<%= config.bin %> <%= command.id %> --mock --json > report.json'},
    {description: 'Hold one pair out of refinement and choose the best trial on it', command: '<%= config.bin %> <%= command.id %> --mock --holdout 1'},
    {description: 'Continue the latest run after Ctrl-C or a crash', command: '<%= config.bin %> <%= command.id %> --mock --resume'},
  ]

  static override args = {
    run_dir: Args.directory({description: 'With --resume: the run folder to continue (default: <output-dir>/latest)', required: false}),
  }

  static override flags = {
    'pairs-dir': Flags.directory({description: 'Folder that holds the pairs (searched recursively)', default: 'artifacts/training_data'}),
    'output-dir': Flags.directory({description: 'Where run folders are created', default: 'artifacts/training_output'}),
    'max-trials': Flags.integer({description: 'Stop after this many trials', default: 5, min: 1}),
    mock: Flags.boolean({description: 'Use the offline deterministic provider (no keys, no network)', default: false}),
    seed: Flags.integer({description: 'Seed for every sampling call and for the mock', default: DEFAULT_SEED}),
    weights: Flags.string({
      description: 'Loss weights, e.g. duration=0.3,rouge=0.2 (others keep their defaults; normalised to sum 1)',
    }),
    window: Flags.integer({description: 'Convergence window w: compare the mean of the last w trials with the w before', default: 2, min: 1}),
    threshold: Flags.string({description: 'Converged when the relative improvement between windows is below this', default: '0.05'}),
    concurrency: Flags.integer({description: 'Pairs processed at the same time', default: 4, min: 1}),
    holdout: Flags.integer({description: 'Hold this many pairs (drawn with --seed) out of refinement; the best trial is chosen on them', min: 1, exclusive: ['holdout-ids']}),
    'holdout-ids': Flags.string({description: 'Hold these pairs (comma-separated ids) out of refinement', exclusive: ['holdout']}),
    refiner: Flags.string({
      description:
        'How the next prompt is proposed: rule-based (numeric targets move toward the reference profile) or rule-based+llm (a language model then rewrites tone, roles and instructions from the prompt history and the worst pairs)',
      options: ['rule-based', 'rule-based+llm'],
      default: 'rule-based',
    }),
    resume: Flags.boolean({
      description: 'Continue an unfinished run (RUN_DIR, default the latest) from its last completed step, with its own settings',
      default: false,
    }),
  }

  public async run(): Promise<TrainingReport> {
    const {args, flags} = await this.parse(Run)
    if (args.run_dir && !flags.resume) {
      throw new InputError(`Unexpected argument ${args.run_dir}: a run folder is only taken with --resume`, {hint: 'To continue a run: studio training run --mock --resume RUN_DIR.'})
    }
    const threshold = Number(flags.threshold)
    if (!Number.isFinite(threshold) || threshold < 0) {
      throw new InputError(`--threshold must be a number >= 0, got "${flags.threshold}"`, {hint: 'For example --threshold 0.05 stops when the loss improves by less than 5%.'})
    }
    if (!flags.mock) {
      throw new InputError('Real providers (OpenAI Whisper, Claude) are not available in this version of studio', {
        hint: 'Run with --mock to train offline with the deterministic provider.',
      })
    }
    // The trainer and its dependencies (pdf-parse, music-metadata) load only when a run starts.
    const [{runTraining, resumeTraining}, {parseWeights}, {mockProviders}, {resolveRunDir}] = await Promise.all([
      import('../../training/trainer.js'),
      import('../../training/loss/index.js'),
      import('../../providers/mock/index.js'),
      import('../../training/report/status.js'),
    ])
    let weights
    try {
      weights = flags.weights === undefined ? undefined : parseWeights(flags.weights)
    } catch (error) {
      throw new InputError(`--weights: ${(error as Error).message}`, {hint: 'Use name=value pairs separated by commas, e.g. --weights duration=0.3,rouge=0.2.'})
    }

    const progress = await createProgressReporter({json: this.jsonEnabled()})
    // First Ctrl-C: finish the steps in flight, mark the run interrupted, exit 130.
    // A second one quits at once; atomic writes mean no file is left half-written.
    const stop = new AbortController()
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(EXIT.interrupted)
      process.stderr.write('\nStopping after the steps in progress (press Ctrl-C again to quit now)...\n')
      stop.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const common = {
      providers: mockProviders(),
      toolVersion: this.config.version,
      onEvent: (event: Parameters<typeof progress.onEvent>[0]) => progress.onEvent(event),
      signal: stop.signal,
    }
    let outcome
    try {
      outcome = flags.resume
        ? await resumeTraining({...common, runDir: await resolveRunDir(args.run_dir, flags['output-dir'])})
        : await runTraining({
        ...common,
        pairsDir: flags['pairs-dir'],
        outputDir: flags['output-dir'],
        maxTrials: flags['max-trials'],
        seed: flags.seed,
        weights,
        window: flags.window,
        threshold,
        concurrency: flags.concurrency,
        mock: flags.mock,
        holdout: flags.holdout,
        holdoutIds: flags['holdout-ids']?.split(',').map((id) => id.trim()).filter(Boolean),
        refiner: flags.refiner as 'rule-based' | 'rule-based+llm',
      })
    } catch (error) {
      progress.stop(true)
      throw error
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    progress.stop()
    if (!this.jsonEnabled()) this.summarise(outcome.report, outcome.runDir)
    return outcome.report
  }

  private summarise(report: TrainingReport, runDir: string): void {
    this.log('')
    this.log(renderTrialTable(report.trials, report.best_trial.index))
    this.log('')
    const series = (t: TrainingReport['trials'][number]) => (t.validation_mean_losses ?? t.mean_losses).total
    const first = series(report.trials[0]!)
    const best = series(report.trials[report.best_trial.index]!)
    const change = first > 0 ? ((first - best) / first) * 100 : 0
    const by = report.best_trial.selected_by === 'validation' ? `validation loss (${report.validation_pairs.join(', ')})` : 'mean total loss'
    this.log(`Best trial: ${report.best_trial.index} (${by} ${best.toFixed(4)}, ${change.toFixed(1)}% below trial 0); stopped: ${report.stop_reason}`)
    if (report.skipped_pairs.length) this.log(`Skipped ${report.skipped_pairs.length} pair(s): ${report.skipped_pairs.map((s) => s.id).join(', ')}`)
    this.log(`Usage: ${formatUsage(report.usage.total)}`)
    this.log(`Calibrated prompt: ${path.join(runDir, report.calibrated_prompt)} (use it with \`studio generate PAPER --mock\`)`)
    this.log(`Report: ${path.join(runDir, 'training_report.json')}`)
    this.log(`HTML report: ${path.join(runDir, 'training_report.html')}`)
  }
}
