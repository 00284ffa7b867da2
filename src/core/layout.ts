/**
 * The layout of an output folder and of the run folders in it: every file and folder
 * name studio writes, in one place. Readers and writers both take their paths from
 * here, so a name can only change in one line (and TRAINING.md, "Files").
 *
 *   <output-dir>/
 *     registry.json                      every run, rebuilt from the run folders
 *     latest -> run-<timestamp>          the most recent run
 *     signals/latest.json                the running runs and the last ended one, to poll
 *     run-<timestamp>[-N]/
 *       run.json  events.jsonl  aggregate_profile.json  run.lock (while a process works on it)
 *       training_report.json  training_report.html  calibrated_prompt.md
 *       pairs/<pair>/analysis.json  transcript.json  paper.txt
 *       batches/<phase>.json             --batch: the batches a phase sent, for resume to re-attach to
 *       trial_<NNN>_<timestamp>/prompt.json  results.json
 *                               <pair>_script.txt  <pair>_result.json  [<pair>_audio.mp3]
 */
import path from 'node:path'

import {sha256} from './hash.js'

/** Files of the output folder itself. */
export const OUTPUT_FILES = {
  registry: 'registry.json',
  latest: 'latest',
  /** The folder of signals/latest.json (training/report/signals.ts). */
  signals: 'signals',
  latestSignals: 'latest.json',
} as const

/** Files directly in a run folder. */
export const RUN_FILES = {
  manifest: 'run.json',
  events: 'events.jsonl',
  aggregateProfile: 'aggregate_profile.json',
  report: 'training_report.json',
  htmlReport: 'training_report.html',
  calibratedPrompt: 'calibrated_prompt.md',
  /** Held by the process working on the run (core/run-lock.ts). */
  lock: 'run.lock',
} as const

/** Files of one pair's folder, pairs/<pair>/. */
export const PAIR_FILES = {
  analysis: 'analysis.json',
  transcript: 'transcript.json',
  paperText: 'paper.txt',
} as const

/** Files of one trial's folder that do not belong to a pair. */
export const TRIAL_FILES = {
  prompt: 'prompt.json',
  results: 'results.json',
} as const

/**
 * Files of a dataset export (`studio training export-dataset --out DIR`). The chat files
 * are split as OpenAI's fine-tuning takes them: a training file and a validation file.
 */
export const DATASET_FILES = {
  examples: 'examples.jsonl',
  parquet: 'training.parquet',
  schema: 'schema.json',
  summary: 'dataset_summary.md',
  chatTrain: 'chat_train.jsonl',
  chatValidation: 'chat_validation.jsonl',
} as const

const PAIRS_FOLDER = 'pairs'
const BATCHES_FOLDER = 'batches'
const RUN_PREFIX = 'run-'
const TRIAL_FOLDER = /^trial_(\d{3,})_/

/** 2026-11-23T09:16:00.123Z -> 20261123T091600Z: sortable and safe in file names. */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/**
 * Bytes of a name kept whole in a derived file name. File systems allow 255 bytes a name
 * (ext4, APFS, NTFS in UTF-16 units); studio adds up to about 40 bytes around a pair's slug
 * (`_result.json`, and the `.<name>.<pid>.<random>.tmp` of an atomic write), so a longer
 * slug is shortened (75 CJK characters, 225 bytes, would not fit).
 */
export const MAX_NAME_BYTES = 100

const HASH_CHARS = 8

/**
 * `name` when it takes at most MAX_NAME_BYTES bytes of UTF-8, else its first 97-100 bytes
 * (cut on a character boundary) + `-` + the first 8 hex digits of the sha256 of the whole
 * name: at most 109 bytes. Deterministic, and no two names give the same result: a
 * shortened name is always longer than MAX_NAME_BYTES, so never equal to a name kept
 * whole, and two long names sharing their first 100 bytes differ in their hash (32 bits:
 * a one-in-4-billion chance of a clash per such pair of names).
 */
export function shortenName(name: string): string {
  const bytes = Buffer.from(name, 'utf8')
  if (bytes.length <= MAX_NAME_BYTES) return name
  let end = MAX_NAME_BYTES
  // Back up to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return `${bytes.subarray(0, end).toString('utf8')}-${sha256(name).slice(0, HASH_CHARS)}`
}

