/**
 * The corpus of the real-length benchmark (bench/real-length.ts), written to a folder:
 * pairs of a 20-30 page PDF paper (11,000-15,000 words, the sections of a research paper,
 * from test/helpers/synthetic-pairs.ts, set by pdfkit in 11 pt Helvetica) and an hour-long
 * episode: a `.transcript.json` sidecar of about 9,000 words (two speakers, timed at the
 * show's pace over 60 minutes) and a silent MP3 of the same length (8 kbps, 3.6 MB; with a
 * sidecar the run reads only its headers). Deterministic for a pair's index.
 *
 * And the long episode for the transcription measurement: a silent CBR MP3 of 2 hours at
 * 112 kbps, about 100 MB.
 */
import {createWriteStream} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {once} from 'node:events'

import {buildSilentMp3, type PdfDocCtor} from '../test/helpers/media.js'
import {syntheticEpisode, syntheticPaper, type SyntheticPaper} from '../test/helpers/synthetic-pairs.js'

export interface CorpusPair {
  id: string
  paperWords: number
  pages: number
  episodeWords: number
  episodeSeconds: number
}

/** The paper's Markdown (`# title`, `## heading`, paragraphs) set as a PDF; returns the bytes and the page count. */
async function paperPdf(paper: SyntheticPaper): Promise<{bytes: Buffer; pages: number}> {
  const moduleName = 'pdfkit'
  const {default: PDFDocument} = (await import(moduleName)) as {default: PdfDocCtor}
  const epoch = new Date(Date.UTC(2024, 0, 1))
  const doc = new PDFDocument({
    size: 'A4',
    margin: 72,
    bufferPages: true,
    info: {Title: paper.title, Author: 'studio bench', CreationDate: epoch, ModDate: epoch},
  })
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  for (const block of paper.markdown.split(/\n{2,}/)) {
    const text = block.trim()
    if (!text) continue
    if (text.startsWith('# ')) doc.font('Helvetica-Bold').fontSize(17).text(text.slice(2), {align: 'center'}).moveDown(0.3)
    else if (text.startsWith('## ')) doc.moveDown(0.4).font('Helvetica-Bold').fontSize(12.5).text(text.slice(3)).moveDown(0.3)
    else doc.font('Helvetica').fontSize(11).text(text, {align: 'justify', lineGap: 3, paragraphGap: 6})
  }
  const pages = doc.bufferedPageRange().count
  doc.end()
  return {bytes: await done, pages}
}

/**
 * Writes `pairs` pairs (`paper-01.pdf`, `paper-01.transcript.json`, `paper-01.mp3`, ...).
 * Paper lengths run from 11,000 to 15,000 words; episodes are 8,600-9,400 words, each
 * timed to last 60 minutes.
 */
export async function writeRealLengthCorpus(dir: string, pairs: number): Promise<CorpusPair[]> {
  const written: CorpusPair[] = []
  for (let i = 0; i < pairs; i++) {
    const id = `paper-${String(i + 1).padStart(2, '0')}`
    const seed = 100 + i
    const paper = syntheticPaper(seed, 11_000 + Math.round((4_000 * i) / Math.max(1, pairs - 1)))
    const episodeWords = 8_600 + ((i * 97) % 800)
    // Pace chosen so that the words, the host's questions and the 0.3 s between turns fill
    // an hour: the generator times each turn at the pace and adds the pauses.
    const pause = 0.3 * (episodeWords / 45)
    const style = {wordsPerMinute: (episodeWords * 60) / (3600 - pause), questionsPerMinute: 1 + (i % 3) * 0.4}
    const episode = syntheticEpisode(paper, seed, episodeWords, style)
    const {bytes, pages} = await paperPdf(paper)
    await writeFile(path.join(dir, `${id}.pdf`), bytes)
    await writeFile(path.join(dir, `${id}.transcript.json`), `${JSON.stringify(episode, null, 2)}\n`)
    await writeFile(path.join(dir, `${id}.mp3`), buildSilentMp3(episode.duration_seconds, {sampleRate: 22050, bitrateKbps: 8}))
    written.push({
      id,
      paperWords: paper.words,
      pages,
      episodeWords: episode.segments.reduce((n, s) => n + s.text.split(/\s+/).filter(Boolean).length, 0),
      episodeSeconds: episode.duration_seconds,
    })
  }
  return written
}

/**
 * A silent MPEG-1 Layer III file of `seconds` at `kbps` (mono, 44.1 kHz), written an hour
 * at a time so the writer never holds the whole file. 2 hours at 112 kbps: 100.8 MB.
 */
export async function writeLongMp3(file: string, seconds: number, kbps = 112): Promise<number> {
  const out = createWriteStream(file)
  let bytes = 0
  // Whole frames of 1152 samples per piece, so that the pieces join into one valid stream.
  const frameSeconds = 1152 / 44100
  const pieceFrames = Math.round(3600 / frameSeconds)
  let frames = Math.round(seconds / frameSeconds)
  while (frames > 0) {
    const n = Math.min(frames, pieceFrames)
    const piece = buildSilentMp3(n * frameSeconds, {sampleRate: 44100, bitrateKbps: kbps})
    bytes += piece.length
    if (!out.write(piece)) await once(out, 'drain')
    frames -= n
  }
  out.end()
  await once(out, 'finish')
  return bytes
}
