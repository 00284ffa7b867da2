import {describe, expect, it} from 'vitest'

import {formatDuration, formatInteger, formatNumber, formatPercent, formatUsd} from '../../src/core/format.js'

describe('formatUsd: money, one way everywhere', () => {
  it('shows nothing as $0.00, below a cent with four decimals, from a cent with two', () => {
    expect(formatUsd(0)).toBe('$0.00')
    expect(formatUsd(0.0034)).toBe('$0.0034')
    expect(formatUsd(0.01)).toBe('$0.01')
    expect(formatUsd(12.345)).toBe('$12.35')
  })

  it('says the cost is unknown when a price is, in the words the caller chooses', () => {
    expect(formatUsd(null)).toBe('unknown')
    expect(formatUsd(null, 'cost unknown')).toBe('cost unknown')
  })
})

describe('numbers for people', () => {
  it('groups thousands, trims decimals, shows shares as percentages and seconds as a clock', () => {
    expect(formatInteger(1234567.4)).toBe('1,234,567')
    expect(formatNumber(0.25)).toBe('0.25')
    expect(formatNumber(3)).toBe('3')
    expect(formatNumber(1 / 3)).toBe('0.333')
    expect(formatPercent(0.228)).toBe('22.8%')
    expect(formatDuration(65)).toBe('1:05')
    expect(formatDuration(3725)).toBe('1:02:05')
    expect(formatDuration(null)).toBe('-')
  })
})
