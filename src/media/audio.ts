/**
 * Episodes: what format a file really is, whether it is complete, and how long it lasts,
 * all from headers and a few kilobytes at each end of the file. No episode is read whole
 * just to list it. MP3s are timed from their own headers (a Xing/Info/VBRI frame count,
 * else the size at the first frame's bitrate), M4A and WAV through music-metadata's
 * header parsing, and Ogg files from the granule position of their last page, since
 * music-metadata walks every page.
 *
 * Every problem is an InputError naming the file, so a run skips that pair and says why.
 */
import {closeSync, readSync} from 'node:fs'
import path from 'node:path'

import {InputError} from '../core/errors.js'
import {openInputFile} from '../core/input-file.js'
import type {EpisodeFormat} from '../core/schemas/common.js'
import {
  findFirstFrame,
  id3v2Size,
  parseMpegHeader,
  mp4Overrun,
  mpegTailState,
  readOggHead,
  readOggTail,
  readVbrHeader,
  readWavInfo,
  sniff,
  trailingTagBytes,
  type MpegFrame,
  type SniffedKind,
} from './audio-headers.js'
import {mp3ChunkRanges} from './mp3-frames.js'

/** Episode extensions studio accepts, in order of preference when several share a base name. */
export const EPISODE_EXTENSIONS = ['.mp3', '.m4a', '.ogg', '.wav'] as const
export type {EpisodeFormat}

/** Below this an episode has too little speech to learn structure or style from. */
export const MIN_EPISODE_SECONDS = 10

export interface EpisodeInfo {
  path: string
  format: EpisodeFormat
  /** e.g. "MPEG 1 Layer 3", "MPEG-4/AAC", "PCM", "Vorbis". */
  codec: string
  durationSeconds: number
  sampleRate: number | null
  channels: number | null
}

/** The episode format an extension stands for, or null if it is not an episode extension. */
export function episodeFormat(file: string): EpisodeFormat | null {
  const ext = path.extname(file).toLowerCase()
  return (EPISODE_EXTENSIONS as readonly string[]).includes(ext) ? (ext.slice(1) as EpisodeFormat) : null
}

const LABEL: Record<Exclude<SniffedKind, 'unknown'>, string> = {
  mp3: 'an MP3',
  wav: 'a WAV',
  ogg: 'an Ogg',
  m4a: 'an M4A (MP4)',
  flac: 'a FLAC',
  aac: 'a raw AAC (ADTS)',
  mp2: 'an MPEG Layer II (MP2)',
  mp1: 'an MPEG Layer I (MP1)',
}
const FORMAT_NAME: Record<EpisodeFormat, string> = {mp3: 'MP3', m4a: 'M4A', ogg: 'Ogg', wav: 'WAV'}

const HEAD_BYTES = 64 * 1024
const TAIL_BYTES = 16 * 1024
/** The largest Ogg page: 27-byte header, 255 lacing values, 255 segments of 255 bytes. */
const OGG_MAX_PAGE = 27 + 255 + 255 * 255

const REDOWNLOAD = 'The file is incomplete: download or copy it again from the original.'

/** Measures an episode and checks that it is what its extension says, complete and long enough. */
export async function probeEpisode(file: string): Promise<EpisodeInfo> {
  const format = episodeFormat(file)
  if (!format) {
    throw new InputError(`Episode ${file} is not a supported episode format (${EPISODE_EXTENSIONS.join(', ')})`, {
      path: file,
      hint: 'Convert it to MP3, e.g. `ffmpeg -i in.flac out.mp3`.',
    })
  }
  let fd: number
  let size: number
  try {
    // A regular file only: opening a FIFO would wait for a writer, and a device never ends.
    // Its headers are read with synchronous calls: a few kilobytes (openInputFile says why).
    ;({fd, size} = await openInputFile(file, 'Episode'))
  } catch (error) {
    if (error instanceof InputError) throw error
    const code = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new InputError(`Cannot read episode ${file}: ${code}`, {
      path: file,
      hint:
        code === 'EACCES' || code === 'EPERM'
          ? 'Check the permissions of the file and its folder (e.g. `chmod a+r`).'
          : 'Check that the file exists and that you can read it.',
      cause: error,
    })
  }
  try {
    if (size === 0) throw new InputError(`Episode ${file} is empty (0 bytes)`, {path: file, hint: REDOWNLOAD})
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)))
      if (buffer.length === 0) return buffer
      const bytesRead = readSync(fd, buffer, 0, buffer.length, offset)
      return buffer.subarray(0, bytesRead)
    }

    // Skip ID3v2 tags (sometimes more than one, sometimes in front of non-MP3 audio).
    let audioStart = 0
    let head = await read(0, HEAD_BYTES)
    for (let tag = id3v2Size(head); tag > 0; tag = id3v2Size(head)) {
      audioStart += tag
      head = await read(audioStart, HEAD_BYTES)
    }
    if (head.length === 0) {
      throw new InputError(`Episode ${file} is not audio: it holds only a tag, no ${FORMAT_NAME[format]} data`, {
        path: file,
        hint: REDOWNLOAD,
      })
    }

    const kind = sniff(head)
    checkKind(file, format, kind, head)

    switch (format) {
      case 'mp3':
        return await probeMp3(file, head, audioStart, size, read)
      case 'wav':
        return await probeWav(file, size, read)
      case 'm4a':
        return await probeM4a(file, size, read)
      case 'ogg':
        return await probeOgg(file, head, size, read)
    }
  } finally {
    closeSync(fd)
  }
}

