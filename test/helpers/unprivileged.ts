/**
 * Root reads and lists anything whatever the mode bits say, and CI runs the tests as root;
 * so tests of unreadable files run the code under test in a child process that is `nobody`
 * (uid and gid 65534) when the tests run as root, and the current user otherwise. The
 * kernel then refuses the reads as it would for any user: nothing is mocked.
 */
import {execFile} from 'node:child_process'
import {chmod} from 'node:fs/promises'
import path from 'node:path'

import {z} from 'zod'

import {REPO_ROOT} from './cli.js'
import {parseJson} from './json.js'

const asRoot = process.getuid?.() === 0

/** Options for child_process that make a child unprivileged when the tests run as root. */
export const UNPRIVILEGED: {uid?: number; gid?: number} = asRoot ? {uid: 65534, gid: 65534} : {}

/**
 * Lets `nobody` into folders the tests made: mkdtemp makes them 0700, so a child that is not
 * root could not reach the files inside to find them unreadable for the reason under test.
 */
export async function openToOthers(...dirs: string[]): Promise<void> {
  for (const dir of dirs) await chmod(dir, 0o755)
}

/** What the child prints: the value returned, or the error thrown with the fields studio's errors carry. */
const Outcome = z.object({
  value: z.unknown().optional(),
  error: z
    .object({
      name: z.string(),
      message: z.string(),
      path: z.string().optional(),
      hint: z.string().optional(),
      exitCode: z.number().optional(),
    })
    .optional(),
})

const CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'call-module.ts')

/**
 * Calls `exportName(...args)` of a module of this repository (a path from the repository
 * root, e.g. 'src/media/paper.ts') in an unprivileged child, and returns what it returned
 * (as JSON) or threw.
 */
export function callUnprivileged(module: string, exportName: string, args: unknown[]): Promise<z.output<typeof Outcome>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CHILD, path.join(REPO_ROOT, module), exportName, JSON.stringify(args)],
      // tsx keeps its cache under the temporary folder, per user; HOME must be somewhere `nobody` may write.
      {cwd: REPO_ROOT, env: {...process.env, HOME: '/tmp'}, ...UNPRIVILEGED},
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${CHILD} failed: ${error.message}\n${stderr}`))
        else resolve(parseJson(stdout, Outcome))
      },
    )
  })
}
