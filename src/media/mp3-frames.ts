/**
 * MP3 files cut and joined at MPEG frame boundaries, without decoding or re-encoding.
 *
 * - `splitMp3` streams an episode through a 64 KiB window and yields chunks of whole
 *   frames small enough for the Whisper upload limit (25 MiB), each with its start time
 *   and duration, so their transcripts can be merged with time offsets.
 * - `joinMp3` concatenates the frames of complete MP3 files (one per TTS request).
 * - `mp3DurationSeconds` times an in-memory MP3 from its frames.
 *
 * What counts as a frame: tags (ID3v2 in front, ID3v1/APE at the end) are cut off; the
 * Xing/Info/VBRI frame an encoder puts first is dropped (it is silent and describes the
 * whole file, which is wrong for any part of it), and so is any such frame later in the
 * stream (files concatenated as they are have one at each seam). Between tags, a frame header is
 * trusted when the next frame header follows where its length says (same MPEG version,
 * layer, sample rate and channel count), or when the frame ends exactly at the end of the
 * audio. Junk between frames is skipped: sync is regained only at a header followed by two
 * more consistent headers. A frame that continues the chain but is followed by junk is
 * kept unless a new sync point starts inside it (then it was cut short, and is dropped).
 * A last frame that runs past the end of the file is dropped.
 *
 * Frame headers are parsed by audio-headers.ts (MPEG-1/2/2.5, Layers I, II and III).
 * Free-format streams (bitrate index 0: no frame length in the header) are rejected.
 */
import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'

import {id3v2Size, parseMpegHeader, readVbrHeader, sniff, trailingTagBytes, type MpegFrame} from './audio-headers.js'

/** Whisper's upload limit: a file of at most this many bytes can be sent as is. */
export const WHISPER_MAX_BYTES = 26_214_400

/** Default chunk size for `splitMp3`: 24 MiB, leaving 1 MiB of headroom under the Whisper limit. */
export const DEFAULT_CHUNK_BYTES = 24 * 1024 * 1024

export interface Mp3Chunk {
  index: number
  /** seconds from the start of the episode to this chunk's first frame */
  startSeconds: number
  durationSeconds: number
  bytes: Buffer
  frames: number
}

/** The longest MPEG audio frame (MPEG-2.5 Layer II, 160 kbit/s at 8 kHz, padded). */
const MAX_FRAME_BYTES = 2881
/** Bytes the scanner may look ahead of a position: a frame, two more headers to confirm sync at any byte in it. */
const LOOKAHEAD = 16 * 1024
/** The read window of `splitMp3`. */
const WINDOW = 64 * 1024

// ---------------------------------------------------------------------- scanner

/** Frames that can follow each other in one stream. */
function compatible(a: MpegFrame, b: MpegFrame): boolean {
  return a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate && a.channels === b.channels
}

/**
 * Bytes of `buf` for file offsets [base, base + buf.length), within audio that ends at
 * file offset `end` (where the trailing tags begin).
 */
interface View {
  buf: Buffer
  base: number
  end: number
}

function headerAt(v: View, at: number): MpegFrame | null {
  if (at + 4 > v.end) return null
  return parseMpegHeader(v.buf, at - v.base)
}

/** Whether a stream starts at `at`: a header, then two more consistent ones where the lengths say (or the audio ends exactly). */
function syncAt(v: View, at: number): boolean {
  const first = headerAt(v, at)
  if (!first) return false
  let next = at + first.length
  for (let n = 0; n < 2; n++) {
    if (next === v.end) return true
    const frame = headerAt(v, next)
    if (!frame || !compatible(first, frame)) return false
    next += frame.length
  }
  return next <= v.end
}

/** The first sync point in [from, to), or -1. */
function findSync(v: View, from: number, to: number): number {
  for (let at = from; at < to; at++) {
    const i = v.buf.indexOf(0xff, at - v.base)
    if (i < 0) return -1
    at = v.base + i
    if (at >= to) return -1
    if (syncAt(v, at)) return at
  }
  return -1
}

/** Scanner state carried across windows. */
interface ScanState {
  /** File offset of the next byte to look at. */
  pos: number
  /** The previous accepted frame when `pos` is where it ends (in sync), else null. */
  prev: MpegFrame | null
}

type FrameStep = {kind: 'frame'; at: number; frame: MpegFrame} | {kind: 'need'}

/**
 * The next frame at or after `s.pos`, advancing `s`. Looks at most LOOKAHEAD bytes past a
 * position; returns {kind: 'need'} when `s.pos` reaches `stop` (the caller refills its
 * window, or, when stop is the end of the audio, there are no more frames).
 */
