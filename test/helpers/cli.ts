/**
 * Runs the built CLI (bin/run.js -> dist/) as a user would, in a child process,
 * so that tests see real exit codes, stdout and stderr. `npm test` builds first.
 */
import {execFile} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(REPO_ROOT, 'bin', 'run.js')
export const EXAMPLE_PAIRS = path.join(REPO_ROOT, 'artifacts', 'training_data')

/**
 * The environment a child CLI runs in: the test's own, as a user's shell would pass it,
 * less NODE_ENV. Vitest sets NODE_ENV=test, and under "test" or "development" oclif
 * ignores its manifest and registers tsx to load src/commands/*.ts instead of dist/: the
 * tests would then run other code than users do, three times slower to start.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, ...extra}
  if (!('NODE_ENV' in extra)) delete env.NODE_ENV
  return env
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * `input`, when given, is written to the child's stdin, which is then closed (as in `printf ... | studio ...`).
 * `user`: the uid and gid to run as (UNPRIVILEGED of unprivileged.ts, for tests of permissions).
 */
export function runCli(
  args: string[],
  options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string; user?: {uid?: number; gid?: number}} = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      // CI=1 and no TTY: progress is plain lines on stderr, as in any script.
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: cliEnv({CI: '1', NO_COLOR: '1', ...options.env}),
        maxBuffer: 64 * 1024 * 1024,
        ...options.user,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({code, stdout, stderr})
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}
