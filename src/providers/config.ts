/**
 * Which provider and model serves each role, from defaults, an optional config
 * file (studio.config.json) and --model flags, in that order of precedence
 * (flags win). The zod schema is the single definition of the file format.
 */
import path from 'node:path'
import {z} from 'zod'

import {InputError} from '../core/errors.js'
import {readInputFile} from '../core/input-file.js'
import {USAGE_ROLES, type UsageRole} from '../core/schemas/common.js'
import {DEFAULT_SIZE_LIMITS, type SizeLimits} from '../media/limits.js'

/** Roles served by a language model, plus the transcriber and the speech synthesiser: the roles usage is counted by. */
export const PROVIDER_ROLES = USAGE_ROLES
export type ProviderRole = UsageRole

export const ProviderName = z.enum(['anthropic', 'openai'])
export type ProviderName = z.infer<typeof ProviderName>

/**
 * How an anthropic role asks for a structured answer: `output-format` (the default,
 * `output_config.format` with a JSON schema) or `tool` (a forced `answer` tool, for
 * models and proxies without structured outputs).
 */
export const StructuredOutput = z.enum(['output-format', 'tool'])

export const RoleEndpoint = z
  .object({
    provider: ProviderName,
    model: z.string().min(1),
    /** Any OpenAI-compatible server (Ollama, vLLM, LM Studio) for an openai role; a proxy for anthropic. */
    base_url: z.url().optional(),
    structured_output: StructuredOutput.optional(),
    /** The most output tokens one answer of this model may have; default: the model's published cap (providers/output-limits.ts). */
    max_output_tokens: z.number().int().positive().optional(),
  })
  .strict()
  .refine((endpoint) => endpoint.structured_output === undefined || endpoint.provider === 'anthropic', {
    message: 'structured_output applies to anthropic roles only (openai roles always use a strict json_schema response_format)',
    path: ['structured_output'],
  })
export type RoleEndpoint = z.infer<typeof RoleEndpoint>

/** An account's per-minute limits (the numbers on the provider's console); a limit left out keeps its default. */
export const RateLimitsConfig = z
  .object({
    requests_per_minute: z.number().positive().optional(),
    input_tokens_per_minute: z.number().positive().optional(),
    output_tokens_per_minute: z.number().positive().optional(),
    /** OpenAI: one limit for input and output tokens together. */
    tokens_per_minute: z.number().positive().optional(),
  })
  .strict()
export type RateLimitsConfig = z.infer<typeof RateLimitsConfig>

/**
 * The lowest paid tier of each provider, as published (checked 2026-12): Anthropic's
 * first tier for Claude Sonnet 4.x, OpenAI's tier 1 for gpt-4o. A run never sends
 * faster than these unless studio.config.json raises them to the account's own.
 */
export const DEFAULT_RATE_LIMITS: Record<ProviderName, RateLimitsConfig> = {
  anthropic: {requests_per_minute: 50, input_tokens_per_minute: 30_000, output_tokens_per_minute: 8_000},
  openai: {requests_per_minute: 500, tokens_per_minute: 30_000},
}

const BASE_URL_ENV: Record<ProviderName, string> = {anthropic: 'ANTHROPIC_BASE_URL', openai: 'OPENAI_BASE_URL'}

/**
 * The limits a provider's calls are held to: the file's rate_limits over the
 * defaults; but a provider reached through another server (a base_url in the config
 * or ${BASE_URL_ENV}) has limits studio cannot know, so only the file's apply there,
 * and none when it gives none.
 */
export function effectiveRateLimits(
  config: Pick<ResolvedConfig, 'rateLimits' | 'roles'>,
  provider: ProviderName,
  env: NodeJS.ProcessEnv = process.env,
): RateLimitsConfig {
  const explicit = config.rateLimits[provider]
  const elsewhere =
    Boolean(env[BASE_URL_ENV[provider]]) ||
    Object.values(config.roles).some((endpoint) => endpoint.provider === provider && endpoint.base_url !== undefined)
  if (elsewhere) return explicit ?? {}
  return {...DEFAULT_RATE_LIMITS[provider], ...explicit}
}

/** How long the judge's cached paper lives: `auto` asks for an hour when a trial takes longer than the default five minutes. */
export const PromptCacheTtl = z.enum(['auto', '5m', '1h'])
export type PromptCacheTtl = z.infer<typeof PromptCacheTtl>

