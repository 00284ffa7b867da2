/**
 * Paper text from a PDF, Word (.docx), plain-text or Markdown file, with the
 * References section kept apart from the body. Formats, cleanup rules and errors
 * are documented in TRAINING.md, "Paper inputs".
 */
import {extname} from 'node:path'

import {InputError} from '../core/errors.js'
import {sha256} from '../core/hash.js'
import {cannotReadInputError, readInputFile} from '../core/input-file.js'
import type {PaperFormat} from '../core/schemas/common.js'
import type {CachedPaperText} from '../core/schemas/paper-cache.js'
import {countWords} from '../core/text.js'
import {checkPaperBytes, checkPaperPages, DEFAULT_SIZE_LIMITS, WORDS_PER_PAGE, type SizeLimits} from './limits.js'
import {stripMarkdown} from './markdown.js'
import {cleanPdfPages, normaliseLigatures, removeSoftHyphens} from './pdf-cleanup.js'
import {readCachedPaper, storeCachedPaper, type PaperTextCache} from './paper-cache.js'
import {extractPdfText, PdfExtractionError, type PdfText} from './pdf-text.js'

export interface Paper {
  path: string
  sha256: string
  format: PaperFormat
  /** Pages of a PDF; for other formats an estimate: ceil(words / WORDS_PER_PAGE), at least 1. */
  pages: number
  title: string
  /** Body text: what key concepts and generation draw on. */
  body: string
  /** The References / Bibliography section, if one was found; never scored. */
  references: string
  words: number
}

/** Extensions accepted for papers (compared case-insensitively). */
export const PAPER_EXTENSIONS = ['.pdf', '.docx', '.txt', '.md'] as const
export type PaperExtension = (typeof PAPER_EXTENSIONS)[number]

/** The format a paper path has by its extension, or null when it is not one studio reads. */
export function paperFormatOf(path: string): PaperFormat | null {
  const ext = extname(path).toLowerCase()
  return (PAPER_EXTENSIONS as readonly string[]).includes(ext) ? (ext.slice(1) as PaperFormat) : null
}

/**
 * A References heading alone on a line: "References", "REFERENCES", "References and
 * Notes", "Literature Cited", "Bibliography", "Works Cited", optionally numbered
 * ("7 References", "7. References", "VII. REFERENCES") and followed by a colon.
 */
const REFERENCES_HEADING =
  /^[ \t]*(?:(?:\d{1,2}|[ivxlc]{1,6})\.?[ \t]+|\d{1,2}\.?)?(?:references(?:[ \t]+and[ \t]+notes)?|bibliography|works[ \t]+cited|literature[ \t]+cited)[ \t]*:?[ \t]*$/gim

/** Splits at the last References heading; everything after it is kept apart. */
export function splitReferences(text: string): {body: string; references: string} {
  let last: RegExpExecArray | null = null
  for (const match of text.matchAll(REFERENCES_HEADING)) last = match
  if (!last) return {body: text.trim(), references: ''}
  return {body: text.slice(0, last.index).trim(), references: text.slice(last.index + last[0].length).trim()}
}

/**
 * A paper being read: its title as soon as the first page is extracted, and the whole
 * paper later. The transcription, which only needs the title, starts on the first.
 */
export interface PaperReading {
  /**
   * The title guessed from the first page of a PDF (from the whole text for other
   * formats). It rejects as `paper` does when the file cannot be read at all, and waits
   * for `paper` when the first page has no text (a scan, which `paper` rejects).
   */
  title: Promise<string>
  paper: Promise<Paper>
  /**
   * The SHA-256 of the file's bytes, as soon as they are read (before any extraction): a
   * resume compares it with the one its analysis recorded, and the paper is read once.
   */
  sha256: Promise<string>
}

