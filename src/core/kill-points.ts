/**
 * Kill points, for tests only: STUDIO_TEST_KILL=<point>:<n> makes the built CLI kill
 * itself with SIGKILL (a real `kill -9`: no finally block, no 'exit' listener, no lock
 * released) at the n-th time (counted from 1) it reaches that point of the write helpers:
 *
 * - `after-append`: right after the n-th event-log line was handed to the OS;
 * - `mid-append`: in the n-th event-log append, after half its line was written;
 * - `before-rename`: in the n-th atomic write (writeFileAtomic), after its temp file was
 *   written and before it was renamed over the target.
 *
 * test/e2e/kill-resume.test.ts uses it to check that a run killed at any of these moments
 * leaves only whole files and resumes to the report an uninterrupted run writes. Unset
 * (always, outside tests), the checks cost one comparison.
 */
export const KILL_POINTS = ['after-append', 'mid-append', 'before-rename'] as const
export type KillPoint = (typeof KILL_POINTS)[number]

export interface KillPlan {
  point: KillPoint
  nth: number
}

/** Parses STUDIO_TEST_KILL; throws on a value that is not <point>:<n>, so that a typo in a test cannot pass unnoticed. */
export function killPlanFromEnvironment(value: string | undefined): KillPlan | null {
  if (!value) return null
  const match = /^([a-z-]+):(\d+)$/.exec(value)
  const point = match?.[1] as KillPoint | undefined
  if (!match || !point || !KILL_POINTS.includes(point) || Number(match[2]) < 1) {
    throw new Error(`STUDIO_TEST_KILL must be <point>:<n> with point one of ${KILL_POINTS.join(', ')} and n >= 1, got ${value}`)
  }
  return {point, nth: Number(match[2])}
}

const plan = killPlanFromEnvironment(process.env.STUDIO_TEST_KILL)
const reached: Record<KillPoint, number> = {'after-append': 0, 'mid-append': 0, 'before-rename': 0}

/**
 * Counts one passage through `point`; true when this is the one the plan kills at. The
 * caller does what must be on disk at that moment (half a line, say), then calls killNow.
 */
export function killDue(point: KillPoint): boolean {
  if (plan?.point !== point) return false
  return ++reached[point] === plan.nth
}

/** SIGKILL to this process: it ends here, as under `kill -9`. */
export function killNow(): never {
  process.kill(process.pid, 'SIGKILL')
  // The signal is delivered before kill(2) returns to its sender when it is the sender; never reached.
  throw new Error('SIGKILL did not end the process')
}
