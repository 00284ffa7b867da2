/**
 * The fake API in a process of its own, for benchmarks: a real API's work does not
 * run on the client's event loop, so the benchmark must not put it there either.
 *
 * Arguments: [latencyMs] [options], options being a JSON object of the serialisable
 * FakeApiOptions (msPerOutputToken, rateLimits, modelMaxOutputTokens, unboundedAnswers,
 * latencyMs too, which the first argument overrides unless it is empty), e.g.
 *   fake-api-process.ts 0 '{"msPerOutputToken": 2, "rateLimits": {"anthropic": {"requestsPerMinute": 50}}}'
 * Prints {"openaiBaseURL", "anthropicBaseURL"} on its first line; on stdin's end it
 * prints {"requests", "maxConcurrent", "stats", "cpu_ms"} (stats: FakeApiStats, with the
 * 429s the rate limits sent; cpu_ms: this process's CPU time, start-up included) and exits.
 */
import {startFakeApi, type FakeApiOptions} from '../test/helpers/fake-api.js'

type Serialisable = Omit<FakeApiOptions, 'answer'>
const OPTION_KEYS: ReadonlyArray<keyof Serialisable> = [
  'latencyMs',
  'msPerOutputToken',
  'rateLimits',
  'modelMaxOutputTokens',
  'unboundedAnswers',
]

function parseOptions(text: string | undefined): Serialisable {
  if (!text) return {}
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`options must be a JSON object, got ${text}`)
  const unknown = Object.keys(parsed).filter((key) => !(OPTION_KEYS as readonly string[]).includes(key))
  if (unknown.length) throw new Error(`unknown options ${unknown.join(', ')}; known: ${OPTION_KEYS.join(', ')}`)
  return parsed
}

const options = parseOptions(process.argv[3])
if (process.argv[2]) options.latencyMs = Number(process.argv[2])
const api = await startFakeApi(options)
process.stdout.write(`${JSON.stringify({openaiBaseURL: api.openaiBaseURL, anthropicBaseURL: api.anthropicBaseURL})}\n`)
process.stdin.resume()
process.stdin.on('end', () => void report())
async function report(): Promise<void> {
  if (process.env.BENCH_TRACE) {
    // The server's own CPU time (start-up included): it shares the machine with the client.
    const cpu = process.cpuUsage()
    process.stderr.write(`api cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms\n`)
    // When each request arrived (ms after the first) and what it was: the uploaded file,
    // or the fields of the structured answer asked for.
    const start = api.requests[0]?.time ?? 0
    for (const request of api.requests) {
      const body = request.body as {
        file?: {name: string}
        output_config?: {format?: {schema?: {properties?: object}}}
        response_format?: {json_schema?: {schema?: {properties?: object}}}
      } | null
      const schema = body?.output_config?.format?.schema ?? body?.response_format?.json_schema?.schema
      const what = body?.file?.name ?? Object.keys(schema?.properties ?? {}).join(',')
      process.stderr.write(`api ${request.time - start} ${request.path} ${what}\n`)
    }
  }
  const cpu = process.cpuUsage()
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000)
  process.stdout.write(
    `${JSON.stringify({requests: api.requests.length, maxConcurrent: api.maxConcurrent, stats: api.stats, cpu_ms: cpuMs})}\n`,
  )
  await api.close()
  process.exit(0)
}
