/**
 * The ROUGE implementation as it was before issue 18 part 3 (commit 031d78a), kept
 * unchanged as the reference that the faster src/loss/rouge.ts must equal exactly
 * (test/unit/loss/rouge-fast.test.ts). Its own exactness against rouge-score is
 * checked by test/unit/loss/rouge.test.ts's fixed expectations.
 */
/* The original header follows.
 *
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum, matching Google's Python
 * `rouge-score` package (`rouge_scorer.RougeScorer([...]).score(target,
 * prediction)` with the default tokenizer) to floating-point equality.
 *
 * LCS lengths use bit-parallel LCS (Crochemore et al. / Hyyrö:
 * `V' = (V + (V & M)) | (V & ~M)`) on 32-bit words: O(n·m/32) time and
 * linear memory. ROUGE-Lsum needs the very LCS that rouge-score's table
 * backtracking picks, so it keeps one bit-vector per column of each sentence
 * pair and replays the same backtracking decisions from those bits.
 */
import {formatValue, LossArgumentError} from '../../../src/loss/errors.js'
import {clamp01} from '../../../src/loss/losses.js'
import {porterStem} from '../../../src/loss/porter.js'

export type RougeScore = {precision: number; recall: number; fmeasure: number}
export type RougeScores = {rouge1: RougeScore; rouge2: RougeScore; rougeL: RougeScore; rougeLsum: RougeScore}
export type RougeOptions = {stem?: boolean}

// ---------------------------------------------------------------------------
// Tokenisation (rouge/tokenize.py)

const NON_ALNUM = /[^a-z0-9]+/g
const VALID_TOKEN = /^[a-z0-9]+$/

function resolveStem(fn: string, options: RougeOptions | undefined): boolean {
  if (options === undefined) return false
  if (typeof options !== 'object' || options === null) {
    throw new LossArgumentError(`${fn}: options must be an object like {stem: true}, got ${formatValue(options)}`)
  }
  const {stem} = options
  if (stem !== undefined && typeof stem !== 'boolean') {
    throw new LossArgumentError(`${fn}: options.stem must be a boolean, got ${formatValue(stem)}`)
  }
  return stem ?? false
}

function requireText(fn: string, name: string, value: unknown): string {
  if (typeof value !== 'string') throw new LossArgumentError(`${fn}: ${name} must be a string, got ${formatValue(value)}`)
  return value
}

/** Tokenise with an optional per-call stem cache (null = no stemming). */
function tokenizeWith(text: string, stemCache: Map<string, string> | null): string[] {
  const out: string[] = []
  for (const raw of text.toLowerCase().replace(NON_ALNUM, ' ').split(' ')) {
    let token = raw
    if (stemCache !== null && raw.length > 3) {
      let stemmed = stemCache.get(raw)
      if (stemmed === undefined) {
        stemmed = porterStem(raw)
        stemCache.set(raw, stemmed)
      }
      token = stemmed
    }
    if (VALID_TOKEN.test(token)) out.push(token)
  }
  return out
}

/**
 * rouge-score's DefaultTokenizer: lower-case; replace every run of characters
 * outside [a-z0-9] with a space (so non-ASCII letters separate words);
 * split on whitespace; if `stem`, replace tokens longer than 3 characters
 * with their NLTK Porter stem; keep tokens matching ^[a-z0-9]+$.
 */
export function tokenize(text: string, options?: RougeOptions): string[] {
  const stem = resolveStem('tokenize', options)
  return tokenizeWith(requireText('tokenize', 'text', text), stem ? new Map() : null)
}

// ---------------------------------------------------------------------------
// Scores

function fmeasure(precision: number, recall: number): number {
  // scoring.fmeasure, same operation order as the Python.
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0
}

function score(precision: number, recall: number): RougeScore {
  return {precision, recall, fmeasure: fmeasure(precision, recall)}
}

const ZERO: Readonly<RougeScore> = Object.freeze({precision: 0, recall: 0, fmeasure: 0})

/** _score_ngrams: clipped overlap over max(count, 1). */
function ngramScore(overlap: number, targetCount: number, predictionCount: number): RougeScore {
  return score(overlap / Math.max(predictionCount, 1), overlap / Math.max(targetCount, 1))
}

