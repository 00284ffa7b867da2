/**
 * Mock transcription: an episode without a sidecar is "transcribed" into a plausible
 * two-speaker conversation about its paper, paced at 150 words per minute and
 * exactly as long as the real MP3. Deterministic for a given seed.
 */
import type {TranscriptSegment} from '../../core/schemas/common.js'
import {seededRandom, pick} from '../../core/random.js'
import {countWords} from '../../core/text.js'
import type {Transcriber, TranscriptionRequest, TranscriptionResult} from '../../core/providers.js'
import {guessTitle} from '../../media/paper.js'
import {paperSentences, type PaperPart} from './paper-sections.js'

const WORDS_PER_MINUTE = 150

const HOST_QUESTIONS: Record<PaperPart, string[]> = {
  intro: ['So what is this paper about?'],
  background: ['Why does this problem matter?', 'What was missing before this work?'],
  method: ['How does the approach actually work?', 'Can you walk us through the method?'],
  findings: ['What did you find?', 'How big was the improvement?'],
  discussion: ['What are the limitations?', 'What does this mean in practice?'],
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
    let lastPart: PaperPart | null = null
    let sinceQuestion = 0
    for (const sentence of paperSentences(paperText)) {
      const words = countWords(sentence.text)
      if (used + words + reserve > budget) break
      if (sentence.part !== lastPart || sinceQuestion >= 3) {
        const question = pick(random, HOST_QUESTIONS[sentence.part])
        lines.push({speaker: 'Host', text: question})
        used += countWords(question)
        lastPart = sentence.part
        sinceQuestion = 0
      }
      lines.push({speaker: 'Guest', text: sentence.text})
      used += words
      sinceQuestion++
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

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}
