/**
 * Prices in USD, by model id as providers report it (`provider:model`). One table,
 * so that a price change is one edit. A model missing here has an unknown cost
 * (null), never a guessed one; `--max-cost` refuses to run with an unknown price.
 *
 * Checked 2026-11 against the providers' public price pages. Anthropic prompt
 * caching bills cache writes at 1.25x (5-minute lifetime) or 2x (one hour) and cache
 * reads at 0.1x the input price; usage records those tokens apart, and costUsd
 * applies the factors.
 */
import type {Usage} from '../core/providers.js'

export type Price =
  | {kind: 'tokens'; input_per_million: number; output_per_million: number}
  | {kind: 'audio-minutes'; per_minute: number}
  | {kind: 'characters'; per_million_characters: number}

const PRICES: Record<string, Price> = {
  mock: {kind: 'tokens', input_per_million: 0, output_per_million: 0},
  'anthropic:claude-sonnet-4-6': {kind: 'tokens', input_per_million: 3, output_per_million: 15},
  'anthropic:claude-sonnet-4-5': {kind: 'tokens', input_per_million: 3, output_per_million: 15},
  'anthropic:claude-haiku-4-5': {kind: 'tokens', input_per_million: 1, output_per_million: 5},
  'anthropic:claude-opus-4-5': {kind: 'tokens', input_per_million: 5, output_per_million: 25},
  'openai:gpt-4o-mini': {kind: 'tokens', input_per_million: 0.15, output_per_million: 0.6},
  'openai:gpt-4o': {kind: 'tokens', input_per_million: 2.5, output_per_million: 10},
  'openai:whisper-1': {kind: 'audio-minutes', per_minute: 0.006},
  'openai:tts-1': {kind: 'characters', per_million_characters: 15},
  'openai:tts-1-hd': {kind: 'characters', per_million_characters: 30},
}

export const CACHE_WRITE_FACTOR = 1.25
export const CACHE_WRITE_1H_FACTOR = 2
export const CACHE_READ_FACTOR = 0.1
/** Both batch APIs bill every token at half the synchronous price (prompt-cache factors apply on top). */
export const BATCH_FACTOR = 0.5

/** What a call is billed on: tokens (with Anthropic's cache split), audio seconds or characters. */
export type BillableUsage = Usage

export function priceOf(modelId: string): Price | null {
  return PRICES[modelId] ?? null
}

export function costUsd(modelId: string, usage: BillableUsage): number | null {
  const price = PRICES[modelId]
  if (!price) return null
  switch (price.kind) {
    case 'tokens': {
      const write = usage.cache_write_tokens ?? 0
      const writeHour = Math.min(write, usage.cache_write_1h_tokens ?? 0)
      const read = usage.cache_read_tokens ?? 0
      const plain = Math.max(0, usage.input_tokens - write - read)
      const input = plain + (write - writeHour) * CACHE_WRITE_FACTOR + writeHour * CACHE_WRITE_1H_FACTOR + read * CACHE_READ_FACTOR
      const cost = (input * price.input_per_million + usage.output_tokens * price.output_per_million) / 1_000_000
      return usage.batch ? cost * BATCH_FACTOR : cost
    }
    case 'audio-minutes':
      return ((usage.audio_seconds ?? 0) / 60) * price.per_minute
    case 'characters':
      return ((usage.characters ?? 0) * price.per_million_characters) / 1_000_000
  }
}
