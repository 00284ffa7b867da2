/**
 * JSON that tests read back from the CLI and from run folders, typed by the schema of
 * its format: a value of the wrong shape fails the test here, with zod's message,
 * instead of reaching the assertions as `any`.
 */
import {readFile} from 'node:fs/promises'

import {z} from 'zod'

/** `text` parsed as JSON and checked against `schema`. */
export function parseJson<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  return schema.parse(JSON.parse(text))
}

/** A JSON file, checked against `schema`. */
export async function readJson<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S>> {
  return parseJson(await readFile(file, 'utf8'), schema)
}

/** A JSON-lines file (events.jsonl), every line checked against `schema`. */
export async function readJsonLines<S extends z.ZodType>(file: string, schema: S): Promise<Array<z.output<S>>> {
  const text = await readFile(file, 'utf8')
  return text
    .trim()
    .split('\n')
    .map((line) => parseJson(line, schema))
}

/** What a command prints on stdout with --json when it fails (StudioCommand.toErrorJson). */
export const CliErrorJson = z.object({
  error: z.object({message: z.string(), hint: z.string().nullable(), path: z.string().nullable(), exit_code: z.number().int()}),
})
export type CliErrorJson = z.output<typeof CliErrorJson>

/** The error a failed command printed with --json. */
export function cliError(stdout: string): CliErrorJson['error'] {
  return parseJson(stdout, CliErrorJson).error
}
