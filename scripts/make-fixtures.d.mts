/** Types of scripts/make-fixtures.mjs, for the tests that import it. */
export declare function makeFixtures(outDir: string, options?: {log?: (line: string) => void}): Promise<{dir: string}>
