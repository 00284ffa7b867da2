/**
 * Client-side rate limiting and the retry policy of every API call.
 *
 * Both providers limit an account by requests, input tokens and output tokens per
 * minute, as token buckets that refill continuously (Anthropic charges output at
 * `max_tokens` when a request starts and corrects it when the answer ends). One
 * RateLimiter per provider, shared by every role on it, keeps a run under those
 * limits instead of meeting 429s all the time; a 429 that comes anyway pauses every
 * caller of that provider until its `retry-after`.
 */

/** Per-minute limits of an account (the file format is config.ts's RateLimitsConfig); a limit left out is not applied. */
export interface RateLimits {
  requests_per_minute?: number
  input_tokens_per_minute?: number
  output_tokens_per_minute?: number
  /** OpenAI counts input and output against one tokens-per-minute limit. */
  tokens_per_minute?: number
}

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/** What one request is expected to take from the buckets. */
export interface RequestCost {
  inputTokens: number
  /** Output charged when the request starts: its max_tokens. */
  outputTokens: number
}

export interface Reservation {
  cost: RequestCost
  /** When the request was admitted (clock ms). */
  admittedAt: number
}

/** A request that alone exceeds one of the account's per-minute limits: the API would refuse it on every attempt. */
export class RequestTooLargeError extends Error {
  constructor(
    readonly limit: keyof RateLimits,
    readonly allowed: number,
    readonly requested: number,
    readonly cost: RequestCost,
  ) {
    const what = {
      requests_per_minute: 'requests',
      input_tokens_per_minute: 'input tokens',
      output_tokens_per_minute: 'output tokens (max_tokens)',
      tokens_per_minute: 'tokens (input + max_tokens)',
    }[limit]
    super(
      `the request needs about ${requested.toLocaleString('en-US')} ${what}, more than the account's limit of ${allowed.toLocaleString('en-US')} a minute (${limit})`,
    )
    this.name = 'RequestTooLargeError'
  }
}

/** The largest single request the limits admit (for LanguageModel.requestLimit). */
export function requestLimitOf(limits: RateLimits): {inputTokens?: number; totalTokens?: number} {
  return {
    ...(limits.input_tokens_per_minute ? {inputTokens: limits.input_tokens_per_minute} : {}),
    ...(limits.tokens_per_minute ? {totalTokens: limits.tokens_per_minute} : {}),
  }
}

/**
 * The limiter refills a little slower than the limit: it charges a request when it
 * admits it, the API when the request arrives a moment later, so at the limit's own
 * rate the API's bucket would be a few milliseconds short.
 */
const REFILL_MARGIN = 0.95

class Bucket {
  private level: number
  private updated: number

  constructor(
    readonly capacity: number,
    now: number,
  ) {
    this.level = capacity
    this.updated = now
  }

  private refill(now: number): void {
    const perMs = (this.capacity / 60_000) * REFILL_MARGIN
    this.level = Math.min(this.capacity, this.level + (now - this.updated) * perMs)
    this.updated = now
  }

  /** Milliseconds until `amount` (at most the capacity: `acquire` refuses more) can be taken. */
  waitFor(amount: number, now: number): number {
    this.refill(now)
    if (this.level >= amount) return 0
    return Math.ceil((amount - this.level) / ((this.capacity / 60_000) * REFILL_MARGIN))
  }

  take(amount: number, now: number): void {
    this.refill(now)
    this.level -= amount
  }

  give(amount: number, now: number): void {
    this.refill(now)
    this.level = Math.min(this.capacity, this.level + amount)
  }
}

/**
 * Requests are admitted in the order they ask (a large request is not overtaken
 * for ever by small ones), each when every bucket can pay for it.
 */
export class RateLimiter {
  private readonly requests: Bucket | null
  private readonly input: Bucket | null
  private readonly output: Bucket | null
  private readonly tokens: Bucket | null
  private queue: Promise<void> = Promise.resolve()
  private pausedUntil = 0
  /** Milliseconds callers spent waiting for the limiter (for reports). */
  waitedMs = 0

  constructor(
    readonly limits: RateLimits,
    private readonly clock: Clock = REAL_CLOCK,
  ) {
    const now = clock.now()
    const bucket = (limit: number | undefined) => (limit && limit > 0 ? new Bucket(limit, now) : null)
    this.requests = bucket(limits.requests_per_minute)
    this.input = bucket(limits.input_tokens_per_minute)
    this.output = bucket(limits.output_tokens_per_minute)
    this.tokens = bucket(limits.tokens_per_minute)
  }

