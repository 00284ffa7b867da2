/**
 * A small set of error classes that carry meaning: what went wrong, which file or
 * pair it concerns, and what to do about it. Commands turn them into a message and
 * an exit code (documented in TRAINING.md, "Exit codes").
 */

import type {Usage} from './providers.js'

export const EXIT = {
  ok: 0,
  /** Unexpected failure: a bug, or something studio did not anticipate. */
  internal: 1,
  /** Bad input: a missing folder, an invalid flag value, no usable pair. */
  input: 2,
  /** A file studio wrote earlier no longer matches its format. */
  corrupt: 3,
  /** A provider (API) failed for good: bad key, quota, service down. */
  provider: 4,
  /** Done in part: the run finished but some pairs failed (listed in the report), or `cache clear` left entries it could not delete. */
  partial: 5,
  /**
   * The disk (or the user's quota) filled up while studio wrote: a run stops, marked
   * `failed`, and continues with `--resume` once there is space.
   */
  noSpace: 6,
  /** Stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell convention). */
  interrupted: 130,
} as const

export class StudioError extends Error {
  readonly exitCode: number
  readonly path?: string
  readonly hint?: string

  constructor(message: string, options: {exitCode: number; path?: string; hint?: string; cause?: unknown}) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode
    this.path = options.path
    this.hint = options.hint
  }
}

/** The user gave something studio cannot use. */
export class InputError extends StudioError {
  constructor(message: string, options: {path?: string; hint?: string; cause?: unknown} = {}) {
    super(message, {...options, exitCode: EXIT.input})
  }
}

/**
 * A flag's value is unusable, found while the flags are parsed. The message names the
 * flag (`--weights: ...`). oclif rewrites the message of an error thrown by a flag's
 * parser ("Parsing --weights \n\t...\nSee more help with --help"); `text` keeps ours so that
 * StudioCommand can put it back.
 */
export class FlagError extends InputError {
  readonly text: string

  constructor(message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(message, options)
    this.text = message
  }
}

/** A file on disk does not match the schema it was written with. */
export class CorruptFileError extends StudioError {
  constructor(message: string, options: {path: string; hint?: string; cause?: unknown}) {
    super(message, {...options, exitCode: EXIT.corrupt})
  }
}

/** The user stopped the run; everything completed so far is on disk. */
export class InterruptedError extends StudioError {
  constructor(message: string, options: {path?: string; hint?: string} = {}) {
    super(message, {...options, exitCode: EXIT.interrupted})
  }
}

/**
 * A provider call failed for good: after the SDK's own retries, or after the one
 * retry of an answer that did not match its schema. The trainer records it as a
 * failure of the pair concerned and goes on with the others. Messages never hold
 * an API key.
 */
export class ProviderError extends StudioError {
  /** e.g. "openai:whisper-1", "anthropic:claude-sonnet-4-5". */
  readonly provider: string
  /** HTTP status when the API answered, else undefined (timeout, connection). */
  readonly status?: number
  /**
   * What the failed request had already cost: answers that were paid for and then
   * rejected (a schema mismatch, twice), or the chunks of a transcription uploaded
   * before a later one failed. Usage meters count it.
   */
  readonly usage?: Usage

  constructor(message: string, options: {provider: string; status?: number; hint?: string; cause?: unknown; usage?: Usage}) {
    super(message, {exitCode: EXIT.provider, hint: options.hint, cause: options.cause})
    this.provider = options.provider
    this.status = options.status
    this.usage = options.usage
  }

  /** The same error, carrying what was paid before it happened. */
  withUsage(usage: Usage): ProviderError {
    const copy = new ProviderError(this.message, {provider: this.provider, status: this.status, hint: this.hint, cause: this.cause, usage})
    copy.stack = this.stack
    return copy
  }
}

/**
 * An answer cut off at its max_tokens: never scored as a whole answer. The caller
 * may ask again with a larger limit (up to the model's cap) or in smaller parts.
 */
export class OutputLimitError extends ProviderError {
  /** The max_tokens the cut answer was given. */
  readonly maxOutputTokens: number

  constructor(message: string, options: {provider: string; maxOutputTokens: number; hint?: string; usage?: Usage}) {
    super(message, {provider: options.provider, hint: options.hint, usage: options.usage})
    this.maxOutputTokens = options.maxOutputTokens
  }

  override withUsage(usage: Usage): OutputLimitError {
    const copy = new OutputLimitError(this.message, {
      provider: this.provider,
      maxOutputTokens: this.maxOutputTokens,
      hint: this.hint,
      usage,
    })
    copy.stack = this.stack
    return copy
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