/**
 * A pair id made safe as one path component: `/` (ids of nested duplicates) becomes `__`,
 * and a slug over MAX_NAME_BYTES is shortened (shortenName). The id shown to the user,
 * and recorded in every file, stays the full name.
 */
export function pairSlug(id: string): string {
  return shortenName(id.replaceAll('/', '__'))
}

/** run-20261123T091600Z, or run-20261123T091600Z-2 for the second run started in the same second. */
export function runFolderName(startedAt: Date, attempt = 1): string {
  const base = `${RUN_PREFIX}${compactTimestamp(startedAt)}`
  return attempt === 1 ? base : `${base}-${attempt}`
}

export function isRunFolderName(name: string): boolean {
  return name.startsWith(RUN_PREFIX)
}

/** trial_000_20261123T091600Z: numbered from 0, with the time the trial started. */
export function trialFolderName(index: number, startedAt: Date): string {
  return `trial_${String(index).padStart(3, '0')}_${compactTimestamp(startedAt)}`
}

/** The trial number of a trial folder's name, or null for any other name. */
export function trialIndexOf(folderName: string): number | null {
  const match = TRIAL_FOLDER.exec(folderName)
  return match ? Number(match[1]) : null
}

/** Names of the phases whose batches batches/<phase>.json records (--batch). */
export const batchPhase = {
  ingest: 'ingest',
  trial: (index: number) => `trial_${String(index).padStart(3, '0')}`,
  /** The LLM refiner's call after trial `index`. */
  refine: (index: number) => `refine_${String(index).padStart(3, '0')}`,
} as const

/** Names of a pair's files inside a trial folder, relative to it. */
export function trialPairFiles(pairId: string): {script: string; result: string; audio: string} {
  const slug = pairSlug(pairId)
  return {script: `${slug}_script.txt`, result: `${slug}_result.json`, audio: `${slug}_audio.mp3`}
}

/** Absolute paths of a run folder's files. */
export function runPaths(runDir: string) {
  const file = (name: string) => path.join(runDir, name)
  return {
    dir: runDir,
    manifest: file(RUN_FILES.manifest),
    events: file(RUN_FILES.events),
    aggregateProfile: file(RUN_FILES.aggregateProfile),
    report: file(RUN_FILES.report),
    htmlReport: file(RUN_FILES.htmlReport),
    calibratedPrompt: file(RUN_FILES.calibratedPrompt),
    lock: file(RUN_FILES.lock),
    /** batches/: with --batch, one file per phase (ingest, trial_<NNN>, refine_<NNN>) naming the batches it sent. */
    batches: path.join(runDir, BATCHES_FOLDER),
    batch: (phase: string) => path.join(runDir, BATCHES_FOLDER, `${phase}.json`),
    /** pairs/<pair>/ and its files. */
    pair(pairId: string) {
      const dir = path.join(runDir, PAIRS_FOLDER, pairSlug(pairId))
      return {
        dir,
        analysis: path.join(dir, PAIR_FILES.analysis),
        transcript: path.join(dir, PAIR_FILES.transcript),
        paperText: path.join(dir, PAIR_FILES.paperText),
      }
    },
    /** A trial folder (by its name) and its files. */
    trial(folderName: string) {
      const dir = path.join(runDir, folderName)
      return {
        dir,
        prompt: path.join(dir, TRIAL_FILES.prompt),
        results: path.join(dir, TRIAL_FILES.results),
        /** A pair's script, result and audio in this trial. */
        pair(pairId: string) {
          const names = trialPairFiles(pairId)
          return {script: path.join(dir, names.script), result: path.join(dir, names.result), audio: path.join(dir, names.audio)}
        },
      }
    },
  }
}

export type RunPaths = ReturnType<typeof runPaths>

/** Absolute paths of an output folder's own files. */
export function outputPaths(outputDir: string) {
  return {
    dir: outputDir,
    registry: path.join(outputDir, OUTPUT_FILES.registry),
    latest: path.join(outputDir, OUTPUT_FILES.latest),
    signals: path.join(outputDir, OUTPUT_FILES.signals, OUTPUT_FILES.latestSignals),
    run: (runId: string) => path.join(outputDir, runId),
  }
}