function unigramOverlap(target: Int32Array, prediction: Int32Array, alphabet: number): number {
  const counts = new Int32Array(alphabet)
  for (let i = 0; i < target.length; i++) counts[target[i]!]!++
  let overlap = 0
  for (let i = 0; i < prediction.length; i++) {
    const id = prediction[i]!
    if (counts[id]! > 0) {
      counts[id]!--
      overlap++
    }
  }
  return overlap
}

function bigramOverlap(target: Int32Array, prediction: Int32Array, alphabet: number): number {
  const counts = new Map<number, number>()
  for (let i = 0; i + 1 < target.length; i++) {
    const key = target[i]! * alphabet + target[i + 1]!
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  let overlap = 0
  for (let i = 0; i + 1 < prediction.length; i++) {
    const key = prediction[i]! * alphabet + prediction[i + 1]!
    const c = counts.get(key)
    if (c !== undefined && c > 0) {
      counts.set(key, c - 1)
      overlap++
    }
  }
  return overlap
}

// ---------------------------------------------------------------------------
// Bit-parallel LCS

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  x = (x + (x >>> 4)) & 0x0f0f0f0f
  return Math.imul(x, 0x01010101) >>> 24
}

/**
 * Match masks of one sequence (the "bit side", length m, W = ceil(m/32)
 * words). A symbol occurring at least W times gets a dense mask (there are at
 * most m/W ≈ 32 of them); rarer symbols keep their positions and are written
 * into a scratch mask for each step and erased after it. Memory stays O(m)
 * and each step costs O(W).
 */
class BitMatcher {
  readonly m: number
  readonly words: number
  /** per symbol: -1 absent, else slot */
  private readonly slotOf: Int32Array
  /** per slot: dense mask index, or -1 for sparse */
  private readonly denseOf: Int32Array
  /** per slot: positions start/end in `positions` (sparse only) */
  private readonly posStart: Int32Array
  private readonly positions: Int32Array
  /** dense masks then one scratch mask, W words each */
  private readonly masks: Int32Array
  private readonly scratch: number

  /** `slotOf` must be an all -1 array of the alphabet size; it is restored by release(). */
  constructor(
    private readonly seq: Int32Array,
    slotOf: Int32Array,
  ) {
    const m = seq.length
    const words = (m + 31) >>> 5
    this.m = m
    this.words = words
    this.slotOf = slotOf
    let slots = 0
    const slotSeq = new Int32Array(m)
    for (let i = 0; i < m; i++) {
      const sym = seq[i]!
      let s = slotOf[sym]!
      if (s < 0) {
        s = slots++
        slotOf[sym] = s
      }
      slotSeq[i] = s
    }
    const occ = new Int32Array(slots + 1)
    for (let i = 0; i < m; i++) occ[slotSeq[i]!]!++
    const denseOf = new Int32Array(slots).fill(-1)
    let dense = 0
    for (let s = 0; s < slots; s++) if (occ[s]! >= words) denseOf[s] = dense++
    const masks = new Int32Array((dense + 1) * words)
    // CSR positions for sparse slots
    const posStart = new Int32Array(slots + 1)
    for (let s = 0; s < slots; s++) posStart[s + 1] = posStart[s]! + (denseOf[s]! < 0 ? occ[s]! : 0)
    const positions = new Int32Array(posStart[slots]!)
    const fill = posStart.slice(0, slots)
    for (let i = 0; i < m; i++) {
      const s = slotSeq[i]!
      const d = denseOf[s]!
      if (d >= 0) masks[d * words + (i >>> 5)]! |= 1 << (i & 31)
      else positions[fill[s]!++] = i
    }
    this.denseOf = denseOf
    this.posStart = posStart
    this.positions = positions
    this.masks = masks
    this.scratch = dense * words
  }

  /** Restore the shared slotOf array to all -1. */
  release(): void {
    for (let i = 0; i < this.seq.length; i++) this.slotOf[this.seq[i]!] = -1
  }

  /** Does the bit side contain this symbol? */
  has(sym: number): boolean {
    return this.slotOf[sym]! >= 0
  }

