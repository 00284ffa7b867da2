import fs from 'node:fs'
import {copyFile, open, readFile, truncate, writeFile} from 'node:fs/promises'
import {syncBuiltinESMExports} from 'node:module'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {InputError} from '../../src/core/errors.js'
import {audioDurationSeconds, EPISODE_EXTENSIONS, episodeFormat, MIN_EPISODE_SECONDS, probeEpisode} from '../../src/media/audio.js'
import {wavBytes} from '../../scripts/wav.mjs'
import {buildSilentMp3, makeTempDir, removeDir, writeSilentMp3} from '../helpers/media.js'
import {mediaFixture, probed} from '../helpers/media-fixtures.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-audio-')
})
afterAll(async () => {
  await removeDir(dir)
})

const file = (name: string) => path.join(dir, name)

/** A 16-bit PCM WAV of silence. */
function wav(seconds: number, rate = 16000, channels = 1): Buffer {
  return wavBytes(new Int16Array(Math.round(seconds * rate) * channels), rate, channels)
}

async function failure(name: string): Promise<InputError> {
  const error = await probeEpisode(file(name)).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InputError)
  expect((error as InputError).exitCode).toBe(2)
  expect((error as InputError).path).toBe(file(name))
  return error as InputError
}

describe('episode formats', () => {
  it('accepts .mp3, .m4a, .ogg and .wav in any case', () => {
    expect(EPISODE_EXTENSIONS).toEqual(['.mp3', '.m4a', '.ogg', '.wav'])
    expect(['a.MP3', 'b.m4a', 'c.Ogg', 'd.wav', 'e.flac', 'f'].map(episodeFormat)).toEqual(['mp3', 'm4a', 'ogg', 'wav', null, null])
  })
})

