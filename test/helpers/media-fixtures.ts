/**
 * The committed media fixtures (test/fixtures/media/, made by scripts/make-media-fixtures.mjs)
 * and what ffprobe measured in each when it was made: tests compare with those numbers, so
 * they run where neither ffprobe nor the tools that made the files are installed.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {z} from 'zod'

import {REPO_ROOT} from './cli.js'
import {parseJson} from './json.js'

export const MEDIA_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'media')

const Probe = z.object({
  duration_seconds: z.number().positive(),
  /** Packets ffprobe read: MPEG audio frames for an MP3 (without a Xing/Info frame), pages' packets for Ogg. */
  packets: z.number().int().positive(),
  codec: z.string(),
  sample_rate: z.number().int().positive(),
  channels: z.number().int().positive(),
})
export type Probe = z.output<typeof Probe>

const Made = z.object({made_with: z.array(z.string()).nonempty(), ffprobe: Probe})

/** media.json, as scripts/make-media-fixtures.mjs writes it. */
const MediaRecord = z.object({
  about: z.string(),
  regenerate: z.string(),
  tools: z.record(z.string(), z.string()),
  /** Intermediate files, not committed, that committed ones were made from. */
  sources: z.record(z.string(), Made),
  files: z.record(z.string(), Made.extend({bytes: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/)})),
})

export const MEDIA_RECORD = parseJson(readFileSync(path.join(MEDIA_DIR, 'media.json'), 'utf8'), MediaRecord)

/** The path of a committed media fixture; throws for a name media.json does not list, so a typo fails loudly. */
export function mediaFixture(name: string): string {
  if (!MEDIA_RECORD.files[name]) throw new Error(`${name} is not a media fixture (see ${path.join(MEDIA_DIR, 'media.json')})`)
  return path.join(MEDIA_DIR, name)
}

/** What ffprobe measured in a committed fixture, or in a source it was made from. */
export function probed(name: string): Probe {
  const probe = MEDIA_RECORD.files[name]?.ffprobe ?? MEDIA_RECORD.sources[name]?.ffprobe
  if (!probe) throw new Error(`media.json has no ffprobe record of ${name}`)
  return probe
}
