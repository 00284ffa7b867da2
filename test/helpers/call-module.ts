/**
 * The child side of callUnprivileged (unprivileged.ts):
 *
 *   node --import tsx test/helpers/call-module.ts MODULE EXPORT JSON_ARGS
 *
 * prints {"value": ...} or {"error": {name, message, path, hint, exitCode}} on stdout.
 */
import {pathToFileURL} from 'node:url'

const [modulePath, exportName, json] = process.argv.slice(2)
const mod = (await import(pathToFileURL(modulePath!).href)) as Record<string, (...args: unknown[]) => unknown>
let outcome: unknown
try {
  outcome = {value: await mod[exportName!]!(...(JSON.parse(json!) as unknown[]))}
} catch (thrown) {
  const error = thrown as Error & {path?: string; hint?: string; exitCode?: number}
  outcome = {error: {name: error.constructor.name, message: error.message, path: error.path, hint: error.hint, exitCode: error.exitCode}}
}
// Exit once stdout is written: a worker the module started (the PDF reader) would keep the process alive.
process.stdout.write(JSON.stringify(outcome), () => process.exit(0))
