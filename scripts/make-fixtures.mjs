#!/usr/bin/env node
/**
 * Writes the bad-input fixture set: a pairs folder where every awkward case studio must
 * handle sits next to valid pairs, so tests can check that each bad file is reported
 * with its message while the valid pairs still train.
 *
 *   node scripts/make-fixtures.mjs [--out DIR]      (default: test-output/fixtures)
 *
 * Tests import makeFixtures(dir) instead. Needs espeak-ng, lame and qpdf (and uses
 * ffmpeg, when present, for the .ogg and .m4a episodes); takes a few seconds.
 *
 * Valid pairs:   valid-cbr (CBR + ID3v1), valid-vbr (VBR/Xing + ID3v2), stereo-48k,
 *                wav-episode (.wav), ogg-episode (.ogg), m4a-episode (.m4a) with ffmpeg,
 *                "Résumé des travaux" (spaces, non-ASCII), folder.pdf/nested (inside a
 *                folder named like a file)
 * Bad episodes:  random-bytes.mp3, renamed-wav.mp3 (a WAV), truncated.mp3 (VBR cut in half),
 *                short.mp3 (5 s)
 * Bad papers:    encrypted.pdf (qpdf), scanned.pdf (no text layer), zero-byte.pdf
 * Bad sidecar:   bad-vtt.vtt (malformed cue timing)
 * Folder:        folder.mp3 (its "paper" folder.pdf/ is a folder), loop -> . (symlink loop),
 *                self-loop.mp3 -> itself (ELOOP)
 */
import {execFile} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

const run = promisify(execFile)
const REQUIRED = ['espeak-ng', 'lame', 'qpdf']
const APT = 'apt-get install -y --no-install-recommends espeak-ng lame qpdf ffmpeg'

async function has(tool) {
  try {
    await run('sh', ['-c', `command -v ${tool}`])
    return true
  } catch {
    return false
  }
}

/** The required tools that are missing (empty when all are there). */
export async function missingTools() {
  const missing = []
  for (const tool of REQUIRED) if (!(await has(tool))) missing.push(tool)
  return missing
}

const TEXT = [
  'Welcome to the show. Today we talk about how soil microbes survive a long drought,',
  'and what farmers can learn from them. Our guest measured the bacteria in forty fields',
  'over three dry summers, and found that a few hardy groups keep the soil alive.',
].join(' ')

const PAPER = [
  'Soil microbes under drought: a field study',
  'We sampled bacterial communities in forty fields over three dry summers. Drought reduced the diversity of soil bacteria, yet a few hardy groups kept nitrogen cycling going. Fields with more organic matter kept more of their microbes alive, and recovered faster after the rain returned.',
  'Methods. Each field was sampled monthly; DNA was extracted and sequenced, and the abundance of each group was compared with soil moisture and organic carbon. Results. Hardy groups made up a growing share of the community as the soil dried.',
  'Discussion. Keeping organic matter in the soil helps microbes survive drought. Farmers can add compost and keep residues on the field to protect the soil community.',
]

// ------------------------------------------------------------------- audio

function parseWav(buffer) {
  let at = 12
  let format = null
  while (at + 8 <= buffer.length) {
    const id = buffer.toString('latin1', at, at + 4)
    let size = buffer.readUInt32LE(at + 4)
    if (id === 'fmt ') format = {channels: buffer.readUInt16LE(at + 10), rate: buffer.readUInt32LE(at + 12)}
    if (id === 'data') {
      size = Math.min(size, buffer.length - at - 8)
      const copy = Buffer.from(buffer.subarray(at + 8, at + 8 + size - (size % 2)))
      return {...format, samples: new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2)}
    }
    at += 8 + size + (size % 2)
  }
  throw new Error('espeak-ng wrote no WAV data')
}