  /**
   * Waits until the request fits under every limit, then charges it. A request larger
   * than a whole minute's limit is refused at once with a RequestTooLargeError: the
   * APIs' buckets never hold enough for it, so they answer it with a 429 every time.
   */
  acquire(cost: RequestCost): Promise<Reservation> {
    const over = this.overLimit(cost)
    if (over) return Promise.reject(over)
    const turn = this.queue.then(async () => {
      const started = this.clock.now()
      for (;;) {
        const now = this.clock.now()
        const wait = Math.max(
          this.pausedUntil - now,
          this.requests?.waitFor(1, now) ?? 0,
          this.input?.waitFor(cost.inputTokens, now) ?? 0,
          this.output?.waitFor(cost.outputTokens, now) ?? 0,
          this.tokens?.waitFor(cost.inputTokens + cost.outputTokens, now) ?? 0,
        )
        if (wait <= 0) break
        await this.clock.sleep(wait)
      }
      const now = this.clock.now()
      this.requests?.take(1, now)
      this.input?.take(cost.inputTokens, now)
      this.output?.take(cost.outputTokens, now)
      this.tokens?.take(cost.inputTokens + cost.outputTokens, now)
      this.waitedMs += now - started
      return {cost, admittedAt: now}
    })
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    )
    return turn
  }

  /** The first limit that `cost` alone exceeds, as the error to throw; null when it fits. */
  overLimit(cost: RequestCost): RequestTooLargeError | null {
    const checks: Array<[keyof RateLimits, number]> = [
      ['input_tokens_per_minute', cost.inputTokens],
      ['output_tokens_per_minute', cost.outputTokens],
      ['tokens_per_minute', cost.inputTokens + cost.outputTokens],
    ]
    for (const [limit, requested] of checks) {
      const allowed = this.limits[limit]
      if (allowed && allowed > 0 && requested > allowed) return new RequestTooLargeError(limit, allowed, requested, cost)
    }
    return null
  }

  /** The answer's real size: output charged at max_tokens is given back down to what was used. */
  settle(reservation: Reservation, actual: {inputTokens?: number; outputTokens: number}): void {
    const now = this.clock.now()
    const adjust = (bucket: Bucket | null, delta: number) => {
      if (!bucket || delta === 0) return
      if (delta > 0) bucket.take(delta, now)
      else bucket.give(-delta, now)
    }
    const extraOutput = actual.outputTokens - reservation.cost.outputTokens
    const extraInput = actual.inputTokens === undefined ? 0 : actual.inputTokens - reservation.cost.inputTokens
    adjust(this.output, extraOutput)
    adjust(this.input, extraInput)
    adjust(this.tokens, extraOutput + extraInput)
  }

  /** A failed request used no output: all of its reserved output is given back. */
  release(reservation: Reservation): void {
    const now = this.clock.now()
    this.output?.give(reservation.cost.outputTokens, now)
    this.tokens?.give(reservation.cost.outputTokens, now)
  }

  /** The API said 429 with retry-after: nobody on this provider sends before then. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms)
  }
}

// ------------------------------------------------------------------- retries

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number
  /** Backoff before retry n (0-based): min(max, base * 2^n), with up to half of it taken off at random. */
  baseDelayMs: number
  maxDelayMs: number
}

/**
 * 8 retries: at 30 % of requests failing (429, 5xx, dropped connections) a call is
 * lost with probability 0.3^9, about 2 in 100,000. The backoff doubles from 0.5 s
 * and is capped at 30 s, so the nine attempts span about two minutes of an outage.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {maxRetries: 8, baseDelayMs: 500, maxDelayMs: 30_000}

/** The longest retry-after honoured as given; a longer one is capped (the call is retried then, not abandoned). */
export const MAX_RETRY_AFTER_MS = 120_000

export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  return Math.round(full * (1 - random() * 0.5))
}

export interface RetryDecision {
  retry: boolean
  /** The server's retry-after, in ms, when it gave one. */
  retryAfterMs?: number
}

export interface RetryOptions {
  policy: RetryPolicy
  /** Whether an error is worth another attempt, and the server's retry-after. */
  classify: (error: unknown) => RetryDecision
  limiter?: RateLimiter
  clock?: Clock
  random?: () => number
}

/**
 * Runs `attempt` until it succeeds, the error is not retryable, or the policy's
 * retries are spent (the last error is thrown). A retry-after from the server is
 * waited out exactly (capped at MAX_RETRY_AFTER_MS) and pauses the shared limiter.
 */
export async function withRetries<T>(attempt: (retry: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? REAL_CLOCK
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(retry)
    } catch (error) {
      const decision = options.classify(error)
      if (!decision.retry || retry >= options.policy.maxRetries) throw error
      const backoff = backoffMs(options.policy, retry, options.random)
      if (decision.retryAfterMs !== undefined && decision.retryAfterMs >= 0) {
        const wait = Math.min(decision.retryAfterMs, MAX_RETRY_AFTER_MS)
        options.limiter?.pause(wait)
        // The limiter waits out the pause; without one, wait here (with a little jitter).
        if (!options.limiter) await clock.sleep(Math.max(wait, Math.round(backoff / 4)))
      } else {
        await clock.sleep(backoff)
      }
    }
  }
}

/** The server's retry-after in ms from response headers (`retry-after-ms`, `retry-after` seconds or an HTTP date). */
export function retryAfterMsOf(headers: {get(name: string): string | null} | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined
  const ms = headers.get('retry-after-ms')
  if (ms !== null && ms !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms))
  const value = headers.get('retry-after')
  if (value === null || value === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
