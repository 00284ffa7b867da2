/** Episode duration, read from the audio file's headers (never decoding it whole). */
import {InputError} from '../errors.js'

export async function audioDurationSeconds(path: string): Promise<number> {
  // music-metadata is only needed where an episode is measured: load it lazily.
  const {parseFile} = await import('music-metadata')
  let duration: number | undefined
  try {
    const metadata = await parseFile(path, {duration: false, skipCovers: true})
    duration = metadata.format.duration
  } catch (error) {
    throw new InputError(`Cannot read episode ${path}: ${(error as Error)?.message ?? String(error)}`, {
      path,
      hint: 'Check that it is a complete MP3 file (try playing it, or `ffprobe` it).',
      cause: error,
    })
  }
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0) {
    throw new InputError(`Episode ${path} has no measurable duration: it does not look like MPEG audio`, {
      path,
      hint: 'Re-encode it as MP3 (e.g. `lame in.wav out.mp3`) or replace it with the original episode file.',
    })
  }
  return duration
}
