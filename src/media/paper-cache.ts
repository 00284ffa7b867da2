/**
 * The paper cache: a paper's extracted text (with its pages, words and title) stored under
 * the SHA-256 of the file's bytes, so that `list-pairs`, `training run` and `generate`
 * extract each file once, whatever its name or folder. The store is any ResponseCache;
 * the CLI gives a DiskCache in `<cache folder>/papers` (providers/cache.ts), which
 * `studio cache stats` and `studio cache clear` cover.
 *
 * The key also names the code that made the text: the extractor's version (pdf-parse and
 * the pdf.js it runs, mammoth) and PAPER_TEXT_VERSION for studio's own cleanup, so that a
 * changed extractor or cleanup never serves text it would not produce any more. Only
 * papers read successfully are stored: a file that fails is read again next time (most
 * failures are quick, and a timeout may be the machine's load rather than the file's fault).
 * An entry that does not parse is a miss, and the next successful read overwrites it; a
 * cache that cannot be read or written is only slower, never an error.
 */
import type {ResponseCache} from '../core/providers.js'
import type {PaperFormat} from '../core/schemas/common.js'
import {CachedPaperText} from '../core/schemas/paper-cache.js'

export type PaperTextCache = ResponseCache

/**
 * studio's part of the text: PDF cleanup (pdf-cleanup.ts), Markdown stripping, the
 * References split, the title guess and the word count. Bump it with any change to them
 * that changes what a file reads as (test/unit/paper-cache.test.ts pins their output on a
 * sample as a reminder).
 */
export const PAPER_TEXT_VERSION = 1

/** The extractors' versions, pinned in package.json; a test checks them against node_modules. */
export const EXTRACTOR_VERSIONS = {
  pdf: {'@hyzyla/pdfium': '2.1.13', 'pdf-parse': '2.4.5', 'pdfjs-dist': '5.4.296'},
  docx: {mammoth: '1.13.0'},
  txt: {},
  md: {},
} as const satisfies Record<PaperFormat, Record<string, string>>

/** The key of a file's text: its bytes' hash and format, and the versions of what read it. */
export function paperCacheKey(sha256: string, format: PaperFormat): unknown {
  return {cache: 'paper-text', sha256, format, extractor: EXTRACTOR_VERSIONS[format], studio_text: PAPER_TEXT_VERSION}
}

/** The cached text of these bytes, or null on a miss, an entry that does not parse, or a cache that cannot be read. */
export async function readCachedPaper(cache: PaperTextCache, sha256: string, format: PaperFormat): Promise<CachedPaperText | null> {
  let value: unknown
  try {
    value = await cache.get(paperCacheKey(sha256, format))
  } catch {
    return null
  }
  if (value === undefined) return null
  const parsed = CachedPaperText.safeParse(value)
  // An entry of another shape (or format) is a miss; the read that follows rewrites it.
  return parsed.success && parsed.data.format === format ? parsed.data : null
}

/** Stores a paper's text; a cache that cannot be written (full disk, no permission) is skipped. */
export async function storeCachedPaper(cache: PaperTextCache, sha256: string, text: CachedPaperText): Promise<void> {
  try {
    await cache.set(paperCacheKey(sha256, text.format), text)
  } catch {
    // The paper was read: a cache that cannot keep it only makes the next read slower.
  }
}
