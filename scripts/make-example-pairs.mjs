#!/usr/bin/env node
/**
 * Regenerates the example training pairs in artifacts/training_data/ from the specs
 * in scripts/example-pairs/*.json. For every spec it writes:
 *
 *   <id>.pdf              a paper-like PDF (pdfkit, deterministic: fixed dates and ID)
 *   <id>.mp3              real speech: espeak-ng per sentence, joined with silences, lame
 *   <id>.vtt              when episode.sidecar is "vtt": WebVTT cues with <v Speaker> tags
 *   <id>.transcript.json  when episode.sidecar is "json"/"transcript.json": studio format
 *
 * No sidecar is written when the spec has none (that pair gets a mock transcript).
 * Cue and segment times come from the sample counts of the audio as it is assembled.
 *
 * Usage: node scripts/make-example-pairs.mjs [--out DIR] [SPEC_ID ...]
 * Needs: espeak-ng and lame on PATH (apt-get install -y espeak-ng lame).
 */
import {execFile} from 'node:child_process'
import {mkdtemp, mkdir, readFile, readdir, rename, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import PDFDocument from 'pdfkit'

const run = promisify(execFile)

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(SCRIPT_DIR, '..')
const SPEC_DIR = path.join(SCRIPT_DIR, 'example-pairs')
const DEFAULT_OUT = path.join(ROOT, 'artifacts', 'training_data')

const SPEECH_RATE_WPM = 165
const SAMPLE_RATE = 22050 // espeak-ng's native rate; every chunk is checked against it
const LEAD_IN_S = 0.3
const SENTENCE_GAP_S = 0.15
const LINE_GAP_S = 0.35
const TAIL_S = 0.6
/** Samples quieter than this (16-bit) count as silence when trimming espeak's padding. */
const SILENCE_THRESHOLD = 200

// --------------------------------------------------------------------- helpers

function fail(message) {
  console.error(`make-example-pairs: ${message}`)
  process.exit(1)
}

function parseArgs(argv) {
  const options = {out: DEFAULT_OUT, only: []}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--out') options.out = path.resolve(argv[++i] ?? fail('--out needs a folder'))
    else if (arg.startsWith('--out=')) options.out = path.resolve(arg.slice('--out='.length))
    else if (arg === '-h' || arg === '--help') {
      console.log('Usage: node scripts/make-example-pairs.mjs [--out DIR] [SPEC_ID ...]')
      process.exit(0)
    } else if (arg.startsWith('-')) fail(`unknown option ${arg}`)
    else options.only.push(arg)
  }
  return options
}

async function haveTool(command, versionArgs) {
  try {
    await run(command, versionArgs)
    return true
  } catch (error) {
    return error.code !== 'ENOENT'
  }
}

async function checkTools() {
  const missing = []
  if (!(await haveTool('espeak-ng', ['--version']))) missing.push('espeak-ng')
  if (!(await haveTool('lame', ['--version']))) missing.push('lame')
  if (missing.length > 0) {
    fail(
      `missing required tool(s): ${missing.join(', ')}.\n` +
        `  Install them with:  sudo apt-get update && sudo apt-get install -y espeak-ng lame\n` +
        `  (macOS: brew install espeak-ng lame)`,
    )
  }
}

/** Valid espeak-ng voice names: languages ("en-us") and variants ("m3", used as "en-us+m3"). */
async function espeakVoices() {
  const parse = (stdout, column) =>
    new Set(
      stdout
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((cols) => cols.length > 4)
        .map(column),
    )
  const languages = parse((await run('espeak-ng', ['--voices'])).stdout, (cols) => cols[1].toLowerCase())
  // The variant column "File" is "!v/m3"; the name after "+" is the file name.
  const variants = parse((await run('espeak-ng', ['--voices=variant'])).stdout, (cols) => {
    const file = cols.find((c) => c.startsWith('!v/'))
    return file ? file.slice(3) : ''
  })
  return {languages, variants}
}

function checkVoice(voice, {languages, variants}, where) {
  const [language, variant] = voice.split('+')
  if (!languages.has(language.toLowerCase())) {
    fail(`${where}: espeak-ng has no language "${language}" (see \`espeak-ng --voices\`)`)
  }
  if (variant !== undefined && !variants.has(variant)) {
    fail(`${where}: espeak-ng has no voice variant "${variant}" (see \`espeak-ng --voices=variant\`, File column)`)
  }
}