  /** One column: V ← (V + (V & M)) | (V & ~M) on V[off .. off+W). No-op if sym is absent. */
  step(V: Int32Array, off: number, sym: number): void {
    const s = this.slotOf[sym]!
    if (s < 0) return
    const words = this.words
    const masks = this.masks
    const d = this.denseOf[s]!
    let base: number
    let from = 0
    let to = 0
    if (d >= 0) base = d * words
    else {
      base = this.scratch
      from = this.posStart[s]!
      to = this.posStart[s + 1]!
      for (let p = from; p < to; p++) {
        const i = this.positions[p]!
        masks[base + (i >>> 5)]! |= 1 << (i & 31)
      }
    }
    let carry = 0
    for (let k = 0; k < words; k++) {
      const v = V[off + k]!
      const mk = masks[base + k]!
      const sum = (v >>> 0) + ((v & mk) >>> 0) + carry
      carry = sum > 0xffffffff ? 1 : 0
      V[off + k] = sum | 0 | (v & ~mk)
    }
    for (let p = from; p < to; p++) masks[base + (this.positions[p]! >>> 5)] = 0
  }

  /** Number of zero bits of V[off ..] among bit positions [0, i): the LCS of seq[0..i) with the columns so far. */
  zerosBefore(V: Int32Array, off: number, i: number): number {
    let ones = 0
    const full = i >>> 5
    for (let k = 0; k < full; k++) ones += popcount32(V[off + k]!)
    const rem = i & 31
    if (rem !== 0) ones += popcount32(V[off + full]! & ((1 << rem) - 1))
    return i - ones
  }
}

function lcsLengthIds(a: Int32Array, b: Int32Array, alphabet: number): number {
  if (a.length > b.length) [a, b] = [b, a]
  if (a.length === 0) return 0
  const matcher = new BitMatcher(a, new Int32Array(alphabet).fill(-1))
  const V = new Int32Array(matcher.words).fill(-1)
  for (let j = 0; j < b.length; j++) matcher.step(V, 0, b[j]!)
  return matcher.zerosBefore(V, 0, a.length)
}

/** Map arbitrary integer sequences to dense ids 0..k-1. */
function toIds(a: ArrayLike<number>, b: ArrayLike<number>): {a: Int32Array; b: Int32Array; alphabet: number} {
  const ids = new Map<number, number>()
  const convert = (xs: ArrayLike<number>, name: string): Int32Array => {
    const out = new Int32Array(xs.length)
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!
      if (typeof x !== 'number' || Number.isNaN(x)) {
        throw new LossArgumentError(`lcsLength: ${name}[${i}] must be a number, got ${formatValue(x)}`)
      }
      let id = ids.get(x)
      if (id === undefined) {
        id = ids.size
        ids.set(x, id)
      }
      out[i] = id
    }
    return out
  }
  const ca = convert(a, 'a')
  const cb = convert(b, 'b')
  return {a: ca, b: cb, alphabet: ids.size}
}

/**
 * Length of a longest common subsequence of two integer sequences
 * (bit-parallel, O(n·m/32) time, O(n+m) memory). Exported for tests.
 */
export function lcsLength(a: Int32Array | readonly number[], b: Int32Array | readonly number[]): number {
  if (!(a instanceof Int32Array) && !Array.isArray(a))
    throw new LossArgumentError(`lcsLength: a must be an array of numbers, got ${formatValue(a)}`)
  if (!(b instanceof Int32Array) && !Array.isArray(b))
    throw new LossArgumentError(`lcsLength: b must be an array of numbers, got ${formatValue(b)}`)
  const ids = toIds(a, b)
  return lcsLengthIds(ids.a, ids.b, ids.alphabet)
}

// ---------------------------------------------------------------------------
// LCS positions with rouge-score's backtracking (lcs_ind / _backtrack_norec)

/** Reusable buffer that grows on demand. */
class Buffer32 {
  data = new Int32Array(1024)
  get(size: number): Int32Array {
    if (this.data.length < size) this.data = new Int32Array(Math.max(size, this.data.length * 2))
    return this.data
  }
}

/**
 * Mark in `marks` the positions of `ref` that rouge-score's `lcs_ind(ref, can)`
 * returns, with the full (|ref|+1)×(|can|+1) table. Reference implementation.
 */