function nextFrame(v: View, s: ScanState, stop: number): FrameStep {
  while (s.pos < stop) {
    if (!s.prev) {
      const at = findSync(v, s.pos, stop)
      if (at < 0) {
        s.pos = stop
        return {kind: 'need'}
      }
      s.pos = at
    }
    const at = s.pos
    const frame = headerAt(v, at)
    if (!frame || (s.prev && !compatible(s.prev, frame))) {
      s.prev = null // lost sync: junk after the previous frame
      continue
    }
    const end = at + frame.length
    let trusted = end === v.end
    if (!trusted && end < v.end) {
      const next = headerAt(v, end)
      trusted = next !== null && compatible(frame, next)
      // In the chain and followed by junk (or another stream): keep it, unless a stream starts inside it (it was cut short).
      if (!trusted && s.prev) trusted = findSync(v, at + 1, end) < 0
    }
    if (!trusted) {
      s.prev = null
      s.pos = at + 1
      continue
    }
    s.prev = frame
    s.pos = end
    // Xing/Info/VBRI: describes a whole file and holds no audio. Usually only the first frame, but
    // files concatenated as they are (e.g. an ad stitched in) carry one at each seam.
    if (isVbrHeaderFrame(v.buf, at - v.base, frame)) continue
    return {kind: 'frame', at, frame}
  }
  return {kind: 'need'}
}

/** Whether the frame at `i` holds a Xing/Info or VBRI header (checked on every frame, so the bytes are compared first). */
function isVbrHeaderFrame(b: Buffer, i: number, frame: MpegFrame): boolean {
  const x = i + 4 + (frame.version === 1 ? (frame.channels === 1 ? 17 : 32) : frame.channels === 1 ? 9 : 17)
  const maybe = b[x] === 0x58 || b[x] === 0x49 || b[i + 36] === 0x56 // 'X', 'I', 'V'
  return maybe && readVbrHeader(b, i, frame) !== null
}

/** Free-format header at `at` (bitrate index 0): its frames have no length in the header. */
function isFreeFormatHeader(b: Buffer, at: number): boolean {
  if (at + 4 > b.length || b[at] !== 0xff) return false
  const b1 = b[at + 1]!
  const b2 = b[at + 2]!
  return (b1 & 0xe0) === 0xe0 && ((b1 >> 3) & 3) !== 1 && ((b1 >> 1) & 3) !== 0 && b2 >> 4 === 0 && ((b2 >> 2) & 3) !== 3
}

/** Sums frame durations exactly while the sample rate stays the same. */
class Clock {
  private seconds = 0
  private samples = 0
  private rate = 0

  add(frame: MpegFrame): void {
    if (frame.sampleRate !== this.rate) {
      if (this.rate) this.seconds += this.samples / this.rate
      this.samples = 0
      this.rate = frame.sampleRate
    }
    this.samples += frame.samples
  }

  get total(): number {
    return this.seconds + (this.rate ? this.samples / this.rate : 0)
  }
}

/** Bytes of the ID3v1 and APEv2 tags that end the data, at most `available` (`tail` ends at the end of the data). */
function trailingTags(tail: Buffer, available: number): number {
  return Math.min(available, trailingTagBytes(tail))
}

