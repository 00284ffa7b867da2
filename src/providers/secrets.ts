/**
 * API keys: from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY), else from
 * <config dir>/secrets.json, which `studio secrets set` writes with mode 0600 in a
 * folder with mode 0700. The environment always wins, so a CI job or a shell can
 * override a stored key without touching the file.
 *
 * A key never appears in an error message, a log line or any file but secrets.json:
 * messages name the variable, and show at most a masked form (first 3 + '…' + last 4).
 */
import {chmod, mkdir, open, readFile, rename, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {z} from 'zod'

import {CorruptFileError, InputError} from '../core/errors.js'
import {CONFIG_DIR, fileSystemError} from '../core/fs-errors.js'
import {tempName, writing} from '../core/store.js'

export const SECRET_NAMES = ['OPENAI', 'ANTHROPIC'] as const
export type SecretName = (typeof SECRET_NAMES)[number]
export type SecretSource = 'env' | 'file' | 'none'

export const SECRETS_FILE_NAME = 'secrets.json'
export const MAX_KEY_LENGTH = 511

const SecretsFile = z.object({
  version: z.literal(1),
  /** By secret name (OPENAI, ANTHROPIC); unknown names are kept as they are. */
  keys: z.record(z.string(), z.string()),
})
type SecretsFile = z.infer<typeof SecretsFile>

export interface SecretListing {
  name: SecretName
  env_var: string
  source: SecretSource
  masked: string | null
}

export interface ResolvedKey {
  key: string
  source: 'env' | 'file'
  /** e.g. that secrets.json is readable by other users. */
  warnings: string[]
}

export function envVarOf(name: SecretName): string {
  return `${name}_API_KEY`
}

/** openai|anthropic in any case. The input is never echoed: a key typed in its place must not be printed. */
export function parseSecretName(input: string): SecretName {
  const upper = input.trim().toUpperCase()
  const found = SECRET_NAMES.find((n) => n === upper || envVarOf(n) === upper)
  if (found) return found
  throw new InputError(`Unknown secret name: use one of ${SECRET_NAMES.join(', ')} (case does not matter)`, {
    hint: 'For example: printf %s "$OPENAI_API_KEY" | studio secrets set OPENAI',
  })
}

/** $STUDIO_CONFIG_DIR, else $XDG_CONFIG_HOME/studio, else ~/.config/studio (~/Library/Application Support/studio on macOS). */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.STUDIO_CONFIG_DIR?.trim()
  if (explicit) return path.resolve(explicit)
  const xdg = env.XDG_CONFIG_HOME?.trim()
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'studio')
  const home = env.HOME?.trim() || os.homedir()
  return platform === 'darwin' ? path.join(home, 'Library', 'Application Support', 'studio') : path.join(home, '.config', 'studio')
}

export function secretsFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultConfigDir(env), SECRETS_FILE_NAME)
}

/** First 3 + '…' + last 4 characters; shorter keys show less (at most a quarter of them), never the whole key. */
export function maskKey(key: string): string {
  if (key.length >= 16) return `${key.slice(0, 3)}…${key.slice(-4)}`
  const tail = Math.floor(key.length / 4)
  return tail > 0 ? `…${key.slice(-tail)}` : '…'
}

/**
 * Checks a key and returns it without surrounding whitespace (a pasted key or one
 * piped with a trailing newline). Messages describe the problem, never the value.
 */
export function validateKey(name: SecretName, value: string): string {
  const key = value.trim()
  const what = `The ${name} key`
  if (key === '')
    throw new InputError(`${what} is empty`, {
      hint: `Pipe the key on stdin (printf %s "$KEY" | studio secrets set ${name}), or type it at the prompt.`,
    })
  if (/\s/.test(key))
    throw new InputError(`${what} contains whitespace or a line break inside it`, {
      hint: 'Give the key alone, on one line, as the provider shows it.',
    })
  if (!/^[\x21-\x7e]+$/.test(key))
    throw new InputError(`${what} contains characters that are not printable ASCII`, {
      hint: 'Copy the key again from the provider console: API keys are plain ASCII.',
    })
  if (key.length > MAX_KEY_LENGTH)
    throw new InputError(`${what} is ${key.length} characters long; keys are under 512`, {
      hint: 'Check that only the key was given, not a whole file.',
    })
  return key
}

interface LoadedSecrets {
  file: string
  keys: Partial<Record<string, string>>
  exists: boolean
  warnings: string[]
}

/** Reads secrets.json (missing: no keys). A group- or world-readable file is read, with a warning. */
export async function readSecretsFile(env: NodeJS.ProcessEnv = process.env): Promise<LoadedSecrets> {
  const file = secretsFilePath(env)
  const warnings: string[] = []
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return {file, keys: {}, exists: false, warnings}
    throw new InputError(`Cannot read ${file}: ${code ?? 'unknown error'}`, {
      path: file,
      hint: `Check the file's owner and mode (it should be yours, mode 0600).`,
    })
  }
  if (process.platform !== 'win32') {
    const mode = ((await stat(file).catch(() => null))?.mode ?? 0o600) & 0o777
    if (mode & 0o077) {
      warnings.push(
        `${file} is readable by other users (mode 0${mode.toString(8)}): run chmod 600 ${JSON.stringify(file)}, and consider rotating the keys in it.`,
      )
    }
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the text, which holds keys: never pass it on.
    throw corrupt(file)
  }
  const parsed = SecretsFile.safeParse(raw)
  if (!parsed.success) throw corrupt(file)
  return {file, keys: parsed.data.keys, exists: true, warnings}
}