/** Size guards (src/media/limits.ts): a paper or an episode past these is refused before any call, mock or real. */
export const SizeLimitsConfig = z
  .object({max_paper_pages: z.number().int().positive().optional(), max_episode_minutes: z.number().positive().optional()})
  .strict()

/** --batch: how batches are polled, and where a request that ended errored or expired is retried. */
export const BatchConfig = z
  .object({
    /** Seconds before the first poll of a batch; the wait doubles up to max_poll_seconds. Default 5. */
    poll_seconds: z.number().positive().max(3600).optional(),
    /** Default 60. */
    max_poll_seconds: z.number().positive().max(3600).optional(),
    /** `batch` (default): in the next batch; `sync`: at once, without a batch. */
    retry: z.enum(['batch', 'sync']).optional(),
  })
  .strict()

export const StudioConfig = z
  .object({
    $schema: z.string().optional(),
    roles: z.partialRecord(z.enum(PROVIDER_ROLES), RoleEndpoint).default({}),
    /** Seconds before one API call is abandoned (the SDKs then retry it). */
    timeout_seconds: z.number().positive().max(3600).optional(),
    /** Retries of 408/409/429/5xx and dropped connections (exponential backoff with jitter, retry-after honoured); default 8. */
    max_retries: z.number().int().min(0).max(20).optional(),
    /** Per provider: the account's per-minute limits, shared by every role on that provider. */
    rate_limits: z.object({anthropic: RateLimitsConfig.optional(), openai: RateLimitsConfig.optional()}).strict().optional(),
    prompt_cache_ttl: PromptCacheTtl.optional(),
    limits: SizeLimitsConfig.optional(),
    batch: BatchConfig.optional(),
  })
  .strict()
export type StudioConfig = z.infer<typeof StudioConfig>

export const CONFIG_FILE = 'studio.config.json'

/** Claude for analysis, judging and refinement, as the product is specified; OpenAI for audio. */
export const DEFAULT_ROLES: Record<ProviderRole, RoleEndpoint> = {
  classify: {provider: 'anthropic', model: 'claude-sonnet-4-6'},
  concepts: {provider: 'anthropic', model: 'claude-sonnet-4-6'},
  generate: {provider: 'anthropic', model: 'claude-sonnet-4-6'},
  judge: {provider: 'anthropic', model: 'claude-sonnet-4-6'},
  refine: {provider: 'anthropic', model: 'claude-sonnet-4-6'},
  transcribe: {provider: 'openai', model: 'whisper-1'},
  speech: {provider: 'openai', model: 'tts-1'},
}

export interface ResolvedConfig {
  roles: Record<ProviderRole, RoleEndpoint>
  timeoutSeconds: number | undefined
  maxRetries: number | undefined
  /** The file's rate_limits (see effectiveRateLimits for the defaults). */
  rateLimits: Partial<Record<ProviderName, RateLimitsConfig>>
  promptCacheTtl: PromptCacheTtl
  /** The file's `limits`, defaults filled in. */
  limits: SizeLimits
  /** The file's `batch`, defaults filled in. */
  batch: {pollMs: number; maxPollMs: number; retry: 'batch' | 'sync'}
  /** The file read, or null when none was found. */
  file: string | null
}

/**
 * Reads the config: `explicit` (--config) must exist; otherwise studio.config.json in
 * `cwd` is used when present. Then --model overrides (`role=provider:model`) apply.
 */
