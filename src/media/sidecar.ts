/**
 * Sidecar transcripts: WebVTT, SRT and the project's own JSON. Malformed files are
 * reported with the file and line, because users write and edit these by hand.
 */

import {InputError} from '../core/errors.js'
import {cannotReadInputError, readInputFile} from '../core/input-file.js'
import {checkTranscriptBytes, checkTranscriptDuration, DEFAULT_SIZE_LIMITS, type SizeLimits} from './limits.js'
import {TranscriptFile} from '../core/schemas/inputs.js'
import {type SidecarFormat, type Transcript, type TranscriptSegment} from '../core/schemas/common.js'

const TIMING = /^((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})(?:\s.*)?$/
/** "Host: text" at the start of a cue names its speaker in SRT and tag-less VTT. */
const SPEAKER_PREFIX = /^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}):\s+(.*)$/s

function parseTimestamp(value: string): number {
  const parts = value.replace(',', '.').split(':').map(Number)
  let seconds = 0
  for (const part of parts) seconds = seconds * 60 + part
  return seconds
}

class SidecarSyntaxError extends InputError {
  constructor(path: string, line: number, problem: string) {
    super(`${path}:${line}: ${problem}`, {
      path,
      hint: 'Fix that line, or delete the sidecar to have the episode transcribed instead.',
    })
  }
}

interface Cue {
  start: number
  end: number
  lines: string[]
  line: number
}

/** Splits cue blocks of VTT and SRT; both are timing line + text lines, blank-separated. */
function parseCues(path: string, lines: string[], firstLine: number, format: 'vtt' | 'srt'): Cue[] {
  const cues: Cue[] = []
  let i = firstLine
  while (i < lines.length) {
    while (i < lines.length && lines[i]!.trim() === '') i++
    if (i >= lines.length) break
    const blockStart = i
    if (format === 'vtt' && /^(NOTE|STYLE|REGION)\b/.test(lines[i]!)) {
      while (i < lines.length && lines[i]!.trim() !== '') i++
      continue
    }
    let timing = TIMING.exec(lines[i]!.trim())
    if (!timing && i + 1 < lines.length) {
      // A cue identifier (VTT) or sequence number (SRT) precedes the timing line.
      i++
      timing = TIMING.exec(lines[i]!.trim())
    }
    if (!timing) {
      throw new SidecarSyntaxError(
        path,
        blockStart + 1,
        `expected a cue timing line like "00:00:01.000 --> 00:00:04.000", found "${lines[blockStart]!.trim().slice(0, 60)}"`,
      )
    }
    const start = parseTimestamp(timing[1]!)
    const end = parseTimestamp(timing[2]!)
    if (end < start) throw new SidecarSyntaxError(path, i + 1, `cue ends (${timing[2]}) before it starts (${timing[1]})`)
    const timingLine = i
    i++
    const text: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '') text.push(lines[i++]!)
    cues.push({start, end, lines: text, line: timingLine + 1})
  }
  return cues
}

/**
 * Line and description of the first syntax error. Node 20's JSON.parse messages
 * often lack a position, and people who edit transcripts by hand need the line;
 * jsonc-parser (strict options) reports offsets. Loaded only when a file is broken.
 */
async function locateJsonError(content: string, error: Error): Promise<[number, string]> {
  const {default: jsonc} = await import('jsonc-parser')
  const errors: import('jsonc-parser').ParseError[] = []
  jsonc.parse(content, errors, {disallowComments: true, allowTrailingComma: false, allowEmptyContent: false})
  const first = errors[0]
  const summary = error.message.split('\n')[0]
  if (!first) return [1, `invalid JSON (${summary})`]
  const line = content.slice(0, first.offset).split('\n').length
  const near = content.slice(first.offset, first.offset + 20).split('\n')[0]
  return [line, `invalid JSON: ${jsonc.printParseErrorCode(first.error)} at "${near}"`]
}

function cueToSegment(cue: Cue): TranscriptSegment {
  let speaker: string | null = null
  const joined = cue.lines.join(' ')
  const voice = /<v(?:\.[\w.-]+)?\s+([^>]+)>/.exec(joined)
  if (voice) speaker = voice[1]!.trim()
  let text = joined
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim()
  if (!speaker) {
    const prefixed = SPEAKER_PREFIX.exec(text)
    if (prefixed) {
      speaker = prefixed[1]!
      text = prefixed[2]!.trim()
    }
  }
  return {start: cue.start, end: cue.end, speaker, text}
}

function fromCues(segments: TranscriptSegment[], source: Transcript['source']): Transcript {
  const duration = segments.reduce((max, s) => Math.max(max, s.end), 0)
  return {source, duration_seconds: duration, segments}
}

export function parseVtt(path: string, content: string): Transcript {
  const lines = content.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  if (!/^WEBVTT(?:\s|$)/.test(lines[0] ?? '')) {
    throw new SidecarSyntaxError(path, 1, 'a WebVTT file must start with "WEBVTT"')
  }
  let i = 1
  while (i < lines.length && lines[i]!.trim() !== '') i++
  return fromCues(parseCues(path, lines, i, 'vtt').map(cueToSegment), 'sidecar-vtt')
}

export function parseSrt(path: string, content: string): Transcript {
  const lines = content.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  return fromCues(parseCues(path, lines, 0, 'srt').map(cueToSegment), 'sidecar-srt')
}

export async function parseTranscriptJson(path: string, content: string): Promise<Transcript> {
  let raw: unknown
  try {
    raw = JSON.parse(content)
  } catch (error) {
    throw new SidecarSyntaxError(path, ...(await locateJsonError(content, error as Error)))
  }
  const parsed = TranscriptFile.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InputError(`${path}: not a studio transcript: ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
      path,
      hint: 'Expected {"version": 1, "segments": [{"start": 0, "end": 4.2, "speaker": "Host", "text": "..."}]} (see TRAINING.md, "File formats").',
    })
  }
  const segments = parsed.data.segments.map((s) => ({start: s.start, end: s.end, speaker: s.speaker ?? null, text: s.text}))
  const duration = parsed.data.duration_seconds ?? segments.reduce((max, s) => Math.max(max, s.end), 0)
  return {source: 'sidecar-json', duration_seconds: duration, segments}
}

/**
 * A sidecar transcript, read and checked. One over the episode limit is refused: by its
 * size before it is read, by its end time once parsed.
 */
export async function readSidecar(path: string, format: SidecarFormat, limits: SizeLimits = DEFAULT_SIZE_LIMITS): Promise<Transcript> {
  let content: string
  try {
    const data = await readInputFile(path, 'Transcript', (size) => checkTranscriptBytes(path, size, limits))
    content = data.toString('utf8')
  } catch (error) {
    if (error instanceof InputError) throw error
    throw cannotReadInputError(
      'transcript',
      path,
      error,
      'Check that the file exists and that you can read it, or delete it to have the episode transcribed instead.',
    )
  }
  const transcript =
    format === 'vtt' ? parseVtt(path, content) : format === 'srt' ? parseSrt(path, content) : await parseTranscriptJson(path, content)
  const end = transcript.segments.reduce((max, s) => Math.max(max, s.end), transcript.duration_seconds)
  checkTranscriptDuration(path, end, limits)
  if (transcript.segments.every((s) => s.text.trim() === '')) {
    throw new InputError(`Transcript ${path} contains no text`, {
      path,
      hint: 'Fill it in, or delete it to have the episode transcribed instead.',
    })
  }
  return transcript
}
