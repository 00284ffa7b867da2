/**
 * Mock speech: silent MP3 audio as long as the text takes to say at 150 words a
 * minute, so that --tts runs offline and the duration loss measures real frames.
 */
import {countWords} from '../../core/text.js'
import type {SpeechAnswer, SpeechRequest, SpeechSynthesizer} from '../../core/providers.js'

const SAMPLE_RATE = 44_100
const SAMPLES_PER_FRAME = 1152
/** MPEG-1 Layer III, no CRC, 32 kbit/s, 44.1 kHz, no padding, mono. */
const FRAME_HEADER = Buffer.from([0xff, 0xfb, 0x10, 0xc0])
/** 144 * bitrate / sample rate, rounded down: 104 bytes. */
const FRAME_BYTES = Math.floor((144 * 32_000) / SAMPLE_RATE)
const WORDS_PER_MINUTE = 150

/** A frame whose side information is all zero decodes to silence. */
function silentFrames(seconds: number): Buffer {
  const frames = Math.max(1, Math.round((seconds * SAMPLE_RATE) / SAMPLES_PER_FRAME))
  const out = Buffer.alloc(frames * FRAME_BYTES)
  for (let i = 0; i < frames; i++) FRAME_HEADER.copy(out, i * FRAME_BYTES)
  return out
}

export class MockSpeech implements SpeechSynthesizer {
  readonly id = 'mock'
  readonly voices = ['mock-a', 'mock-b', 'mock-c'] as const

  async synthesize(request: SpeechRequest): Promise<SpeechAnswer> {
    const seconds = (countWords(request.text) / WORDS_PER_MINUTE) * 60
    return {audio: silentFrames(seconds), characters: request.text.length}
  }
}
