/**
 * The fake API in a process of its own, for benchmarks: a real API's work does not
 * run on the client's event loop, so the benchmark must not put it there either.
 * Prints {"openaiBaseURL", "anthropicBaseURL"} on its first line; on stdin's end it
 * prints {"requests", "maxConcurrent"} and exits.
 */
import {startFakeApi} from '../test/helpers/fake-api.js'

const latencyMs = Number(process.argv[2] ?? 0)
const api = await startFakeApi({latencyMs})
process.stdout.write(`${JSON.stringify({openaiBaseURL: api.openaiBaseURL, anthropicBaseURL: api.anthropicBaseURL})}\n`)
process.stdin.resume()
process.stdin.on('end', async () => {
  process.stdout.write(`${JSON.stringify({requests: api.requests.length, maxConcurrent: api.maxConcurrent})}\n`)
  await api.close()
  process.exit(0)
})
