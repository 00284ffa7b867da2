#!/usr/bin/env node
/**
 * Writes the bad-input fixture set: a pairs folder where every awkward case studio must
 * handle sits next to valid pairs, so tests can check that each bad file is reported
 * with its message while the valid pairs still train.
 *
 *   node scripts/make-fixtures.mjs [--out DIR]      (default: test-output/fixtures)
 *
 * Tests import makeFixtures(dir) instead. Needs Node and the devDependencies only, and
 * takes a fraction of a second: the episodes are the committed media fixtures
 * (test/fixtures/media/, made by scripts/make-media-fixtures.mjs with espeak-ng, lame and
 * ffmpeg), copied, cut or tagged here; the papers are made, and encrypted, by pdfkit.
 *
 * Valid pairs:   valid-cbr (CBR + ID3v1), valid-vbr (VBR/Xing + ID3v2), stereo-48k,
 *                wav-episode (.wav), ogg-episode (.ogg), m4a-episode (.m4a),
 *                "Résumé des travaux" (spaces, non-ASCII), folder.pdf/nested (inside a
 *                folder named like a file)
 * Bad episodes:  random-bytes.mp3, renamed-wav.mp3 (a WAV), truncated.mp3 (VBR cut in half),
 *                short.mp3 (5 s)
 * Bad papers:    encrypted.pdf (AES-256, passwords secret-user/secret-owner), scanned.pdf
 *                (no text layer), zero-byte.pdf
 * Bad sidecar:   bad-vtt.vtt (malformed cue timing)
 * Folder:        folder.mp3 (its "paper" folder.pdf/ is a folder), loop -> . (symlink loop),
 *                self-loop.mp3 -> itself (ELOOP)
 */
import {copyFile, mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {fit, parseWav, wavBytes} from './wav.mjs'

const MEDIA = fileURLToPath(new URL('../test/fixtures/media/', import.meta.url))

const PAPER = [
  'Soil microbes under drought: a field study',
  'We sampled bacterial communities in forty fields over three dry summers. Drought reduced the diversity of soil bacteria, yet a few hardy groups kept nitrogen cycling going. Fields with more organic matter kept more of their microbes alive, and recovered faster after the rain returned.',
  'Methods. Each field was sampled monthly; DNA was extracted and sequenced, and the abundance of each group was compared with soil moisture and organic carbon. Results. Hardy groups made up a growing share of the community as the soil dried.',
  'Discussion. Keeping organic matter in the soil helps microbes survive drought. Farmers can add compost and keep residues on the field to protect the soil community.',
]

// ------------------------------------------------------------------- audio

/** A 128-byte ID3v1 tag, byte for byte what `lame --id3v1-only --tt TITLE --ta ARTIST` appends. */
function id3v1(title, artist) {
  const tag = Buffer.alloc(128)
  tag.write('TAG', 0, 'latin1')
  tag.write(title, 3, 30, 'latin1')
  tag.write(artist, 33, 30, 'latin1')
  tag[127] = 0xff // no genre
  return tag
}

/** The bytes after an ID3v2 tag at the start (its size is "syncsafe": 7 bits per byte). */
function withoutId3v2(bytes) {
  if (bytes.toString('latin1', 0, 3) !== 'ID3') return bytes
  return bytes.subarray(10 + ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]))
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

/** A paper PDF; with `password`, encrypted with AES-256 as `qpdf --encrypt USER OWNER 256` would. */
async function pdfBytes(title, {text = true, password} = {}) {
  const {default: PDFDocument} = await import('pdfkit')
  const epoch = new Date(0)
  const doc = new PDFDocument({
    size: 'A4',
    margin: 72,
    info: {Title: title, CreationDate: epoch, ModDate: epoch},
    ...(password ? {userPassword: password.user, ownerPassword: password.owner, pdfVersion: '1.7ext3'} : {}),
  })
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

/** Writes the fixture set into `outDir` (created; existing fixture files are replaced). Returns {dir}. */
export async function makeFixtures(outDir, {log = () => {}} = {}) {
  const dir = path.resolve(outDir)
  await rm(dir, {recursive: true, force: true})
  await mkdir(path.join(dir, 'folder.pdf'), {recursive: true})
  const at = (...parts) => path.join(dir, ...parts)
  const media = (name) => path.join(MEDIA, name)

  const paper = await pdfBytes(PAPER[0])
  const speech = parseWav(await readFile(media('speech.wav')))
  const episodeWav = fit(speech, 12)
  const wav = wavBytes(episodeWav.samples, episodeWav.rate, 1)
  const validCbr = Buffer.concat([await readFile(media('episode-cbr.mp3')), id3v1('Valid CBR', 'studio fixtures')])
  const vbr = await readFile(media('episode-vbr-id3v2.mp3'))
  const untaggedVbr = withoutId3v2(vbr)

  const episodes = {
    // Valid pairs.
    'valid-cbr.mp3': validCbr,
    'valid-vbr.mp3': vbr,
    'stereo-48k.mp3': media('episode-stereo-48k.mp3'),
    'Résumé des travaux.mp3': media('episode-cbr.mp3'),
    'folder.pdf/nested.mp3': media('episode-cbr.mp3'),
    'wav-episode.wav': wav,
    'ogg-episode.ogg': media('tone-vorbis.ogg'),
    'm4a-episode.m4a': media('tone-aac.m4a'),
    // Bad episodes.
    'random-bytes.mp3': garbage(40_000),
    'renamed-wav.mp3': wav,
    'truncated.mp3': untaggedVbr.subarray(0, Math.floor(untaggedVbr.length / 2)),
    'short.mp3': media('episode-5s.mp3'),
    // Good episodes of bad papers and of a bad sidecar.
    'encrypted.mp3': media('episode-cbr.mp3'),
    'scanned.mp3': media('episode-cbr.mp3'),
    'zero-byte.mp3': media('episode-cbr.mp3'),
    'bad-vtt.mp3': media('episode-cbr.mp3'),
    // An episode whose "paper" is a folder.
    'folder.mp3': validCbr,
  }
  for (const [name, source] of Object.entries(episodes)) {
    await (typeof source === 'string' ? copyFile(source, at(name)) : writeFile(at(name), source))
    const base = name.replace(/\.[^.]+$/, '')
    if (!['encrypted', 'scanned', 'zero-byte', 'folder'].includes(base)) await writeFile(at(`${base}.pdf`), paper)
  }
  await writeFile(at('encrypted.pdf'), await pdfBytes(PAPER[0], {password: {user: 'secret-user', owner: 'secret-owner'}}))
  await writeFile(at('scanned.pdf'), await pdfBytes('', {text: false}))
  await writeFile(at('zero-byte.pdf'), '')
  await writeFile(at('bad-vtt.vtt'), 'WEBVTT\n\n1\n00:00:01.000 --> soon\nHello and welcome.\n')
  await symlink('.', at('loop'))
  await symlink('self-loop.mp3', at('self-loop.mp3'))
  log(`Wrote the fixture set to ${dir}`)
  return {dir}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out')
  const out = at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : path.join('test-output', 'fixtures')
  makeFixtures(out, {log: console.log}).catch((error) => {
    console.error(error.message.startsWith('make-fixtures:') ? error.message : `make-fixtures: ${error.stack ?? error}`)
    process.exit(1)
  })
}
