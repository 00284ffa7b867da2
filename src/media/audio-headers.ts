/**
 * Byte-level checks on episode files that music-metadata does not make: what a file
 * really is (whatever its extension says), and whether it is complete. Everything
 * here works on small slices (the head and the tail of a file, a few chunk headers),
 * so checking an hour-long episode reads kilobytes, not the whole file.
 */

/** What the first bytes of a file say it is. */
export type SniffedKind = 'mp3' | 'mp2' | 'mp1' | 'wav' | 'ogg' | 'm4a' | 'flac' | 'aac' | 'unknown'

/** Bytes of an ID3v2 tag at `offset` (header + body + footer), or 0 if there is none. */
export function id3v2Size(head: Buffer, offset = 0): number {
  if (head.length < offset + 10 || head.toString('latin1', offset, offset + 3) !== 'ID3') return 0
  const flags = head[offset + 5]!
  const size =
    ((head[offset + 6]! & 0x7f) << 21) | ((head[offset + 7]! & 0x7f) << 14) | ((head[offset + 8]! & 0x7f) << 7) | (head[offset + 9]! & 0x7f)
  return 10 + size + (flags & 0x10 ? 10 : 0)
}

/** Sniffs the container from the first bytes after any ID3v2 tag. */
export function sniff(bytes: Buffer): SniffedKind {
  if (bytes.length < 4) return 'unknown'
  const ascii = (from: number, to: number) => bytes.toString('latin1', from, to)
  if (ascii(0, 4) === 'RIFF' && bytes.length >= 12 && ascii(8, 12) === 'WAVE') return 'wav'
  if (ascii(0, 4) === 'OggS') return 'ogg'
  if (ascii(0, 4) === 'fLaC') return 'flac'
  if (bytes.length >= 8 && ascii(4, 8) === 'ftyp') return 'm4a'
  if (bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0) {
    if ((bytes[1]! & 0xf6) === 0xf0) return 'aac' // ADTS: sync 0xFFF, layer 00
    const frame = parseMpegHeader(bytes, 0)
    if (frame) return frame.layer === 3 ? 'mp3' : frame.layer === 2 ? 'mp2' : 'mp1'
  }
  return 'unknown'
}

// ------------------------------------------------------------------------ MPEG

export interface MpegFrame {
  /** 1 = MPEG-1, 2 = MPEG-2, 2.5 = MPEG-2.5. */
  version: 1 | 2 | 2.5
  layer: 1 | 2 | 3
  bitrate: number
  sampleRate: number
  channels: 1 | 2
  /** Whole frame length in bytes, header included. */
  length: number
  samples: number
}

const BITRATES_KBPS: Record<string, readonly number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
const SAMPLE_RATES: Record<string, readonly number[]> = {
  '1': [44100, 48000, 32000],
  '2': [22050, 24000, 16000],
  '2.5': [11025, 12000, 8000],
}

/** The MPEG audio frame header at `i`, or null when the 4 bytes there are not one. */
export function parseMpegHeader(b: Buffer, i: number): MpegFrame | null {
  if (i < 0 || i + 4 > b.length || b[i] !== 0xff) return null
  const b1 = b[i + 1]!
  const b2 = b[i + 2]!
  const b3 = b[i + 3]!
  if ((b1 & 0xe0) !== 0xe0) return null
  const versionBits = (b1 >> 3) & 3
  const layerBits = (b1 >> 1) & 3
  if (versionBits === 1 || layerBits === 0) return null
  const version = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5
  const layer = (4 - layerBits) as 1 | 2 | 3
  const bitrateIndex = b2 >> 4
  const rateIndex = (b2 >> 2) & 3
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null
  const bitrate = BITRATES_KBPS[`${version === 1 ? 1 : 2}-${layer}`]![bitrateIndex]! * 1000
  const sampleRate = SAMPLE_RATES[String(version)]![rateIndex]!
  const padding = (b2 >> 1) & 1
  let length: number
  let samples: number
  if (layer === 1) {
    length = (Math.floor((12 * bitrate) / sampleRate) + padding) * 4
    samples = 384
  } else if (layer === 2 || version === 1) {
    length = Math.floor((144 * bitrate) / sampleRate) + padding
    samples = 1152
  } else {
    length = Math.floor((72 * bitrate) / sampleRate) + padding
    samples = 576
  }
  return {version, layer, bitrate, sampleRate, channels: b3 >> 6 === 3 ? 1 : 2, length, samples}
}

function sameStream(a: MpegFrame, b: MpegFrame): boolean {
  return a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate
}