export interface OpenPaperOptions {
  /** Where extracted texts are kept by the hash of their file (paper-cache.ts); none: every file is extracted. */
  cache?: PaperTextCache | null
  /**
   * Extract a PDF's first page ahead of the rest (its title is then known early, for the
   * transcription); false reads the whole file in one job, which is cheaper when nothing
   * waits for the title. Default true.
   */
  titleFirst?: boolean
}

/** Reads a whole paper (nothing waits for its title: the PDF is extracted in one job). */
export async function readPaper(path: string, limits: SizeLimits = DEFAULT_SIZE_LIMITS, options: OpenPaperOptions = {}): Promise<Paper> {
  return openPaper(path, limits, {titleFirst: false, ...options}).paper
}

/** A paper's text and what the page limit of a paper without pages is checked against. */
interface ReadText {
  paper: Paper
  /** All words of a paper without pages, references included (null for a PDF). */
  estimateWords: number | null
}

/**
 * Starts reading a paper. One over the size limits is refused before it is read whole:
 * by its file size before any byte is read, a PDF by its page count once its first page
 * is (its other pages are then never extracted), other formats by their words. With a
 * cache, a file whose bytes were read before is not extracted again.
 */
export function openPaper(path: string, limits: SizeLimits = DEFAULT_SIZE_LIMITS, options: OpenPaperOptions = {}): PaperReading {
  const cache = options.cache ?? null
  const format = paperFormatOf(path)
  // The hash names the paper (analysis.json) and is its cache key: computed once, here.
  const source = readPaperBytes(path, limits).then(async (data) => {
    const sha = sha256(data)
    const cached = cache && format ? await readCachedPaper(cache, sha, format) : null
    return {data, sha, cached}
  })
  const pdf = source.then(({data, cached}) =>
    format === 'pdf' && !cached ? extractPdfText(data, {maxPages: limits.maxPaperPages, titleFirst: options.titleFirst ?? true}) : null,
  )
  const read = source.then(async ({data, sha, cached}) =>
    cached ? paperFromCache(path, sha, cached, limits) : paperFromText(path, data, sha, await pdf, limits),
  )
  const title = source.then(async ({cached}) => {
    if (cached) {
      // Within the limits of this reading, as an extracted paper is.
      await read
      return cached.early_title
    }
    const text = await pdf
    if (text) {
      const first = await text.firstPage.catch(() => null)
      // The transcription waits for the title: a paper over the limit must not get that far.
      if (first) checkPaperPages(path, {pages: first.total}, limits)
      const heading = first ? guessTitle(cleanPdfPages(first.pages)) : null
      if (first && heading && heading !== UNKNOWN_TITLE) return heading
    }
    return (await read).paper.title
  })
  const paper = read.then(async ({paper, estimateWords}) => {
    if (cache && !(await source).cached) {
      const {sha256: sha, format, pages, words, title: bodyTitle, body, references} = paper
      const text = {format, pages, words, title: bodyTitle, body, references, estimate_words: estimateWords, early_title: await title}
      await storeCachedPaper(cache, sha, text)
    }
    return paper
  })
  // Callers may await either one first; neither rejection is an unhandled one meanwhile.
  // The intermediate promises are marked too: when the file cannot be read, `pdf` rejects
  // with nothing awaiting it (its consumers' callbacks never run), and the error reaches
  // the caller once, through `title` and `paper`.
  const fileSha = source.then(({sha}) => sha)
  for (const settled of [source, pdf, read, paper, title, fileSha]) settled.catch(() => {})
  return {title, paper, sha256: fileSha}
}

/** A paper from its cached text, checked against this reading's page limit as an extracted one is. */
function paperFromCache(path: string, sha: string, cached: CachedPaperText, limits: SizeLimits): ReadText {
  checkPaperPages(
    path,
    cached.estimate_words === null ? {pages: cached.pages} : {pages: cached.pages, words: cached.estimate_words},
    limits,
  )
  const {format, pages, title, body, references, words} = cached
  return {paper: {path, sha256: sha, format, pages, title, body, references, words}, estimateWords: cached.estimate_words}
}

