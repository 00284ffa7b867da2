/**
 * 16-bit PCM WAV in and out, for the scripts that make test media and for tests that need
 * a WAV file: small enough to keep in-process, so no test needs sox or ffmpeg for one.
 */

/** The samples of a 16-bit PCM WAV file: {channels, rate, samples} (samples interleaved). */
export function parseWav(buffer) {
  let at = 12
  let format = null
  while (at + 8 <= buffer.length) {
    const id = buffer.toString('latin1', at, at + 4)
    let size = buffer.readUInt32LE(at + 4)
    if (id === 'fmt ') format = {channels: buffer.readUInt16LE(at + 10), rate: buffer.readUInt32LE(at + 12)}
    if (id === 'data') {
      size = Math.min(size, buffer.length - at - 8)
      const copy = Buffer.from(buffer.subarray(at + 8, at + 8 + size - (size % 2)))
      return {...format, samples: new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2)}
    }
    at += 8 + size + (size % 2)
  }
  throw new Error('no WAV data found')
}

/** A 16-bit PCM WAV file of the given interleaved samples. */
export function wavBytes(samples, rate, channels) {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * channels * 2, 28)
  header.writeUInt16LE(channels * 2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** Mono speech cut, or padded with silence, to exactly `seconds`. */
export function fit(mono, seconds) {
  const out = new Int16Array(Math.round(seconds * mono.rate))
  out.set(mono.samples.subarray(0, out.length))
  return {rate: mono.rate, samples: out}
}
