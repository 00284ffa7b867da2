/**
 * <output-dir>/registry.json lists every run in the folder. It is rebuilt from
 * the run folders themselves (run.json, training_report.json) whenever a run
 * starts or ends, so it cannot drift from them, and two runs writing it at
 * once both leave a complete file (each write is atomic and derived from disk).
 */
import {readdir} from 'node:fs/promises'
import path from 'node:path'

import {FileSystemError} from '../../core/fs-errors.js'
import {describeError} from '../../core/errors.js'
import {isRunFolderName, outputPaths, runPaths} from '../../core/layout.js'
import {Registry, RunManifest, TrainingReport} from '../../core/schemas/files.js'
import {readJsonIfExists, writeJson} from '../../core/store.js'
import {bestTrial} from '../../loss/selection.js'

export async function buildRegistry(outputDir: string): Promise<Registry> {
  let names: string[] = []
  try {
    names = (await readdir(outputDir, {withFileTypes: true})).filter((e) => e.isDirectory() && isRunFolderName(e.name)).map((e) => e.name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const runs: Registry['runs'] = []
  const damaged: Registry['damaged'] = []
  for (const name of names.sort()) {
    const dir = path.join(outputDir, name)
    // A damaged run folder must not hide the others, nor be left out silently: it is
    // listed apart, with what is wrong with it.
    const paths = runPaths(dir)
    let manifest: RunManifest | null
    try {
      manifest = await readJsonIfExists(paths.manifest, RunManifest)
    } catch (error) {
      damaged.push({run_id: name, path: dir, reason: describeError(error)})
      continue
    }
    if (!manifest) {
      damaged.push({run_id: name, path: dir, reason: `${paths.manifest} is missing`})
      continue
    }
    const report = await readJsonIfExists(paths.report, TrainingReport).catch(() => null)
    const best = report ? bestTrial(report.trials, report.best_trial) : null
    runs.push({
      run_id: manifest.run_id,
      path: dir,
      started_at: manifest.started_at,
      finished_at: manifest.finished_at,
      status: manifest.status,
      pairs: manifest.pairs.length,
      validation_pairs: manifest.validation_pairs.length,
      config_sha256: manifest.config_sha256,
      best_trial: best?.index ?? null,
      selected_by: best?.selectedBy ?? null,
      best_loss: best?.loss ?? null,
      best_train_loss: report?.best_trial.mean_losses.total ?? null,
      best_validation_loss: report?.best_trial.validation_mean_losses?.total ?? null,
      stop_reason: report?.stop_reason ?? null,
      calibrated_prompt: report ? path.join(dir, report.calibrated_prompt) : null,
    })
  }
  return {version: 1, runs, damaged}
}

export async function updateRegistry(outputDir: string): Promise<Registry> {
  return writeJson(outputPaths(outputDir).registry, Registry, await buildRegistry(outputDir))
}

/**
 * For readers (`list-runs`): the registry as the run folders say it is now, saved
 * when the folder can be written to. A missing output folder is an empty registry,
 * not an error, and a read-only one still gets listed.
 */
export async function refreshRegistry(outputDir: string): Promise<Registry> {
  const registry = await buildRegistry(outputDir)
  if (registry.runs.length === 0 && registry.damaged.length === 0) return registry
  try {
    return await writeJson(outputPaths(outputDir).registry, Registry, registry)
  } catch (error) {
    if (error instanceof FileSystemError && ['EACCES', 'EPERM', 'EROFS'].includes(error.code)) return registry
    throw error
  }
}
