/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum, matching Google's Python
 * `rouge-score` package (`rouge_scorer.RougeScorer([...]).score(target,
 * prediction)` with the default tokenizer) to floating-point equality.
 *
 * LCS lengths use bit-parallel LCS (Crochemore et al. / Hyyrö:
 * `V' = (V + (V & M)) | (V & ~M)`) on 32-bit words: O(n·m/32) time and
 * linear memory. ROUGE-Lsum needs the very LCS that rouge-score's table
 * backtracking picks, so it keeps one bit-vector per column of each sentence
 * pair and replays the same backtracking decisions from those bits.
 *
 * Speed on an hour-long pair (10,000 tokens a side, a few hundred lines; BENCHMARKS.md):
 * most of the time went to ROUGE-Lsum's sentence pairs, because function words put a
 * shared token in nearly every pair. Exact shortcuts cut it: pairs that cannot add a
 * position to a reference sentence's union are skipped, candidate tokens absent from
 * the reference sentence are collapsed into one column per run, and each reference
 * sentence gets dense per-symbol masks. ROUGE-L's steps for rare symbols touch only
 * the words they change, and the texts are tokenised in one pass.
 * test/unit/loss/rouge-fast.test.ts holds the results equal to the implementation
 * before these changes.
 */
import {formatValue, LossArgumentError} from './errors.js'
import {clamp01} from './losses.js'
import {porterStem} from './porter.js'

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
 * most m/W ≈ 32 of them); rarer symbols keep their positions only. Memory
 * stays O(m).
 */
class BitMatcher {
  readonly words: number
  /** per symbol: -1 absent, else slot */
  private readonly slotOf: Int32Array
  /** per slot: dense mask index, or -1 for sparse */
  private readonly denseOf: Int32Array
  /** per slot: positions start/end in `positions` (sparse only), ascending */
  private readonly posStart: Int32Array
  private readonly positions: Int32Array
  /** dense masks, W words each */
  private readonly masks: Int32Array

  constructor(seq: Int32Array, alphabet: number) {
    const m = seq.length
    const words = (m + 31) >>> 5
    this.words = words
    const slotOf = new Int32Array(alphabet).fill(-1)
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
    const masks = new Int32Array(dense * words)
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
  }

  /** One column: V ← (V + (V & M)) | (V & ~M). No-op if sym is absent. */
  step(V: Int32Array, sym: number): void {
    const s = this.slotOf[sym]!
    if (s < 0) return
    const words = this.words
    const d = this.denseOf[s]!
    if (d >= 0) {
      const masks = this.masks
      const base = d * words
      let carry = 0
      for (let k = 0; k < words; k++) {
        const v = V[k]!
        const mk = masks[base + k]!
        const sum = (v >>> 0) + ((v & mk) >>> 0) + carry
        carry = sum > 0xffffffff ? 1 : 0
        V[k] = sum | 0 | (v & ~mk)
      }
      return
    }
    // A word without a match position and without an incoming carry is left as it
    // was ((V + 0) | V = V), so a rare symbol costs the words of its positions and of
    // its carries instead of all W words: most steps of a long text are of rare symbols.
    const positions = this.positions
    const end = this.posStart[s + 1]!
    let p = this.posStart[s]!
    let k = positions[p]! >>> 5
    let carry = 0
    for (;;) {
      let mk = 0
      while (p < end && positions[p]! >>> 5 === k) mk |= 1 << (positions[p++]! & 31)
      const v = V[k]!
      const sum = (v >>> 0) + ((v & mk) >>> 0) + carry
      carry = sum > 0xffffffff ? 1 : 0
      V[k] = sum | 0 | (v & ~mk)
      if (carry !== 0) {
        if (++k === words) return
      } else if (p < end) k = positions[p]! >>> 5
      else return
    }
  }
}