/**
 * The first frame of the stream in `b`: a header followed by two more consistent
 * headers at the offsets its length gives, so a stray 0xFF in junk is not taken.
 */
export function findFirstFrame(b: Buffer, from = 0): {offset: number; frame: MpegFrame} | null {
  for (let i = from; i + 4 <= b.length; i++) {
    const frame = parseMpegHeader(b, i)
    if (!frame) continue
    let at = i + frame.length
    let ok = true
    for (let n = 0; n < 2 && ok; n++) {
      if (at + 4 > b.length) {
        ok = at === b.length // a stream of one or two frames that ends exactly with the data
        break
      }
      const next = parseMpegHeader(b, at)
      if (!next || !sameStream(frame, next)) ok = false
      else at += next.length
    }
    if (ok) return {offset: i, frame}
  }
  return null
}

export interface VbrHeader {
  kind: 'Xing' | 'Info' | 'VBRI'
  frames: number | null
  /** Bytes of the MPEG stream the encoder wrote, first frame included. */
  bytes: number | null
}

/** The Xing/Info or VBRI header in the first frame at `offset`, if any. */
export function readVbrHeader(b: Buffer, offset: number, frame: MpegFrame): VbrHeader | null {
  const sideInfo = frame.version === 1 ? (frame.channels === 1 ? 17 : 32) : frame.channels === 1 ? 9 : 17
  const x = offset + 4 + sideInfo
  if (x + 8 <= b.length) {
    const tag = b.toString('latin1', x, x + 4)
    if (tag === 'Xing' || tag === 'Info') {
      const flags = b.readUInt32BE(x + 4)
      let at = x + 8
      let frames: number | null = null
      let bytes: number | null = null
      if (flags & 1 && at + 4 <= b.length) {
        frames = b.readUInt32BE(at)
        at += 4
      }
      if (flags & 2 && at + 4 <= b.length) bytes = b.readUInt32BE(at)
      return {kind: tag, frames, bytes: bytes || null}
    }
  }
  const v = offset + 36
  if (v + 18 <= b.length && b.toString('latin1', v, v + 4) === 'VBRI') {
    return {kind: 'VBRI', bytes: b.readUInt32BE(v + 10) || null, frames: b.readUInt32BE(v + 14) || null}
  }
  return null
}

/**
 * Bytes at the end of an MP3 that are tags, not audio: ID3v1 and an APEv2 tag, from the
 * file's last bytes. May exceed `tail.length` when the APE tag is longer than the tail.
 */
export function trailingTagBytes(tail: Buffer): number {
  let end = tail.length
  if (end >= 128 && tail.toString('latin1', end - 128, end - 125) === 'TAG') end -= 128
  if (end >= 32 && tail.toString('latin1', end - 32, end - 24) === 'APETAGEX') {
    const size = tail.readUInt32LE(end - 32 + 12)
    const hasHeader = (tail.readUInt32LE(end - 32 + 20) & 0x80000000) !== 0
    end -= size + (hasHeader ? 32 : 0)
  }
  return tail.length - end
}

/**
 * Whether the MPEG stream that ends `tail` stops in the middle of a frame: finds a run
 * of at least three consistent frames in the tail and follows it to the end.
 * 'complete': it ends exactly on a frame boundary; 'cut': the last frame needs more bytes
 * than the file has; 'unknown': no such run (unusual trailing data), nothing to say.
 */
export function mpegTailState(tail: Buffer, like: MpegFrame): 'complete' | 'cut' | 'unknown' {
  for (let i = 0; i + 4 <= tail.length; i++) {
    if (tail[i] !== 0xff) continue
    let at = i
    let frames = 0
    let frame: MpegFrame | null
    while (at + 4 <= tail.length && (frame = parseMpegHeader(tail, at)) && sameStream(frame, like)) {
      at += frame.length
      frames++
    }
    if (frames < 3) continue
    if (at === tail.length) return 'complete'
    if (at > tail.length) return 'cut'
  }
  return 'unknown'
}

// ------------------------------------------------------------------------ WAV

export interface WavInfo {
  channels: number
  sampleRate: number
  byteRate: number
  dataOffset: number
  /** Size the header gives, or null for a streaming placeholder (0 or 0xFFFFFFFF). */
  dataSize: number | null
}