describe('probeEpisode: MP3', () => {
  it.each([
    ['CBR 44.1 kHz', 'cbr.mp3', {}],
    ['CBR 22.05 kHz (MPEG-2)', 'cbr22.mp3', {sampleRate: 22050 as const}],
    ['VBR with a Xing header', 'xing.mp3', {vbrXing: true}],
    ['ID3v2 tag before the audio', 'id3.mp3', {id3v2: true, vbrXing: true}],
    ['128 kbps', 'cbr128.mp3', {bitrateKbps: 128}],
  ])('measures %s from its headers', async (_label, name, options) => {
    await writeSilentMp3(file(name), 42, options)
    const info = await probeEpisode(file(name))
    expect(info.format).toBe('mp3')
    expect(info.durationSeconds).toBeCloseTo(42, 0)
    expect(info.codec).toMatch(/MPEG .* Layer 3/)
    expect(await audioDurationSeconds(file(name))).toBe(info.durationSeconds)
  })

  it('counts the frames of a VBR MP3 without a Xing or VBRI header, whose size says nothing', async () => {
    // 10 s at 32 kbps, then 15 s at 128 kbps: timed by the first frame's bitrate it would last ~70 s.
    await writeFile(file('vbr-no-header.mp3'), Buffer.concat([buildSilentMp3(10), buildSilentMp3(15, {bitrateKbps: 128})]))
    const info = await probeEpisode(file('vbr-no-header.mp3'))
    expect(info.durationSeconds).toBeCloseTo(25, 1)
    expect([info.codec, info.sampleRate, info.channels]).toEqual(['MPEG 1 Layer 3', 44100, 1])
  })

  it('gives the exact length of frames x samples, as a frame count does (also for CBR without a header)', async () => {
    // 1,000 frames of 1,152 samples at 44.1 kHz: 26.122 s, whatever the bitrate.
    for (const kbps of [32, 128, 320]) {
      await writeFile(file(`exact-${kbps}.mp3`), buildSilentMp3((1000 * 1152) / 44100, {bitrateKbps: kbps}))
      expect((await probeEpisode(file(`exact-${kbps}.mp3`))).durationSeconds).toBeCloseTo((1000 * 1152) / 44100, 3)
    }
  })

  it('ignores an ID3v1 tag at the end', async () => {
    const tag = Buffer.alloc(128)
    tag.write('TAGSome title', 0, 'latin1')
    await writeFile(file('id3v1.mp3'), Buffer.concat([buildSilentMp3(30), tag]))
    expect((await probeEpisode(file('id3v1.mp3'))).durationSeconds).toBeCloseTo(30, 0)
  })

  it('rejects random bytes with an audio extension', async () => {
    let x = 7
    await writeFile(
      file('random.mp3'),
      Buffer.from(Array.from({length: 50_000}, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff)),
    )
    expect((await failure('random.mp3')).message).toBe(`Episode ${file('random.mp3')} is not audio: no MP3 data found in it`)
  })

  it('rejects a text file named .mp3', async () => {
    await writeFile(file('page.mp3'), '<html><body>404 Not Found</body></html>\n'.repeat(20))
    expect((await failure('page.mp3')).message).toBe(`Episode ${file('page.mp3')} is not audio: no MP3 data found in it`)
  })

  it('names the real format of a renamed file and the name to give it', async () => {
    await writeFile(file('renamed.mp3'), wav(20))
    const error = await failure('renamed.mp3')
    expect(error.message).toBe(`Episode ${file('renamed.mp3')} is a WAV file, not MP3: rename it to renamed.wav`)
    expect(error.hint).toMatch(/extension/)
    await writeFile(file('mp3.wav'), buildSilentMp3(20))
    expect((await failure('mp3.wav')).message).toBe(`Episode ${file('mp3.wav')} is an MP3 file, not WAV: rename it to mp3.mp3`)
  })

  it('asks to convert a format studio does not take', async () => {
    await writeFile(file('flac.mp3'), Buffer.concat([Buffer.from('fLaC'), Buffer.alloc(4000)]))
    expect((await failure('flac.mp3')).message).toBe(`Episode ${file('flac.mp3')} is a FLAC file, not MP3: convert it to MP3`)
  })

  it('detects a VBR file cut short of what its Xing header promises', async () => {
    const full = buildSilentMp3(60, {vbrXing: true})
    await writeFile(file('cut-xing.mp3'), full.subarray(0, Math.floor(full.length / 2)))
    expect((await failure('cut-xing.mp3')).message).toMatch(
      new RegExp(
        `^Episode ${file('cut-xing.mp3').replace(/[.]/g, '\\.')} is truncated: its Xing header promises 60\\.0 s of audio but the file holds only about 30\\.0 s$`,
      ),
    )
  })

  it('detects a CBR file that ends in the middle of a frame', async () => {
    const full = buildSilentMp3(60)
    await writeFile(file('cut-cbr.mp3'), full.subarray(0, full.length - 50))
    const error = await failure('cut-cbr.mp3')
    expect(error.message).toBe(`Episode ${file('cut-cbr.mp3')} is truncated: it ends in the middle of an MP3 frame`)
    expect(error.hint).toMatch(/download or copy it again/)
  })

  it(`rejects an episode under ${MIN_EPISODE_SECONDS} s as too short to learn from`, async () => {
    await writeSilentMp3(file('short.mp3'), 5)
    expect((await failure('short.mp3')).message).toBe(
      `Episode ${file('short.mp3')} is too short to learn from: 5.0 s (at least 10 s needed)`,
    )
  })

  it('rejects an empty file', async () => {
    await writeFile(file('empty.mp3'), '')
    expect((await failure('empty.mp3')).message).toBe(`Episode ${file('empty.mp3')} is empty (0 bytes)`)
  })

  it('names a missing file', async () => {
    expect((await failure('missing.mp3')).message).toBe(`Cannot read episode ${file('missing.mp3')}: ENOENT`)
  })
})

describe('probeEpisode: WAV', () => {
  it('measures a WAV file', async () => {
    await writeFile(file('ok.wav'), wav(25, 22050, 2))
    const info = await probeEpisode(file('ok.wav'))
    expect([info.format, info.codec, info.sampleRate, info.channels]).toEqual(['wav', 'PCM', 22050, 2])
    expect(info.durationSeconds).toBeCloseTo(25, 3)
  })

  it('detects a WAV file shorter than its header says', async () => {
    const full = wav(30)
    await writeFile(file('cut.wav'), full.subarray(0, full.length / 2))
    expect((await failure('cut.wav')).message).toBe(
      `Episode ${file('cut.wav')} is truncated: its WAV header promises 30.0 s of audio but the file holds only about 15.0 s`,
    )
  })
})

