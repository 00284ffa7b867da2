/** Line diff of two prompts for the HTML report, on top of jsdiff. */
import {diffLines} from 'diff'

export type DiffLineKind = 'same' | 'added' | 'removed'

export interface DiffLine {
  kind: DiffLineKind
  text: string
}

/** A hidden run of unchanged lines between the shown context lines. */
export interface DiffGap {
  kind: 'gap'
  lines: number
}

function splitLines(value: string): string[] {
  const lines = value.split('\n')
  // jsdiff keeps each line's newline; the last piece after it is empty.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** Every line of `after`, and the removed lines of `before`, in reading order. */
export function lineDiff(before: string, after: string): DiffLine[] {
  // Without a final newline, a last line that gains a successor would count as changed.
  const withNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`)
  return diffLines(withNewline(before), withNewline(after)).flatMap((change) => {
    const kind: DiffLineKind = change.added ? 'added' : change.removed ? 'removed' : 'same'
    return splitLines(change.value).map((text) => ({kind, text}))
  })
}

/** Keeps `context` unchanged lines around each change and folds longer unchanged runs into gaps. */
export function withContext(lines: DiffLine[], context = 2): Array<DiffLine | DiffGap> {
  const keep = lines.map((line) => line.kind !== 'same')
  lines.forEach((line, i) => {
    if (line.kind === 'same') return
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep[j] = true
  })
  const out: Array<DiffLine | DiffGap> = []
  let hidden = 0
  lines.forEach((line, i) => {
    if (keep[i]) {
      if (hidden > 0) out.push({kind: 'gap', lines: hidden})
      hidden = 0
      out.push(line)
    } else {
      hidden++
    }
  })
  if (hidden > 0) out.push({kind: 'gap', lines: hidden})
  return out
}
