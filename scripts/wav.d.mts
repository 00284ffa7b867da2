/** Types of scripts/wav.mjs, for the tests that import it. */
export interface Pcm {
  rate: number
  samples: Int16Array
}
export declare function parseWav(buffer: Buffer): Pcm & {channels: number}
export declare function wavBytes(samples: Int16Array, rate: number, channels: number): Buffer
export declare function fit(mono: Pcm, seconds: number): Pcm
