/**
 * Audio for a generated script (--tts): one voice per speaker, each run of
 * consecutive lines by the same speaker synthesised in requests under the speech
 * provider's input cap, and the MP3s joined at MPEG frame level (no re-encoding).
 */
import pLimit from 'p-limit'

import {SPEECH_MAX_CHARACTERS, type SpeechSynthesizer} from '../core/providers.js'
import {joinMp3} from '../media/mp3-frames.js'
import type {Script} from '../core/schemas/answers.js'

/** Requests in flight per script; providers limit rates per key, not per run. */
const SPEECH_CONCURRENCY = 4

export interface VoicedScript {
  bytes: Buffer
  durationSeconds: number
  /** Voice per speaker, in order of the prompt's speakers, then of first appearance. */
  voices: Record<string, string>
  requests: number
}

/** Voices in order: the prompt's speakers first, then any other speaker the script names. */
export function assignVoices(speakers: readonly string[], script: Script, voices: readonly string[]): Record<string, string> {
  const order = [...speakers]
  for (const line of script.segments.flatMap((s) => s.lines)) if (!order.includes(line.speaker)) order.push(line.speaker)
  return Object.fromEntries(order.map((name, i) => [name, voices[i % voices.length]!]))
}

/** Splits text into pieces of at most `max` characters, at sentence ends, else at spaces, else anywhere. */
export function splitForSpeech(text: string, max: number = SPEECH_MAX_CHARACTERS): string[] {
  const pieces: string[] = []
  let rest = text.trim()
  while (rest.length > max) {
    const window = rest.slice(0, max + 1)
    const sentenceEnd = Math.max(window.lastIndexOf('. '), window.lastIndexOf('? '), window.lastIndexOf('! '))
    const cut = sentenceEnd > max / 2 ? sentenceEnd + 1 : window.lastIndexOf(' ') > max / 2 ? window.lastIndexOf(' ') : max
    pieces.push(rest.slice(0, cut).trim())
    rest = rest.slice(cut).trim()
  }
  if (rest) pieces.push(rest)
  return pieces
}

/** The speech requests of a script, in order: consecutive lines by one speaker share requests. */
export function speechRequests(script: Script, voices: Record<string, string>): Array<{voice: string; text: string}> {
  const turns: Array<{speaker: string; text: string}> = []
  for (const line of script.segments.flatMap((s) => s.lines)) {
    const last = turns[turns.length - 1]
    if (last && last.speaker === line.speaker) last.text += ` ${line.text}`
    else turns.push({speaker: line.speaker, text: line.text})
  }
  return turns.flatMap((turn) => splitForSpeech(turn.text).map((text) => ({voice: voices[turn.speaker]!, text})))
}

export async function voiceScript(script: Script, speakers: readonly string[], speech: SpeechSynthesizer): Promise<VoicedScript> {
  const voices = assignVoices(speakers, script, speech.voices)
  const requests = speechRequests(script, voices)
  const limit = pLimit(SPEECH_CONCURRENCY)
  const parts = await Promise.all(requests.map((request) => limit(async () => (await speech.synthesize(request)).audio)))
  const joined = joinMp3(parts)
  return {bytes: joined.bytes, durationSeconds: joined.durationSeconds, voices, requests: requests.length}
}
