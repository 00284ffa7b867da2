/** Run folders made to look like what a crash, a kill or a provider failure leaves behind, for the resume tests. */
import {cp, readdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {RunManifest} from '../../src/core/schemas/files.js'
import {readJson} from './json.js'

/** A copy of a finished run at `dest`, made to look interrupted before its report (what a crash at the very end leaves). */
export async function interruptedCopy(runDir: string, dest: string): Promise<string> {
  await cp(runDir, dest, {recursive: true})
  const manifest = await readJson(path.join(dest, 'run.json'), RunManifest)
  await writeFile(path.join(dest, 'run.json'), JSON.stringify({...manifest, status: 'interrupted'}))
  for (const name of ['training_report.json', 'training_report.html', 'calibrated_prompt.md'])
    await rm(path.join(dest, name), {force: true})
  return dest
}

export const PROVIDER_SKIP = {reason: 'mock: the service is unavailable (503), also on retry', provider: 'mock'}

/**
 * The run as if a provider had failed on `pairId` during ingest: skipped in run.json, never
 * analysed, scored in no trial. With `trialBegun`, trial 0 had just begun (its prompt.json
 * written, no pair scored); without, the run stopped before any trial.
 */
export async function skipBeforeTrials(runDir: string, pairId: string, options: {trialBegun: boolean}): Promise<void> {
  const manifest = await readJson(path.join(runDir, 'run.json'), RunManifest)
  await writeFile(
    path.join(runDir, 'run.json'),
    JSON.stringify({...manifest, pairs: manifest.pairs.filter((p) => p.id !== pairId), skipped: [{id: pairId, ...PROVIDER_SKIP}]}),
  )
  await rm(path.join(runDir, 'pairs', pairId), {recursive: true})
  const trials = (await readdir(runDir)).filter((n) => /^trial_\d{3}_/.test(n)).sort()
  for (const trial of options.trialBegun ? trials.slice(1) : trials) await rm(path.join(runDir, trial), {recursive: true})
  if (options.trialBegun) {
    const first = path.join(runDir, trials[0]!)
    for (const name of await readdir(first)) if (name !== 'prompt.json') await rm(path.join(first, name), {recursive: true})
  }
}
