/**
 * Token budgets per role, and the chunking that keeps a long paper within them:
 * a paper is never silently truncated (TRAINING.md, "Long papers").
 */
import type {ROLES} from '../core/schemas/common.js'

/** Roles that receive source text (paper or transcript); the refiner sees only losses and evidence. */
type BudgetRole = Exclude<(typeof ROLES)[number], 'refine'>

/** Characters per token assumed by approximateTokens: close for English prose with current tokenisers. */
export const CHARS_PER_TOKEN = 4

/** A rough token count, ceil(characters / 4): no tokeniser needed, the same for every provider. */
export function approximateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN)
}

/**
 * Tokens of source text a role may receive in one call: paper text for concepts,
 * generate and judge; transcript text for classify. Prompts, instructions and
 * answers come on top, so these stay well below models' context windows.
 */
export const DEFAULT_TOKEN_BUDGETS: Readonly<Record<BudgetRole, number>> = Object.freeze({
  classify: 60_000,
  concepts: 60_000,
  generate: 60_000,
  judge: 60_000,
})
export type TokenBudgets = Record<BudgetRole, number>

/** Overlap between consecutive chunks: a twentieth of the chunk budget, so that a concept split at a boundary is seen whole in one chunk. */
export function defaultOverlapTokens(maxTokens: number): number {
  return Math.floor(maxTokens / 20)
}

export interface Span {
  start: number
  end: number
}

/** Preferred cut points, best first: paragraph breaks, line breaks, sentence ends, spaces. */
const BOUNDARIES: readonly RegExp[] = [/\n[ \t]*\n\s*/g, /\n\s*/g, /[.!?]["'”’)\]]*\s+/g, /\s+/g]

/** Sorted offsets where a chunk may end or start (just after the boundary's white space), per level. */
function boundaryOffsets(text: string): number[][] {
  return BOUNDARIES.map((pattern) => {
    const offsets: number[] = []
    for (const match of text.matchAll(pattern)) {
      const offset = match.index + match[0].length
      if (offset > 0 && offset < text.length) offsets.push(offset)
    }
    return offsets
  })
}

/** Index of the first offset >= value (binary search). */
function lowerBound(offsets: readonly number[], value: number): number {
  let lo = 0
  let hi = offsets.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (offsets[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The largest offset in [from, to], or null. */
function lastIn(offsets: readonly number[], from: number, to: number): number | null {
  const i = lowerBound(offsets, to + 1) - 1
  return i >= 0 && offsets[i]! >= from ? offsets[i]! : null
}

/** The smallest offset in [from, to], or null. */
function firstIn(offsets: readonly number[], from: number, to: number): number | null {
  const i = lowerBound(offsets, from)
  return i < offsets.length && offsets[i]! <= to ? offsets[i]! : null
}

/**
 * Where chunkText cuts: consecutive spans of `text` of at most `maxTokens` tokens
 * each, the first starting at 0 and the last ending at the end of the text, each
 * starting before the previous one ends (about `overlapTokens` earlier).
 *
 * A chunk ends at the best boundary in the second half of its allowance (paragraph
 * break, else line break, else sentence end, else white space, else exactly at the
 * allowance); the next starts at the first sentence end (else white space) at or
 * after `overlapTokens` before that end.
 */
export function chunkSpans(text: string, maxTokens: number, overlapTokens: number): Span[] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`)
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens * 2 >= maxTokens) {
    throw new RangeError(`overlapTokens must be an integer in [0, maxTokens / 2), got ${overlapTokens} for maxTokens ${maxTokens}`)
  }
  const maxChars = maxTokens * CHARS_PER_TOKEN
  const overlapChars = overlapTokens * CHARS_PER_TOKEN
  if (text.length <= maxChars) return [{start: 0, end: text.length}]

  const levels = boundaryOffsets(text)
  const spans: Span[] = []
  let start = 0
  for (;;) {
    const limit = start + maxChars
    if (limit >= text.length) {
      spans.push({start, end: text.length})
      return spans
    }
    const floor = start + Math.ceil(maxChars / 2)
    let end = limit
    for (const offsets of levels) {
      const found = lastIn(offsets, floor, limit)
      if (found !== null) {
        end = found
        break
      }
    }
    if (end === limit && isLowSurrogate(text, end)) end-- // never split a surrogate pair
    spans.push({start, end})
    if (overlapChars === 0) {
      start = end
      continue
    }
    // floor - start > overlapChars, so the next chunk always starts after this one did.
    const target = end - overlapChars
    let next = target
    for (const offsets of levels.slice(2)) {
      const found = firstIn(offsets, target, end - 1)
      if (found !== null) {
        next = found
        break
      }
    }
    if (next === target && isLowSurrogate(text, next)) next++
    start = next
  }
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index)
  return code >= 0xdc00 && code <= 0xdfff
}

/**
 * Splits text into overlapping chunks of at most `maxTokens` tokens (by
 * approximateTokens), cut at paragraph or sentence boundaries where possible.
 * Chunks are substrings of the text, in order; together they cover all of it.
 */
export function chunkText(text: string, maxTokens: number, overlapTokens: number): string[] {
  return chunkSpans(text, maxTokens, overlapTokens).map((span) => text.slice(span.start, span.end))
}