/** Episode duration in seconds; throws an InputError for anything probeEpisode rejects. */
export async function audioDurationSeconds(file: string): Promise<number> {
  return (await probeEpisode(file)).durationSeconds
}

function checkKind(file: string, format: EpisodeFormat, kind: SniffedKind, head: Buffer): void {
  if (kind === format) return
  const name = path.basename(file)
  const base = name.slice(0, name.length - path.extname(name).length)
  if (kind === 'unknown') {
    // An MP3 may start with a few bytes of junk before its first frame.
    if (format === 'mp3' && findFirstFrame(head)?.frame.layer === 3) return
    throw new InputError(`Episode ${file} is not audio: no ${FORMAT_NAME[format]} data found in it`, {
      path: file,
      hint: 'Replace it with the original episode file; a failed download sometimes saves an error page instead.',
    })
  }
  const accepted = kind === 'mp3' || kind === 'wav' || kind === 'ogg' || kind === 'm4a'
  throw new InputError(
    accepted
      ? `Episode ${file} is ${LABEL[kind]} file, not ${FORMAT_NAME[format]}: rename it to ${base}.${kind}`
      : `Episode ${file} is ${LABEL[kind]} file, not ${FORMAT_NAME[format]}: convert it to MP3`,
    {
      path: file,
      hint: accepted
        ? 'The transcriber sends the file with its extension, so the extension must match the content.'
        : `e.g. \`ffmpeg -i "${name}" "${base}.converted.mp3"\`, then use the converted file.`,
    },
  )
}

async function measure(
  file: string,
  format: EpisodeFormat,
): Promise<{codec: string; duration: number | undefined; sampleRate: number | null; channels: number | null}> {
  // music-metadata is only needed where an episode is measured: load it lazily.
  const {parseFile} = await import('music-metadata')
  try {
    const {format: f} = await parseFile(file, {duration: false, skipCovers: true})
    return {
      codec: f.codec ?? FORMAT_NAME[format],
      duration: f.duration,
      sampleRate: f.sampleRate ?? null,
      channels: f.numberOfChannels ?? null,
    }
  } catch (error) {
    throw new InputError(`Episode ${file} is damaged: ${(error as Error)?.message ?? String(error)}`, {
      path: file,
      hint: `${REDOWNLOAD} If it plays, re-encode it (e.g. \`ffmpeg -i in.${format} out.mp3\`).`,
      cause: error,
    })
  }
}

function finish(
  file: string,
  format: EpisodeFormat,
  codec: string,
  duration: number | undefined,
  sampleRate: number | null,
  channels: number | null,
): EpisodeInfo {
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0) {
    throw new InputError(`Episode ${file} has no measurable duration: it holds no ${FORMAT_NAME[format]} audio frames`, {
      path: file,
      hint: 'Re-encode it as MP3 (e.g. `lame in.wav out.mp3`) or replace it with the original episode file.',
    })
  }
  if (duration < MIN_EPISODE_SECONDS) {
    throw new InputError(
      `Episode ${file} is too short to learn from: ${duration.toFixed(1)} s (at least ${MIN_EPISODE_SECONDS} s needed)`,
      {
        path: file,
        hint: 'Use the full episode, not a clip or a trailer.',
      },
    )
  }
  return {path: file, format, codec, durationSeconds: duration, sampleRate, channels}
}

const seconds = (s: number) => `${s.toFixed(1)} s`

