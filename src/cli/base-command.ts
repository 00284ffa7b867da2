/**
 * The base of every studio command: one place that turns errors into a message,
 * a hint and a documented exit code, as text or as JSON under --json.
 */
import {Command} from '@oclif/core'

import {EXIT, StudioError} from '../core/errors.js'

type CommandError = Error & {oclif?: {exit?: number}}

export abstract class StudioCommand extends Command {
  static override enableJsonFlag = true

  protected override catch(error: CommandError): Promise<void> {
    this.report(error)
    return Promise.resolve()
  }

  /** Writing the error is all catch does: JSON on stdout under --json, else lines on stderr. */
  private report(error: CommandError): void {
    const exitCode = error instanceof StudioError ? error.exitCode : (error.oclif?.exit ?? EXIT.internal)
    if (exitCode === 0) return
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(error))
      return
    }
    const lines = [`Error: ${error.message}`]
    if (error instanceof StudioError && error.hint) lines.push(`Hint: ${error.hint}`)
    if (exitCode === EXIT.internal && !error.oclif) {
      lines.push('This looks like a bug in studio. Run again with DEBUG=studio to see the stack trace, and report it.')
      if (process.env.DEBUG?.includes('studio')) lines.push(error.stack ?? '')
    }
    process.stderr.write(`${lines.join('\n')}\n`)
  }

  /** Only what a script needs: never the whole oclif config, which holds home paths. */
  protected override toErrorJson(error: unknown): unknown {
    const e = error as CommandError
    return {
      error: {
        message: e?.message ?? String(error),
        hint: e instanceof StudioError ? (e.hint ?? null) : null,
        path: e instanceof StudioError ? (e.path ?? null) : null,
        exit_code: e instanceof StudioError ? e.exitCode : (e?.oclif?.exit ?? EXIT.internal),
      },
    }
  }
}