function markLcsTable(ref: Int32Array, can: Int32Array, marks: Uint8Array, buffer: Buffer32): void {
  const rows = ref.length
  const cols = can.length + 1
  const t = buffer.get((rows + 1) * cols)
  t.fill(0, 0, cols)
  for (let i = 1; i <= rows; i++) {
    const row = i * cols
    const prev = row - cols
    const r = ref[i - 1]!
    t[row] = 0
    for (let j = 1; j < cols; j++) {
      if (r === can[j - 1]) t[row + j] = t[prev + j - 1]! + 1
      else {
        const up = t[prev + j]!
        const left = t[row + j - 1]!
        t[row + j] = up > left ? up : left
      }
    }
  }
  let i = rows
  let j = can.length
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      marks[i - 1] = 1
      i--
      j--
    } else if (t[i * cols + j - 1]! > t[(i - 1) * cols + j]!) j--
    else i--
  }
}

/**
 * Same result as markLcsTable, from bit-vectors: row j of `cols` holds V after
 * j columns, where bit i-1 is 0 iff t[i][j] - t[i-1][j] = 1, so
 * t[i][j] = zeros of V_j among bits [0, i). Memory (|can|+1)·ceil(|ref|/32) words.
 */
function markLcsBits(matcher: BitMatcher, ref: Int32Array, can: Int32Array, marks: Uint8Array, buffer: Buffer32, marked = 0): number {
  const W = matcher.words
  const n = can.length
  const V = buffer.get((n + 1) * W)
  V.fill(-1, 0, W)
  for (let j = 1; j <= n; j++) {
    const off = j * W
    V.copyWithin(off, off - W, off)
    matcher.step(V, off, can[j - 1]!)
  }
  const bit = (j: number, i: number): number => (V[j * W + (i >>> 5)]! >>> (i & 31)) & 1
  let i = ref.length
  let j = n
  let T = matcher.zerosBefore(V, j * W, i) // t[i][j]
  let L = matcher.zerosBefore(V, (j - 1) * W, i) // t[i][j-1]
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      if (marks[i - 1] === 0) {
        marks[i - 1] = 1
        marked++
      }
      i--
      j--
      T--
      if (j > 0) L = matcher.zerosBefore(V, (j - 1) * W, i)
      continue
    }
    const up = T - 1 + bit(j, i - 1) // t[i-1][j]
    if (L > up) {
      j--
      T = L
      if (j > 0) L = matcher.zerosBefore(V, (j - 1) * W, i)
    } else {
      L = L - 1 + bit(j - 1, i - 1) // t[i-1][j-1]
      T = up
      i--
    }
  }
  return marked
}

/** Zeros of v among bits [0, i), for 0 <= i <= 32. */
function zeros32(v: number, i: number): number {
  return i - popcount32(i === 32 ? v : v & ((1 << i) - 1))
}

/**
 * markLcsBits for a reference of at most 32 tokens: one word per column and
 * `maskOf[symbol]` holding the symbol's positions in `ref`. Returns the
 * updated number of marked positions.
 */
function markLcsWord(maskOf: Int32Array, ref: Int32Array, can: Int32Array, marks: Uint8Array, buffer: Buffer32, marked: number): number {
  const n = can.length
  const V = buffer.get(n + 1)
  let v = -1
  V[0] = -1
  for (let j = 1; j <= n; j++) {
    const mk = maskOf[can[j - 1]!]!
    if (mk !== 0) v = ((v >>> 0) + ((v & mk) >>> 0)) | 0 | (v & ~mk)
    V[j] = v
  }
  let i = ref.length
  let j = n
  let T = zeros32(V[j]!, i) // t[i][j]
  let L = zeros32(V[j - 1]!, i) // t[i][j-1]
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      if (marks[i - 1] === 0) {
        marks[i - 1] = 1
        marked++
      }
      i--
      j--
      T--
      if (j > 0) L = zeros32(V[j - 1]!, i)
      continue
    }
    const up = T - 1 + ((V[j]! >>> (i - 1)) & 1) // t[i-1][j]
    if (L > up) {
      j--
      T = L
      if (j > 0) L = zeros32(V[j - 1]!, i)
    } else {
      L = L - 1 + ((V[j - 1]! >>> (i - 1)) & 1) // t[i-1][j-1]
      T = up
      i--
    }
  }
  return marked
}

