import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {defineConfig} from 'vitest/config'

const TESTS = 'test'

/**
 * Test files that replace modules (`vi.mock`, `vi.doMock`) or stub environment and globals
 * (`vi.stubEnv`, `vi.stubGlobal`): they run isolated, each in a fresh module graph, so what
 * they change never reaches another file. Found by reading the files, so a new test that
 * mocks a module is isolated without anyone having to list it. A file that asserts on what
 * the calling realm has loaded (globals a library installs) says so with a `@vitest-isolate`
 * comment: in a shared worker another file may have loaded that library already.
 */
function filesThatNeedIsolation(): string[] {
  const files = readdirSync(TESTS, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.test.ts'))
  return files
    .filter((name) =>
      /\bvi\s*\.\s*(mock|doMock|stubEnv|stubGlobal)\s*\(|@vitest-isolate\b/.test(readFileSync(path.join(TESTS, name), 'utf8')),
    )
    .map((name) => path.posix.join(TESTS, name.split(path.sep).join('/')))
}

const isolated = filesThatNeedIsolation()

export default defineConfig({
  test: {
    // End-to-end tests spawn the built CLI; give them room on a slow 2-core CI box.
    testTimeout: 60_000,
    // Most e2e time is spent waiting on child processes: two test files at a time keep
    // both cores busy (vitest's default on 2 cores is one).
    maxWorkers: 2,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: [`${TESTS}/**/*.test.ts`],
          exclude: isolated,
          // Files share a worker's imported modules (src/, zod, the SDKs, pdf.js) instead of
          // importing them again for each file: this halved the CPU time of the unit tests.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {name: 'isolated', include: isolated.length ? isolated : ['no-such-file'], isolate: true},
      },
    ],
  },
})
