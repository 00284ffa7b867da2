/**
 * What users give studio and what discovery makes of it: transcript sidecars, the
 * pairs found in a folder, and the `list-pairs` listing.
 */
import {z} from 'zod'

import {EpisodeFormat, PaperFormat, seconds, SidecarFormat} from './common.js'

/** The project's own transcript format, also accepted as an `x.transcript.json` sidecar. */
export const TranscriptFile = z.object({
  version: z.literal(1),
  duration_seconds: seconds.optional(),
  segments: z.array(
    z.object({
      start: seconds,
      end: seconds,
      speaker: z.string().min(1).nullable().optional(),
      text: z.string(),
    }),
  ),
})
export type TranscriptFile = z.infer<typeof TranscriptFile>

export const PairFiles = z.object({
  id: z.string().min(1),
  /** Folder of the pair relative to the pairs root ('' for the root itself). */
  folder: z.string(),
  /** The paper file, whatever its format (the name is kept for the published list-pairs JSON). */
  pdf: z.string(),
  /** The episode file, whatever its format. */
  mp3: z.string(),
  paper_format: PaperFormat,
  episode_format: EpisodeFormat,
  sidecar: z.object({path: z.string(), format: SidecarFormat}).nullable(),
})
export type PairFiles = z.infer<typeof PairFiles>

export const Orphan = z.object({path: z.string(), reason: z.string()})
export type Orphan = z.infer<typeof Orphan>

export const PairListing = z.object({
  id: z.string(),
  /** The paper file, whatever its format (see paper_format). */
  pdf: z.string(),
  /** The episode file, whatever its format (see episode_format). */
  mp3: z.string(),
  paper_format: PaperFormat,
  episode_format: EpisodeFormat,
  pages: z.number().int().nonnegative().nullable(),
  words: z.number().int().nonnegative().nullable(),
  duration_seconds: seconds.nullable(),
  transcript_source: z.enum(['sidecar-vtt', 'sidecar-srt', 'sidecar-json', 'transcribe']),
  sidecar: z.string().nullable(),
  problems: z.array(z.string()),
  /** The fix for each of `problems`, in the same order (the error's hint); null when there is none. */
  problem_hints: z.array(z.string().nullable()),
})
export type PairListing = z.infer<typeof PairListing>

export const PairsListing = z.object({
  root: z.string(),
  pairs: z.array(PairListing),
  orphans: z.array(Orphan),
})
export type PairsListing = z.infer<typeof PairsListing>