/**
 * Sorted positions in `ref` of the LCS that rouge-score's `lcs_ind(ref, can)`
 * picks (table backtracking: diagonal on a match, else left if
 * t[i][j-1] > t[i-1][j], else up). `method` chooses the full-table reference
 * implementation or the bit-vector one used by rougeScores. Exported for tests.
 */
export function lcsIndices(
  ref: Int32Array | readonly number[],
  can: Int32Array | readonly number[],
  method: 'bits' | 'table' = 'bits',
): number[] {
  const ids = toIds(ref, can)
  const marks = new Uint8Array(ids.a.length)
  if (ids.a.length > 0 && ids.b.length > 0) {
    if (method === 'table') markLcsTable(ids.a, ids.b, marks, new Buffer32())
    else if (ids.a.length <= 32) {
      const maskOf = new Int32Array(ids.alphabet)
      ids.a.forEach((sym, i) => {
        maskOf[sym]! |= 1 << i
      })
      markLcsWord(maskOf, ids.a, ids.b, marks, new Buffer32(), 0)
    } else {
      const matcher = new BitMatcher(ids.a, new Int32Array(ids.alphabet).fill(-1))
      markLcsBits(matcher, ids.a, ids.b, marks, new Buffer32())
    }
  }
  const out: number[] = []
  marks.forEach((x, i) => {
    if (x) out.push(i)
  })
  return out
}

/** _summary_level_lcs with union LCS and double-counting prevention. */
function summaryLevelLcs(refSents: Int32Array[], canSents: Int32Array[], alphabet: number): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return {...ZERO}
  let m = 0
  let n = 0
  for (const s of refSents) m += s.length
  for (const s of canSents) n += s.length
  if (m === 0 || n === 0) return {...ZERO}

  const cntR = new Int32Array(alphabet)
  const cntC = new Int32Array(alphabet)
  for (const s of refSents) for (let i = 0; i < s.length; i++) cntR[s[i]!]!++
  for (const s of canSents) for (let i = 0; i < s.length; i++) cntC[s[i]!]!++

  // Inverted index symbol -> candidate sentences containing it: pairs that
  // share no token have an empty LCS and are skipped.
  const start = new Int32Array(alphabet + 1)
  const seen = new Int32Array(alphabet).fill(-1)
  canSents.forEach((s, si) => {
    for (let i = 0; i < s.length; i++) {
      const t = s[i]!
      if (seen[t] !== si) {
        seen[t] = si
        start[t + 1]!++
      }
    }
  })
  for (let t = 0; t < alphabet; t++) start[t + 1]! += start[t]!
  const members = new Int32Array(start[alphabet]!)
  const fill = start.slice(0, alphabet)
  seen.fill(-1)
  canSents.forEach((s, si) => {
    for (let i = 0; i < s.length; i++) {
      const t = s[i]!
      if (seen[t] !== si) {
        seen[t] = si
        members[fill[t]!++] = si
      }
    }
  })

  const slotOf = new Int32Array(alphabet).fill(-1)
  const maskOf = new Int32Array(alphabet) // one-word masks for sentences of <= 32 tokens
  const stamp = new Int32Array(canSents.length).fill(-1)
  const buffer = new Buffer32()
  let hits = 0
  refSents.forEach((ref, ri) => {
    if (ref.length === 0) return
    const marks = new Uint8Array(ref.length)
    const short = ref.length <= 32
    let matcher: BitMatcher | null = null
    if (short) for (let i = 0; i < ref.length; i++) maskOf[ref[i]!]! |= 1 << i
    else matcher = new BitMatcher(ref, slotOf)
    let marked = 0
    scan: for (let i = 0; i < ref.length; i++) {
      const t = ref[i]!
      for (let p = start[t]!; p < start[t + 1]!; p++) {
        const si = members[p]!
        if (stamp[si] === ri) continue
        stamp[si] = ri
        marked =
          matcher === null
            ? markLcsWord(maskOf, ref, canSents[si]!, marks, buffer, marked)
            : markLcsBits(matcher, ref, canSents[si]!, marks, buffer, marked)
        if (marked === ref.length) break scan // the union cannot grow any more
      }
    }
    if (short) for (let i = 0; i < ref.length; i++) maskOf[ref[i]!] = 0
    else matcher?.release()
    for (let i = 0; i < ref.length; i++) {
      if (marks[i] === 0) continue
      const t = ref[i]!
      if (cntC[t]! > 0 && cntR[t]! > 0) {
        hits++
        cntC[t]!--
        cntR[t]!--
      }
    }
  })
  return score(hits / n, hits / m)
}

