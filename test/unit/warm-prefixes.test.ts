import {describe, expect, it} from 'vitest'

import {rememberWarmPrefix} from '../../src/providers/anthropic.js'

describe("the Anthropic model's warm prompt-cache prefixes", () => {
  it('drops expired prefixes when one is added, and keeps the live ones with their expiry', () => {
    const warm = new Map<string, number>()
    rememberWarmPrefix(warm, 'paper-a', 300_000, 0)
    rememberWarmPrefix(warm, 'paper-b', 3_600_000, 1_000)
    expect([...warm]).toEqual([
      ['paper-a', 300_000],
      ['paper-b', 3_601_000],
    ])
    // paper-a expired at 300 000; paper-b lives on; paper-c is added.
    rememberWarmPrefix(warm, 'paper-c', 300_000, 300_000)
    expect([...warm]).toEqual([
      ['paper-b', 3_601_000],
      ['paper-c', 600_000],
    ])
    // Written again: a later expiry, still one entry.
    rememberWarmPrefix(warm, 'paper-b', 300_000, 3_700_000)
    expect([...warm]).toEqual([['paper-b', 4_000_000]])
  })
})
