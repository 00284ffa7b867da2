import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {
  batchFlag,
  cacheDirFlag,
  cacheFlag,
  concurrencyFlag,
  configFlag,
  holdoutFlag,
  holdoutIdsFlag,
  maxCostFlag,
  maxTrialsFlag,
  mockFlag,
  mockWriterFlag,
  modelFlag,
  outputDirFlag,
  pairsDirFlag,
  refinerFlag,
  seedFlag,
  thresholdFlag,
  ttsFlag,
  weightsFlag,
  windowFlag,
} from '../../cli/flags.js'
import {createProgressReporter} from '../../cli/progress.js'
import {formatUsage, renderTrialTable, renderVerdict} from '../../cli/summary.js'
import {EXIT, InputError} from '../../core/errors.js'
import {formatPercent, formatUsd} from '../../core/format.js'
import {runPaths} from '../../core/layout.js'
import {STOP_REASON_TEXT, type RefinerMode, type UsageRole} from '../../core/schemas/common.js'
import type {TrainingReport} from '../../core/schemas/files.js'
import {bestTrial, SELECTION_LOSS_NAME} from '../../loss/selection.js'

export default class Run extends StudioCommand {
  static override summary = 'Calibrate a script-generation prompt against human podcast episodes'
  static override description = `Runs the whole pipeline on a folder of pairs (see \`studio training list-pairs\`):

1. discover the pairs;
2. ingest each paper's text, its episode's duration and transcript (a sidecar, or transcription);
3. analyse: label transcript segments, find the paper's key concepts, profile structure and style;
4. trials: generate a script per paper, score it with five losses (duration, coverage, structure, quality, ROUGE) weighted by --weights, refine the prompt; stop when the loss stops improving (--window, --threshold) or after --max-trials;
5. write everything to a new folder <output-dir>/<run-id>/, never overwriting an earlier run, and point <output-dir>/latest at it.

training_report.json names the best trial (the rule that chose it is in TRAINING.md, "Convergence and the best trial"), the verdict on it against the thresholds of excellent training, and its calibrated prompt. TRAINING.md documents every formula, file format and exit code.

--mock runs everything offline and deterministically: no API keys, no network. Progress goes to stderr; with --json, stdout carries only the report.`

  static override examples = [
    {description: 'Train offline on the bundled example pairs', command: '<%= config.bin %> <%= command.id %> --mock --max-trials 3'},
    {
      description: 'Weight duration and ROUGE more heavily',
      command: '<%= config.bin %> <%= command.id %> --mock --weights duration=0.4,rouge=0.2',
    },
    {
      description: 'Machine-readable report on stdout, progress on stderr',
      command: '<%= config.bin %> <%= command.id %> --mock --json > report.json',
    },
    {
      description:
        'Hold one pair out of refinement: scored every trial, never shown to the refiner (the best trial is then chosen on all pairs pooled)',
      command: '<%= config.bin %> <%= command.id %> --mock --holdout 1',
    },
    {
      description: 'Train offline against the writer that does exactly what it is asked',
      command: '<%= config.bin %> <%= command.id %> --mock --mock-writer identity',
    },
    {description: 'Continue the latest run after Ctrl-C or a crash', command: '<%= config.bin %> <%= command.id %> --mock --resume'},
    {
      description: "After adding pairs: start from the last run's best prompt and what it learned about the writer",
      command: '<%= config.bin %> <%= command.id %> --mock --from artifacts/training_output/latest',
    },
  ]

  static override args = {
    run_dir: Args.directory({description: 'With --resume: the run folder to continue (default: <output-dir>/latest)', required: false}),
  }

  static override flags = {
    'pairs-dir': pairsDirFlag,
    'output-dir': outputDirFlag,
    'max-trials': maxTrialsFlag,
    mock: mockFlag,
    'mock-writer': mockWriterFlag,
    seed: seedFlag,
    weights: weightsFlag,
    window: windowFlag,
    threshold: thresholdFlag,
    concurrency: concurrencyFlag,
    holdout: holdoutFlag,
    'holdout-ids': holdoutIdsFlag,
    refiner: refinerFlag,
    config: configFlag,
    model: modelFlag,
    cache: cacheFlag,
    'cache-dir': cacheDirFlag,
    'max-cost': maxCostFlag,
    'dry-run': Flags.boolean({
      description: 'Print the calls the run would make, their estimated cost and the tokens per pair, and make none',
      default: false,
    }),
    tts: ttsFlag,
    batch: batchFlag,
    resume: Flags.boolean({
      description: 'Continue an unfinished run (RUN_DIR, default the latest) from its last completed step, with its own settings',
      default: false,
    }),
    from: Flags.directory({
      description:
        "Start trial 0 from this finished run's best prompt, with its trials as evidence of how the writer responds (the length model is refitted on this run's pairs): keep calibrating as the corpus grows",
      exclusive: ['resume'],
    }),
  }

