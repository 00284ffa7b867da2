/**
 * Mock transcription: an episode without a sidecar is "transcribed" into a plausible
 * two-speaker conversation about its paper, paced at 150 words per minute and
 * exactly as long as the real MP3. Deterministic for a given seed.
 *
 * The guest retells the paper in spoken words rather than reading it out: words are
 * swapped for plainer synonyms, some are dropped, clauses change places, and fillers
 * ("you know", "right") come in, as they do in a real episode. Copying the paper's
 * sentences would make ROUGE against a script written from the same paper, and the
 * structure the classifier finds, circular; paraphrased, a script from the paper has
 * the ROUGE-1 of a real episode's (about 0.2 to 0.4).
 */
import type {TranscriptSegment} from '../../core/schemas/common.js'
import {seededRandom, pick, type Random} from '../../core/random.js'
import {countWords} from '../../core/text.js'
import type {Transcriber, TranscriptionRequest, TranscriptionResult} from '../../core/providers.js'
import {guessTitle} from '../../media/paper.js'
import {paperSentences, type PaperPart} from './paper-sections.js'

const WORDS_PER_MINUTE = 150

const HOST_QUESTIONS: Record<PaperPart, string[]> = {
  intro: ['So what is this paper about?', 'Give us the short version: what is this about?'],
  background: ['Why does this problem matter?', 'What was missing before this work?', 'Why is that hard?'],
  method: ['How does the approach actually work?', 'Can you walk us through the method?', 'And how did you build it?'],
  findings: ['What did you find?', 'How big was the improvement?', 'Were the results what you expected?'],
  discussion: ['What are the limitations?', 'What does this mean in practice?', 'What comes next?'],
}

const PARTS: PaperPart[] = ['intro', 'background', 'method', 'findings', 'discussion']
/** Share of an episode's words per part of the paper. */
const PART_SHARE: Record<PaperPart, number> = {intro: 0.1, background: 0.22, method: 0.24, findings: 0.26, discussion: 0.18}

const HOST_FOLLOW_UPS = [
  'Why is that?',
  'How so?',
  'And what did that tell you?',
  'Interesting. And then?',
  'Okay, that makes sense.',
  'Right.',
]

/** Plainer spoken words for common academic ones (lower case; the first letter's case is kept). */
const SYNONYMS: Record<string, string> = {
  use: 'rely on',
  uses: 'relies on',
  used: 'relied on',
  using: 'with',
  utilize: 'use',
  utilizes: 'uses',
  show: 'see',
  shows: 'tells us',
  showed: 'saw',
  shown: 'seen',
  demonstrate: 'show',
  demonstrates: 'shows',
  demonstrated: 'showed',
  significant: 'big',
  significantly: 'a lot',
  substantially: 'quite a bit',
  improve: 'make better',
  improves: 'makes better',
  improved: 'got better',
  improvement: 'gain',
  improvements: 'gains',
  increase: 'rise',
  increased: 'went up',
  increases: 'goes up',
  decrease: 'drop',
  decreased: 'went down',
  reduce: 'cut',
  reduces: 'cuts',
  reduced: 'cut',
  however: 'but',
  therefore: 'so',
  thus: 'so',
  moreover: 'also',
  furthermore: 'and',
  approximately: 'about',
  several: 'a few',
  numerous: 'lots of',
  large: 'big',
  small: 'little',
  obtain: 'get',
  obtained: 'got',
  propose: 'suggest',
  proposed: 'new',
  evaluate: 'test',
  evaluated: 'tested',
  evaluation: 'testing',
  method: 'technique',
  methods: 'techniques',
  approach: 'idea',
  results: 'numbers',
  result: 'outcome',
  performance: 'how well it does',
  achieve: 'reach',
  achieves: 'reaches',
  achieved: 'reached',
  require: 'need',
  requires: 'needs',
  required: 'needed',
  additional: 'extra',
  individual: 'single',
  observed: 'noticed',
  observe: 'notice',
  estimate: 'guess',
  estimates: 'guesses',
  measurements: 'readings',
  measured: 'checked',
  compared: 'put side by side',
  previous: 'earlier',
  existing: 'current',
  novel: 'new',
  conditions: 'settings',
  consistent: 'steady',
  analysis: 'look',
  study: 'project',
  studies: 'projects',
  data: 'numbers',
  dataset: 'collection',
  datasets: 'collections',
  experiments: 'tests',
  experiment: 'test',
  accuracy: 'precision',
  effect: 'impact',
  effects: 'impacts',
  suggests: 'hints',
  indicate: 'point to',
  indicates: 'points to',
  respectively: '',
  limitations: 'weak spots',
  limited: 'narrow',
  framework: 'setup',
  model: 'system',
  models: 'systems',
}

/** Words a speaker leaves out without losing the point. */
const DROPPABLE = new Set([
  'the',
  'a',
  'an',
  'of',
  'which',
  'that',
  'also',
  'very',
  'both',
  'each',
  'such',
  'its',
  'their',
  'these',
  'this',
  'in',
  'to',
  'for',
  'and',
  'is',
  'are',
  'was',
  'were',
  'with',
  'on',
  'by',
  'from',
  'as',
])