// ---------------------------------------------------------------------------
// Public API

type Prepared = {sentences: Int32Array[]; tokens: Int32Array}

/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum of `prediction` against `target`,
 * equal to rouge-score's `RougeScorer(['rouge1','rouge2','rougeL','rougeLsum'],
 * use_stemmer=stem).score(target, prediction)`. For ROUGE-Lsum, sentences are
 * the non-empty lines of each text (split on "\n").
 * @param options.stem Porter-stem tokens longer than 3 characters (default false).
 */
export function rougeScores(target: string, prediction: string, options?: RougeOptions): RougeScores {
  const fn = 'rougeScores'
  const stem = resolveStem(fn, options)
  requireText(fn, 'target', target)
  requireText(fn, 'prediction', prediction)

  const cache = stem ? new Map<string, string>() : null
  const vocab = new Map<string, number>()
  // Tokens of the whole text = concatenation of the tokens of its lines,
  // because "\n" is itself a separator; tokenise once per line.
  const prepare = (text: string): Prepared => {
    const sentences: Int32Array[] = []
    let total = 0
    for (const line of text.split('\n')) {
      if (line.length === 0) continue
      const words = tokenizeWith(line, cache)
      if (words.length === 0) continue // contributes nothing to any score
      const ids = new Int32Array(words.length)
      words.forEach((w, i) => {
        let id = vocab.get(w)
        if (id === undefined) {
          id = vocab.size
          vocab.set(w, id)
        }
        ids[i] = id
      })
      sentences.push(ids)
      total += ids.length
    }
    const tokens = new Int32Array(total)
    let off = 0
    for (const s of sentences) {
      tokens.set(s, off)
      off += s.length
    }
    return {sentences, tokens}
  }
  const t = prepare(target)
  const p = prepare(prediction)
  const alphabet = vocab.size
  const nt = t.tokens.length
  const np = p.tokens.length

  const rouge1 = ngramScore(unigramOverlap(t.tokens, p.tokens, alphabet), nt, np)
  const rouge2 = ngramScore(bigramOverlap(t.tokens, p.tokens, alphabet), Math.max(nt - 1, 0), Math.max(np - 1, 0))
  let rougeL: RougeScore = {...ZERO}
  if (nt > 0 && np > 0) {
    const lcs = lcsLengthIds(t.tokens, p.tokens, alphabet)
    rougeL = score(lcs / np, lcs / nt)
  }
  const rougeLsum = summaryLevelLcs(t.sentences, p.sentences, alphabet)
  return {rouge1, rouge2, rougeL, rougeLsum}
}

/**
 * `1 - mean(rouge1.fmeasure, rouge2.fmeasure, rougeL.fmeasure)`, clamped to [0, 1].
 * @throws LossArgumentError if one of those F-measures is not a number in [0, 1].
 */
export function rougeLossFromScores(s: RougeScores): number {
  const fn = 'rougeLossFromScores'
  if (typeof s !== 'object' || s === null) throw new LossArgumentError(`${fn}: scores must be an object, got ${formatValue(s)}`)
  let sum = 0
  for (const key of ['rouge1', 'rouge2', 'rougeL'] as const) {
    const f: unknown = (s[key] as RougeScore | undefined)?.fmeasure
    if (typeof f !== 'number' || Number.isNaN(f) || f < 0 || f > 1) {
      throw new LossArgumentError(`${fn}: ${key}.fmeasure must be a number in [0, 1], got ${formatValue(f)}`)
    }
    sum += f
  }
  return clamp01(1 - sum / 3)
}

/** `rougeLossFromScores(rougeScores(target, prediction, options))`. */
export function rougeLoss(target: string, prediction: string, options?: RougeOptions): number {
  return rougeLossFromScores(rougeScores(target, prediction, options))
}
