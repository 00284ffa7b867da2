#!/usr/bin/env node
/**
 * Makes the small real media files the tests read, in test/fixtures/media/, and writes
 * media.json next to them: for every file its size, sha256, the command lines that made it,
 * and what ffprobe measures in it (duration, frames, codec). Tests compare with those
 * measurements, so they need neither these tools nor ffprobe.
 *
 *   apt-get install -y --no-install-recommends espeak-ng lame ffmpeg
 *   node scripts/make-media-fixtures.mjs [--out DIR]        (default: test/fixtures/media)
 *
 * The same tool versions give the same bytes: espeak-ng and lame are deterministic, ffmpeg
 * is run with -fflags +bitexact, and every other step is plain JavaScript. Other versions
 * may give other bytes and durations, so commit the files and media.json together
 * (test/unit/media-fixtures.test.ts checks that they agree).
 *
 * Splitter set (MPEG framing: test/unit/mp3-frames.test.ts, test/unit/fake-api.test.ts),
 * lame variants of two espeak-ng utterances (a.wav: 10 s, b.wav: 6 s):
 *   cbr44.mp3   MPEG-1 44.1 kHz CBR 64 kbps with a LAME Info frame
 *   vbr44.mp3   MPEG-1 44.1 kHz VBR with a Xing frame
 *   tagged.mp3  MPEG-1 44.1 kHz CBR 32 kbps (too small for an Info frame), with an ID3v2 tag
 *               before and an ID3v1 tag after the audio
 *   stereo.mp3  joint stereo VBR
 *   mono22.mp3  MPEG-2 22.05 kHz CBR;  mono8.mp3  MPEG-2.5 8 kHz CBR
 *   b44.mp3     MPEG-1 44.1 kHz CBR;   b44vbr.mp3  VBR with ID3v2 (the parts joined to a's)
 * Episode set (the bad-input fixture set: scripts/make-fixtures.mjs), 12 s of speech:
 *   episode-cbr.mp3            MPEG-2 22.05 kHz CBR 32 kbps, no tag
 *   episode-vbr-id3v2.mp3      VBR with a Xing frame and an ID3v2 tag
 *   episode-stereo-48k.mp3     joint stereo, 48 kHz
 *   episode-5s.mp3             the first 5 s only: too short to learn from
 *   speech.wav                 a short utterance as 16-bit PCM
 * Tone set (test/unit/audio.test.ts), 12 s of a 440 Hz sine at 22.05 kHz made by ffmpeg:
 *   tone-vorbis.ogg, tone-opus.ogg, tone-aac.m4a, tone-aac-faststart.m4a (index first)
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import {fit, parseWav, wavBytes} from './wav.mjs'

const run = promisify(execFile)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_OUT = path.join(ROOT, 'test', 'fixtures', 'media')
const TOOLS = ['espeak-ng', 'lame', 'ffmpeg', 'ffprobe']
const APT = 'apt-get install -y --no-install-recommends espeak-ng lame ffmpeg'
const REGENERATE = `${APT} && node scripts/make-media-fixtures.mjs`

const TEXT_A =
  'The quick brown fox jumps over the lazy dog. This is a test of the studio splitter, which cuts long podcast episodes into pieces at frame boundaries so that each piece fits.'
const TEXT_B = 'A second segment, spoken by the same voice, to be joined after the first one without any gap in the frames.'
const EPISODE_TEXT = [
  'Welcome to the show. Today we talk about how soil microbes survive a long drought,',
  'and what farmers can learn from them. Our guest measured the bacteria in forty fields',
  'over three dry summers, and found that a few hardy groups keep the soil alive.',
].join(' ')
const SPEECH_TEXT = 'Welcome.'

/** How a shell would read the argument, for the record. */
const quote = (arg) => (/^[\w.,:=+/@%-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)
const commandLine = (tool, args) => [tool, ...args].map(quote).join(' ')

async function versionOf(tool) {
  const {stdout} = await run(tool, [tool === 'espeak-ng' || tool === 'lame' ? '--version' : '-version'])
  return stdout.split('\n')[0].trim()
}

async function ffprobe(file) {
  const {stdout} = await run('ffprobe', [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    'format=duration:stream=codec_name,sample_rate,channels,nb_read_packets',
    '-of',
    'json',
    file,
  ])
  const {format, streams} = JSON.parse(stdout)
  const [stream] = streams
  return {
    duration_seconds: Number(format.duration),
    packets: Number(stream.nb_read_packets),
    codec: stream.codec_name,
    sample_rate: Number(stream.sample_rate),
    channels: stream.channels,
  }
}

/**
 * Runs every step in one work folder, on bare file names, so that the command lines it
 * records are the ones to type; remembers the steps behind each file, its inputs' first.
 */
class Workshop {
  constructor(work) {
    this.work = work
    this.steps = new Map()
    this.committed = []
  }

  at(name) {
    return path.join(this.work, name)
  }

  async tool(name, tool, args, {inputs = [], commit = false} = {}) {
    await run(tool, args, {cwd: this.work})
    this.record(name, inputs, commandLine(tool, args), commit)
  }

  async write(name, bytes, step, {inputs = [], commit = false} = {}) {
    await writeFile(this.at(name), bytes)
    this.record(name, inputs, step, commit)
  }

  record(name, inputs, step, commit) {
    const before = inputs.flatMap((input) => this.steps.get(input) ?? [])
    this.steps.set(name, [...new Set([...before, step])])
    if (commit) this.committed.push(name)
  }

  /** Speech by espeak-ng at its own rate (22,050 Hz mono), cut or padded to `seconds` when given. */
  async speak(name, text, espeakArgs, seconds, options = {}) {
    if (seconds === undefined) return this.tool(name, 'espeak-ng', [...espeakArgs, '-w', name, text], options)
    const raw = `${path.basename(name, '.wav')}-raw.wav`
    await this.tool(raw, 'espeak-ng', [...espeakArgs, '-w', raw, text])
    const speech = fit(parseWav(await readFile(this.at(raw))), seconds)
    const step = `(node) ${raw} cut or padded with silence to ${seconds} s: ${name}`
    await this.write(name, wavBytes(speech.samples, speech.rate, 1), step, {...options, inputs: [raw]})
  }

  lame(name, args, input) {
    return this.tool(name, 'lame', ['--quiet', ...args, input, name], {inputs: [input], commit: true})
  }
}

/** Mono samples as stereo at `rate`, by linear interpolation: good enough for a fixture. */
function stereoAt(mono, rate) {
  const n = Math.round((mono.samples.length * rate) / mono.rate)
  const out = new Int16Array(n * 2)
  for (let i = 0; i < n; i++) {
    const x = (i * mono.rate) / rate
    const a = mono.samples[Math.floor(x)] ?? 0
    const b = mono.samples[Math.floor(x) + 1] ?? a
    const v = Math.round(a + (b - a) * (x - Math.floor(x)))
    out[2 * i] = v
    out[2 * i + 1] = v
  }
  return out
}

export async function makeMediaFixtures(outDir, {log = () => {}} = {}) {
  const missing = []
  for (const tool of TOOLS) await versionOf(tool).catch(() => missing.push(tool))
  if (missing.length) throw new Error(`make-media-fixtures: missing tool(s): ${missing.join(', ')}. Install them with: ${APT}`)
  const out = path.resolve(outDir)
  await mkdir(out, {recursive: true})
  for (const name of await readdir(out)) if (name !== 'README.md') await rm(path.join(out, name), {recursive: true, force: true})
  const work = await mkdtemp(path.join(os.tmpdir(), 'studio-media-fixtures-'))
  const shop = new Workshop(work)
  try {
    // Splitter set.
    await shop.speak('a.wav', TEXT_A, [])
    await shop.speak('b.wav', TEXT_B, [])
    const a = parseWav(await readFile(shop.at('a.wav')))
    const doubled = new Int16Array(a.samples.length * 2)
    a.samples.forEach((v, i) => doubled.set([v, v], 2 * i))
    await shop.write('stereo.wav', wavBytes(doubled, a.rate, 2), '(node) a.wav with its one channel copied to two: stereo.wav', {
      inputs: ['a.wav'],
    })
    await shop.lame('cbr44.mp3', ['--resample', '44.1', '--cbr', '-b', '64'], 'a.wav')
    await shop.lame('vbr44.mp3', ['--resample', '44.1', '-V', '9'], 'a.wav')
    await shop.lame('tagged.mp3', ['--resample', '44.1', '--cbr', '-b', '32', '--add-id3v2', '--tt', 'Title'], 'a.wav')
    await shop.lame('stereo.mp3', ['--resample', '44.1', '-m', 'j', '-V', '9', '-B', '64'], 'stereo.wav')
    await shop.lame('mono22.mp3', ['-m', 'm', '--resample', '22.05', '--cbr', '-b', '16'], 'a.wav')
    await shop.lame('mono8.mp3', ['-m', 'm', '--resample', '8', '--cbr', '-b', '8'], 'a.wav')
    await shop.lame('b44.mp3', ['--resample', '44.1', '--cbr', '-b', '32'], 'b.wav')
    await shop.lame('b44vbr.mp3', ['--resample', '44.1', '-V', '9', '--add-id3v2', '--tt', 'B'], 'b.wav')

    // Episode set.
    await shop.speak('episode.wav', EPISODE_TEXT, ['-s', '170'], 12)
    await shop.speak('episode-5s.wav', EPISODE_TEXT, ['-s', '170'], 5)
    const episode = parseWav(await readFile(shop.at('episode.wav')))
    await shop.write('episode-stereo-48k.wav', wavBytes(stereoAt(episode, 48000), 48000, 2), '(node) episode.wav as stereo at 48 kHz', {
      inputs: ['episode.wav'],
    })
    await shop.lame('episode-cbr.mp3', ['--cbr', '-b', '32'], 'episode.wav')
    await shop.lame(
      'episode-vbr-id3v2.mp3',
      ['-V', '9', '-B', '32', '--id3v2-only', '--tt', 'Valid VBR', '--ta', 'studio fixtures'],
      'episode.wav',
    )
    await shop.lame('episode-stereo-48k.mp3', ['-m', 'j', '--resample', '48', '--cbr', '-b', '32'], 'episode-stereo-48k.wav')
    await shop.lame('episode-5s.mp3', ['--cbr', '-b', '32'], 'episode-5s.wav')
    await shop.speak('speech.wav', SPEECH_TEXT, ['-s', '170'], undefined, {commit: true})

    // Tone set.
    const tone = (name, args) =>
      shop.tool(
        name,
        'ffmpeg',
        [
          '-v',
          'error',
          '-y',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440:sample_rate=22050:duration=12',
          '-fflags',
          '+bitexact',
          '-flags:a',
          '+bitexact',
          ...args,
          name,
        ],
        {commit: true},
      )
    await tone('tone-vorbis.ogg', ['-c:a', 'libvorbis', '-q:a', '0'])
    await tone('tone-opus.ogg', ['-c:a', 'libopus', '-b:a', '8k'])
    await tone('tone-aac.m4a', ['-c:a', 'aac', '-b:a', '12k'])
    await tone('tone-aac-faststart.m4a', ['-c:a', 'aac', '-b:a', '12k', '-movflags', '+faststart'])

    const sources = {}
    for (const name of ['a.wav', 'b.wav', 'episode.wav']) {
      sources[name] = {made_with: shop.steps.get(name), ffprobe: await ffprobe(shop.at(name))}
    }
    const files = {}
    for (const name of [...shop.committed].sort()) {
      const bytes = await readFile(shop.at(name))
      await writeFile(path.join(out, name), bytes)
      files[name] = {
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        made_with: shop.steps.get(name),
        ffprobe: await ffprobe(shop.at(name)),
      }
    }
    const tools = {}
    for (const tool of TOOLS) tools[tool] = await versionOf(tool)
    const record = {
      about: 'Media fixtures of the tests, as ffprobe measured them when they were made. Commands run in one work folder.',
      regenerate: REGENERATE,
      tools,
      sources,
      files,
    }
    // Formatted as the repository formats JSON, so that a regenerated record diffs cleanly.
    const recordFile = path.join(out, 'media.json')
    const prettier = await import('prettier')
    const options = {...(await prettier.resolveConfig(recordFile)), filepath: recordFile}
    await writeFile(recordFile, await prettier.format(JSON.stringify(record), options))
    const total = Object.values(files).reduce((sum, file) => sum + file.bytes, 0)
    log(`Wrote ${Object.keys(files).length} media files (${(total / 1024).toFixed(0)} KiB) and media.json to ${out}`)
    return record
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out')
  const out = at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : DEFAULT_OUT
  makeMediaFixtures(out, {log: console.log}).catch((error) => {
    console.error(error.message.startsWith('make-media-fixtures:') ? error.message : `make-media-fixtures: ${error.stack ?? error}`)
    process.exit(1)
  })
}