  public async run(): Promise<TrainingReport> {
    const {args, flags} = await this.parse(Run)
    if (args.run_dir && !flags.resume) {
      throw new InputError(`Unexpected argument ${args.run_dir}: a run folder is only taken with --resume`, {
        hint: 'To continue a run: studio training run --mock --resume RUN_DIR.',
      })
    }
    // The trainer and its dependencies (pdf-parse, music-metadata, the SDKs) load only when a run starts.
    const [{runTraining, resumeTraining, refuseMockBatch}, {resolveRunDir}, {buildProviders}] = await Promise.all([
      import('../../training/run/trainer.js'),
      import('../../training/report/status.js'),
      import('../../cli/providers.js'),
    ])

    // Before the providers are built: as the run would refuse it, so does its --dry-run.
    refuseMockBatch({batch: flags.batch, mock: flags.mock})
    const refiner = flags.refiner
    const runDir = flags.resume ? await resolveRunDir(args.run_dir, flags['output-dir']) : undefined
    const {providers, roles, config, limits, paperCache} = await buildProviders({
      mock: flags.mock,
      mockWriter: flags['mock-writer'],
      resumeDir: runDir,
      configFile: flags.config,
      models: flags.model,
      cache: flags.cache,
      cacheDir: flags['cache-dir'],
      tts: flags.tts,
      refiner,
      pairsDir: flags['pairs-dir'],
      requireKeys: !flags['dry-run'],
    })
    if (flags['dry-run'])
      return this.dryRun({
        pairsDir: flags['pairs-dir'],
        maxTrials: flags['max-trials'],
        refiner,
        tts: flags.tts,
        providers,
        config,
        concurrency: flags.concurrency,
        limits,
        paperCache,
        batch: flags.batch,
      }) as never

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
      providers,
      toolVersion: this.config.version,
      onEvent: (event: Parameters<typeof progress.onEvent>[0]) => progress.onEvent(event),
      signal: stop.signal,
      ...(config ? {promptCacheTtl: config.promptCacheTtl, batchSettings: config.batch} : {}),
      limits,
      paperCache,
    }
    let outcome
    try {
      outcome = flags.resume
        ? await resumeTraining({...common, runDir: runDir!})
        : await runTraining({
            ...common,
            pairsDir: flags['pairs-dir'],
            outputDir: flags['output-dir'],
            maxTrials: flags['max-trials'],
            seed: flags.seed,
            weights: flags.weights,
            window: flags.window,
            threshold: flags.threshold,
            concurrency: flags.concurrency,
            mock: flags.mock,
            mockWriter: flags['mock-writer'],
            holdout: flags.holdout,
            holdoutIds: flags['holdout-ids'] && [...flags['holdout-ids']],
            refiner,
            providerRoles: roles,
            maxCostUsd: flags['max-cost'],
            tts: flags.tts,
            fromRun: flags.from,
            batch: flags.batch,
          })
    } catch (error) {
      progress.stop(true)
      throw error
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    progress.stop()
    if (!this.jsonEnabled()) this.summarise(outcome.report, outcome.runDir, flags.mock)
    // Pairs a provider failed on: the run finished, but not everything in it did.
    if (outcome.report.failed_pairs.length > 0 || outcome.report.skipped_pairs.some((s) => s.provider)) process.exitCode = EXIT.partial
    return outcome.report
  }

