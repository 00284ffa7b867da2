/**
 * Test fixture helpers for media files (MP3, PDF, transcript sidecars, temp dirs).
 *
 * Why this file exists: many tests need "a pair" on disk (x.pdf + x.mp3, optionally
 * x.vtt / x.srt / x.transcript.json). These helpers build such files in milliseconds,
 * in pure JS, with no external tools (no ffmpeg, lame, espeak-ng or qpdf), so tests stay
 * fast and run on any CI machine. Only `writePdf` needs a library (pdfkit, a
 * devDependency, which also encrypts), and it is imported lazily so tests that don't
 * make PDFs never load it.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

// ---------------------------------------------------------------------------
// MP3 (MPEG audio Layer III) made of silent frames
// ---------------------------------------------------------------------------

export interface SilentMp3Options {
  /** Put a Xing VBR header in the first frame, so readers take the duration from its frame count. */
  vbrXing?: boolean
  /** Prepend an ID3v2.3 tag (true: default title/artist) so readers must skip a tag to find audio. */
  id3v2?: boolean | {title?: string; artist?: string}
  /** 44100 Hz gives MPEG-1 (1152 samples/frame); 22050 Hz gives MPEG-2 (576 samples/frame). */
  sampleRate?: 44100 | 22050
  /** Constant bitrate; must be a legal Layer III bitrate for the MPEG version. Default 32 (small files). */
  bitrateKbps?: number
}

// Legal Layer III bitrates by bitrate index (index 0 = "free format", 15 = invalid: both excluded).
const MPEG1_L3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320] as const
const MPEG2_L3_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160] as const

/** Size of our Xing header: "Xing" + flags + frames + bytes + quality, 4 bytes each. */
const XING_BYTES = 20

/** Layout facts for one MPEG version, mono (mono keeps side info small and files tiny). */
interface MpegLayout {
  /** Second header byte: sync bits + version + layer III + "no CRC". */
  headerByte1: number
  /** Sample-rate index for the third header byte (0 for both 44100/MPEG-1 and 22050/MPEG-2). */
  sampleRateIndex: number
  samplesPerFrame: number
  /** Frame length coefficient: bytes = floor(coef * bitrate / sampleRate) (+1 padding byte). */
  coef: number
  /** Layer III side information length for mono. */
  sideInfoBytes: number
  bitrates: readonly number[]
}

const MPEG1: MpegLayout = {
  headerByte1: 0xfb, // 1111 1011: sync, version 11 (MPEG-1), layer 01 (III), protection 1 (no CRC)
  sampleRateIndex: 0, // 44100 Hz
  samplesPerFrame: 1152,
  coef: 144,
  sideInfoBytes: 17,
  bitrates: MPEG1_L3_KBPS,
}

const MPEG2: MpegLayout = {
  headerByte1: 0xf3, // 1111 0011: sync, version 10 (MPEG-2), layer 01 (III), no CRC
  sampleRateIndex: 0, // 22050 Hz
  samplesPerFrame: 576,
  coef: 72,
  sideInfoBytes: 9,
  bitrates: MPEG2_L3_KBPS,
}

/** 4-byte frame header for a mono frame. */
function frameHeader(layout: MpegLayout, bitrateIndex: number, padding: boolean): Uint8Array {
  return Uint8Array.of(
    0xff,
    layout.headerByte1,
    (bitrateIndex << 4) | (layout.sampleRateIndex << 2) | (padding ? 0x02 : 0),
    0xc0, // channel mode 11 = mono; no mode extension, copyright, original or emphasis
  )
}

/** ID3v2.3 tag with text frames; sizes in the tag header are "syncsafe" (7 bits per byte). */
function id3v2Tag(title: string, artist: string): Buffer {
  const textFrame = (id: string, text: string): Buffer => {
    const body = Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'latin1')]) // 0x00 = ISO-8859-1
    const head = Buffer.alloc(10)
    head.write(id, 0, 'ascii')
    head.writeUInt32BE(body.length, 4) // v2.3 frame sizes are plain big-endian
    return Buffer.concat([head, body])
  }
  // No padding after the frames: legal, but music-metadata warns about zero "frame IDs".
  const frames = Buffer.concat([textFrame('TIT2', title), textFrame('TPE1', artist)])
  const size = frames.length
  const header = Buffer.from([
    0x49,
    0x44,
    0x33,
    0x03,
    0x00,
    0x00, // "ID3", v2.3.0, no flags
    (size >> 21) & 0x7f,
    (size >> 14) & 0x7f,
    (size >> 7) & 0x7f,
    size & 0x7f,
  ])
  return Buffer.concat([header, frames])
}

/**
 * Build the bytes of a silent MP3 lasting ~`seconds`.
 * Silence is legal Layer III: with all-zero side info every granule has part2_3_length = 0,
 * so decoders output zeros and never read main data (which we also leave zeroed).
 */
