import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  joinMp3,
  mp3ChunkRanges,
  mp3DurationSeconds,
  splitMp3,
  WHISPER_MAX_BYTES,
  type Mp3Chunk,
  type Mp3ChunkRanges,
} from '../../src/media/mp3-frames.js'
import {mediaFixture, probed} from '../helpers/media-fixtures.js'

const MiB = 1024 * 1024
let dir = ''
const file = (name: string) => path.join(dir, name)

/**
 * lame variants of one espeak-ng utterance (test/fixtures/media; media.json says how each was
 * made and what ffprobe measured in it): MPEG-1 CBR with a LAME Info frame, MPEG-1 VBR with a
 * Xing frame, CBR with ID3v2 + ID3v1 tags, joint stereo VBR, MPEG-2 and MPEG-2.5.
 */
const VARIANTS = ['cbr44', 'vbr44', 'tagged', 'stereo', 'mono22', 'mono8'] as const
const variant = (name: string) => mediaFixture(`${name}.mp3`)

// ------------------------------------------------------------------------------------------
// An independent, minimal Layer III frame walker for well-formed files (lame output): the
// reference the splitter's output is compared with. It fails unless the frames fill the
// audio exactly, so it also tells whether bytes hold whole frames and nothing else.

const L3_KBPS = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
const RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]} as Record<number, number[]>

function l3Frame(b: Buffer, i: number): {length: number; seconds: number} {
  expect(b[i]).toBe(0xff)
  const versionBits = (b[i + 1]! >> 3) & 3
  const kbps = L3_KBPS[versionBits === 3 ? 1 : 2][b[i + 2]! >> 4]!
  const rate = RATES[versionBits]![(b[i + 2]! >> 2) & 3]!
  const padding = (b[i + 2]! >> 1) & 1
  const coefficient = versionBits === 3 ? 144 : 72
  return {length: Math.floor((coefficient * kbps * 1000) / rate) + padding, seconds: (versionBits === 3 ? 1152 : 576) / rate}
}

interface Reference {
  /** ID3v2 tag bytes, or empty. */
  id3v2: Buffer
  /** ID3v1 tag bytes, or empty. */
  id3v1: Buffer
  /** The audio frames, Xing/Info frame excluded. */
  frames: Buffer[]
  audio: Buffer
  seconds: number
}

function reference(bytes: Buffer): Reference {
  let start = 0
  if (bytes.toString('latin1', 0, 3) === 'ID3') start = 10 + ((bytes[6]! << 21) | (bytes[7]! << 14) | (bytes[8]! << 7) | bytes[9]!)
  const end = bytes.toString('latin1', bytes.length - 128, bytes.length - 125) === 'TAG' ? bytes.length - 128 : bytes.length
  const frames: Buffer[] = []
  let seconds = 0
  let at = start
  while (at < end) {
    const {length, seconds: s} = l3Frame(bytes, at)
    const frame = bytes.subarray(at, at + length)
    const vbrTag = frame.subarray(0, 48).toString('latin1')
    if (!(at === start && /Xing|Info/.test(vbrTag))) {
      frames.push(frame)
      seconds += s
    }
    at += length
  }
  expect(at, 'the last frame ends where the audio ends').toBe(end)
  return {id3v2: bytes.subarray(0, start), id3v1: bytes.subarray(end), frames, audio: Buffer.concat(frames), seconds}
}

async function collect(f: string, maxBytes?: number): Promise<Mp3Chunk[]> {
  const chunks: Mp3Chunk[] = []
  for await (const chunk of splitMp3(f, maxBytes === undefined ? {} : {maxBytes})) chunks.push(chunk)
  return chunks
}

/** Chunks are numbered in order, each at most maxBytes, each starting where the previous ones end. */
function expectConsistent(chunks: Mp3Chunk[], maxBytes: number): void {
  let start = 0
  chunks.forEach((chunk, k) => {
    expect(chunk.index).toBe(k)
    expect(chunk.bytes.length).toBeGreaterThan(0)
    expect(chunk.bytes.length).toBeLessThanOrEqual(maxBytes)
    expect(chunk.startSeconds).toBeCloseTo(start, 9)
    expect(chunk.durationSeconds).toBeGreaterThan(0)
    start += chunk.durationSeconds
  })
}

const total = (chunks: Mp3Chunk[]) => chunks.reduce((sum, c) => sum + c.durationSeconds, 0)

