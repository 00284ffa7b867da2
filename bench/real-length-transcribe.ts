/**
 * The child process of bench/real-length.ts that transcribes one long MP3 as a run does:
 * WhisperTranscriber (src/providers/openai.ts) against OPENAI_BASE_URL (the fake API), no
 * cache. Run under bench/max-rss.mjs, whose record gives the process's peak RSS.
 *
 * Usage: node --import tsx --import ./bench/max-rss.mjs bench/real-length-transcribe.ts FILE.mp3 DURATION_SECONDS
 * (bench/real-length.ts runs it bundled by esbuild instead, without tsx.)
 * STUDIO_BENCH_CHUNKS_AT_ONCE=n uploads n chunks at a time instead of the default 3.
 * Prints one JSON line: {wall_ms, rss_before_mb, segments, duration_seconds, audio_seconds}.
 */
import {WhisperTranscriber} from '../src/providers/openai.js'

const [file, duration] = process.argv.slice(2)
if (!file || !duration) throw new Error('usage: real-length-transcribe.ts FILE.mp3 DURATION_SECONDS')
const apiKey = process.env.OPENAI_API_KEY
if (!apiKey) throw new Error('OPENAI_API_KEY is not set')

const concurrency = process.env.STUDIO_BENCH_CHUNKS_AT_ONCE ? Number(process.env.STUDIO_BENCH_CHUNKS_AT_ONCE) : undefined
const transcriber = new WhisperTranscriber({apiKey, baseURL: process.env.OPENAI_BASE_URL, concurrency})
// What the process holds before the transcription: Node, tsx and the modules.
const before = process.memoryUsage().rss
const started = performance.now()
const result = await transcriber.transcribe({
  audioPath: file,
  durationSeconds: Number(duration),
  title: 'A two-hour episode',
  paperText: async () => '',
  seed: 42,
})
const wallMs = performance.now() - started
process.stdout.write(
  `${JSON.stringify({
    wall_ms: Math.round(wallMs),
    rss_before_mb: Math.round(before / 1024 / 1024),
    segments: result.segments.length,
    duration_seconds: result.duration_seconds,
    audio_seconds: result.usage?.audio_seconds ?? null,
  })}\n`,
)
