/**
 * Heuristic segment labelling: keyword cues plus a prior on where each part sits in
 * an episode, then smoothing so that a single stray segment does not split a part.
 */
import {SEGMENT_LABELS, type SegmentLabel} from '../../core/schemas/common.js'

const CUES: Record<SegmentLabel, RegExp> = {
  intro: /\b(welcome|today we|this episode|joining us|my guest|i'?m your host|on the show)\b/gi,
  background:
    /\b(problem|challenge|why (?:does|is)|traditionally|existing|before this|prior work|context|matters?|motivat\w*|background)\b/gi,
  method:
    /\b(how (?:does|did|do) (?:it|this|they|you)|method\w*|approach|algorithm|architecture|pipeline|we (?:built|designed|propose|used)|works by|model|trained|walk us through)\b/gi,
  findings:
    /\b(results?|found|find|showed?|improv\w*|percent|accuracy|reduc\w*|increas\w*|outperform\w*|compared|error)\b|\d+(?:\.\d+)?\s*%/gi,
  discussion: /\b(limitations?|implications?|future|however|caveat|in practice|what'?s next|next steps?|concern\w*|trade-?offs?)\b/gi,
  outro: /\b(thanks? (?:you )?for|that'?s all|until next time|goodbye|see you|for listening|signing off)\b/gi,
}

/** Where each part is centred in a typical episode, as a fraction of its length. */
const EXPECTED_POSITION: Record<SegmentLabel, number> = {
  intro: 0.03,
  background: 0.2,
  method: 0.42,
  findings: 0.63,
  discussion: 0.82,
  outro: 0.98,
}

export function classifySegments(
  segments: Array<{index: number; start: number; end: number; text: string}>,
  durationSeconds: number,
): Array<{index: number; label: SegmentLabel}> {
  const total = durationSeconds > 0 ? durationSeconds : Math.max(1, ...segments.map((s) => s.end))
  const raw = segments.map((segment) => {
    const position = (segment.start + segment.end) / 2 / total
    let best: SegmentLabel = 'background'
    let bestScore = -Infinity
    for (const label of SEGMENT_LABELS) {
      const hits = segment.text.match(CUES[label])?.length ?? 0
      const distance = Math.abs(position - EXPECTED_POSITION[label])
      const score = hits * 1.5 - distance * 8
      if (score > bestScore) {
        bestScore = score
        best = label
      }
    }
    return best
  })
  // Smooth: a lone segment whose neighbours agree with each other takes their label.
  const smoothed = [...raw]
  for (let i = 1; i + 1 < raw.length; i++) {
    if (raw[i - 1] === raw[i + 1] && raw[i] !== raw[i - 1]) smoothed[i] = raw[i - 1]!
  }
  return segments.map((segment, i) => ({index: segment.index, label: smoothed[i]!}))
}