/** Writes `head`, then `body` `times` times, then `tail`, without holding the result in memory. */
async function writeRepeated(f: string, head: Buffer, body: Buffer, times: number, tail: Buffer): Promise<number> {
  const out = createWriteStream(f)
  const write = (b: Buffer) => (out.write(b) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve())))
  await write(head)
  for (let i = 0; i < times; i++) await write(body)
  await write(tail)
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return head.length + body.length * times + tail.length
}

/** The sha256 of chunks' bytes, streamed. */
async function splitDigest(f: string, maxBytes?: number): Promise<{digest: string; sizes: number[]; seconds: number[]; frames: number}> {
  const hash = createHash('sha256')
  const sizes: number[] = []
  const seconds: number[] = []
  let frames = 0
  let start = 0
  for await (const chunk of splitMp3(f, maxBytes === undefined ? {} : {maxBytes})) {
    expect(chunk.startSeconds).toBeCloseTo(start, 6)
    start += chunk.durationSeconds
    hash.update(chunk.bytes)
    sizes.push(chunk.bytes.length)
    seconds.push(chunk.durationSeconds)
    frames += chunk.frames
  }
  return {digest: hash.digest('hex'), sizes, seconds, frames}
}

function repeatedDigest(body: Buffer, times: number): string {
  const hash = createHash('sha256')
  for (let i = 0; i < times; i++) hash.update(body)
  return hash.digest('hex')
}

/** Deterministic pseudo-random bytes. */
function noise(length: number, seed: number, avoid?: number): Buffer {
  const b = Buffer.alloc(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    let byte = x >>> 24
    if (byte === avoid) byte = 0x42
    b[i] = byte
  }
  return b
}

// ------------------------------------------------------------------------------------------