describe('never reads an episode whole to measure it', () => {
  let bytesRead = 0
  let restore = () => {}
  beforeAll(async () => {
    // music-metadata reads through FileHandle.read, probeEpisode through fs.readSync: count both.
    const handle = await open(__filename, 'r')
    const proto = Object.getPrototypeOf(handle) as {read: (...args: unknown[]) => Promise<{bytesRead: number}>}
    await handle.close()
    const original = proto.read
    proto.read = async function (this: unknown, ...args: unknown[]) {
      const result = await original.apply(this, args)
      bytesRead += result.bytesRead
      return result
    }
    const originalReadSync = fs.readSync
    fs.readSync = function (...args: Parameters<typeof fs.readSync>) {
      const read = originalReadSync.apply(fs, args)
      bytesRead += read
      return read
    } as typeof fs.readSync
    // The `import {readSync} from 'node:fs'` of the code under test sees the counting one.
    syncBuiltinESMExports()
    restore = () => {
      proto.read = original
      fs.readSync = originalReadSync
      syncBuiltinESMExports()
    }
  })
  afterAll(() => restore())
  afterEach(() => {
    bytesRead = 0
  })

  it.each([
    ['a CBR MP3 without a Xing header (timed from its size)', 'big-cbr.mp3', {}],
    ['a VBR MP3 with a Xing header', 'big-xing.mp3', {vbrXing: true}],
  ])('reads kilobytes of %s of 2 hours (~29 MB)', async (_label, name, options) => {
    await writeFile(file(name), buildSilentMp3(7200, options))
    bytesRead = 0
    const info = await probeEpisode(file(name))
    // Size-based for CBR: music-metadata's estimate is within 1 % (0.5 % long here).
    expect(Math.abs(info.durationSeconds - 7200)).toBeLessThan(72)
    expect(bytesRead).toBeLessThan(256 * 1024)
    expect(bytesRead).toBeGreaterThan(0) // the count sees the reads
  })

  it('reads kilobytes of a 100 MB WAV file', async () => {
    await writeFile(file('big.wav'), wav(10))
    await truncate(file('big.wav'), 0) // replaced below by a sparse file: header + 100 MB of zeros
    const header = wav(0)
    const size = 100 * 1024 * 1024
    header.writeUInt32LE(36 + size, 4)
    header.writeUInt32LE(size, 40)
    await writeFile(file('big.wav'), header)
    await truncate(file('big.wav'), 44 + size)
    bytesRead = 0
    const info = await probeEpisode(file('big.wav'))
    expect(info.durationSeconds).toBeCloseTo(size / 32000, 1)
    expect(bytesRead).toBeLessThan(256 * 1024)
    expect(bytesRead).toBeGreaterThan(0) // the count sees the reads
  })
})

describe('probeEpisode: Ogg and M4A (fixtures made by ffmpeg)', () => {
  it.each([
    ['Ogg Vorbis', 'tone-vorbis.ogg', 'Vorbis'],
    ['Ogg Opus', 'tone-opus.ogg', 'Opus'],
    ['M4A (AAC)', 'tone-aac.m4a', 'MPEG-4/AAC'],
    ['M4A with the index first (faststart)', 'tone-aac-faststart.m4a', 'MPEG-4/AAC'],
  ])('measures %s as ffprobe did', async (_label, name, codec) => {
    const info = await probeEpisode(mediaFixture(name))
    expect(info.codec).toBe(codec)
    expect(info.durationSeconds).toBeCloseTo(probed(name).duration_seconds, 1)
  })

  it('detects a truncated Ogg and a truncated M4A', async () => {
    for (const [name, cut] of [
      ['tone-vorbis.ogg', 'cut.ogg'],
      ['tone-aac-faststart.m4a', 'cut.m4a'],
    ] as const) {
      const full = await readFile(mediaFixture(name))
      await writeFile(file(cut), full.subarray(0, Math.floor(full.length / 2)))
    }
    expect((await failure('cut.ogg')).message).toMatch(
      /^Episode .*cut\.ogg is truncated: its last Ogg page is cut off \(it holds about \d+\.\d s\)$/,
    )
    expect((await failure('cut.m4a')).message).toMatch(
      /^Episode .*cut\.m4a is truncated: its 'mdat' box needs \d+ bytes but the file has \d+$/,
    )
  })

  it('names an Ogg file renamed .mp3', async () => {
    await copyFile(mediaFixture('tone-vorbis.ogg'), file('ogg-in-disguise.mp3'))
    expect((await failure('ogg-in-disguise.mp3')).message).toBe(
      `Episode ${file('ogg-in-disguise.mp3')} is an Ogg file, not MP3: rename it to ogg-in-disguise.ogg`,
    )
  })
})