/** A config is a few hundred bytes: one of over a megabyte is not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024

function checkConfigBytes(file: string, bytes: number): void {
  if (bytes <= MAX_CONFIG_BYTES) return
  throw new InputError(`The config file ${file} is too large to be a config: ${bytes} bytes (at most ${MAX_CONFIG_BYTES})`, {
    path: file,
    hint: 'Point --config at studio.config.json (see TRAINING.md, "studio.config.json").',
  })
}

export async function loadConfig(options: {explicit?: string; cwd?: string; overrides?: string[]}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const file = options.explicit ? path.resolve(cwd, options.explicit) : path.join(cwd, CONFIG_FILE)
  let parsed: StudioConfig = {roles: {}}
  let found: string | null = null
  let text: string | null = null
  try {
    // A regular file only (a FIFO would hang, /dev/zero never end), of at most 1 MiB.
    text = (await readInputFile(file, 'Config file', (bytes) => checkConfigBytes(file, bytes))).toString('utf8')
  } catch (error) {
    if (error instanceof InputError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (options.explicit || code !== 'ENOENT') {
      throw new InputError(`Cannot read the config file ${file}: ${code === 'ENOENT' ? 'it does not exist' : (error as Error).message}`, {
        path: file,
        hint: `Create it (see TRAINING.md, "Providers and configuration"), or leave out --config to use ${CONFIG_FILE} in the current folder if there is one.`,
      })
    }
  }
  if (text !== null) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      // The user writes this file: bad input (exit 2), not a file studio wrote that went bad.
      throw new InputError(`The config file ${file} is not valid JSON: ${(error as Error).message}`, {
        path: file,
        hint: 'Fix the JSON syntax.',
      })
    }
    const result = StudioConfig.safeParse(json)
    if (!result.success) {
      throw new InputError(`The config file ${file} is not valid:\n${z.prettifyError(result.error)}`, {
        path: file,
        hint: `Each role (${PROVIDER_ROLES.join(', ')}) takes {"provider": "anthropic" | "openai", "model": "...", "base_url"?: "http://...", "structured_output"?: "output-format" | "tool" (anthropic only), "max_output_tokens"?: N}; see TRAINING.md, "Providers and configuration", for timeout_seconds, max_retries, rate_limits and prompt_cache_ttl.`,
      })
    }
    parsed = result.data
    found = file
  }
  const roles = {...DEFAULT_ROLES, ...parsed.roles}
  for (const override of options.overrides ?? []) {
    const {role, endpoint} = parseModelFlag(override)
    // The role's server and answer mode stay when only the model changes.
    const same = endpoint.provider === roles[role].provider
    roles[role] = {
      ...endpoint,
      base_url: same ? roles[role].base_url : undefined,
      structured_output: same ? roles[role].structured_output : undefined,
      max_output_tokens: same && endpoint.model === roles[role].model ? roles[role].max_output_tokens : undefined,
    }
  }
  for (const role of ['transcribe', 'speech'] as const) {
    if (roles[role].provider !== 'openai') {
      throw new InputError(`The ${role} role needs the openai provider (Whisper and OpenAI TTS); got ${roles[role].provider}`, {
        path: found ?? undefined,
        hint: `Set it to {"provider": "openai", "model": "${DEFAULT_ROLES[role].model}"}.`,
      })
    }
  }
  const rateLimits = parsed.rate_limits ?? {}
  const limits = {
    maxPaperPages: parsed.limits?.max_paper_pages ?? DEFAULT_SIZE_LIMITS.maxPaperPages,
    maxEpisodeMinutes: parsed.limits?.max_episode_minutes ?? DEFAULT_SIZE_LIMITS.maxEpisodeMinutes,
  }
  return {
    roles,
    timeoutSeconds: parsed.timeout_seconds,
    maxRetries: parsed.max_retries,
    rateLimits,
    promptCacheTtl: parsed.prompt_cache_ttl ?? 'auto',
    limits,
    batch: {
      pollMs: (parsed.batch?.poll_seconds ?? 5) * 1000,
      maxPollMs: (parsed.batch?.max_poll_seconds ?? 60) * 1000,
      retry: parsed.batch?.retry ?? 'batch',
    },
    file: found,
  }
}

/** `--model judge=openai:gpt-4o-mini`: one role, one provider and model. */
export function parseModelFlag(value: string): {role: ProviderRole; endpoint: RoleEndpoint} {
  const match = /^([a-z]+)=(anthropic|openai):(.+)$/.exec(value.trim())
  const role = match?.[1] as ProviderRole | undefined
  if (!match || !role || !PROVIDER_ROLES.includes(role)) {
    throw new InputError(`--model ${value}: expected ROLE=PROVIDER:MODEL`, {
      hint: `ROLE is one of ${PROVIDER_ROLES.join(', ')}; PROVIDER is anthropic or openai; e.g. --model judge=openai:gpt-4o-mini.`,
    })
  }
  return {role, endpoint: {provider: match[2] as ProviderName, model: match[3]!}}
}

/**
 * The API keys a configuration needs, for the roles the run uses. A role with its own
 * base_url (a local OpenAI-compatible server) needs none: servers like Ollama ignore it.
 */
export function requiredKeys(config: ResolvedConfig, roles: readonly ProviderRole[]): Array<'OPENAI' | 'ANTHROPIC'> {
  const names = new Set<'OPENAI' | 'ANTHROPIC'>()
  for (const role of roles) {
    const endpoint = config.roles[role]
    if (endpoint.base_url) continue
    names.add(endpoint.provider === 'openai' ? 'OPENAI' : 'ANTHROPIC')
  }
  return [...names].sort()
}