  /** --dry-run: the calls and their estimated cost, from the files alone; nothing is called or written. */
  private async dryRun(options: {
    pairsDir: string
    maxTrials: number
    refiner: RefinerMode
    tts: boolean
    providers: import('../../core/providers.js').Providers
    /** null under --mock: no limits, no time worth estimating. */
    config: import('../../providers/config.js').ResolvedConfig | null
    concurrency: number
    limits: import('../../media/limits.js').SizeLimits
    paperCache: import('../../media/paper-cache.js').PaperTextCache | null
    /** --batch: the time is counted in rounds of batches, and the batch price comes first. */
    batch: boolean
  }): Promise<unknown> {
    const [
      {discoverPairs},
      {batchRounds, estimatePerPair, estimateRun, modelIds, pairEstimateInputs, requestShape},
      {estimateBatchTime, estimateTime, formatDuration, transcriptionSeconds},
      {effectiveRateLimits},
    ] = await Promise.all([
      import('../../training/stages/discover.js'),
      import('../../training/estimate.js'),
      import('../../training/estimate-time.js'),
      import('../../providers/config.js'),
    ])
    const discovery = await discoverPairs(options.pairsDir)
    if (discovery.pairs.length === 0)
      throw new InputError(`No complete pair in ${discovery.root}`, {
        path: discovery.root,
        hint: 'Run `studio training list-pairs` to see what was found.',
      })
    // Pairs whose files cannot be used are left out, as the run would skip them.
    const {pairs: inputs, skipped} = await pairEstimateInputs(discovery.pairs, {limits: options.limits, paperCache: options.paperCache})
    const estimate = estimateRun({
      pairs: inputs,
      maxTrials: options.maxTrials,
      refiner: options.refiner,
      tts: options.tts,
      models: modelIds(options.providers),
      shape: requestShape(options.providers),
    })
    const {config} = options
    const time = config
      ? estimateTime({
          estimate,
          pairs: inputs.length,
          maxTrials: options.maxTrials,
          concurrency: options.concurrency,
          providerOf: Object.fromEntries(Object.entries(config.roles).map(([role, endpoint]) => [role, endpoint.provider])) as Record<
            UsageRole,
            'anthropic' | 'openai'
          >,
          limits: {anthropic: effectiveRateLimits(config, 'anthropic'), openai: effectiveRateLimits(config, 'openai')},
        })
      : null
    const {phases: _phases, batch: batchCosts, ...totals} = estimate
    const shape = requestShape(options.providers)
    const perPair = estimatePerPair(inputs, shape)
    // Under --mock there is no batch API: no batch time to give.
    const batchTime = config
      ? estimateBatchTime(
          batchRounds(inputs, {maxTrials: options.maxTrials, refiner: options.refiner, shape}),
          transcriptionSeconds(estimate, options.concurrency, inputs.length),
        )
      : null
    const result = {
      dry_run: true,
      pairs: inputs.map((p) => p.id),
      max_trials: options.maxTrials,
      ...totals,
      time,
      batch: {requested: options.batch, ...batchCosts, time: batchTime},
      per_pair: perPair,
      skipped,
    }
    if (!this.jsonEnabled()) {
      const rows = estimate.roles.map((r) => [
        r.role,
        r.model,
        String(r.calls),
        r.input_tokens.toLocaleString('en-US'),
        r.output_tokens.toLocaleString('en-US'),
        r.audio_seconds ? `${Math.round(r.audio_seconds)} s` : r.characters ? `${r.characters.toLocaleString('en-US')} chars` : '',
        formatUsd(r.cost_usd),
        formatUsd(r.batch_cost_usd),
      ])
      const {renderTable} = await import('../../cli/table.js')
      this.log(`Dry run: ${inputs.length} pair(s), at most ${options.maxTrials} trial(s); no call made, nothing written.\n`)
      this.log(
        renderTable(['role', 'model', 'calls', 'input tokens', 'output tokens', 'audio', 'cost', 'with --batch'], rows, [
          false,
          false,
          true,
          true,
          true,
          true,
          true,
          true,
        ]),
      )
      const total =
        estimate.cost_usd === null
          ? 'an unknown cost (a model without a price in src/providers/prices.ts)'
          : `about ${formatUsd(estimate.cost_usd)}`
      const batchTotal = batchCosts.cost_usd === null ? '' : `; about ${formatUsd(batchCosts.cost_usd)} with --batch`
      this.log(
        `\nAt most ${estimate.calls} calls, ${total}${batchTotal} (estimates: ~4 characters a token, episodes at 150 words a minute; a run that converges early costs less).`,
      )
      this.renderPerPair(perPair, skipped, renderTable)
      if (time && !options.batch) {
        this.log(
          `Expected wall time: ${formatDuration(time.seconds)} at --concurrency ${options.concurrency} (ingest ${formatDuration(time.ingest.seconds)}, each trial ${formatDuration(time.trial.seconds)}); a trial is bound by ${time.trial.bound_by}.`,
        )
        if (/per minute/.test(time.trial.bound_by))
          this.log(
            'If your account allows more, set its limits in rate_limits in studio.config.json (TRAINING.md, "Running on real podcasts").',
          )
      }
      if (batchTime) {
        const {rounds} = batchTime
        this.log(
          `${options.batch ? 'Expected wall time with --batch' : 'With --batch'}: ${rounds.total} rounds of batches (${rounds.ingest} at ingest, ${rounds.per_trial} a trial${rounds.per_refinement ? `, ${rounds.per_refinement} a refinement` : ''}), each answered usually within an hour and at most in 24 hours: ${formatDuration(batchTime.likely_seconds)} likely, ${formatDuration(batchTime.worst_seconds)} at worst.`,
        )
      }
    }
    return result
  }

