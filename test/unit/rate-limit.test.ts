import {describe, expect, it} from 'vitest'

import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  MAX_RETRY_AFTER_MS,
  RateLimiter,
  RequestTooLargeError,
  requestLimitOf,
  retryAfterMsOf,
  withRetries,
  type Clock,
} from '../../src/providers/rate-limit.js'

/** A clock that only moves when someone sleeps: waits are exact and instant. */
function fakeClock(): Clock & {slept: number[]} {
  let now = 0
  const slept: number[] = []
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms)
      now += ms
    },
  }
}

describe('RateLimiter', () => {
  it('admits requests at the requests-per-minute rate once the bucket is empty', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({requests_per_minute: 60}, clock)
    for (let i = 0; i < 60; i++) await limiter.acquire({inputTokens: 0, outputTokens: 0})
    expect(clock.now()).toBe(0)
    await limiter.acquire({inputTokens: 0, outputTokens: 0})
    // One request a second refills (at 95 %, the margin for the API's later count): the 61st waits just over a second.
    expect(clock.now()).toBe(Math.ceil(1000 / 0.95))
  })

  it('charges output at max_tokens and gives back what the answer did not use', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({output_tokens_per_minute: 8000}, clock)
    const first = await limiter.acquire({inputTokens: 0, outputTokens: 8000})
    limiter.settle(first, {outputTokens: 2000})
    // 6,000 given back: a 6,000-token request fits at once.
    await limiter.acquire({inputTokens: 0, outputTokens: 6000})
    expect(clock.now()).toBe(0)
    // Now empty: 4,000 more take half a minute to refill.
    await limiter.acquire({inputTokens: 0, outputTokens: 4000})
    expect(clock.now()).toBe(Math.ceil(30_000 / 0.95))
  })

  it('refuses at once a request larger than a whole minute of any limit, charging nothing', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({output_tokens_per_minute: 8000, input_tokens_per_minute: 30_000, tokens_per_minute: 35_000}, clock)
    const over = async (cost: {inputTokens: number; outputTokens: number}) => {
      const error = await limiter.acquire(cost).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RequestTooLargeError)
      return error as RequestTooLargeError
    }
    expect((await over({inputTokens: 0, outputTokens: 20_000})).message).toBe(
      "the request needs about 20,000 output tokens (max_tokens), more than the account's limit of 8,000 a minute (output_tokens_per_minute)",
    )
    expect((await over({inputTokens: 30_001, outputTokens: 0})).limit).toBe('input_tokens_per_minute')
    expect((await over({inputTokens: 29_000, outputTokens: 7000})).limit).toBe('tokens_per_minute')
    // Exactly a minute's worth fits, at once: nothing was charged for the refusals.
    await limiter.acquire({inputTokens: 27_000, outputTokens: 8000})
    expect(clock.now()).toBe(0)
    expect(requestLimitOf(limiter.limits)).toEqual({inputTokens: 30_000, totalTokens: 35_000})
  })

  it('counts input and output together against a tokens-per-minute limit (OpenAI)', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({tokens_per_minute: 10_000}, clock)
    await limiter.acquire({inputTokens: 6000, outputTokens: 4000})
    await limiter.acquire({inputTokens: 500, outputTokens: 500})
    expect(clock.now()).toBe(Math.ceil(6000 / 0.95))
  })

  it('serves waiting requests in the order they asked', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({input_tokens_per_minute: 1000}, clock)
    await limiter.acquire({inputTokens: 1000, outputTokens: 0})
    const order: string[] = []
    await Promise.all([
      limiter.acquire({inputTokens: 900, outputTokens: 0}).then(() => order.push('large')),
      limiter.acquire({inputTokens: 10, outputTokens: 0}).then(() => order.push('small')),
    ])
    expect(order).toEqual(['large', 'small'])
  })

  it('holds every caller back while a retry-after pause lasts', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({requests_per_minute: 1000}, clock)
    limiter.pause(7000)
    await limiter.acquire({inputTokens: 0, outputTokens: 0})
    expect(clock.now()).toBe(7000)
  })
})

describe('withRetries', () => {
  it('retries a retryable failure with growing, capped backoff and then succeeds', async () => {
    const clock = fakeClock()
    let attempts = 0
    const result = await withRetries(
      async () => {
        attempts++
        if (attempts < 4) throw new Error('overloaded')
        return 'ok'
      },
      {policy: {maxRetries: 8, baseDelayMs: 500, maxDelayMs: 30_000}, classify: () => ({retry: true}), clock, random: () => 0},
    )
    expect(result).toBe('ok')
    expect(clock.slept).toEqual([500, 1000, 2000])
  })

  it('gives up after maxRetries and throws the last error; never retries a non-retryable one', async () => {
    const clock = fakeClock()
    let attempts = 0
    await expect(
      withRetries(
        async () => {
          attempts++
          throw new Error(`failure ${attempts}`)
        },
        {policy: {maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000}, classify: () => ({retry: true}), clock},
      ),
    ).rejects.toThrow('failure 4')
    attempts = 0
    await expect(
      withRetries(
        async () => {
          attempts++
          throw new Error('bad request')
        },
        {policy: DEFAULT_RETRY_POLICY, classify: () => ({retry: false}), clock},
      ),
    ).rejects.toThrow('bad request')
    expect(attempts).toBe(1)
  })

  it('waits out a retry-after through the shared limiter (capped), not the backoff', async () => {
    const clock = fakeClock()
    const limiter = new RateLimiter({requests_per_minute: 1000}, clock)
    let attempts = 0
    await withRetries(
      async () => {
        await limiter.acquire({inputTokens: 0, outputTokens: 0})
        if (++attempts === 1) throw new Error('429')
        return 'ok'
      },
      {policy: DEFAULT_RETRY_POLICY, classify: () => ({retry: true, retryAfterMs: 10 * 60_000}), limiter, clock},
    )
    expect(clock.now()).toBe(MAX_RETRY_AFTER_MS)
  })

  it('loses no call at 30 % faults with the default policy (seeded, 2,000 calls)', async () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const clock = fakeClock()
    let lost = 0
    for (let call = 0; call < 2000; call++) {
      try {
        await withRetries(
          async () => {
            if (random() < 0.3) throw new Error('fault')
            return true
          },
          {policy: DEFAULT_RETRY_POLICY, classify: () => ({retry: true}), clock, random},
        )
      } catch {
        lost++
      }
    }
    expect(lost).toBe(0)
  })
})

describe('backoff and retry-after', () => {
  it('doubles from the base, is capped, and jitter takes off at most half', () => {
    const policy = {maxRetries: 8, baseDelayMs: 500, maxDelayMs: 30_000}
    expect(backoffMs(policy, 0, () => 0)).toBe(500)
    expect(backoffMs(policy, 3, () => 0)).toBe(4000)
    expect(backoffMs(policy, 10, () => 0)).toBe(30_000)
    expect(backoffMs(policy, 10, () => 0.999)).toBeGreaterThanOrEqual(15_000)
  })

  it('reads retry-after-ms, retry-after seconds and HTTP dates', () => {
    const headers = (values: Record<string, string>) => ({get: (name: string) => values[name] ?? null})
    expect(retryAfterMsOf(headers({'retry-after-ms': '250'}))).toBe(250)
    expect(retryAfterMsOf(headers({'retry-after': '3'}))).toBe(3000)
    expect(retryAfterMsOf(headers({'retry-after': new Date(10_000).toUTCString()}), 4000)).toBe(6000)
    expect(retryAfterMsOf(headers({}))).toBeUndefined()
  })
})
