/**
 * Splits a paper body into the parts a podcast talks about, by its section
 * headings, falling back to position when a paper has none that we recognise.
 */
import type {SegmentLabel} from '../../core/schemas/common.js'
import {sentences} from '../../core/text.js'

export type PaperPart = Exclude<SegmentLabel, 'outro'>

const HEADINGS: Array<[PaperPart, RegExp]> = [
  ['intro', /^abstract$/i],
  ['background', /^(introduction|background|related work|motivation|preliminaries|problem statement)$/i],
  ['method', /^(methods?|methodology|approach|model|system design|design|materials and methods|experimental setup|setup|architecture)$/i],
  ['findings', /^(results?|experiments?|evaluation|findings|empirical results)$/i],
  ['discussion', /^(discussion|limitations|conclusions?|future work|discussion and limitations|conclusion and future work)$/i],
]

function headingLabel(line: string): PaperPart | null {
  const text = line
    .trim()
    .replace(/^(?:\d+(?:\.\d+)*|[IVX]+)\.?\s+/, '')
    .replace(/[:.]$/, '')
  if (text.length > 40) return null
  for (const [label, pattern] of HEADINGS) if (pattern.test(text)) return label
  return null
}

export interface PaperSentence {
  index: number
  text: string
  part: PaperPart
}

export function paperSentences(body: string): PaperSentence[] {
  const parts: Array<{part: PaperPart; text: string[]}> = [{part: 'intro', text: []}]
  let sawHeading = false
  for (const line of body.split('\n')) {
    const label = headingLabel(line)
    if (label) {
      sawHeading = true
      parts.push({part: label, text: []})
    } else {
      parts.at(-1)!.text.push(line)
    }
  }
  const result: PaperSentence[] = []
  for (const {part, text} of parts) {
    for (const sentence of sentences(text.join('\n'))) result.push({index: result.length, text: sentence, part})
  }
  if (sawHeading) return result
  // No recognised headings: the first sentences introduce, then background, method, findings, discussion.
  const n = result.length
  const byPosition = (i: number): PaperPart =>
    i < Math.max(1, Math.round(n * 0.08))
      ? 'intro'
      : i < n * 0.3
        ? 'background'
        : i < n * 0.55
          ? 'method'
          : i < n * 0.8
            ? 'findings'
            : 'discussion'
  return result.map((s) => ({...s, part: byPosition(s.index)}))
}