export function buildSilentMp3(seconds: number, opts: SilentMp3Options = {}): Buffer {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`seconds must be > 0, got ${seconds}`)
  const sampleRate = opts.sampleRate ?? 44100
  const layout = sampleRate === 22050 ? MPEG2 : MPEG1
  const kbps = opts.bitrateKbps ?? 32
  const bitrateIndex = layout.bitrates.indexOf(kbps)
  if (bitrateIndex < 1) {
    throw new RangeError(`${kbps} kbps is not a Layer III bitrate at ${sampleRate} Hz (${layout.bitrates.slice(1).join(', ')})`)
  }

  // Frame sizes: exact size is coef*bitrate/sampleRate bytes, usually fractional. Like real
  // encoders we emit the floor and set the padding bit (+1 byte) whenever the accumulated
  // remainder reaches a whole byte, so the average bitrate is exact and size-based
  // duration estimates (how readers time CBR files) come out right.
  const numerator = layout.coef * kbps * 1000
  const baseLen = Math.floor(numerator / sampleRate)
  const remainder = numerator % sampleRate

  const audioFrames = Math.max(4, Math.round((seconds * sampleRate) / layout.samplesPerFrame)) // readers want >= 4 frames
  const totalFrames = audioFrames + (opts.vbrXing ? 1 : 0)
  const padding: boolean[] = []
  let acc = 0
  let mpegBytes = 0
  for (let i = 0; i < totalFrames; i++) {
    acc += remainder
    const pad = acc >= sampleRate
    if (pad) acc -= sampleRate
    padding.push(pad)
    mpegBytes += baseLen + (pad ? 1 : 0)
  }

  const tag = opts.id3v2
    ? id3v2Tag(
        (typeof opts.id3v2 === 'object' ? opts.id3v2.title : undefined) ?? 'Silence',
        (typeof opts.id3v2 === 'object' ? opts.id3v2.artist : undefined) ?? 'studio tests',
      )
    : Buffer.alloc(0)

  const out = Buffer.alloc(tag.length + mpegBytes) // zero-filled: side info + main data = silence
  tag.copy(out, 0)
  let offset = tag.length
  for (let i = 0; i < totalFrames; i++) {
    const pad = padding[i] ?? false
    out.set(frameHeader(layout, bitrateIndex, pad), offset)
    if (i === 0 && opts.vbrXing) {
      const xingAt = 4 + layout.sideInfoBytes // right after header + side info
      if (xingAt + XING_BYTES > baseLen) throw new RangeError(`${kbps} kbps frames are too small for a Xing header`)
      writeXing(out, offset + xingAt, audioFrames, mpegBytes)
    }
    offset += baseLen + (pad ? 1 : 0)
  }
  return out
}

/**
 * Xing header (http://gabriel.mp3-tech.org/mp3infotag.html) placed right after the side info of
 * the first frame. The frame count excludes the Xing frame itself (LAME convention). We set the
 * frames, bytes and quality flags: music-metadata only trusts the frame count when "bytes" is present too.
 */
function writeXing(out: Buffer, at: number, audioFrames: number, streamBytes: number): void {
  out.write('Xing', at, 'ascii')
  out.writeUInt32BE(0x1 | 0x2 | 0x8, at + 4) // frames | bytes | quality (no TOC: it may not fit small frames)
  out.writeUInt32BE(audioFrames, at + 8)
  out.writeUInt32BE(streamBytes, at + 12)
  out.writeUInt32BE(50, at + 16) // quality 0..100, informational only
}

/** Write a silent MP3 of ~`seconds` (rounded to whole frames: 26 ms at 44.1 kHz, 26 ms at 22.05 kHz). */
export async function writeSilentMp3(path: string, seconds: number, opts: SilentMp3Options = {}): Promise<void> {
  await writeFile(path, buildSilentMp3(seconds, opts))
}

// ---------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------

/** The slice of pdfkit's API we use (pdfkit ships no types and @types/pdfkit is not installed). */
export interface PdfDoc {
  on(event: 'data', cb: (chunk: Buffer) => void): void
  on(event: 'end', cb: () => void): void
  on(event: 'error', cb: (err: Error) => void): void
  font(name: string): PdfDoc
  fontSize(size: number): PdfDoc
  text(text: string, options?: Record<string, unknown>): PdfDoc
  moveDown(lines?: number): PdfDoc
  addPage(): PdfDoc
  bufferedPageRange(): {start: number; count: number}
  end(): void
}
export type PdfDocCtor = new (options?: Record<string, unknown>) => PdfDoc

export type PdfSpec =
  | string[]
  | {
      title?: string
      pages: string[]
      /** Encrypt with AES-256, as `qpdf --encrypt USER OWNER 256` would: readers need the user password to open it. */
      password?: {user: string; owner: string}
    }