async function readPaperBytes(path: string, limits: SizeLimits): Promise<Buffer> {
  const format = paperFormatOf(path)
  if (!format) {
    const ext = extname(path) || '(none)'
    throw new InputError(`Paper ${path} has an unsupported format: ${ext}`, {
      path,
      hint: `Use one of ${PAPER_EXTENSIONS.join(', ')}; save a .doc as .docx, or export the paper to PDF.`,
    })
  }
  const cannotRead = (error: unknown) =>
    cannotReadInputError('paper', path, error, 'Check that the file exists and that you have permission to read it.')
  // A regular file only (never a FIFO or a device, which would never end), and from its
  // size alone: a file far too large is never read into memory.
  let data: Buffer
  try {
    data = await readInputFile(path, 'Paper', (size) => checkPaperBytes(path, format, size, limits))
  } catch (error) {
    if (error instanceof InputError) throw error
    throw cannotRead(error)
  }
  if (data.length === 0) {
    throw new InputError(`Paper ${path} is empty (0 bytes)`, {
      path,
      hint: 'Replace it with the full text of the paper (PDF, .docx, .txt or .md).',
    })
  }
  return data
}

async function paperFromText(path: string, data: Buffer, sha: string, pdfText: PdfText | null, limits: SizeLimits): Promise<ReadText> {
  const format = paperFormatOf(path)!
  let text: string
  let pdfPages: number | null = null
  /** Every word of a paper without pages, references included: its page estimate. */
  let textWords = 0
  if (pdfText) {
    // Its first page gives the page count; a first page that fails fails `all` too, said below.
    const first = await pdfText.firstPage.catch(() => null)
    if (first) checkPaperPages(path, {pages: first.total}, limits)
    const pdf = await pdfText.all.catch((error: unknown) => {
      throw pdfError(path, error)
    })
    pdfPages = pdf.total
    text = cleanPdfPages(pdf.pages)
    // A letter or digit is a word: no need to count them all.
    if (!/[\p{L}\p{N}]/u.test(text)) {
      throw new InputError(`Paper ${path} has no text layer (${pdf.total} page(s), no extractable words)`, {
        path,
        hint: 'It is probably a scan: run OCR on it first (e.g. ocrmypdf in.pdf out.pdf) and use the result.',
      })
    }
  } else {
    const raw = format === 'docx' ? await readDocxText(path, data) : decodeText(path, data)
    const normalised = removeSoftHyphens(normaliseLigatures(raw.replace(/\r\n?/g, '\n')))
    text = format === 'md' ? stripMarkdown(normalised) : normalised
    textWords = countWords(text)
    checkPaperPages(path, {pages: estimatedPages(textWords), words: textWords}, limits)
    if (textWords === 0) {
      throw new InputError(`Paper ${path} contains no text`, {
        path,
        hint:
          format === 'docx'
            ? 'The document has no text paragraphs (only images?): export it to PDF with a text layer, or OCR it.'
            : 'Put the text of the paper in it.',
      })
    }
  }

  const {body, references} = splitReferences(text)
  const words = countWords(body)
  if (words === 0) {
    throw new InputError(`Paper ${path} has no text before its References heading`, {
      path,
      hint: 'Check that the file holds the paper itself, not only its bibliography.',
    })
  }
  const pages = pdfPages ?? estimatedPages(textWords)
  return {
    paper: {path, sha256: sha, format, pages, title: guessTitle(body), body, references, words},
    estimateWords: pdfPages === null ? textWords : null,
  }
}

/** The page count of a paper without pages: ceil(words / WORDS_PER_PAGE), at least 1. */
function estimatedPages(words: number): number {
  return Math.max(1, Math.ceil(words / WORDS_PER_PAGE))
}