const FILLERS = ['you know', 'right', 'I mean', 'basically', 'kind of', 'sort of', 'actually', 'like']
/** First words that lose their capital after a lead-in. */
const LOWER_WHEN_LED = new Set([
  'the',
  'a',
  'an',
  'we',
  'our',
  'this',
  'these',
  'in',
  'it',
  'to',
  'for',
  'on',
  'with',
  'by',
  'as',
  'at',
  'but',
  'and',
])
const LEADS = [
  'So',
  'And',
  'Well',
  'Yeah, so',
  'Right, so',
  'I mean',
  'The thing is',
  'What we saw was that',
  'The way I think about it is',
  'The short answer is',
  'Honestly',
  'If you think about it',
  'What surprised us is that',
]

/** Spoken paraphrase of one paper sentence. */
export function paraphrase(sentence: string, random: Random): string {
  let tokens = sentence
    .replace(/[.!?]+$/, '')
    .split(/\s+/)
    .filter(Boolean)
  // Clauses change places: "A, B" is told as "B, A".
  const comma = tokens.findIndex((t, i) => i > 2 && i < tokens.length - 3 && t.endsWith(','))
  if (comma > 0 && random() < 0.5)
    tokens = [...tokens.slice(comma + 1), ...tokens.slice(0, comma + 1).map((t, i) => (i === comma ? t.slice(0, -1) : t))]
  const out: string[] = []
  for (const token of tokens) {
    const match = /^([("']*)([\p{L}\p{N}'’-]+)([^\p{L}\p{N}]*)$/u.exec(token)
    if (!match) {
      out.push(token)
      continue
    }
    const [, open, word, close] = match as unknown as [string, string, string, string]
    const lower = word.toLowerCase()
    if (DROPPABLE.has(lower) && random() < 0.5) continue
    // A content word is sometimes lost in the retelling.
    if (!DROPPABLE.has(lower) && lower.length > 3 && random() < 0.3) continue
    const synonym = SYNONYMS[lower]
    const spoken = synonym !== undefined && random() < 0.85 ? synonym : word
    if (spoken) out.push(`${open}${spoken}${close}`)
    if (random() < 0.2) out.push(`${pick(random, FILLERS)},`)
  }
  if (out.length === 0) return ''
  let text = out.join(' ').replace(/,+$/, '')
  if (random() < 0.6) {
    // "The model..." becomes "So, the model...", but a name keeps its capital.
    const first = out[0]!.toLowerCase()
    text = `${pick(random, LEADS)}, ${LOWER_WHEN_LED.has(first) ? first + text.slice(first.length) : text}`
  }
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`
}

export class MockTranscriber implements Transcriber {
  readonly id = 'mock'

  async transcribe(request: TranscriptionRequest): Promise<TranscriptionResult> {
    const paperText = await request.paperText()
    const random = seededRandom(request.seed, 'transcribe', paperText.length)
    const budget = Math.max(20, Math.round((request.durationSeconds / 60) * WORDS_PER_MINUTE))
    const lines: Array<{speaker: string; text: string}> = [
      {speaker: 'Host', text: `Welcome back to the show. Today we are talking about ${guessTitle(paperText)}.`},
    ]
    let used = countWords(lines[0]!.text)
    const closing = {speaker: 'Host', text: 'That is all for today. Thanks for listening, and see you next time.'}
    const reserve = countWords(closing.text)
    // An episode talks about every part of the paper, each for its share of the time.
    const all = paperSentences(paperText)
    const present = PARTS.filter((part) => all.some((s) => s.part === part))
    const shareSum = present.reduce((n, part) => n + PART_SHARE[part], 0)
    const room = budget - used - reserve
    for (const part of present) {
      const partBudget = (room * PART_SHARE[part]) / shareSum
      let spent = 0
      let sinceQuestion = 0
      const question = pick(random, HOST_QUESTIONS[part])
      lines.push({speaker: 'Host', text: question})
      spent += countWords(question)
      // The points an episode picks from a part, told in the paper's order.
      const picked: Array<{index: number; spoken: string; words: number}> = []
      for (const sentence of shuffled(
        all.filter((s) => s.part === part),
        random,
      )) {
        const spoken = paraphrase(sentence.text, random)
        const words = countWords(spoken)
        if (words === 0 || spent + words > partBudget) continue
        picked.push({index: sentence.index, spoken, words})
        spent += words
      }
      picked.sort((a, b) => a.index - b.index)
      for (const {spoken} of picked) {
        if (sinceQuestion >= 3) {
          const followUp = pick(random, HOST_FOLLOW_UPS)
          lines.push({speaker: 'Host', text: followUp})
          spent += countWords(followUp)
          sinceQuestion = 0
        }
        lines.push({speaker: 'Guest', text: spoken})
        sinceQuestion++
      }
      used += spent
    }
    lines.push(closing)

    const totalWords = lines.reduce((n, l) => n + countWords(l.text), 0)
    const secondsPerWord = request.durationSeconds / Math.max(totalWords, 1)
    let clock = 0
    const segments: TranscriptSegment[] = lines.map((line) => {
      const start = clock
      clock += countWords(line.text) * secondsPerWord
      return {start: round3(start), end: round3(clock), speaker: line.speaker, text: line.text}
    })
    // Local work: nothing is billed.
    return {source: 'mock', duration_seconds: request.durationSeconds, segments, usage: {input_tokens: 0, output_tokens: 0}}
  }
}

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}
