import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the built CLI; give them room on a slow 2-core CI box.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