/**
 * Write a small text PDF, one entry of `pages` per page (long text may overflow onto extra
 * pages). A title, when given, is set as document metadata and printed on page 1.
 * Uses built-in Helvetica (no embedded font) so files are a few KB and text extracts cleanly.
 * Deterministic, except when encrypted (pdfkit draws a random salt and IV).
 */
export async function writePdf(path: string, spec: PdfSpec): Promise<void> {
  const {title, pages, password} = Array.isArray(spec) ? {title: undefined, pages: spec, password: undefined} : spec
  if (pages.length === 0) throw new RangeError('writePdf needs at least one page')
  // Dynamic import through a variable: pdfkit has no type declarations, and lazy loading
  // keeps it out of tests that never build PDFs.
  const moduleName = 'pdfkit'
  const mod = (await import(moduleName)) as {default: PdfDocCtor}
  const doc = new mod.default({
    size: 'LETTER',
    margin: 72,
    // Fixed dates so the same input gives the same bytes (handy for hashing/caching tests).
    info: {Title: title ?? 'Test document', CreationDate: new Date(Date.UTC(2024, 0, 1)), ModDate: new Date(Date.UTC(2024, 0, 1))},
    ...(password ? {userPassword: password.user, ownerPassword: password.owner, pdfVersion: '1.7ext3'} : {}),
  })
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  pages.forEach((text, i) => {
    if (i > 0) doc.addPage()
    if (i === 0 && title) doc.font('Helvetica-Bold').fontSize(16).text(title).moveDown()
    doc.font('Helvetica').fontSize(11).text(text)
  })
  doc.end()
  await writeFile(path, await done)
}

// ---------------------------------------------------------------------------
// Transcript sidecars
// ---------------------------------------------------------------------------

export interface Cue {
  /** Seconds from the start of the audio. */
  start: number
  end: number
  speaker?: string | null
  text: string
}

/** The project's `x.transcript.json` format. */
export interface TranscriptJson {
  version: 1
  duration_seconds: number
  segments: {start: number; end: number; speaker: string | null; text: string}[]
}

/** HH:MM:SS.mmm (VTT) or HH:MM:SS,mmm (SRT); computed from whole milliseconds to avoid 59.9995 -> "60.000". */
export function formatTimestamp(seconds: number, sep: '.' | ',' = '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000))
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = Math.floor((ms % 60_000) / 1000)
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`
}

/** WebVTT with numeric cue identifiers and `<v Speaker>` voice tags (the standard speaker markup). */
export function vttText(cues: Cue[]): string {
  const blocks = cues.map((c, i) => {
    const body = c.speaker ? `<v ${c.speaker}>${c.text}` : c.text
    return `${i + 1}\n${formatTimestamp(c.start)} --> ${formatTimestamp(c.end)}\n${body}`
  })
  return `WEBVTT\n\n${blocks.join('\n\n')}\n`
}

/** SRT has no speaker markup; we use the common "Speaker: text" convention. */
export function srtText(cues: Cue[]): string {
  const blocks = cues.map((c, i) => {
    const body = c.speaker ? `${c.speaker}: ${c.text}` : c.text
    return `${i + 1}\n${formatTimestamp(c.start, ',')} --> ${formatTimestamp(c.end, ',')}\n${body}`
  })
  return `${blocks.join('\n\n')}\n`
}

export async function writeVtt(path: string, cues: Cue[]): Promise<void> {
  await writeFile(path, vttText(cues), 'utf8')
}

export async function writeSrt(path: string, cues: Cue[]): Promise<void> {
  await writeFile(path, srtText(cues), 'utf8')
}

/**
 * Write `x.transcript.json`. Accepts a full transcript, or just cues (then version 1, speaker
 * null when missing, duration = last cue end) to keep call sites short.
 */
export async function writeTranscriptJson(path: string, transcript: TranscriptJson | Cue[]): Promise<void> {
  const full: TranscriptJson = Array.isArray(transcript)
    ? {
        version: 1,
        duration_seconds: transcript.reduce((max, c) => Math.max(max, c.end), 0),
        segments: transcript.map((c) => ({start: c.start, end: c.end, speaker: c.speaker ?? null, text: c.text})),
      }
    : transcript
  await writeFile(path, `${JSON.stringify(full, null, 2)}\n`, 'utf8')
}

// ---------------------------------------------------------------------------
// Temp dirs
// ---------------------------------------------------------------------------

/** A fresh unique directory under os.tmpdir(); `prefix` makes leftovers easy to attribute. */
export async function makeTempDir(prefix = 'studio-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** Remove a directory tree; missing is fine (so it is safe in afterEach even if setup failed). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true})
}