function lcsLengthIds(a: Int32Array, b: Int32Array, alphabet: number): number {
  if (a.length > b.length) [a, b] = [b, a]
  if (a.length === 0) return 0
  const matcher = new BitMatcher(a, alphabet)
  const V = new Int32Array(matcher.words).fill(-1)
  for (let j = 0; j < b.length; j++) matcher.step(V, b[j]!)
  return zerosBefore(V, 0, a.length)
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

/** Scratch space of the sentence-pair LCS, reused for every pair. */
class LcsBuffers {
  /** the column vectors */
  readonly columns = new Buffer32()
  /** the candidate's kept columns (symbols, or GAP) */
  readonly symbols = new Buffer32()
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
 * Match masks of one ROUGE-Lsum reference sentence: W = ceil(m/32) words for each
 * distinct symbol, all dense. A sentence has tens of tokens, so that is a few words per
 * symbol, and a column step is W word operations without the sparse bookkeeping that
 * BitMatcher needs for a whole text. Reused from sentence to sentence.
 */
class SentenceMasks {
  words = 0
  masks = new Int32Array(256)

  /** `slotOf` is an all -1 array of the alphabet size, restored by release(). */
  constructor(readonly slotOf: Int32Array) {}

  load(ref: Int32Array): void {
    const W = (ref.length + 31) >>> 5
    const slotOf = this.slotOf
    let slots = 0
    for (let i = 0; i < ref.length; i++) if (slotOf[ref[i]!]! < 0) slotOf[ref[i]!] = slots++
    if (this.masks.length < slots * W) this.masks = new Int32Array(Math.max(slots * W, this.masks.length * 2))
    const masks = this.masks
    masks.fill(0, 0, slots * W)
    for (let i = 0; i < ref.length; i++) masks[slotOf[ref[i]!]! * W + (i >>> 5)]! |= 1 << (i & 31)
    this.words = W
  }

  release(ref: Int32Array): void {
    for (let i = 0; i < ref.length; i++) this.slotOf[ref[i]!] = -1
  }
}

/** Zeros of V[off ..] among bit positions [0, i): t[i][j] when V[off ..] is column j. */
function zerosBefore(V: Int32Array, off: number, i: number): number {
  let ones = 0
  const full = i >>> 5
  for (let k = 0; k < full; k++) ones += popcount32(V[off + k]!)
  const rem = i & 31
  if (rem !== 0) ones += popcount32(V[off + full]! & ((1 << rem) - 1))
  return i - ones
}

/**
 * Why candidate columns can be dropped: a candidate token absent from ref leaves the
 * column vector as it was (V_j = V_j-1), and the backtracking at such a column goes up
 * while t[i-1][j] = t[i][j] (bit i-1 of V_j is 1) and then left, on to the next column
 * at that same row, since the vector is the same there. So a run of such columns is
 * crossed exactly as one of them is, and no position is marked in it (no match). Each
 * run is therefore kept as one column of symbol -1: the same positions are marked, and
 * a pair costs steps for the candidate tokens that occur in ref, often a quarter of
 * them, instead of all.
 */
const GAP = -1

/**
 * Same result as markLcsTable, from bit-vectors: row j of `V` holds the column after
 * the j-th kept candidate column, where bit i-1 is 0 iff t[i][j] - t[i-1][j] = 1, so
 * t[i][j] = zeros of V_j among bits [0, i). Memory (|can|+1)·ceil(|ref|/32) + |can| words.
 * Returns the updated number of marked positions.
 */
function markLcsWords(sm: SentenceMasks, ref: Int32Array, can: Int32Array, marks: Uint8Array, buffers: LcsBuffers, marked: number): number {
  const W = sm.words
  const slotOf = sm.slotOf
  const masks = sm.masks
  const V = buffers.columns.get((can.length + 1) * W)
  const cols = buffers.symbols.get(can.length)
  V.fill(-1, 0, W)
  let n = 0
  for (let j = 0; j < can.length; j++) {
    const sym = can[j]!
    const s = slotOf[sym]!
    const prev = n * W
    const off = prev + W
    if (s < 0) {
      if (n > 0 && cols[n - 1] === GAP) continue
      cols[n++] = GAP
      for (let k = 0; k < W; k++) V[off + k] = V[prev + k]!
      continue
    }
    cols[n++] = sym
    const base = s * W
    let carry = 0
    for (let k = 0; k < W; k++) {
      const v = V[prev + k]!
      const mk = masks[base + k]!
      const sum = (v >>> 0) + ((v & mk) >>> 0) + carry
      carry = sum > 0xffffffff ? 1 : 0
      V[off + k] = sum | 0 | (v & ~mk)
    }
  }
  let i = ref.length
  let j = n
  let T = zerosBefore(V, j * W, i) // t[i][j]
  let L = zerosBefore(V, (j - 1) * W, i) // t[i][j-1]
  while (i > 0 && j > 0) {
    if (ref[i - 1] === cols[j - 1]) {
      if (marks[i - 1] === 0) {
        marks[i - 1] = 1
        marked++
      }
      i--
      j--
      T--
      if (j > 0) L = zerosBefore(V, (j - 1) * W, i)
      continue
    }
    const b = i - 1
    const up = T - 1 + ((V[j * W + (b >>> 5)]! >>> (b & 31)) & 1) // t[i-1][j]
    if (L > up) {
      j--
      T = L
      if (j > 0) L = zerosBefore(V, (j - 1) * W, i)
    } else {
      L = L - 1 + ((V[(j - 1) * W + (b >>> 5)]! >>> (b & 31)) & 1) // t[i-1][j-1]
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
 * markLcsWords for a reference of at most 32 tokens: one word per column and
 * `maskOf[symbol]` holding the symbol's positions in `ref`.
 */
function markLcsWord(maskOf: Int32Array, ref: Int32Array, can: Int32Array, marks: Uint8Array, buffers: LcsBuffers, marked: number): number {
  const V = buffers.columns.get(can.length + 1)
  const cols = buffers.symbols.get(can.length)
  let v = -1
  V[0] = -1
  let n = 0
  for (let j = 0; j < can.length; j++) {
    const sym = can[j]!
    const mk = maskOf[sym]!
    if (mk === 0) {
      if (n > 0 && cols[n - 1] === GAP) continue
      cols[n++] = GAP
    } else {
      cols[n++] = sym
      v = ((v >>> 0) + ((v & mk) >>> 0)) | 0 | (v & ~mk)
    }
    V[n] = v
  }
  let i = ref.length
  let j = n
  let T = zeros32(V[j]!, i) // t[i][j]
  let L = zeros32(V[j - 1]!, i) // t[i][j-1]
  while (i > 0 && j > 0) {
    if (ref[i - 1] === cols[j - 1]) {
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
      markLcsWord(maskOf, ids.a, ids.b, marks, new LcsBuffers(), 0)
    } else {
      const sm = new SentenceMasks(new Int32Array(ids.alphabet).fill(-1))
      sm.load(ids.a)
      markLcsWords(sm, ids.a, ids.b, marks, new LcsBuffers(), 0)
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

  const sentenceMasks = new SentenceMasks(new Int32Array(alphabet).fill(-1))
  const maskOf = new Int32Array(alphabet) // one-word masks for sentences of <= 32 tokens
  const stamp = new Int32Array(canSents.length).fill(-1)
  const buffers = new LcsBuffers()
  let hits = 0
  refSents.forEach((ref, ri) => {
    if (ref.length === 0) return
    const marks = new Uint8Array(ref.length)
    const short = ref.length <= 32
    if (short) for (let i = 0; i < ref.length; i++) maskOf[ref[i]!]! |= 1 << i
    else sentenceMasks.load(ref)
    let marked = 0
    // Only candidate sentences holding the token of a still unmarked position can
    // grow the union: an LCS of (ref, c) uses only positions whose token occurs in c.
    // So a position already marked when the scan reaches it does not bring its
    // candidates in; if one of them matters, another unmarked position with a token in
    // it brings it in when the scan reaches that one. Marks only grow, so every
    // candidate skipped in the end has all its LCS positions marked by others: the
    // union is the one over all pairs. Function words ("the", "of") are marked by the
    // first few candidates and then stop pulling in nearly every sentence.
    scan: for (let i = 0; i < ref.length; i++) {
      if (marks[i] !== 0) continue
      const t = ref[i]!
      for (let p = start[t]!; p < start[t + 1]!; p++) {
        const si = members[p]!
        if (stamp[si] === ri) continue
        stamp[si] = ri
        marked = short
          ? markLcsWord(maskOf, ref, canSents[si]!, marks, buffers, marked)
          : markLcsWords(sentenceMasks, ref, canSents[si]!, marks, buffers, marked)
        if (marked === ref.length) break scan // the union cannot grow any more
      }
    }
    if (short) for (let i = 0; i < ref.length; i++) maskOf[ref[i]!] = 0
    else sentenceMasks.release(ref)
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
 * Token ids of texts, as tokenizeWith would give them, with one dictionary for both
 * texts. Each distinct raw word is stemmed, checked and given its id once; then the
 * text is scanned once, character by character, instead of a regular-expression
 * replace, a split and two dictionary look-ups per token. Lower-casing the whole text
 * at once equals lower-casing each line: the only context rule of toLowerCase (Greek
 * final sigma) decides between two non-ASCII letters, and both are separators.
 */
class TokenIds {
  /** raw lower-case word -> token id, or -1 when its token is dropped */
  private readonly idOfRaw = new Map<string, number>()
  /** token -> id (several raw words may stem to one token) */
  private readonly idOfToken = new Map<string, number>()

  constructor(private readonly stem: boolean) {}

  get alphabet(): number {
    return this.idOfToken.size
  }

  private id(raw: string): number {
    let id = this.idOfRaw.get(raw)
    if (id === undefined) {
      const token = this.stem && raw.length > 3 ? porterStem(raw) : raw
      id = -1
      if (VALID_TOKEN.test(token)) {
        id = this.idOfToken.get(token) ?? this.idOfToken.size
        this.idOfToken.set(token, id)
      }
      this.idOfRaw.set(raw, id)
    }
    return id
  }

  /** Sentences are the lines with at least one token: "\n" also separates tokens. */
  prepare(text: string): Prepared {
    const lower = text.toLowerCase()
    let ids = new Int32Array(Math.max(16, lower.length >>> 2))
    let total = 0
    const ends: number[] = []
    let start = -1
    for (let i = 0; i <= lower.length; i++) {
      const c = i < lower.length ? lower.charCodeAt(i) : 10
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
        if (start < 0) start = i
        continue
      }
      if (start >= 0) {
        const id = this.id(lower.slice(start, i))
        start = -1
        if (id >= 0) {
          if (total === ids.length) {
            const grown = new Int32Array(total * 2)
            grown.set(ids)
            ids = grown
          }
          ids[total++] = id
        }
      }
      if (c === 10 && total > (ends.at(-1) ?? 0)) ends.push(total)
    }
    const tokens = ids.slice(0, total)
    const sentences: Int32Array[] = []
    let from = 0
    for (const end of ends) {
      sentences.push(tokens.subarray(from, end))
      from = end
    }
    return {sentences, tokens}
  }
}

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

  const ids = new TokenIds(stem)
  const t = ids.prepare(target)
  const p = ids.prepare(prediction)
  const alphabet = ids.alphabet
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