/** Writes data to path via a hidden temp file in the same folder, then renames it. */
async function writeAtomic(filePath, data) {
  const temp = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.tmp`)
  try {
    await writeFile(temp, data)
    await rename(temp, filePath)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

// ----------------------------------------------------------------------- specs

const SIDECARS = {vtt: 'vtt', json: 'json', 'transcript.json': 'json'}

function validateSpec(spec, file) {
  const where = path.basename(file)
  const need = (cond, what) => cond || fail(`${where}: ${what}`)
  need(typeof spec.id === 'string' && /^[a-z0-9][a-z0-9._-]*$/i.test(spec.id), 'id must be a simple file name')
  const p = spec.paper ?? {}
  need(typeof p.title === 'string' && p.title.trim(), 'paper.title is required')
  need(Array.isArray(p.authors) && p.authors.length > 0, 'paper.authors must be a non-empty list')
  need(typeof p.abstract === 'string', 'paper.abstract is required')
  need(
    Array.isArray(p.sections) && p.sections.every((s) => s.heading && Array.isArray(s.paragraphs)),
    'paper.sections must be [{heading, paragraphs}]',
  )
  need(Array.isArray(p.references), 'paper.references must be a list')
  const e = spec.episode ?? {}
  need(typeof e.show === 'string' && typeof e.title === 'string', 'episode.show and episode.title are required')
  const enc = e.encoding ?? {}
  need(enc.mode === 'cbr' || enc.mode === 'vbr', 'episode.encoding.mode must be "cbr" or "vbr"')
  if (enc.mode === 'cbr') need(Number.isInteger(enc.bitrateKbps ?? 32), 'episode.encoding.bitrateKbps must be an integer')
  if (enc.mode === 'vbr')
    need(
      Number.isInteger(enc.vbrQuality ?? 9) && (enc.vbrQuality ?? 9) >= 0 && (enc.vbrQuality ?? 9) <= 9,
      'episode.encoding.vbrQuality must be 0..9',
    )
  need(e.sidecar == null || e.sidecar in SIDECARS, `episode.sidecar must be one of ${Object.keys(SIDECARS).join(', ')} or null`)
  need(e.speakers && typeof e.speakers === 'object', 'episode.speakers must map names to espeak-ng voices')
  need(Array.isArray(e.lines) && e.lines.length > 0, 'episode.lines must be a non-empty list')
  for (const [i, line] of e.lines.entries()) {
    need(line.speaker in e.speakers, `episode.lines[${i}].speaker "${line.speaker}" is not in episode.speakers`)
    need(typeof line.text === 'string' && line.text.trim(), `episode.lines[${i}].text is empty`)
  }
}

async function loadSpecs(only) {
  const files = (await readdir(SPEC_DIR)).filter((f) => f.endsWith('.json')).sort()
  const specs = []
  for (const file of files) {
    const full = path.join(SPEC_DIR, file)
    let spec
    try {
      spec = JSON.parse(await readFile(full, 'utf8'))
    } catch (error) {
      fail(`${file}: ${error.message}`)
    }
    validateSpec(spec, full)
    if (only.length === 0 || only.includes(spec.id)) specs.push(spec)
  }
  const unknown = only.filter((id) => !specs.some((s) => s.id === id))
  if (unknown.length > 0) fail(`no spec with id ${unknown.join(', ')} in ${SPEC_DIR}`)
  if (new Set(specs.map((s) => s.id)).size !== specs.length) fail('two specs share one id')
  return specs
}

// ------------------------------------------------------------------------- PDF

/** Splits "**Lead.** rest" markup into runs of {bold, text}. */
function runs(paragraph) {
  const parts = []
  const re = /\*\*(.+?)\*\*/g
  let last = 0
  for (const m of paragraph.matchAll(re)) {
    if (m.index > last) parts.push({bold: false, text: paragraph.slice(last, m.index)})
    parts.push({bold: true, text: m[1]})
    last = m.index + m[0].length
  }
  if (last < paragraph.length) parts.push({bold: false, text: paragraph.slice(last)})
  return parts
}

function makePdf(paper) {
  const epoch = new Date(0)
  const doc = new PDFDocument({
    size: 'A4',
    margins: {top: 72, bottom: 72, left: 72, right: 72},
    bufferPages: true,
    displayTitle: true,
    lang: 'en-US',
    // Fixed dates make pdfkit's document ID (an MD5 of the info dict) and the whole file deterministic.
    info: {
      Title: paper.title,
      Author: paper.authors.join(', '),
      Subject: 'Example paper for studio training pairs (synthetic)',
      Keywords: (paper.keywords ?? []).join(', '),
      Creator: 'studio scripts/make-example-pairs.mjs',
      Producer: 'PDFKit',
      CreationDate: epoch,
      ModDate: epoch,
    },
  })
  const chunks = []
  doc.on('data', (c) => chunks.push(c))
  const done = new Promise((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })

  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right
  const left = doc.page.margins.left
  const body = {align: 'justify', lineGap: 2, paragraphGap: 6}

  // Title block
  doc.font('Times-Bold').fontSize(17).text(paper.title, left, doc.y, {width, align: 'center', lineGap: 2})
  doc.moveDown(0.8)
  doc.font('Times-Roman').fontSize(12).text(paper.authors.join(', '), {width, align: 'center'})
  if (paper.affiliation) {
    doc.moveDown(0.2)
    doc.font('Times-Italic').fontSize(10.5).text(paper.affiliation, {width, align: 'center'})
  }
  doc.moveDown(1.5)

  // Abstract, indented like a journal abstract
  const indent = 36
  doc.font('Times-Bold').fontSize(11).text('Abstract', left, doc.y, {width, align: 'center'})
  doc.moveDown(0.3)
  doc
    .font('Times-Roman')
    .fontSize(10)
    .text(paper.abstract, left + indent, doc.y, {width: width - 2 * indent, ...body})
  if (paper.keywords?.length) {
    doc.moveDown(0.3)
    doc
      .font('Times-Bold')
      .fontSize(10)
      .text('Keywords: ', left + indent, doc.y, {width: width - 2 * indent, continued: true})
    doc.font('Times-Roman').text(paper.keywords.join(', '), {align: 'left'})
  }
  doc.moveDown(1.2)

  // Numbered sections
  const heading = (text) => {
    // Keep a heading with the start of its first paragraph.
    if (doc.y > doc.page.height - doc.page.margins.bottom - 60) doc.addPage()
    doc.font('Times-Bold').fontSize(12).text(text, left, doc.y, {width, align: 'left'})
    doc.moveDown(0.4)
  }
  paper.sections.forEach((section, i) => {
    heading(`${i + 1} ${section.heading}`)
    for (const paragraph of section.paragraphs) {
      const parts = runs(paragraph)
      doc.fontSize(10.5)
      doc.x = left
      parts.forEach((part, j) => {
        doc.font(part.bold ? 'Times-Bold' : 'Times-Roman')
        doc.text(part.text, {width, ...body, continued: j < parts.length - 1})
      })
    }
    doc.moveDown(0.8)
  })

  // References (unnumbered heading, as in most papers)
  heading('References')
  doc.font('Times-Roman').fontSize(9.5)
  paper.references.forEach((ref, i) => {
    doc.text(`[${i + 1}] ${ref}`, left, doc.y, {width, align: 'left', lineGap: 1, paragraphGap: 4})
  })

  // Page numbers in the footer (inside the bottom margin, so lift the margin while writing)
  const range = doc.bufferedPageRange()
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i)
    const bottom = doc.page.margins.bottom
    doc.page.margins.bottom = 0
    doc
      .font('Times-Roman')
      .fontSize(9)
      .text(String(i + 1), left, doc.page.height - 44, {width, align: 'center', lineBreak: false})
    doc.page.margins.bottom = bottom
  }
  doc.end()
  return {done, pages: range.count}
}

// ----------------------------------------------------------------------- audio

/** PCM samples (Int16Array) of a 16-bit mono WAV file, checked against SAMPLE_RATE. */
function readWav(buffer, where) {
  if (buffer.toString('ascii', 0, 4) !== 'RIFF' || buffer.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${where}: espeak-ng did not write a WAV file`)
  }
  let offset = 12
  let format = null
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4)
    let size = buffer.readUInt32LE(offset + 4)
    const start = offset + 8
    if (id === 'fmt ') {
      format = {
        codec: buffer.readUInt16LE(start),
        channels: buffer.readUInt16LE(start + 2),
        rate: buffer.readUInt32LE(start + 4),
        bits: buffer.readUInt16LE(start + 14),
      }
    } else if (id === 'data') {
      if (!format) throw new Error(`${where}: WAV data before its format chunk`)
      if (format.codec !== 1 || format.channels !== 1 || format.bits !== 16 || format.rate !== SAMPLE_RATE) {
        throw new Error(`${where}: expected 16-bit mono PCM at ${SAMPLE_RATE} Hz, got ${JSON.stringify(format)}`)
      }
      size = Math.min(size, buffer.length - start) // espeak may leave a placeholder size
      size -= size % 2
      const copy = Buffer.from(buffer.subarray(start, start + size))
      return new Int16Array(copy.buffer, copy.byteOffset, size / 2)
    }
    offset = start + size + (size % 2)
  }
  throw new Error(`${where}: WAV file has no data chunk`)
}

