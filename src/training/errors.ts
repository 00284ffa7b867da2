/**
 * A small set of error classes that carry meaning: what went wrong, which file or
 * pair it concerns, and what to do about it. Commands turn them into a message and
 * an exit code (documented in TRAINING.md, "Exit codes").
 */

export const EXIT = {
  ok: 0,
  /** Unexpected failure: a bug, or something studio did not anticipate. */
  internal: 1,
  /** Bad input: a missing folder, an invalid flag value, no usable pair. */
  input: 2,
  /** A file studio wrote earlier no longer matches its format. */
  corrupt: 3,
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

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
