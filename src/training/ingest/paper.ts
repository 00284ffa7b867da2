/** Paper text from a PDF, with the References section kept apart from the body. */
import {readFile} from 'node:fs/promises'

import {InputError} from '../errors.js'
import {sha256} from '../hash.js'
import {countWords} from '../text.js'

export interface Paper {
  path: string
  sha256: string
  pages: number
  title: string
  /** Body text: what key concepts and generation draw on. */
  body: string
  /** The References / Bibliography section, if one was found; never scored. */
  references: string
  words: number
}

const REFERENCES_HEADING = /^\s*(?:\d+\.?\s*)?(?:references|bibliography|works cited)\s*$/gim
const PAGE_NUMBER_LINE = /^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|\/)\s*\d{1,4})?\s*$/gim

export function splitReferences(text: string): {body: string; references: string} {
  let last: RegExpExecArray | null = null
  for (const match of text.matchAll(REFERENCES_HEADING)) last = match as RegExpExecArray
  if (!last) return {body: text.trim(), references: ''}
  return {body: text.slice(0, last.index).trim(), references: text.slice(last.index + last[0].length).trim()}
}

export async function readPaper(path: string): Promise<Paper> {
  let data: Buffer
  try {
    data = await readFile(path)
  } catch (error) {
    throw new InputError(`Cannot read paper ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      path,
      hint: 'Check that the file exists and that you have permission to read it.',
    })
  }
  if (data.length === 0) {
    throw new InputError(`Paper ${path} is empty (0 bytes)`, {path, hint: 'Replace it with the full PDF of the paper.'})
  }
  const hash = sha256(data)
  // pdf-parse pulls in pdf.js: loaded here, not at CLI start-up.
  const {PDFParse} = await import('pdf-parse')
  const parser = new PDFParse({data: new Uint8Array(data)})
  let text: string
  let pages: number
  try {
    const result = await parser.getText({pageJoiner: ''})
    text = result.text
    pages = result.total
  } catch (error) {
    const name = (error as Error)?.name ?? ''
    if (name === 'PasswordException') {
      throw new InputError(`Paper ${path} is encrypted with a password`, {path, hint: 'Save an unencrypted copy (e.g. print to PDF) and use that.', cause: error})
    }
    throw new InputError(`Paper ${path} is not a readable PDF: ${(error as Error)?.message ?? String(error)}`, {
      path,
      hint: 'Re-export or re-download the PDF; the file may be truncated or not a PDF at all.',
      cause: error,
    })
  } finally {
    await parser.destroy()
  }
  const cleaned = text.replace(PAGE_NUMBER_LINE, '').replace(/\r\n?/g, '\n')
  const {body, references} = splitReferences(cleaned)
  const words = countWords(body)
  if (words === 0) {
    throw new InputError(`Paper ${path} has no text layer (${pages} page(s), no extractable words)`, {
      path,
      hint: 'It is probably a scan: run OCR on it first (e.g. ocrmypdf in.pdf out.pdf) and use the result.',
    })
  }
  return {path, sha256: hash, pages, title: guessTitle(body), body, references, words}
}

/** Lines that end a title block: authors, affiliations, the abstract. */
const AFTER_TITLE = /^(abstract|keywords|introduction|\d+\.?\s+introduction)\b|[,@]|\d/i

/**
 * The first substantial line of the paper, which in nearly every PDF is its title,
 * joined with up to two continuation lines, since long titles wrap.
 */
export function guessTitle(body: string): string {
  const lines = body.split('\n').map((l) => l.trim().replace(/\s+/g, ' '))
  const start = lines.findIndex((l) => l.length > 3)
  if (start < 0) return 'this paper'
  const title = [lines[start]!]
  for (const line of lines.slice(start + 1, start + 3)) {
    if (!line || line.length > 100 || AFTER_TITLE.test(line) || /[.:;!?]$/.test(title.at(-1)!)) break
    title.push(line)
  }
  return title.join(' ').slice(0, 160)
}
