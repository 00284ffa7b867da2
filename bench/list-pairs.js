#!/usr/bin/env node
/**
 * `node bench/list-pairs.js [--pairs 200] [--runs 3] [--keep]` (after `npm run build`):
 * generates N pairs in a temp folder (a 1-page text PDF from pdfkit and a 20 s silent
 * CBR MP3 per pair, every fifth one VBR with a Xing header and every seventh one with
 * an ID3v2 tag), then times `studio training list-pairs --pairs-dir <tmp> --json`.
 * Target: under 2 s wall time for 200 pairs on this 2-core machine.
 * Prints the numbers as JSON on stdout.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import PDFDocument from 'pdfkit'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = path.join(root, 'bin', 'run.js')
const env = {...process.env, CI: '1', NO_COLOR: '1'}

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const PAIRS = option('pairs', 200)
const RUNS = option('runs', 3)
const EPISODE_SECONDS = 20
const TARGET_MS = 2000

// ------------------------------------------------------------ silent MPEG-1 Layer III

/** Mono 44.1 kHz frames at `kbps`, all-zero side info and main data (decodes as silence). */
function silentMp3(seconds, {kbps = 32, xing = false, id3 = false} = {}) {
  const bitrateIndex = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320].indexOf(kbps)
  const numerator = 144 * kbps * 1000
  const base = Math.floor(numerator / 44100)
  const remainder = numerator % 44100
  const audioFrames = Math.round((seconds * 44100) / 1152)
  const total = audioFrames + (xing ? 1 : 0)
  const lengths = []
  let acc = 0
  for (let i = 0; i < total; i++) {
    acc += remainder
    const pad = acc >= 44100
    if (pad) acc -= 44100
    lengths.push(base + (pad ? 1 : 0))
  }
  const streamBytes = lengths.reduce((a, b) => a + b, 0)
  const tag = id3 ? id3v2('Bench episode') : Buffer.alloc(0)
  const out = Buffer.alloc(tag.length + streamBytes)
  tag.copy(out, 0)
  let at = tag.length
  lengths.forEach((length, i) => {
    out.set([0xff, 0xfb, (bitrateIndex << 4) | (length > base ? 0x02 : 0), 0xc0], at)
    if (i === 0 && xing) {
      const x = at + 4 + 17
      out.write('Xing', x, 'ascii')
      out.writeUInt32BE(0x1 | 0x2, x + 4)
      out.writeUInt32BE(audioFrames, x + 8)
      out.writeUInt32BE(streamBytes, x + 12)
    }
    at += length
  })
  return out
}

function id3v2(title) {
  const body = Buffer.concat([Buffer.from([0]), Buffer.from(title, 'latin1')])
  const frame = Buffer.alloc(10)
  frame.write('TIT2', 0, 'ascii')
  frame.writeUInt32BE(body.length, 4)
  const frames = Buffer.concat([frame, body])
  const n = frames.length
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]), frames])
}

// ---------------------------------------------------------------------------- PDF

const SENTENCES = Array.from(
  {length: 24},
  (_, i) => `Sentence ${i} describes the method, the data and the findings of this study in plain words.`,
)

function pdf(title) {
  return new Promise((resolve, reject) => {
    const epoch = new Date(0)
    const doc = new PDFDocument({size: 'A4', margin: 72, info: {Title: title, CreationDate: epoch, ModDate: epoch}})
    const chunks = []
    doc.on('data', (c) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
    doc.font('Helvetica-Bold').fontSize(16).text(title).moveDown()
    doc.font('Helvetica').fontSize(11).text(SENTENCES.join(' '))
    doc.end()
  })
}

// --------------------------------------------------------------------------- main

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'studio-bench-list-'))
try {
  const generateStarted = process.hrtime.bigint()
  for (let i = 0; i < PAIRS; i++) {
    const id = `pair-${String(i).padStart(4, '0')}`
    writeFileSync(path.join(dir, `${id}.pdf`), await pdf(`Paper number ${i}`))
    writeFileSync(path.join(dir, `${id}.mp3`), silentMp3(EPISODE_SECONDS, {xing: i % 5 === 0, id3: i % 7 === 0}))
  }
  const generateMs = Number(process.hrtime.bigint() - generateStarted) / 1e6

  const args = [bin, 'training', 'list-pairs', '--pairs-dir', dir, '--json']
  const time = () => {
    const started = process.hrtime.bigint()
    const result = spawnSync(process.execPath, args, {cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    if (result.status !== 0) throw new Error(`list-pairs exited ${result.status}: ${result.stderr}`)
    return {ms, listing: JSON.parse(result.stdout)}
  }
  time() // warm the file system cache; not counted
  const runs = Array.from({length: RUNS}, time)
  const listing = runs[0].listing
  const problems = listing.pairs.filter((p) => p.problems.length > 0).length
  const results = {
    command: `node bin/run.js training list-pairs --pairs-dir <tmp> --json`,
    machine: {cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version},
    pairs: listing.pairs.length,
    pairs_with_problems: problems,
    episode_seconds: EPISODE_SECONDS,
    generate_ms: Math.round(generateMs),
    runs_ms: runs.map((r) => Math.round(r.ms)),
    median_ms: Math.round(median(runs.map((r) => r.ms))),
    target_ms: TARGET_MS,
    met: median(runs.map((r) => r.ms)) < TARGET_MS && listing.pairs.length === PAIRS && problems === 0,
  }
  console.log(JSON.stringify(results, null, 2))
  if (process.argv.includes('--keep')) console.error(`pairs kept in ${dir}`)
} finally {
  if (!process.argv.includes('--keep')) rmSync(dir, {recursive: true, force: true})
}