describe('mp3-frames on lame files', () => {
  const media = new Map<string, Buffer>()
  const refs = new Map<string, Reference>()

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'studio-mp3-frames-'))
    for (const name of VARIANTS) {
      const bytes = await readFile(variant(name))
      media.set(name, bytes)
      refs.set(name, reference(bytes))
    }
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('exports the Whisper upload limit', () => {
    expect(WHISPER_MAX_BYTES).toBe(25 * MiB)
  })

  it('fixtures are what they claim: tags, Xing/Info frames, MPEG versions', () => {
    expect(refs.get('tagged')!.id3v2.length).toBeGreaterThan(10)
    expect(refs.get('tagged')!.id3v1.toString('latin1', 0, 8)).toBe('TAGTitle')
    expect(media.get('vbr44')!.indexOf('Xing')).toBeGreaterThan(0)
    expect(media.get('cbr44')!.indexOf('Info')).toBeGreaterThan(0)
    expect(media.get('mono22')![1]! & 0x18).toBe(0x10) // MPEG-2
    expect(media.get('mono8')![1]! & 0x18).toBe(0x00) // MPEG-2.5
    expect(media.get('stereo')![3]! >> 6).not.toBe(3) // not mono
  })

  describe.each(VARIANTS)('splitMp3 on %s', (name) => {
    it.each([4096, 20_000, undefined])('maxBytes %s: whole frames, byte-exact, timed like ffprobe', async (maxBytes) => {
      const ref = refs.get(name)!
      const chunks = await collect(variant(name), maxBytes)
      expectConsistent(chunks, maxBytes ?? 24 * MiB)
      if (maxBytes === undefined) expect(chunks).toHaveLength(1)
      else expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(ref.audio.length / maxBytes))
      expect(Buffer.concat(chunks.map((c) => c.bytes)).equals(ref.audio)).toBe(true)
      expect(chunks.reduce((sum, c) => sum + c.frames, 0)).toBe(ref.frames.length)
      expect(ref.frames.length).toBe(probed(`${name}.mp3`).packets)
      // Every chunk starts on a frame of the file, and none carries the Xing/Info frame.
      let offset = 0
      for (const chunk of chunks) {
        expect(ref.audio.subarray(offset, offset + 4).equals(chunk.bytes.subarray(0, 4))).toBe(true)
        expect(chunk.bytes.indexOf('Xing')).toBe(-1)
        expect(chunk.bytes.indexOf('Info')).toBe(-1)
        expect(chunk.bytes.indexOf('TAG')).toBe(-1)
        expect(chunk.bytes.indexOf('ID3')).toBe(-1)
        offset += chunk.bytes.length
      }
      expect(total(chunks)).toBeCloseTo(ref.seconds, 9)
      const seconds = probed(`${name}.mp3`).duration_seconds
      expect(Math.abs(total(chunks) - seconds) / seconds).toBeLessThan(0.005)
      expect(mp3DurationSeconds(media.get(name)!)).toBeCloseTo(total(chunks), 9)
    })
  })

  it('each chunk is a valid MP3 on its own: whole frames from its first byte to its last, all that ffprobe counted', async () => {
    const chunks = await collect(variant('vbr44'), 30_000)
    expect(chunks.length).toBeGreaterThan(2)
    for (const chunk of chunks) {
      const own = reference(chunk.bytes)
      expect(own.frames).toHaveLength(chunk.frames)
      expect(own.audio.equals(chunk.bytes)).toBe(true)
    }
    expect(chunks.reduce((sum, c) => sum + c.frames, 0)).toBe(probed('vbr44.mp3').packets)
  })

  it('a 30 MB episode splits into 2 chunks under 24 MiB, byte-exact and timed like ffprobe', async () => {
    const ref = refs.get('tagged')!
    const times = Math.ceil((30 * 1000 * 1000) / ref.audio.length)
    const big = file('big30.mp3')
    try {
      const size = await writeRepeated(big, ref.id3v2, ref.audio, times, ref.id3v1)
      expect(size).toBeGreaterThan(WHISPER_MAX_BYTES)
      const started = performance.now()
      const split = await splitDigest(big)
      const ms = performance.now() - started
      expect(split.sizes).toHaveLength(2)
      for (const s of split.sizes) expect(s).toBeLessThanOrEqual(24 * MiB)
      expect(split.sizes[0]).toBeGreaterThan(24 * MiB - 2000) // filled up to the last whole frame
      expect(split.digest).toBe(repeatedDigest(ref.audio, times))
      expect(split.frames).toBe(ref.frames.length * times)
      const seconds = split.seconds.reduce((a, b) => a + b, 0)
      expect(seconds).toBeCloseTo(ref.seconds * times, 6)
      // ffprobe times a CBR file without an Info frame from its size: the copies last `times` times what it measured in one.
      const probedSeconds = probed('tagged.mp3').duration_seconds * times
      expect(Math.abs(seconds - probedSeconds) / probedSeconds).toBeLessThan(0.005)
      console.info(
        `split ${(size / MiB).toFixed(1)} MiB (${(seconds / 60).toFixed(1)} min) into ${split.sizes.length} chunks in ${ms.toFixed(0)} ms`,
      )
    } finally {
      await rm(big, {force: true})
    }
  })

  it('splitting a 60 MB file holds about one chunk in memory', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const ref = refs.get('cbr44')!
    const times = Math.ceil((60 * 1000 * 1000) / ref.audio.length)
    const big = file('big60.mp3')
    const maxBytes = 8 * MiB
    try {
      await writeRepeated(big, Buffer.alloc(0), ref.audio, times, Buffer.alloc(0))
      const used = () => {
        const m = process.memoryUsage()
        return m.arrayBuffers + m.heapUsed
      }
      gc()
      const base = used()
      let peak = 0
      let peakNoGc = 0
      let bytes = 0
      const started = performance.now()
      for await (const chunk of splitMp3(big, {maxBytes})) {
        peakNoGc = Math.max(peakNoGc, used() - base)
        gc() // what is still reachable: this chunk, and whatever the generator holds
        peak = Math.max(peak, used() - base)
        bytes += chunk.bytes.length
      }
      const ms = performance.now() - started
      expect(bytes).toBe(ref.audio.length * times)
      expect(peak).toBeLessThan(3 * maxBytes)
      console.info(
        `split ${(bytes / MiB).toFixed(1)} MiB in ${ms.toFixed(0)} ms (with a gc per chunk); growth ${(peak / MiB).toFixed(1)} MiB live, ${(peakNoGc / MiB).toFixed(1)} MiB before gc`,
      )
    } finally {
      await rm(big, {force: true})
    }
  })

  it('skips junk between frames, before the first frame and after the last one', async () => {
    const ref = refs.get('mono22')!
    const header = ref.frames[5]!.subarray(0, 4)
    const junks = [
      Buffer.from('junk between frames, no sync bytes in here at all', 'latin1'),
      Buffer.concat([header, Buffer.alloc(30)]), // a frame cut short: valid header, too few bytes
      noise(333, 1, 0xff),
      noise(1000, 7), // may hold 0xFF bytes and stray headers
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.concat([Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x05', 'latin1'), Buffer.from('xxxxx')]), // a tag mid-stream
    ]
    const pieces: Buffer[] = [noise(200, 3, 0xff)]
    ref.frames.forEach((frame, i) => {
      pieces.push(frame)
      if (i % 37 === 36) pieces.push(junks[((i / 37) % junks.length) | 0]!)
    })
    pieces.push(Buffer.from('trailing garbage'))
    await writeFile(file('junk.mp3'), Buffer.concat(pieces))
    expect(pieces.length - ref.frames.length).toBeGreaterThan(10)
    for (const maxBytes of [3000, undefined]) {
      const chunks = await collect(file('junk.mp3'), maxBytes)
      expectConsistent(chunks, maxBytes ?? 24 * MiB)
      expect(Buffer.concat(chunks.map((c) => c.bytes)).equals(ref.audio)).toBe(true)
      expect(total(chunks)).toBeCloseTo(ref.seconds, 9)
    }
    expect(mp3DurationSeconds(Buffer.concat(pieces))).toBeCloseTo(ref.seconds, 9)
  })

  it('mp3ChunkRanges: the same chunks as file ranges that skip the junk, with the SHA-256 of their bytes', async () => {
    // junk.mp3 from the test above: frames with junk every 37 frames.
    const bytes = await readFile(file('junk.mp3'))
    const split = await collect(file('junk.mp3'), 3000)
    const ranged: Mp3ChunkRanges[] = []
    for await (const chunk of mp3ChunkRanges(file('junk.mp3'), {maxBytes: 3000})) ranged.push(chunk)
    expect(ranged.map((c) => [c.index, c.byteLength, c.frames, c.startSeconds, c.durationSeconds])).toEqual(
      split.map((c) => [c.index, c.bytes.length, c.frames, c.startSeconds, c.durationSeconds]),
    )
    let previousEnd = 0
    for (const [k, chunk] of ranged.entries()) {
      const fromFile = Buffer.concat(chunk.ranges.map((r) => bytes.subarray(r.start, r.end)))
      expect(fromFile.equals(split[k]!.bytes)).toBe(true)
      expect(chunk.sha256).toBe(createHash('sha256').update(fromFile).digest('hex'))
      for (const range of chunk.ranges) {
        expect(range.start).toBeGreaterThanOrEqual(previousEnd) // in file order, no overlap
        expect(range.end).toBeGreaterThan(range.start)
        previousEnd = range.end
      }
    }
    // Adjacent frames are one range; junk splits them.
    const rangeCount = ranged.reduce((n, c) => n + c.ranges.length, 0)
    expect(rangeCount).toBeGreaterThan(ranged.length)
    expect(rangeCount).toBeLessThan(ranged.reduce((n, c) => n + c.frames, 0) / 10)
  })

  it('mp3ChunkRanges holds none of the audio: a 60 MB file in 8 MiB chunks grows live memory by under 1 MiB', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const ref = refs.get('cbr44')!
    const times = Math.ceil((60 * 1000 * 1000) / ref.audio.length)
    const big = file('big60-ranges.mp3')
    try {
      await writeRepeated(big, Buffer.alloc(0), ref.audio, times, Buffer.alloc(0))
      gc()
      const base = process.memoryUsage().arrayBuffers
      let peak = 0
      let bytes = 0
      for await (const chunk of mp3ChunkRanges(big, {maxBytes: 8 * MiB})) {
        gc()
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)
        bytes += chunk.byteLength
        expect(chunk.ranges).toHaveLength(1) // a clean file: each chunk is one run of frames
      }
      expect(bytes).toBe(ref.audio.length * times)
      expect(peak).toBeLessThan(MiB)
    } finally {
      await rm(big, {force: true})
    }
  })

  it('files concatenated as they are: tags and Xing/Info frames at the seams are dropped', async () => {
    const names = ['tagged', 'vbr44', 'cbr44', 'tagged']
    const bytes = Buffer.concat(names.map((n) => media.get(n)!))
    await writeFile(file('cat.mp3'), bytes)
    const chunks = await collect(file('cat.mp3'), 50_000)
    expectConsistent(chunks, 50_000)
    expect(Buffer.concat(chunks.map((c) => c.bytes)).equals(Buffer.concat(names.map((n) => refs.get(n)!.audio)))).toBe(true)
    const seconds = names.reduce((s, n) => s + refs.get(n)!.seconds, 0)
    expect(total(chunks)).toBeCloseTo(seconds, 9)
    expect(mp3DurationSeconds(bytes)).toBeCloseTo(seconds, 9)
  })

  it('drops a last frame cut short by the end of the file', async () => {
    const ref = refs.get('cbr44')!
    await writeFile(file('cut.mp3'), Buffer.concat([ref.audio, ref.frames[3]!.subarray(0, 100)]))
    const chunks = await collect(file('cut.mp3'))
    expect(chunks[0]!.bytes.equals(ref.audio)).toBe(true)
  })

  it('throws a clear error for files without MPEG audio frames', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['random.mp3', noise(300_000, 42), /not an MP3: no MPEG audio frames/],
      ['speech.mp3', await readFile(mediaFixture('speech.wav')), /is a WAV file, not an MP3/],
      ['empty.mp3', Buffer.alloc(0), /not an MP3: no MPEG audio frames/],
      ['tag-only.mp3', refs.get('tagged')!.id3v2, /not an MP3: no MPEG audio frames/],
      // Free format: bitrate index 0, so frames carry no length.
      [
        'free.mp3',
        Buffer.concat(Array.from({length: 50}, () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x00, 0xc4]), Buffer.alloc(400)]))),
        /free-format/,
      ],
    ]
    for (const [name, bytes, message] of cases) {
      await writeFile(file(name), bytes)
      await expect(collect(file(name))).rejects.toThrow(message)
      expect(() => mp3DurationSeconds(bytes)).toThrow(message)
    }
    await expect(collect(file('no-such.mp3'))).rejects.toThrow(/ENOENT/)
    await expect(collect(variant('cbr44'), 100)).rejects.toThrow(/maxBytes/)
  })

  describe('joinMp3', () => {
    it('joins two lame files at frame level: every frame ffprobe counted in each, for their summed duration', async () => {
      const a = media.get('cbr44')!
      const b = await readFile(mediaFixture('b44.mp3'))
      const joined = joinMp3([a, new Uint8Array(b)])
      const sum = mp3DurationSeconds(a) + mp3DurationSeconds(b)
      const frame = 1152 / 44100
      expect(Math.abs(joined.durationSeconds - sum)).toBeLessThan(frame)
      expect(joined.bytes.equals(Buffer.concat([reference(a).audio, reference(b).audio]))).toBe(true)
      expect(mp3DurationSeconds(joined.bytes)).toBeCloseTo(joined.durationSeconds, 9)
      expect(reference(joined.bytes).frames).toHaveLength(probed('cbr44.mp3').packets + probed('b44.mp3').packets)
      const probedSum = probed('cbr44.mp3').duration_seconds + probed('b44.mp3').duration_seconds
      expect(Math.abs(joined.durationSeconds - probedSum)).toBeLessThan(frame)
    })

    it('removes ID3 tags and Xing frames of every part', async () => {
      const parts = [media.get('tagged')!, await readFile(mediaFixture('b44vbr.mp3')), media.get('vbr44')!]
      const joined = joinMp3(parts)
      expect(joined.bytes.equals(Buffer.concat(parts.map((p) => reference(p).audio)))).toBe(true)
      for (const needle of ['ID3', 'TAG', 'Xing', 'Info']) expect(joined.bytes.indexOf(needle)).toBe(-1)
      expect(joined.durationSeconds).toBeCloseTo(
        parts.reduce((s, p) => s + reference(p).seconds, 0),
        9,
      )
      const packets = ['tagged.mp3', 'b44vbr.mp3', 'vbr44.mp3'].reduce((sum, name) => sum + probed(name).packets, 0)
      expect(reference(joined.bytes).frames).toHaveLength(packets)
    })

    it('refuses parts with another sample rate or channel mode, naming the part', () => {
      expect(() => joinMp3([media.get('cbr44')!, media.get('tagged')!, media.get('mono22')!])).toThrow(
        /part 2 is MPEG-2 Layer III, 22050 Hz mono but part 0 is MPEG-1 Layer III, 44100 Hz mono/,
      )
      expect(() => joinMp3([media.get('vbr44')!, media.get('stereo')!])).toThrow(/part 1 .*stereo/)
      expect(() => joinMp3([media.get('cbr44')!, noise(5000, 9)])).toThrow(/part 1 is not an MP3/)
      expect(() => joinMp3([])).toThrow(/no parts/)
    })
  })
})