function trimSilence(samples) {
  let a = 0
  let b = samples.length
  while (a < b && Math.abs(samples[a]) < SILENCE_THRESHOLD) a++
  while (b > a && Math.abs(samples[b - 1]) < SILENCE_THRESHOLD) b--
  // Keep a few milliseconds either side so consonant onsets and releases are not clipped.
  const pad = Math.round(0.02 * SAMPLE_RATE)
  return samples.subarray(Math.max(0, a - pad), Math.min(samples.length, b + pad))
}

function wavFile(chunks, totalSamples) {
  const dataBytes = totalSamples * 2
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(SAMPLE_RATE, 24)
  header.writeUInt32LE(SAMPLE_RATE * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(dataBytes, 40)
  return Buffer.concat([header, ...chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))])
}

/** Sentences of one spoken line; decimals like "1.2" are not split. */
function sentences(text) {
  return text
    .trim()
    .split(/(?<=[.!?])\s+(?=["'(]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter(Boolean)
}

/**
 * Synthesises the episode sentence by sentence. Returns the WAV bytes plus timings:
 * one entry per line (turn) with its sentences, all in seconds from sample counts.
 */
async function synthesise(episode, tempDir) {
  const chunks = []
  let total = 0
  const silence = (seconds) => {
    const n = Math.round(seconds * SAMPLE_RATE)
    chunks.push(new Int16Array(n))
    total += n
  }
  const seconds = (samples) => Math.round((samples / SAMPLE_RATE) * 1000) / 1000

  const lines = []
  silence(LEAD_IN_S)
  for (const [i, line] of episode.lines.entries()) {
    if (i > 0) silence(LINE_GAP_S)
    const voice = episode.speakers[line.speaker]
    const cues = []
    const lineStart = total
    for (const [j, sentence] of sentences(line.text).entries()) {
      if (j > 0) silence(SENTENCE_GAP_S)
      const textFile = path.join(tempDir, `line-${i}-${j}.txt`)
      const wav = path.join(tempDir, `line-${i}-${j}.wav`)
      await writeFile(textFile, sentence)
      await run('espeak-ng', ['-v', voice, '-s', String(SPEECH_RATE_WPM), '-w', wav, '-f', textFile])
      const samples = trimSilence(readWav(await readFile(wav), `line ${i + 1} (${line.speaker})`))
      await rm(wav)
      await rm(textFile)
      const start = total
      chunks.push(samples)
      total += samples.length
      cues.push({start: seconds(start), end: seconds(total), text: sentence})
    }
    lines.push({speaker: line.speaker, part: line.part, text: line.text.trim(), start: seconds(lineStart), end: seconds(total), cues})
  }
  silence(TAIL_S)
  return {wav: wavFile(chunks, total), duration: total / SAMPLE_RATE, lines}
}

async function encodeMp3(wavPath, mp3Path, episode) {
  const enc = episode.encoding
  const args = ['--quiet', '-m', 'm', '--resample', '22.05']
  if (enc.mode === 'cbr') args.push('--cbr', '-b', String(enc.bitrateKbps ?? 32))
  else args.push('-V', String(enc.vbrQuality ?? 9))
  if (enc.id3) args.push('--add-id3v2', '--tt', episode.title, '--ta', episode.show, '--tl', episode.show)
  args.push(wavPath, mp3Path)
  await run('lame', args)
}

// -------------------------------------------------------------------- sidecars

function vttTime(seconds) {
  const ms = Math.round(seconds * 1000)
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = Math.floor((ms % 60_000) / 1000)
  const pad = (n, w = 2) => String(n).padStart(w, '0')
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`
}

const vttEscape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function makeVtt(episode, lines) {
  const out = [`WEBVTT - ${episode.show}: ${episode.title}`, '']
  let n = 0
  for (const line of lines) {
    for (const cue of line.cues) {
      out.push(String(++n), `${vttTime(cue.start)} --> ${vttTime(cue.end)}`, `<v ${line.speaker}>${vttEscape(cue.text)}`, '')
    }
  }
  return out.join('\n')
}

function makeTranscriptJson(duration, lines) {
  const file = {
    version: 1,
    duration_seconds: Math.round(duration * 1000) / 1000,
    segments: lines.map((l) => ({start: l.start, end: l.end, speaker: l.speaker, text: l.text})),
  }
  return `${JSON.stringify(file, null, 2)}\n`
}

// ------------------------------------------------------------------------ main

async function buildPair(spec, outDir, voices) {
  const {id, paper, episode} = spec
  for (const [speaker, voice] of Object.entries(episode.speakers)) checkVoice(voice, voices, `${id}: speaker ${speaker}`)

  const tempDir = await mkdtemp(path.join(os.tmpdir(), `studio-example-${id}-`))
  try {
    const pdf = makePdf(paper)
    await writeAtomic(path.join(outDir, `${id}.pdf`), await pdf.done)

    const audio = await synthesise(episode, tempDir)
    const wavPath = path.join(tempDir, 'episode.wav')
    await writeFile(wavPath, audio.wav)
    const mp3Temp = path.join(outDir, `.${id}.mp3.${process.pid}.tmp`)
    try {
      await encodeMp3(wavPath, mp3Temp, episode)
      await rename(mp3Temp, path.join(outDir, `${id}.mp3`))
    } finally {
      await rm(mp3Temp, {force: true})
    }

    // Remove sidecars from an earlier run whose format the spec no longer asks for.
    const sidecar = episode.sidecar == null ? null : SIDECARS[episode.sidecar]
    const stale = ['vtt', 'srt', 'transcript.json'].filter(
      (ext) => !(sidecar === 'vtt' && ext === 'vtt') && !(sidecar === 'json' && ext === 'transcript.json'),
    )
    for (const ext of stale) await rm(path.join(outDir, `${id}.${ext}`), {force: true})

    if (sidecar === 'vtt') await writeAtomic(path.join(outDir, `${id}.vtt`), makeVtt(episode, audio.lines))
    if (sidecar === 'json') await writeAtomic(path.join(outDir, `${id}.transcript.json`), makeTranscriptJson(audio.duration, audio.lines))

    const cues = audio.lines.reduce((n, l) => n + l.cues.length, 0)
    console.log(
      `${id}: ${pdf.pages}-page PDF, ${audio.duration.toFixed(1)} s ${episode.encoding.mode.toUpperCase()} MP3 ` +
        `(${audio.lines.length} turns, ${cues} sentences), sidecar: ${sidecar === 'json' ? 'transcript.json' : (sidecar ?? 'none')}`,
    )
  } finally {
    await rm(tempDir, {recursive: true, force: true})
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  await checkTools()
  const voices = await espeakVoices()
  const specs = await loadSpecs(options.only)
  await mkdir(options.out, {recursive: true})
  for (const spec of specs) await buildPair(spec, options.out, voices)
  console.log(`Wrote ${specs.length} pair(s) to ${path.relative(process.cwd(), options.out) || '.'}`)
}

main().catch((error) => {
  console.error(`make-example-pairs: ${error.stack ?? error}`)
  process.exit(1)
})
