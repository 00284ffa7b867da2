/**
 * `training run --from RUN_DIR`: a run that starts from an earlier run's best prompt and
 * learns from its trials, so that adding pairs and running again improves on it.
 */
import {cp, mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RunManifest, TrainingReport, TrialPromptFile} from '../../src/core/schemas/files.js'
import {askedWords} from '../../src/training/length-model.js'
import {runCli, EXAMPLE_PAIRS} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {readJson} from '../helpers/json.js'
import {mockTrainingRun} from '../helpers/training.js'

describe('training run --from', () => {
  let root = ''
  let first: Awaited<ReturnType<typeof mockTrainingRun>>
  beforeAll(async () => {
    root = await makeTempDir('studio-from-')
    first = await mockTrainingRun(root, {maxTrials: 4, threshold: 0})
  })
  afterAll(async () => {
    await removeDir(root)
  })

  it("starts trial 0 from the earlier run's best prompt, with the length model refitted on this run's pairs", async () => {
    // The corpus grew: the same three pairs plus a copy of one under a new name.
    const pairs = path.join(root, 'grown')
    await cp(EXAMPLE_PAIRS, pairs, {recursive: true})
    for (const ext of ['pdf', 'mp3']) {
      await cp(path.join(EXAMPLE_PAIRS, `soil-microbiome-drought.${ext}`), path.join(pairs, `soil-copy.${ext}`))
    }
    const second = await mockTrainingRun(root, {pairsDir: pairs, maxTrials: 2, threshold: 0, fromRun: first.runDir})
    const report = second.report
    expect(report.from_run).toBe(first.runDir)
    const manifest = await readJson(path.join(second.runDir, 'run.json'), RunManifest)
    expect(manifest.config.from_run).toBe(first.runDir)

    const trial0 = await readJson(path.join(second.runDir, report.trials[0]!.dir, 'prompt.json'), TrialPromptFile)
    const earlierBest = first.report.best_trial.prompt
    // What the earlier run learned is kept: plan, style, coverage and the writer's exponent.
    expect(trial0.prompt.segment_plan).toEqual(earlierBest.segment_plan)
    expect(trial0.prompt.style).toEqual(earlierBest.style)
    expect(trial0.prompt.must_cover_concepts).toBe(earlierBest.must_cover_concepts)
    expect(trial0.prompt.length!.exponent).toBe(earlierBest.length!.exponent)
    // The length model is this run's: four pairs, not three.
    expect(trial0.prompt.length!.model.pairs).toBe(4)
    expect(report.length_model).toEqual(trial0.prompt.length!.model)
    expect(trial0.changes[0]).toMatch(new RegExp(`^the best prompt of run ${first.runId} \\(trial ${first.report.best_trial.index}\\)`))
    expect(trial0.changes[0]).toMatch(/its 4 trial\(s\) are evidence of the writer's response/)
    // A typical paper is asked what the earlier run asked of it, scaled to the new mean.
    const model = trial0.prompt.length!.model
    expect(askedWords(trial0.prompt, model.mean_paper_words)).toBe(trial0.prompt.target_words)

    // What --from is for: on the grown corpus it starts better than a run from scratch.
    const fresh = await mockTrainingRun(root, {pairsDir: pairs, maxTrials: 1})
    expect(report.trials[0]!.mean_losses.total).toBeLessThan(fresh.report.trials[0]!.mean_losses.total)
  })

  it('refuses a folder that is not a finished run, before making a run folder', async () => {
    const notARun = path.join(root, 'empty')
    await mkdir(notARun, {recursive: true})
    const out = path.join(root, 'refused')
    const result = await runCli(['training', 'run', '--mock', '--output-dir', out, '--from', notARun])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`--from ${notARun}: it has no training_report.json, so it is not a finished training run`)
    expect(result.stderr).toMatch(/studio training list-runs/)
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })

  it('cannot be combined with --resume', async () => {
    const result = await runCli(['training', 'run', '--mock', '--resume', '--from', first.runDir])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--from=.* cannot also be provided when using --resume|cannot also be provided/)
  })

  it('says where it started in the summary', async () => {
    const out = path.join(root, 'cli-out')
    const result = await runCli(['training', 'run', '--mock', '--max-trials', '1', '--output-dir', out, '--from', first.runDir])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`Started from: ${first.runDir}`)
    expect(result.stdout).toMatch(/Length per paper: fitted on 3 training pairs/)
    const runs = (await readdir(out)).filter((n) => n.startsWith('run-'))
    const report = await readJson(path.join(out, runs[0]!, 'training_report.json'), TrainingReport)
    expect(report.from_run).toBe(first.runDir)
  })
})