function corrupt(file: string): CorruptFileError {
  return new CorruptFileError(`${file} is not a secrets file studio can read`, {
    path: file,
    hint: `Fix or delete it, then store the keys again with \`studio secrets set OPENAI\` (or set ${SECRET_NAMES.map(envVarOf).join(' / ')}).`,
  })
}

/** Stores a key in secrets.json (mode 0600, folder 0700), replacing the file atomically. Returns the file. */
export async function setSecret(
  name: SecretName,
  value: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{file: string; masked: string}> {
  const key = validateKey(name, value)
  const loaded = await readSecretsFile(env)
  await writeSecretsFile(loaded.file, {version: 1, keys: {...loaded.keys, [name]: key} as Record<string, string>})
  return {file: loaded.file, masked: maskKey(key)}
}

/** Removes a stored key; false when it was not stored. The file goes when it holds no key any more. */
export async function removeSecret(name: SecretName, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const loaded = await readSecretsFile(env)
  if (loaded.keys[name] === undefined) return false
  const keys = Object.fromEntries(Object.entries(loaded.keys).filter(([k]) => k !== name)) as Record<string, string>
  if (Object.keys(keys).length === 0) await rm(loaded.file, {force: true})
  else await writeSecretsFile(loaded.file, {version: 1, keys})
  return true
}

export async function listSecrets(env: NodeJS.ProcessEnv = process.env): Promise<SecretListing[]> {
  const loaded = await readSecretsFile(env)
  return SECRET_NAMES.map((name) => {
    const fromEnv = envValue(name, env)
    const fromFile = loaded.keys[name]
    if (fromEnv) return {name, env_var: envVarOf(name), source: 'env' as const, masked: maskKey(fromEnv)}
    if (fromFile) return {name, env_var: envVarOf(name), source: 'file' as const, masked: maskKey(fromFile)}
    return {name, env_var: envVarOf(name), source: 'none' as const, masked: null}
  })
}

/** The key to use: the environment variable when set (and not blank), else secrets.json, else null. */
export async function resolveKey(name: SecretName, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedKey | null> {
  const fromEnv = envValue(name, env)
  if (fromEnv) return {key: fromEnv, source: 'env', warnings: []}
  const loaded = await readSecretsFile(env)
  const fromFile = loaded.keys[name]
  return fromFile ? {key: fromFile, source: 'file', warnings: loaded.warnings} : null
}

/** The error for keys that are needed and set nowhere: names every variable and both ways to set it. */
export function missingKeyError(names: SecretName[], env: NodeJS.ProcessEnv = process.env): InputError {
  const unique = [...new Set(names)]
  const vars = unique.map(envVarOf)
  const file = secretsFilePath(env)
  const list = vars.length <= 1 ? (vars[0] ?? '') : `${vars.slice(0, -1).join(', ')} and ${vars.at(-1)}`
  const message = `Missing API key${vars.length > 1 ? 's' : ''}: ${list} ${vars.length > 1 ? 'are' : 'is'} not set, and ${SECRETS_FILE_NAME} holds no ${vars.length > 1 ? 'keys' : 'key'} for ${vars.length > 1 ? 'them' : 'it'}.`
  const hint = [
    `Set ${vars.length > 1 ? 'each one' : 'it'} for this shell: ${vars.map((v) => `export ${v}=...`).join('; ')}`,
    `or store ${vars.length > 1 ? 'them' : 'it'} once: ${unique.map((n) => `studio secrets set ${n}`).join('; ')} (stored with mode 0600 in ${file}).`,
    'Or run with --mock to work offline.',
  ].join('\n      ')
  return new InputError(message, {hint})
}

function envValue(name: SecretName, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[envVarOf(name)]?.trim()
  return value ? value : undefined
}

/**
 * Atomic write of a file that holds secrets: the temp file is created with mode 0600
 * (exclusively, so no one else's file is reused) before anything is written into it,
 * then renamed over the old one. The folder is created with mode 0700.
 */
async function writeSecretsFile(file: string, content: SecretsFile): Promise<void> {
  const dir = path.dirname(file)
  await ensurePrivateDir(dir)
  const temp = path.join(dir, tempName(path.basename(file)))
  // Through the write seam of store.ts: a full disk or a read-only folder gets the message,
  // path, fix and exit code of core/fs-errors.ts, as every other write of studio.
  await writing(
    file,
    'write',
    async () => {
      try {
        const handle = await open(temp, 'wx', 0o600)
        try {
          // The umask can only take bits away; make it exactly 0600 whatever it is.
          await handle.chmod(0o600)
          await handle.writeFile(`${JSON.stringify(SecretsFile.parse(content), null, 2)}\n`, 'utf8')
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(temp, file)
      } catch (error) {
        await rm(temp, {force: true})
        throw error
      }
    },
    CONFIG_DIR,
  )
}

async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, {recursive: true, mode: 0o700})
    if (process.platform === 'win32') return
    const info = await stat(dir)
    // Tighten a folder we own, but never a shared one such as /tmp (sticky bit) or the home folder.
    const shared =
      (info.mode & 0o1000) !== 0 ||
      path.resolve(dir) === path.resolve(os.homedir()) ||
      (typeof process.getuid === 'function' && info.uid !== process.getuid())
    if ((info.mode & 0o077) !== 0 && !shared) await chmod(dir, 0o700)
  } catch (error) {
    const mapped = fileSystemError(error, dir, 'mkdir', CONFIG_DIR)
    if (mapped !== error) throw mapped
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error'
    throw new InputError(`Cannot create ${dir}: ${code}`, {path: dir, hint: 'Choose another folder with STUDIO_CONFIG_DIR.'})
  }
}