/** A 16-bit PCM WAV file of the given interleaved samples. */
export function wavBytes(samples, rate, channels) {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * channels * 2, 28)
  header.writeUInt16LE(channels * 2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** Speech padded with silence to exactly `seconds` (mono, espeak-ng's rate). */
function fit(speech, seconds) {
  const out = new Int16Array(Math.round(seconds * speech.rate))
  out.set(speech.samples.subarray(0, out.length))
  return {rate: speech.rate, samples: out}
}

/** Stereo at `rate`, by linear interpolation: good enough for a fixture. */
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

/** Deterministic "random" bytes (a fixed-seed xorshift), so the fixture never changes. */
function garbage(length, seed = 0x2545f491) {
  const out = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

// --------------------------------------------------------------------- PDF

async function pdfBytes(title, {text = true} = {}) {
  const {default: PDFDocument} = await import('pdfkit')
  const epoch = new Date(0)
  const doc = new PDFDocument({size: 'A4', margin: 72, info: {Title: title, CreationDate: epoch, ModDate: epoch}})
  const chunks = []
  const done = new Promise((resolve, reject) => {
    doc.on('data', (c) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  if (text) {
    doc.font('Helvetica-Bold').fontSize(16).text(title).moveDown()
    for (const paragraph of PAPER.slice(1)) doc.font('Helvetica').fontSize(11).text(paragraph).moveDown()
  } else {
    // A "scan": only shapes, as a page image would be, and no text layer.
    for (let y = 100; y < 700; y += 14) doc.rect(72, y, 300 + ((y * 7) % 150), 8).fill('#333333')
  }
  doc.end()
  return done
}

// -------------------------------------------------------------------- main

/**
 * Writes the fixture set into `outDir` (created; existing fixture files are replaced).
 * Returns what was written: {dir, ogg, m4a} (ogg/m4a: whether ffmpeg made those pairs).
 */
export async function makeFixtures(outDir, {log = () => {}} = {}) {
  const missing = await missingTools()
  if (missing.length) {
    throw new Error(`make-fixtures: missing tool(s): ${missing.join(', ')}. Install them with: ${APT}`)
  }
  const ffmpeg = await has('ffmpeg')
  const dir = path.resolve(outDir)
  await rm(dir, {recursive: true, force: true})
  await mkdir(dir, {recursive: true})
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'studio-fixtures-'))
  const at = (...parts) => path.join(dir, ...parts)
  try {
    // One utterance, reused: espeak-ng is the slow step.
    const textFile = path.join(tmp, 'speech.txt')
    const speechWav = path.join(tmp, 'speech.wav')
    await writeFile(textFile, TEXT)
    await run('espeak-ng', ['-s', '170', '-w', speechWav, '-f', textFile])
    const speech = parseWav(await readFile(speechWav))
    const episode = fit(speech, 12)
    const mono = path.join(tmp, 'mono.wav')
    await writeFile(mono, wavBytes(episode.samples, episode.rate, 1))
    const shortWav = path.join(tmp, 'short.wav')
    const short = fit(speech, 5)
    await writeFile(shortWav, wavBytes(short.samples, short.rate, 1))
    const stereoWav = path.join(tmp, 'stereo48.wav')
    await writeFile(stereoWav, wavBytes(stereoAt(episode, 48000), 48000, 2))

    const paper = await pdfBytes(PAPER[0])
    const pair = async (base, episodeFile) => {
      await mkdir(path.dirname(at(`${base}.pdf`)), {recursive: true})
      await writeFile(at(`${base}.pdf`), paper)
      return episodeFile
    }
    const lame = (args) => run('lame', ['--quiet', ...args])

    await Promise.all([
      // Valid pairs.
      pair('valid-cbr').then(() =>
        lame(['--cbr', '-b', '32', '--id3v1-only', '--tt', 'Valid CBR', '--ta', 'studio fixtures', mono, at('valid-cbr.mp3')]),
      ),
      pair('valid-vbr').then(() =>
        lame(['-V', '7', '--id3v2-only', '--tt', 'Valid VBR', '--ta', 'studio fixtures', mono, at('valid-vbr.mp3')]),
      ),
      pair('stereo-48k').then(() => lame(['-m', 'j', '--cbr', '-b', '64', stereoWav, at('stereo-48k.mp3')])),
      pair('Résumé des travaux').then(() => lame(['--cbr', '-b', '32', mono, at('Résumé des travaux.mp3')])),
      pair('folder.pdf/nested').then(() => lame(['--cbr', '-b', '32', mono, at('folder.pdf', 'nested.mp3')])),
      pair('wav-episode').then(() => writeFile(at('wav-episode.wav'), wavBytes(episode.samples, episode.rate, 1))),
      // Bad episodes.
      pair('random-bytes').then(() => writeFile(at('random-bytes.mp3'), garbage(40_000))),
      pair('renamed-wav').then(() => writeFile(at('renamed-wav.mp3'), wavBytes(episode.samples, episode.rate, 1))),
      pair('truncated').then(async () => {
        const full = path.join(tmp, 'full-vbr.mp3')
        await lame(['-V', '7', mono, full])
        const bytes = await readFile(full)
        await writeFile(at('truncated.mp3'), bytes.subarray(0, Math.floor(bytes.length / 2)))
      }),
      pair('short').then(() => lame(['--cbr', '-b', '32', shortWav, at('short.mp3')])),
      // Bad papers, with good episodes.
      lame(['--cbr', '-b', '32', mono, at('encrypted.mp3')]).then(async () => {
        const plain = path.join(tmp, 'plain.pdf')
        await writeFile(plain, paper)
        await run('qpdf', ['--encrypt', 'secret-user', 'secret-owner', '256', '--', plain, at('encrypted.pdf')])
      }),
      lame(['--cbr', '-b', '32', mono, at('scanned.mp3')]).then(async () =>
        writeFile(at('scanned.pdf'), await pdfBytes('', {text: false})),
      ),
      lame(['--cbr', '-b', '32', mono, at('zero-byte.mp3')]).then(() => writeFile(at('zero-byte.pdf'), '')),
      // A malformed sidecar.
      pair('bad-vtt').then(async () => {
        await lame(['--cbr', '-b', '32', mono, at('bad-vtt.mp3')])
        await writeFile(at('bad-vtt.vtt'), 'WEBVTT\n\n1\n00:00:01.000 --> soon\nHello and welcome.\n')
      }),
    ])
    if (ffmpeg) {
      await pair('ogg-episode')
      await run('ffmpeg', ['-v', 'error', '-y', '-i', mono, '-c:a', 'libvorbis', '-q:a', '0', at('ogg-episode.ogg')])
      await pair('m4a-episode')
      await run('ffmpeg', ['-v', 'error', '-y', '-i', mono, '-c:a', 'aac', '-b:a', '32k', at('m4a-episode.m4a')])
    }
    // The folder itself.
    await writeFile(at('folder.mp3'), await readFile(at('valid-cbr.mp3')))
    await symlink('.', at('loop'))
    await symlink('self-loop.mp3', at('self-loop.mp3'))
    log(`Wrote the fixture set to ${dir}${ffmpeg ? '' : ' (no ffmpeg: no .ogg or .m4a pairs)'}`)
    return {dir, ogg: ffmpeg, m4a: ffmpeg}
  } finally {
    await rm(tmp, {recursive: true, force: true})
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out')
  const out = at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : path.join('test-output', 'fixtures')
  makeFixtures(out, {log: console.log}).catch((error) => {
    console.error(error.message.startsWith('make-fixtures:') ? error.message : `make-fixtures: ${error.stack ?? error}`)
    process.exit(1)
  })
}
