import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {parseBuffer, parseFile} from 'music-metadata'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  buildSilentMp3,
  formatTimestamp,
  makeTempDir,
  removeDir,
  srtText,
  vttText,
  writePdf,
  writeSilentMp3,
  writeSrt,
  writeTranscriptJson,
  writeVtt,
  type Cue,
} from '../helpers/media.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-media-helpers-')
})
afterAll(async () => {
  await removeDir(dir)
})

/**
 * Walk the MPEG frames independently of the generator: decode each 4-byte header, compute
 * its length from the bitrate/sample-rate tables and step on. Proves the stream is a
 * gap-free chain of valid Layer III frames that ends exactly at EOF.
 */
function walkFrames(buf: Buffer): {frames: number; version: 1 | 2; firstFrameAt: number} {
  let offset = 0
  if (buf.subarray(0, 3).toString('latin1') === 'ID3') {
    const b = (i: number): number => buf[6 + i] ?? 0
    offset = 10 + ((b(0) << 21) | (b(1) << 14) | (b(2) << 7) | b(3)) // syncsafe size
  }
  const firstFrameAt = offset
  let frames = 0
  let version: 1 | 2 = 1
  while (offset < buf.length) {
    const h1 = buf[offset + 1] ?? 0
    const h2 = buf[offset + 2] ?? 0
    expect(buf[offset]).toBe(0xff)
    expect(h1 & 0xe6).toBe(0xe2) // sync bits + layer III
    version = (h1 & 0x18) === 0x18 ? 1 : 2
    const kbps = (
      version === 1
        ? [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
        : [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
    )[h2 >> 4]
    const sr = version === 1 ? 44100 : 22050
    expect(kbps).toBeGreaterThan(0)
    const len = Math.floor(((version === 1 ? 144 : 72) * (kbps ?? 0) * 1000) / sr) + ((h2 >> 1) & 1)
    offset += len
    frames++
  }
  expect(offset).toBe(buf.length)
  return {frames, version, firstFrameAt}
}

describe('buildSilentMp3 / writeSilentMp3', () => {
  const cases = [
    {sampleRate: 44100, vbrXing: false},
    {sampleRate: 44100, vbrXing: true},
    {sampleRate: 22050, vbrXing: false},
    {sampleRate: 22050, vbrXing: true},
  ] as const

  for (const {sampleRate, vbrXing} of cases) {
    for (const seconds of [1.5, 30, 600]) {
      it(`music-metadata reads ${seconds}s within 2% (${sampleRate} Hz, xing=${vbrXing})`, async () => {
        const path = join(dir, `s-${sampleRate}-${vbrXing}-${seconds}.mp3`)
        await writeSilentMp3(path, seconds, {sampleRate, vbrXing})
        const meta = await parseFile(path)
        expect(meta.format.container).toBe('MPEG')
        expect(meta.format.codec).toBe(sampleRate === 44100 ? 'MPEG 1 Layer 3' : 'MPEG 2 Layer 3')
        expect(meta.format.sampleRate).toBe(sampleRate)
        expect(meta.format.numberOfChannels).toBe(1)
        expect(meta.format.duration).toBeDefined()
        expect(Math.abs((meta.format.duration ?? 0) - seconds) / seconds).toBeLessThan(0.02)
        expect(meta.quality.warnings).toEqual([])
      })
    }
  }

  it('is a gap-free chain of Layer III frames of the right MPEG version and count', () => {
    for (const sampleRate of [44100, 22050] as const) {
      for (const vbrXing of [false, true]) {
        const buf = buildSilentMp3(10, {sampleRate, vbrXing})
        const spf = sampleRate === 44100 ? 1152 : 576
        const {frames, version} = walkFrames(buf)
        expect(version).toBe(sampleRate === 44100 ? 1 : 2)
        expect(frames).toBe(Math.round((10 * sampleRate) / spf) + (vbrXing ? 1 : 0))
      }
    }
  })

  it('pads frames so the average bitrate is exact (size-based CBR duration is right)', () => {
    const buf = buildSilentMp3(60, {sampleRate: 44100, bitrateKbps: 128})
    const frames = Math.round((60 * 44100) / 1152)
    const exactBytes = (frames * 1152 * 128000) / 8 / 44100
    expect(Math.abs(buf.length - exactBytes)).toBeLessThanOrEqual(1)
  })

  it('writes a Xing header after the side info, counting audio frames only', () => {
    const buf = buildSilentMp3(5, {sampleRate: 44100, vbrXing: true})
    const at = 4 + 17 // header + MPEG-1 mono side info
    expect(buf.subarray(at, at + 4).toString('ascii')).toBe('Xing')
    expect(buf.readUInt32BE(at + 8)).toBe(walkFrames(buf).frames - 1)
    expect(buf.readUInt32BE(at + 12)).toBe(buf.length)

    const buf2 = buildSilentMp3(5, {sampleRate: 22050, vbrXing: true})
    expect(buf2.subarray(4 + 9, 4 + 9 + 4).toString('ascii')).toBe('Xing') // MPEG-2 mono side info is 9 bytes
  })

  it('prepends an ID3v2 tag that music-metadata reads, audio still timed right', async () => {
    const buf = buildSilentMp3(12, {id3v2: {title: 'Episode 1', artist: 'Test Host'}, vbrXing: true})
    expect(buf.subarray(0, 3).toString('latin1')).toBe('ID3')
    expect(walkFrames(buf).firstFrameAt).toBeGreaterThan(10)
    const meta = await parseBuffer(buf, {mimeType: 'audio/mpeg'})
    expect(meta.common.title).toBe('Episode 1')
    expect(meta.common.artist).toBe('Test Host')
    expect(meta.format.duration).toBeCloseTo(12, 0)
    expect(meta.quality.warnings).toEqual([])

    const plain = await parseBuffer(buildSilentMp3(3, {id3v2: true}), {mimeType: 'audio/mpeg'})
    expect(plain.common.title).toBe('Silence')
  })

  it('honours bitrateKbps', async () => {
    const buf = buildSilentMp3(20, {sampleRate: 44100, bitrateKbps: 64})
    const meta = await parseBuffer(buf, {mimeType: 'audio/mpeg'})
    expect(meta.format.bitrate).toBe(64000)
    expect(buf.length).toBeGreaterThan(20 * 8000 * 0.98)
    expect(buf.length).toBeLessThan(20 * 8000 * 1.02)
  })

  it('rejects bad arguments', () => {
    expect(() => buildSilentMp3(0)).toThrow(RangeError)
    expect(() => buildSilentMp3(Number.NaN)).toThrow(RangeError)
    expect(() => buildSilentMp3(1, {bitrateKbps: 100})).toThrow(/not a Layer III bitrate/)
    expect(() => buildSilentMp3(1, {sampleRate: 44100, bitrateKbps: 8})).toThrow(RangeError) // MPEG-2 only
    expect(() => buildSilentMp3(1, {sampleRate: 22050, bitrateKbps: 8, vbrXing: true})).toThrow(/Xing/)
  })

  it('is fast: an hour of audio in well under a second', () => {
    const t0 = performance.now()
    const buf = buildSilentMp3(3600)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(buf.length).toBeGreaterThan(3600 * 4000 * 0.98) // 32 kbps default = 4000 bytes/s
  })
})

describe('writePdf', () => {
  async function extract(path: string, password?: string): Promise<{text: string; total: number; pages: {num: number; text: string}[]}> {
    const {PDFParse} = await import('pdf-parse')
    const parser = new PDFParse({data: await readFile(path), ...(password === undefined ? {} : {password})})
    try {
      const r = await parser.getText()
      return {text: r.text, total: r.total, pages: r.pages}
    } finally {
      await parser.destroy()
    }
  }

  it('writes pages whose words pdf-parse extracts back, page by page', async () => {
    const path = join(dir, 'paper.pdf')
    await writePdf(path, {
      title: 'Sparse Attention for Long Documents',
      pages: ['Visual-inertial odometry meets the extended Kalman filter.', 'Results: error fell by 62 percent.'],
    })
    const r = await extract(path)
    expect(r.total).toBe(2)
    expect(r.pages).toHaveLength(2)
    expect(r.pages[0]?.text).toContain('Sparse Attention for Long Documents')
    expect(r.pages[0]?.text).toContain('Visual-inertial odometry meets the extended Kalman filter.')
    expect(r.pages[1]?.text).toContain('error fell by 62 percent')
    expect(r.text).toContain('extended Kalman filter')
  })

  it('accepts a plain array of pages and is deterministic', async () => {
    const a = join(dir, 'a.pdf')
    const b = join(dir, 'b.pdf')
    await writePdf(a, ['one', 'two', 'three'])
    await writePdf(b, ['one', 'two', 'three'])
    expect((await readFile(a)).equals(await readFile(b))).toBe(true)
    const r = await extract(a)
    expect(r.total).toBe(3)
    expect(r.pages.map((p) => p.text.trim())).toEqual(['one', 'two', 'three'])
    expect((await stat(a)).size).toBeLessThan(20_000)
  })

  it('rejects an empty page list', async () => {
    await expect(writePdf(join(dir, 'empty.pdf'), [])).rejects.toThrow(RangeError)
  })

  it('encrypts with AES-256: the text opens with the user password and not without it', async () => {
    const path = join(dir, 'locked.pdf')
    await writePdf(path, {pages: ['Secret research text.'], password: {user: 'user', owner: 'owner'}})
    const bytes = await readFile(path)
    expect(bytes.toString('latin1')).toMatch(/\/Encrypt \d+ 0 R/)
    expect(bytes.toString('latin1')).toMatch(/\/Filter \/Standard[\s\S]*\/V 5/)
    expect((await extract(path, 'user')).text).toContain('Secret research text.')
    await expect(extract(path)).rejects.toThrow(/password/i)
    await expect(extract(path, 'wrong')).rejects.toThrow(/password/i)
  })
})

describe('transcript sidecar writers', () => {
  const cues: Cue[] = [
    {start: 0, end: 4.1, speaker: 'Host', text: 'Welcome to the show.'},
    {start: 4.45, end: 3661.0005, speaker: 'Guest', text: 'Thanks for having me.'},
    {start: 3661.5, end: 3662, text: 'No speaker here.'},
  ]

  it('formats timestamps from whole milliseconds', () => {
    expect(formatTimestamp(0)).toBe('00:00:00.000')
    expect(formatTimestamp(59.9996)).toBe('00:01:00.000')
    expect(formatTimestamp(3661.25, ',')).toBe('01:01:01,250')
    expect(formatTimestamp(-1)).toBe('00:00:00.000')
  })

  it('writes WebVTT with cue ids, timings and voice tags', async () => {
    const path = join(dir, 'x.vtt')
    await writeVtt(path, cues)
    const text = await readFile(path, 'utf8')
    expect(text).toBe(vttText(cues))
    expect(text.startsWith('WEBVTT\n\n1\n00:00:00.000 --> 00:00:04.100\n<v Host>Welcome to the show.\n')).toBe(true)
    expect(text).toContain('2\n00:00:04.450 --> 01:01:01.001\n<v Guest>Thanks for having me.')
    expect(text).toContain('3\n01:01:01.500 --> 01:01:02.000\nNo speaker here.\n')
  })

  it('writes SRT with comma milliseconds and "Speaker: " prefixes', async () => {
    const path = join(dir, 'x.srt')
    await writeSrt(path, cues)
    const text = await readFile(path, 'utf8')
    expect(text).toBe(srtText(cues))
    expect(text.startsWith('1\n00:00:00,000 --> 00:00:04,100\nHost: Welcome to the show.\n\n2\n')).toBe(true)
    expect(text).toContain('\n3\n01:01:01,500 --> 01:01:02,000\nNo speaker here.\n')
  })

  it('writes transcript JSON from a full transcript or from cues', async () => {
    const full = join(dir, 'full.transcript.json')
    const transcript = {version: 1 as const, duration_seconds: 95.2, segments: [{start: 0, end: 4.1, speaker: null, text: 'Hi'}]}
    await writeTranscriptJson(full, transcript)
    expect(JSON.parse(await readFile(full, 'utf8'))).toEqual(transcript)

    const fromCues = join(dir, 'cues.transcript.json')
    await writeTranscriptJson(fromCues, cues)
    const parsed = JSON.parse(await readFile(fromCues, 'utf8')) as {
      version: number
      duration_seconds: number
      segments: {speaker: string | null}[]
    }
    expect(parsed.version).toBe(1)
    expect(parsed.duration_seconds).toBe(3662)
    expect(parsed.segments.map((s) => s.speaker)).toEqual(['Host', 'Guest', null])
  })
})

describe('makeTempDir / removeDir', () => {
  it('creates unique dirs under os.tmpdir() and removes them (idempotently)', async () => {
    const {tmpdir} = await import('node:os')
    const a = await makeTempDir('studio-x-')
    const b = await makeTempDir('studio-x-')
    expect(a).not.toBe(b)
    expect(a.startsWith(join(tmpdir(), 'studio-x-'))).toBe(true)
    await writeSilentMp3(join(a, 'f.mp3'), 1)
    await removeDir(a)
    await removeDir(b)
    await expect(stat(a)).rejects.toThrow()
    await expect(removeDir(a)).resolves.toBeUndefined()
  })
})
