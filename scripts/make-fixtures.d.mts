/** Types of scripts/make-fixtures.mjs, for the tests that import it. */
export declare function missingTools(): Promise<string[]>
export declare function wavBytes(samples: Int16Array, rate: number, channels: number): Buffer
export declare function makeFixtures(
  outDir: string,
  options?: {log?: (line: string) => void},
): Promise<{dir: string; ogg: boolean; m4a: boolean}>