async function probeMp3(
  file: string,
  head: Buffer,
  audioStart: number,
  size: number,
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<EpisodeInfo> {
  const first = findFirstFrame(head)
  if (!first) {
    throw new InputError(`Episode ${file} is not audio: no MP3 data found in it`, {
      path: file,
      hint: 'Replace it with the original episode file.',
    })
  }
  const firstFrame = audioStart + first.offset
  const tailStart = Math.max(firstFrame, size - TAIL_BYTES - 128)
  const tail = await read(tailStart, size - tailStart)
  const audio = tail.subarray(0, Math.max(0, tail.length - trailingTagBytes(tail)))
  const audioEnd = tailStart + audio.length
  const {frame} = first
  const vbr = readVbrHeader(head, first.offset, frame)
  // Timed from the headers already read (music-metadata would open and parse the file
  // again for the same numbers): the frame count of a Xing/Info/VBRI header, else the
  // audio's bytes at the first frame's bitrate (constant bitrate). A VBR header frame
  // is silent: its bytes are not audio.
  const audioBytes = audioEnd - firstFrame - (vbr ? frame.length : 0)
  let duration = vbr?.frames ? (vbr.frames * frame.samples) / frame.sampleRate : (audioBytes * 8) / frame.bitrate
  if (!vbr?.frames && !constantBitrate(head, first.offset, frame)) {
    // Variable bitrate without a header that counts its frames (rare: `lame -t`): the size
    // says nothing, so its frames are counted, reading the file through a bounded window.
    duration = 0
    for await (const chunk of mp3ChunkRanges(file, {maxBytes: FRAME_SCAN_BYTES})) duration += chunk.durationSeconds
  }

  if (vbr?.bytes && vbr.bytes > size - first.offset + 2 * frame.length) {
    // The header's byte count may or may not include tags: compare with the whole file to be safe.
    const promised = vbr.frames ? duration : (vbr.bytes * 8) / frame.bitrate
    const held = (promised * (audioEnd - firstFrame)) / vbr.bytes
    throw new InputError(
      `Episode ${file} is truncated: its ${vbr.kind} header promises ${seconds(promised)} of audio but the file holds only about ${seconds(held)}`,
      {
        path: file,
        hint: REDOWNLOAD,
      },
    )
  }
  if (mpegTailState(audio, frame) === 'cut') {
    throw new InputError(`Episode ${file} is truncated: it ends in the middle of an MP3 frame`, {path: file, hint: REDOWNLOAD})
  }
  return finish(file, 'mp3', `MPEG ${frame.version} Layer ${frame.layer}`, duration, frame.sampleRate, frame.channels)
}

/** How much of a VBR file without a frame count is held at once while its frames are counted. */
const FRAME_SCAN_BYTES = 1024 * 1024

/** Whether the frames `head` holds from `offset` on all have the first one's bitrate. */
function constantBitrate(head: Buffer, offset: number, first: MpegFrame): boolean {
  for (let at = offset, frame = parseMpegHeader(head, at); frame; at += frame.length, frame = parseMpegHeader(head, at)) {
    if (frame.bitrate !== first.bitrate) return false
  }
  return true
}

async function probeWav(file: string, size: number, read: (offset: number, length: number) => Promise<Buffer>): Promise<EpisodeInfo> {
  const wav = await readWavInfo(read, size)
  if (!wav || wav.byteRate === 0) {
    throw new InputError(`Episode ${file} is damaged: its WAV header has no format or data chunk`, {path: file, hint: REDOWNLOAD})
  }
  if (wav.dataSize !== null && wav.dataOffset + wav.dataSize > size) {
    throw new InputError(
      `Episode ${file} is truncated: its WAV header promises ${seconds(wav.dataSize / wav.byteRate)} of audio but the file holds only about ${seconds((size - wav.dataOffset) / wav.byteRate)}`,
      {path: file, hint: REDOWNLOAD},
    )
  }
  const measured = await measure(file, 'wav')
  return finish(file, 'wav', measured.codec, measured.duration, measured.sampleRate ?? wav.sampleRate, measured.channels ?? wav.channels)
}

async function probeM4a(file: string, size: number, read: (offset: number, length: number) => Promise<Buffer>): Promise<EpisodeInfo> {
  const overrun = await mp4Overrun(read, size)
  if (overrun) {
    throw new InputError(`Episode ${file} is truncated: its '${overrun.type}' box needs ${overrun.end} bytes but the file has ${size}`, {
      path: file,
      hint: REDOWNLOAD,
    })
  }
  const measured = await measure(file, 'm4a')
  return finish(file, 'm4a', measured.codec, measured.duration, measured.sampleRate, measured.channels)
}

async function probeOgg(
  file: string,
  head: Buffer,
  size: number,
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<EpisodeInfo> {
  const ogg = readOggHead(head)
  if (!ogg) throw new InputError(`Episode ${file} is damaged: its first Ogg page is incomplete`, {path: file, hint: REDOWNLOAD})
  if (ogg.codec !== 'Vorbis' && ogg.codec !== 'Opus') {
    throw new InputError(`Episode ${file} is an Ogg file with ${ogg.codec} audio: only Vorbis and Opus are accepted`, {
      path: file,
      hint: `Convert it to MP3, e.g. \`ffmpeg -i "${path.basename(file)}" episode.mp3\`.`,
    })
  }
  const tailStart = Math.max(0, size - OGG_MAX_PAGE)
  const end = readOggTail(await read(tailStart, size - tailStart))
  const toSeconds = (granule: bigint) => Math.max(0, Number(granule) - ogg.preSkip) / ogg.granuleRate
  if (!end || end.cut || !end.eos) {
    const held = end?.granule != null ? ` (it holds about ${seconds(toSeconds(end.granule))})` : ''
    throw new InputError(
      `Episode ${file} is truncated: its last Ogg page ${end?.cut ? 'is cut off' : 'is not the end of the stream'}${held}`,
      {
        path: file,
        hint: REDOWNLOAD,
      },
    )
  }
  const duration = end.granule === null ? undefined : toSeconds(end.granule)
  return finish(file, 'ogg', ogg.codec, duration, ogg.sampleRate, ogg.channels)
}
