/**
 * Peak memory of a process, with Node alone (no /usr/bin/time): loaded with
 * `node --import ./bench/max-rss.mjs`, it writes the process's peak resident set size
 * (process.resourceUsage().maxRSS, in kilobytes: every thread of the process, the PDF
 * worker included) and its CPU time to the file named by STUDIO_BENCH_RSS_FILE when the
 * process exits, however it exits (process.exit included; not on a fatal signal).
 */
import {writeFileSync} from 'node:fs'
import {isMainThread} from 'node:worker_threads'

const file = process.env.STUDIO_BENCH_RSS_FILE
if (file && isMainThread) {
  process.on('exit', (code) => {
    const usage = process.resourceUsage()
    const record = {
      max_rss_kb: usage.maxRSS,
      cpu_ms: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
      exit_code: code,
    }
    writeFileSync(file, `${JSON.stringify(record)}\n`)
  })
}