function kindOf(head: Buffer): string | null {
  const kind = sniff(head)
  const names: Record<string, string> = {wav: 'a WAV', ogg: 'an Ogg', flac: 'a FLAC', m4a: 'an M4A (MP4)', aac: 'a raw AAC (ADTS)'}
  return names[kind] ?? null
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function noFramesError(what: string, head: Buffer): Error {
  const kind = kindOf(head)
  if (kind) return new Error(`${what} is ${kind} file, not an MP3: it has no MPEG audio frames`)
  if (isFreeFormatHeader(head, 0)) {
    return new Error(
      `${what} is a free-format MP3 (no bitrate in its frame headers), which is not supported: re-encode it at a fixed bitrate, e.g. \`lame -b 128\``,
    )
  }
  return new Error(`${what} is not an MP3: no MPEG audio frames found in it`)
}

// ----------------------------------------------------------------------- split

/** Where a chunk's frames lie in the file: runs of adjacent frames, in order. */
export interface ByteRange {
  start: number
  end: number
}

/** A chunk as `mp3ChunkRanges` yields it: where its frames are, not the frames themselves. */
export interface Mp3ChunkRanges {
  index: number
  /** seconds from the start of the episode to this chunk's first frame */
  startSeconds: number
  durationSeconds: number
  /** file offsets of the chunk's frames; concatenated, they are the chunk */
  ranges: ByteRange[]
  byteLength: number
  frames: number
  /** SHA-256 (hex) of the chunk's bytes, what `splitMp3` would yield for it */
  sha256: string
}

/**
 * Streams the file and yields consecutive chunks of whole frames, each at most maxBytes
 * (default 24 MiB, leaving headroom under 25 MiB), as byte ranges of the file: nothing of
 * the audio is kept, so a caller can upload a chunk straight from the file
 * (`fs.openAsBlob(file).slice(...)`) instead of holding it in memory. An ID3v2 tag at the
 * start and an ID3v1 tag / APE tag at the end are not part of any chunk; a
 * Xing/Info/VBRI frame (the first frame of VBR files) is dropped so no chunk carries a
 * header describing the whole file. Junk between frames is skipped by resyncing (a frame
 * header is trusted only when the next frame header follows where it should, or at EOF).
 * Throws an Error with a clear message if the file has no MPEG audio frames. Holds a
 * 64 KiB window in memory.
 */
export async function* mp3ChunkRanges(path: string, options: {maxBytes?: number} = {}): AsyncGenerator<Mp3ChunkRanges> {
  const maxBytes = options.maxBytes ?? DEFAULT_CHUNK_BYTES
  if (!Number.isInteger(maxBytes) || maxBytes < MAX_FRAME_BYTES) {
    throw new RangeError(`splitMp3: maxBytes must be an integer of at least ${MAX_FRAME_BYTES} (the longest MPEG frame), got ${maxBytes}`)
  }
  const handle = await open(path, 'r')
  try {
    const size = (await handle.stat()).size
    const readAt = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)))
      let got = 0
      while (got < buffer.length) {
        const {bytesRead} = await handle.read(buffer, got, buffer.length - got, offset + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return buffer.subarray(0, got)
    }

    // Tags: ID3v2 in front (sometimes several), ID3v1 / APE at the end.
    let start = 0
    for (let tag = id3v2Size(await readAt(0, 10)); tag > 0; tag = id3v2Size(await readAt(start, 10))) start += tag
    start = Math.min(start, size)
    const audioEnd = size - trailingTags(await readAt(Math.max(start, size - 160), 160), size - start)
    const head = await readAt(start, 16)

    // The read window: file offsets [view.base, view.base + view.buf.length).
    const window = Buffer.allocUnsafe(WINDOW)
    const view: View = {buf: window.subarray(0, 0), base: start, end: audioEnd}
    const fill = async (from: number): Promise<void> => {
      const keep = Math.max(0, view.base + view.buf.length - from)
      if (keep > 0) window.copyWithin(0, from - view.base, from - view.base + keep)
      let length = keep
      const want = Math.min(WINDOW, audioEnd - from)
      while (length < want) {
        const {bytesRead} = await handle.read(window, length, want - length, from + length)
        if (bytesRead === 0) break
        length += bytesRead
      }
      view.buf = window.subarray(0, length)
      view.base = from
      if (length < want) view.end = from + length // the file shrank while being read: the audio ends where the data does
    }

    const state: ScanState = {pos: start, prev: null}
    let index = 0
    let startSeconds = 0
    let ranges: ByteRange[] = []
    let used = 0
    let frames = 0
    let clock = new Clock()
    let hash = createHash('sha256')
    const finish = (): Mp3ChunkRanges => {
      const done: Mp3ChunkRanges = {
        index: index++,
        startSeconds,
        durationSeconds: clock.total,
        ranges,
        byteLength: used,
        frames,
        sha256: hash.digest('hex'),
      }
      startSeconds += done.durationSeconds
      ranges = []
      used = 0
      frames = 0
      clock = new Clock()
      hash = createHash('sha256')
      return done
    }

    await fill(start)
    for (;;) {
      const atEnd = view.base + view.buf.length >= view.end
      const step = nextFrame(view, state, atEnd ? view.end : view.base + view.buf.length - LOOKAHEAD)
      if (step.kind === 'need') {
        if (atEnd) break
        await fill(state.pos)
        continue
      }
      const {at, frame} = step
      if (frames > 0 && used + frame.length > maxBytes) yield finish()
      const last = ranges.at(-1)
      if (last && last.end === at) last.end += frame.length
      else ranges.push({start: at, end: at + frame.length})
      hash.update(view.buf.subarray(at - view.base, at - view.base + frame.length))
      used += frame.length
      frames++
      clock.add(frame)
    }
    if (frames > 0) yield finish()
    else if (index === 0) throw noFramesError(path, head)
  } finally {
    await handle.close()
  }
}

/**
 * `mp3ChunkRanges` with each chunk's bytes read into memory: the same chunks, for callers
 * that need the bytes (each chunk is read after the scan has passed it, so a file that
 * changes meanwhile fails with a clear error rather than yielding other bytes).
 */
