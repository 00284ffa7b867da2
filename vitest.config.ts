import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the built CLI; give them room on a slow 2-core CI box.
    testTimeout: 60_000,
    // Most e2e time is spent waiting on child processes: two test files at a time keep
    // both cores busy (vitest's default on 2 cores is one).
    maxWorkers: 2,
    hookTimeout: 60_000,
  },
})