  /** --dry-run's tokens per pair: once at ingest, then in every trial; and the pairs the run would skip. */
  private renderPerPair(
    perPair: import('../../training/estimate.js').PairTokenEstimate[],
    skipped: import('../../training/estimate.js').UnusablePair[],
    renderTable: typeof import('../../cli/table.js').renderTable,
  ): void {
    const n = (value: number) => value.toLocaleString('en-US')
    const rows = perPair.map((p) => [
      p.id,
      n(p.ingest.input_tokens),
      n(p.ingest.output_tokens),
      n(p.per_trial.input_tokens),
      n(p.per_trial.output_tokens),
    ])
    this.log('\nTokens per pair: ingest (transcription and analysis, once), then every trial (generate and judge):\n')
    this.log(
      renderTable(['pair', 'ingest input', 'ingest output', 'per-trial input', 'per-trial output'], rows, [false, true, true, true, true]),
    )
    if (skipped.length) {
      this.log(`\nLeft out, as the run would skip them:`)
      for (const s of skipped) this.log(`  ${s.id}: ${s.reason}${s.hint ? `\n    hint: ${s.hint}` : ''}`)
    }
  }

  private summarise(report: TrainingReport, runDir: string, mock: boolean): void {
    this.log('')
    this.log(renderTrialTable(report.trials, report.best_trial.index))
    this.log('')
    const best = bestTrial(report.trials, report.best_trial)!
    const by = `${SELECTION_LOSS_NAME[best.selectedBy]}${best.selectedBy === 'validation' ? ` (${report.validation_pairs.join(', ')})` : ''}`
    const change = best.improvement === null ? '' : `, ${formatPercent(best.improvement)} below trial 0`
    this.log(
      `Best trial: ${best.index} (${by} ${best.loss.toFixed(4)}${change}); stopped: ${STOP_REASON_TEXT[report.stop_reason]}${report.stop_detail ? ` (${report.stop_detail})` : ''}`,
    )
    this.log(best.rule)
    if (report.length_model) this.log(`Length per paper: ${report.length_model.note}`)
    if (report.from_run) this.log(`Started from: ${report.from_run}`)
    this.log('')
    this.log(renderVerdict(report.verdict))
    this.log('')
    if (report.skipped_pairs.length)
      this.log(`Skipped ${report.skipped_pairs.length} pair(s): ${report.skipped_pairs.map((s) => s.id).join(', ')}`)
    if (report.failed_pairs.length) {
      this.log(`Failed in some trials (a provider kept failing; left out of those trials' means):`)
      for (const f of report.failed_pairs) this.log(`  trial ${f.trial}, ${f.pair_id}: ${f.reason}`)
    }
    this.log(`Usage: ${formatUsage(report.usage.total)}`)
    this.log(
      `Calibrated prompt: ${path.join(runDir, report.calibrated_prompt)} (use it with \`studio generate PAPER${mock ? ' --mock' : ''}\`)`,
    )
    const paths = runPaths(runDir)
    this.log(`Report: ${paths.report}`)
    this.log(`HTML report: ${paths.htmlReport}`)
  }
}