export async function* splitMp3(path: string, options: {maxBytes?: number} = {}): AsyncGenerator<Mp3Chunk> {
  const handle = await open(path, 'r')
  try {
    for await (const chunk of mp3ChunkRanges(path, options)) {
      const bytes = Buffer.allocUnsafe(chunk.byteLength)
      let used = 0
      for (const range of chunk.ranges) {
        for (let offset = range.start; offset < range.end;) {
          const {bytesRead} = await handle.read(bytes, used, range.end - offset, offset)
          if (bytesRead === 0) throw new Error(`${path} changed while it was being read`)
          used += bytesRead
          offset += bytesRead
        }
      }
      if (createHash('sha256').update(bytes).digest('hex') !== chunk.sha256) throw new Error(`${path} changed while it was being read`)
      yield {index: chunk.index, startSeconds: chunk.startSeconds, durationSeconds: chunk.durationSeconds, bytes, frames: chunk.frames}
    }
  } finally {
    await handle.close()
  }
}

// ------------------------------------------------------------------ in memory

interface FrameList {
  frames: {at: number; frame: MpegFrame}[]
  seconds: number
}

/** The frames of a whole MP3 in memory (tags and the Xing/Info/VBRI frame left out). */
function framesOf(b: Buffer): FrameList & {head: Buffer} {
  let start = 0
  for (let tag = id3v2Size(b); tag > 0 && start + tag <= b.length; tag = id3v2Size(b, start)) start += tag
  const end = b.length - trailingTags(b.subarray(Math.max(start, b.length - 160)), b.length - start)
  const view: View = {buf: b, base: 0, end}
  const state: ScanState = {pos: start, prev: null}
  const frames: {at: number; frame: MpegFrame}[] = []
  const clock = new Clock()
  for (let step = nextFrame(view, state, end); step.kind === 'frame'; step = nextFrame(view, state, end)) {
    frames.push({at: step.at, frame: step.frame})
    clock.add(step.frame)
  }
  return {frames, seconds: clock.total, head: b.subarray(start, start + 16)}
}

/** Duration of an in-memory MP3 from its frames (samples per frame / sample rate, summed). Throws if it has none. */
export function mp3DurationSeconds(bytes: Uint8Array): number {
  const list = framesOf(asBuffer(bytes))
  if (list.frames.length === 0) throw noFramesError('The data', list.head)
  return list.seconds
}

const streamName = (f: MpegFrame) =>
  `MPEG-${f.version} Layer ${'I'.repeat(f.layer)}, ${f.sampleRate} Hz ${f.channels === 1 ? 'mono' : 'stereo'}`

/**
 * Joins complete MP3 files (e.g. one per TTS request) into one: ID3 tags and
 * Xing/Info/VBRI frames of each input are removed, the frames concatenated in order. All
 * inputs must share sample rate and channel mode (else throw saying which input differs).
 * Returns the bytes and the total duration in seconds computed from the frames.
 */
export function joinMp3(parts: Uint8Array[]): {bytes: Buffer; durationSeconds: number} {
  if (parts.length === 0) throw new Error('joinMp3: no parts to join')
  let reference: {frame: MpegFrame; part: number} | null = null
  let total = 0
  let seconds = 0
  const lists: {buf: Buffer; list: FrameList}[] = []
  for (const [i, part] of parts.entries()) {
    const buf = asBuffer(part)
    const list = framesOf(buf)
    if (list.frames.length === 0) throw noFramesError(`joinMp3: part ${i}`, list.head)
    for (const {frame} of list.frames) {
      reference ??= {frame, part: i}
      if (!compatible(reference.frame, frame)) {
        throw new Error(
          `joinMp3: part ${i} is ${streamName(frame)} but part ${reference.part} is ${streamName(reference.frame)}: all parts must share MPEG version, layer, sample rate and channel mode`,
        )
      }
      total += frame.length
    }
    seconds += list.seconds
    lists.push({buf, list})
  }
  const out = Buffer.allocUnsafe(total)
  let used = 0
  for (const {buf, list} of lists) {
    // Copy runs of adjacent frames at once.
    let runStart = -1
    let runEnd = -1
    for (const {at, frame} of list.frames) {
      if (at !== runEnd) {
        if (runStart >= 0) used += buf.copy(out, used, runStart, runEnd)
        runStart = at
      }
      runEnd = at + frame.length
    }
    if (runStart >= 0) used += buf.copy(out, used, runStart, runEnd)
  }
  return {bytes: out, durationSeconds: seconds}
}
