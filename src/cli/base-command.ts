/**
 * The base of every studio command: one place that turns errors into a message,
 * a hint and a documented exit code, as text or as JSON under --json.
 */
import {Command, type Interfaces} from '@oclif/core'

import {EXIT, FlagError, StudioError} from '../core/errors.js'

type CommandError = Error & {oclif?: {exit?: number}}
/** oclif's FlagOutput and ArgOutput, which @oclif/core does not export. */
type Output = {[name: string]: unknown}

export abstract class StudioCommand extends Command {
  static override enableJsonFlag = true

  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv)
    } catch (error) {
      // The arguments were parsed, and found wanting: without this, oclif warns (outside
      // production) that the command "did not parse its arguments".
      this.parsed = true
      // Our flag errors already name the flag and say what to do: drop oclif's wrapping.
      if (error instanceof FlagError) error.message = error.text
      throw error
    }
  }

  /** The error as JSON on stdout under --json, else as lines on stderr, with its exit code. */
  protected override async catch(error: CommandError): Promise<void> {
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