/** Reads a RIFF/WAVE chunk list through `read(offset, length)`, skipping chunk bodies. */
export async function readWavInfo(read: (offset: number, length: number) => Promise<Buffer>, fileSize: number): Promise<WavInfo | null> {
  let at = 12
  let format: {channels: number; sampleRate: number; byteRate: number} | null = null
  for (let n = 0; n < 64 && at + 8 <= fileSize; n++) {
    const head = await read(at, 8)
    if (head.length < 8) return null
    const id = head.toString('latin1', 0, 4)
    const size = head.readUInt32LE(4)
    if (id === 'fmt ') {
      const body = await read(at + 8, 16)
      if (body.length < 16) return null
      format = {channels: body.readUInt16LE(2), sampleRate: body.readUInt32LE(4), byteRate: body.readUInt32LE(8)}
    } else if (id === 'data') {
      if (!format) return null
      return {...format, dataOffset: at + 8, dataSize: size === 0 || size === 0xffffffff ? null : size}
    }
    at += 8 + size + (size % 2)
  }
  return null
}

// ------------------------------------------------------------------- MP4 / M4A

/** The first top-level box that runs past the end of the file, if any. */
export async function mp4Overrun(
  read: (offset: number, length: number) => Promise<Buffer>,
  fileSize: number,
): Promise<{type: string; end: number} | null> {
  let at = 0
  for (let n = 0; n < 256 && at + 8 <= fileSize; n++) {
    const head = await read(at, 16)
    if (head.length < 8) return null
    let size = head.readUInt32BE(0)
    const type = head.toString('latin1', 4, 8)
    if (size === 1) {
      if (head.length < 16) return null
      size = Number(head.readBigUInt64BE(8))
    } else if (size === 0) {
      return null // extends to the end of the file, whatever its length
    }
    if (size < 8) return null
    if (at + size > fileSize) return {type, end: at + size}
    at += size
  }
  return null
}

// ------------------------------------------------------------------------- Ogg

export interface OggHead {
  /** 'Vorbis', 'Opus', or the name another codec gives itself. */
  codec: string
  channels: number
  /** Granule positions count samples at this rate (48 kHz for Opus). */
  granuleRate: number
  sampleRate: number
  preSkip: number
}

/** The codec of an Ogg stream from its first page (identification header). */
export function readOggHead(head: Buffer): OggHead | null {
  if (head.length < 28 || head.toString('latin1', 0, 4) !== 'OggS') return null
  const segments = head[26]!
  const body = 27 + segments
  if (head.length < body + 19) return null
  if (head[body] === 1 && head.toString('latin1', body + 1, body + 7) === 'vorbis') {
    const rate = head.readUInt32LE(body + 12)
    return {codec: 'Vorbis', channels: head[body + 11]!, granuleRate: rate, sampleRate: rate, preSkip: 0}
  }
  if (head.toString('latin1', body, body + 8) === 'OpusHead') {
    return {
      codec: 'Opus',
      channels: head[body + 9]!,
      granuleRate: 48000,
      sampleRate: head.readUInt32LE(body + 12) || 48000,
      preSkip: head.readUInt16LE(body + 10),
    }
  }
  const name = head
    .toString('latin1', body, body + 8)
    .replace(/[^\x20-\x7e]/g, '')
    .trim()
  return {codec: name || 'unknown', channels: 0, granuleRate: 0, sampleRate: 0, preSkip: 0}
}

/**
 * The end of an Ogg stream from its tail: the last page's granule position, whether it
 * carries the end-of-stream flag, and whether the page is cut off by the end of the file.
 */
export function readOggTail(tail: Buffer): {granule: bigint | null; eos: boolean; cut: boolean} | null {
  let last: {granule: bigint | null; eos: boolean; cut: boolean} | null = null
  for (let i = tail.lastIndexOf('OggS'); i >= 0; i = i > 0 ? tail.lastIndexOf('OggS', i - 1) : -1) {
    if (i + 27 > tail.length) {
      if (!last) last = {granule: null, eos: false, cut: true}
      continue
    }
    if (tail[i + 4] !== 0) continue // "OggS" inside packet data, not a page
    const segments = tail[i + 26]!
    if (i + 27 + segments > tail.length) {
      if (!last) last = {granule: null, eos: false, cut: true}
      continue
    }
    let bodyBytes = 0
    for (let s = 0; s < segments; s++) bodyBytes += tail[i + 27 + s]!
    const end = i + 27 + segments + bodyBytes
    const granule = tail.readBigInt64LE(i + 6)
    const flags = tail[i + 5]!
    if (!last) {
      last = {granule: granule >= 0n ? granule : null, eos: (flags & 4) !== 0, cut: end > tail.length}
      if (last.cut) last.granule = null
    } else if (last.granule === null && granule >= 0n && end <= tail.length) {
      last.granule = granule
    }
    if (last.granule !== null) return last
  }
  return last
}
