/**
 * A faster clock for a whole process, for benchmarks of hour-long runs: loaded with
 * `node --import ./bench/sim-clock.mjs`, it makes time pass STUDIO_BENCH_TIME_SCALE (K)
 * times faster for everything the process reads or waits on through JavaScript:
 * Date.now(), `new Date()`, performance.now(), and setTimeout / setInterval (global,
 * node:timers and node:timers/promises), whose delays are divided by K. Simulated time
 * starts at STUDIO_BENCH_TIME_ORIGIN (epoch ms) and runs K times as fast as the real clock
 * from there, so processes given the same origin and K agree on the time (a retry-after
 * or a rate-limit reset sent by one is read right by the other).
 *
 * Rate limits stay as they are (a bucket of 8,000 output tokens refilled at 8,000 a
 * minute is the same bucket in simulated minutes), and so does every timeout and backoff:
 * the run sees the hour it would take, in an hour / K. CPU work is not sped up: a
 * second of it counts as K simulated seconds (bench/real-length.ts reports the CPU time).
 *
 * Timers Node sets internally (sockets, AbortSignal.timeout, the HTTP server's own
 * timeouts) keep the real clock: they only fire later in simulated time.
 */
import {createRequire, syncBuiltinESMExports} from 'node:module'

const scale = Number(process.env.STUDIO_BENCH_TIME_SCALE ?? 1)
const origin = Number(process.env.STUDIO_BENCH_TIME_ORIGIN ?? Date.now())

if (Number.isFinite(scale) && scale > 0 && scale !== 1) {
  const require = createRequire(import.meta.url)
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  const simNow = () => Math.round(origin + (realNow() - origin) * scale)

  function SimDate(...args) {
    if (!new.target) return new RealDate(simNow()).toString()
    return args.length ? new RealDate(...args) : new RealDate(simNow())
  }
  SimDate.prototype = RealDate.prototype
  SimDate.now = simNow
  SimDate.parse = RealDate.parse
  SimDate.UTC = RealDate.UTC
  globalThis.Date = SimDate

  const perfNow = performance.now.bind(performance)
  const perfStart = perfNow()
  performance.now = () => perfStart + (perfNow() - perfStart) * scale

  const shrink = (ms) => Math.max(0, (Number(ms) || 0) / scale)
  const timers = require('node:timers')
  const realSetTimeout = timers.setTimeout
  const realSetInterval = timers.setInterval
  const setTimeoutScaled = (fn, ms, ...args) => realSetTimeout(fn, shrink(ms), ...args)
  const setIntervalScaled = (fn, ms, ...args) => realSetInterval(fn, shrink(ms), ...args)
  globalThis.setTimeout = setTimeoutScaled
  globalThis.setInterval = setIntervalScaled
  timers.setTimeout = setTimeoutScaled
  timers.setInterval = setIntervalScaled

  const promises = require('node:timers/promises')
  const realSleep = promises.setTimeout
  const realEvery = promises.setInterval
  promises.setTimeout = (ms, value, options) => realSleep(shrink(ms), value, options)
  promises.setInterval = (ms, value, options) => realEvery(shrink(ms), value, options)
  syncBuiltinESMExports()
}
