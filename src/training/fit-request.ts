/**
 * What a request carries when the account's rate limits cap one request's size.
 *
 * Both APIs meter input tokens per minute as a token bucket whose capacity is the
 * minute's limit, so a single request over it is refused on every attempt. On
 * Anthropic's first tier (30,000 input tokens a minute) the judge's request for an
 * hour-long episode (its paper and a 9,000-word script, 33,000-40,000 tokens) is such a
 * request. The judge then sees the paper condensed (condense.ts: the sentences that
 * carry the key concepts, in order) so that the request fits, and a warning says so.
 */
import type {ChatMessage, LanguageModel} from '../core/providers.js'
import type {KeyConcept} from '../core/schemas/common.js'
import {approximateTokens} from './budget.js'
import {condenseForGeneration} from './condense.js'

/** Less paper than this is not worth judging against: the request is sent whole and refused with the limit named. */
const MIN_PAPER_TOKENS = 500

/** Room left under the limit for the gap between this estimate and the API's own count. */
const SAFETY = 0.9

/** Input tokens as the provider's rate limiter estimates them: the request's JSON at four characters a token. */
export function requestTokens(messages: readonly ChatMessage[]): number {
  return approximateTokens(JSON.stringify(messages))
}

/**
 * The most input tokens a request with `maxOutputTokens` may carry on `model`'s account,
 * or null when no limit applies.
 */
export function inputAllowance(model: LanguageModel, maxOutputTokens: number): number | null {
  const limit = model.requestLimit
  if (!limit) return null
  const allowances = [limit.inputTokens, limit.totalTokens === undefined ? undefined : limit.totalTokens - maxOutputTokens]
  const defined = allowances.filter((n): n is number => n !== undefined)
  return defined.length ? Math.floor(Math.min(...defined) * SAFETY) : null
}

export interface FittedPaper {
  paper: string
  /** Set when the paper was condensed to fit: what the warning says. */
  condensed: {fromTokens: number; toTokens: number; allowance: number} | null
}

/**
 * The paper to send in `build(paper)` so that the request fits the account's limit:
 * the paper as it is when it fits (or no limit applies), else condensed to the room
 * the rest of the request leaves. When even an empty paper does not fit, the paper is
 * returned as it is and the provider refuses the request with the limit named.
 */
export function fitPaper(
  model: LanguageModel,
  maxOutputTokens: number,
  paper: string,
  concepts: readonly KeyConcept[],
  build: (paper: string) => ChatMessage[],
): FittedPaper {
  const allowance = inputAllowance(model, maxOutputTokens)
  if (allowance === null) return {paper, condensed: null}
  const whole = requestTokens(build(paper))
  if (whole <= allowance) return {paper, condensed: null}
  const rest = requestTokens(build(''))
  // The paper's share of the estimate: its JSON-escaped length, a little over its raw length.
  const escaping = Math.max(1, (whole - rest) / Math.max(1, approximateTokens(paper)))
  let room = Math.floor((allowance - rest) / escaping)
  // The omission markers and separators the condensed text adds are not in the estimate
  // above: measure, and condense harder by what it overshot (a few per cent, once or twice).
  for (let attempt = 0; attempt < 4 && room >= MIN_PAPER_TOKENS; attempt++) {
    const condensed = condenseForGeneration(paper, concepts, room)
    const tokens = requestTokens(build(condensed))
    if (tokens <= allowance) {
      return {paper: condensed, condensed: {fromTokens: approximateTokens(paper), toTokens: approximateTokens(condensed), allowance}}
    }
    room = Math.floor((room * (allowance - rest)) / Math.max(1, tokens - rest)) - 50
  }
  return {paper, condensed: null}
}