/** The file's fault, said for that file; anything else (no worker file: a broken install) is not. */
function pdfError(path: string, error: unknown): unknown {
  if (!(error instanceof PdfExtractionError)) return error
  if (error.pdfjsName === 'PasswordException') {
    return new InputError(`Paper ${path} is encrypted with a password`, {
      path,
      hint: 'Save an unencrypted copy and use that: e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf, or print it to PDF.',
      cause: error,
    })
  }
  const stuck = error.pdfjsName === 'Timeout' || error.pdfjsName === 'WorkerCrash'
  return new InputError(`Paper ${path} is not a readable PDF: ${error.message}`, {
    path,
    hint: stuck
      ? 'The PDF reader could not get through it: print or export it to a new PDF, or replace it with its text as a .txt file of the same name.'
      : 'Re-export or re-download the PDF; the file may be truncated or not a PDF at all.',
    cause: error,
  })
}

/** Compound File Binary: an old .doc, or a password-protected .docx (Office encrypts into this container). */
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])

async function readDocxText(path: string, data: Buffer): Promise<string> {
  if (data.subarray(0, CFB_MAGIC.length).equals(CFB_MAGIC)) {
    throw new InputError(`Paper ${path} is not a .docx file: it is an old Word .doc file or a password-protected document`, {
      path,
      hint: 'Open it in Word or LibreOffice, remove any password, and save it as .docx (or export it to PDF).',
    })
  }
  // mammoth (and the zip reader it uses) loads only when a .docx is read.
  const {default: mammoth} = await import('mammoth')
  try {
    const result = await mammoth.extractRawText({buffer: data})
    return result.value
  } catch (error) {
    throw new InputError(`Paper ${path} is not a readable .docx file: ${(error as Error)?.message ?? String(error)}`, {
      path,
      hint: 'Open it in Word or LibreOffice and save it again as .docx (Word 2007 or later), or export it to PDF.',
      cause: error,
    })
  }
}

/** UTF-8 text, BOM stripped; a UTF-16 file (with its BOM) is decoded too. */
function decodeText(path: string, data: Buffer): string {
  const encoding = data[0] === 0xff && data[1] === 0xfe ? 'utf-16le' : data[0] === 0xfe && data[1] === 0xff ? 'utf-16be' : 'utf-8'
  try {
    // fatal: invalid bytes are an error, not silently replaced; the BOM is removed by default.
    return new TextDecoder(encoding, {fatal: true}).decode(data)
  } catch (error) {
    throw new InputError(`Paper ${path} is not UTF-8 text`, {
      path,
      hint: 'Re-save it with UTF-8 encoding (most editors offer it under "Save as" or "Encoding").',
      cause: error,
    })
  }
}

/** guessTitle's answer when no line looks like a title. */
export const UNKNOWN_TITLE = 'this paper'

/** Lines that end a title block: authors, affiliations, the abstract. */
const AFTER_TITLE = /^(abstract|keywords|introduction|\d+\.?\s+introduction)\b|[,@]|\d/i

/**
 * The first substantial line of the paper, which in nearly every PDF is its title,
 * joined with up to two continuation lines, since long titles wrap.
 */
export function guessTitle(body: string): string {
  // Only the lines up to the title and the two after it are looked at: not the whole paper.
  const lines: string[] = []
  let start = -1
  for (let at = 0; start < 0 || lines.length < start + 3;) {
    const end = body.indexOf('\n', at)
    const line = body
      .slice(at, end < 0 ? body.length : end)
      .trim()
      .replace(/\s+/g, ' ')
    if (start < 0 && line.length > 3) start = lines.length
    lines.push(line)
    if (end < 0) break
    at = end + 1
  }
  if (start < 0) return UNKNOWN_TITLE
  const title = [lines[start]!]
  for (const line of lines.slice(start + 1, start + 3)) {
    if (!line || line.length > 100 || AFTER_TITLE.test(line) || /[.:;!?]$/.test(title.at(-1)!)) break
    title.push(line)
  }
  return title.join(' ').slice(0, 160)
}
