/**
 * Real providers from a resolved configuration: one SDK-backed client per role.
 * Keys are resolved (environment first, then `studio secrets`) and checked before
 * any work starts, so a missing key fails in the first second, not an hour in.
 */
import {AnthropicLanguageModel} from './anthropic.js'
import type {ProviderRole, ResolvedConfig} from './config.js'
import {effectiveRateLimits, requiredKeys} from './config.js'
import {OpenAIChatModel, OpenAISpeech, WhisperTranscriber} from './openai.js'
import {DEFAULT_RETRY_POLICY, RateLimiter} from './rate-limit.js'
import {missingKeyError, resolveKey, type SecretName} from './secrets.js'
import type {LanguageModel, Providers, ResponseCache} from '../core/providers.js'
import {ROLES, type RefinerMode} from '../core/schemas/common.js'

type Role = (typeof ROLES)[number]

export interface RealProviderOptions {
  config: ResolvedConfig
  cache: ResponseCache
  /** The run makes audio: the speech role is needed. */
  tts?: boolean
  /** A run with sidecars only needs no transcriber, so no OpenAI key for it. */
  transcribe?: boolean
  /** false for --dry-run: providers are built to name their models, never called. */
  requireKeys?: boolean
  env?: NodeJS.ProcessEnv
}

/** The roles a run will call. */
export function rolesInUse(options: {tts?: boolean; transcribe?: boolean; refiner?: RefinerMode; generateOnly?: boolean}): ProviderRole[] {
  if (options.generateOnly) return ['concepts', 'generate', ...(options.tts ? (['speech'] as const) : [])]
  const roles: ProviderRole[] = ROLES.filter((r) => r !== 'refine' || options.refiner === 'rule-based+llm')
  if (options.transcribe !== false) roles.push('transcribe')
  if (options.tts) roles.push('speech')
  return roles
}

/** Until the first byte of an answer, and the longest silence within a streamed one; long answers get more in total (streamLimits). */
const LANGUAGE_MODEL_TIMEOUT_MS = 300_000

/** Placeholder for a key a local OpenAI-compatible server does not check; never sent to a public API. */
const NO_KEY = 'not-needed'

export async function createRealProviders(options: RealProviderOptions & {roles: ProviderRole[]}): Promise<Providers> {
  const env = options.env ?? process.env
  const needed = requiredKeys(options.config, options.roles)
  const keys = new Map<SecretName, string>()
  const missing: SecretName[] = []
  for (const name of needed) {
    const resolved = await resolveKey(name, env)
    if (resolved) keys.set(name, resolved.key)
    else missing.push(name)
  }
  if (missing.length && options.requireKeys !== false) throw missingKeyError(missing, env)

  const {config, cache} = options
  const retryPolicy = {...DEFAULT_RETRY_POLICY, ...(config.maxRetries === undefined ? {} : {maxRetries: config.maxRetries})}
  const common = {
    cache,
    retryPolicy,
    ...(config.timeoutSeconds === undefined ? {} : {timeoutMs: config.timeoutSeconds * 1000}),
  }
  // One limiter per provider account, shared by every role (and model) on it.
  const limiters = {
    anthropic: new RateLimiter(effectiveRateLimits(config, 'anthropic', env)),
    openai: new RateLimiter(effectiveRateLimits(config, 'openai', env)),
  }
  const keyFor = (role: ProviderRole) => {
    const endpoint = config.roles[role]
    return keys.get(endpoint.provider === 'openai' ? 'OPENAI' : 'ANTHROPIC') ?? NO_KEY
  }
  // One client per distinct endpoint: roles that share a model share its connection pool.
  const models = new Map<string, LanguageModel>()
  const languageModel = (role: Role): LanguageModel => {
    const endpoint = config.roles[role]
    const id = `${endpoint.provider}:${endpoint.model}:${endpoint.base_url ?? ''}:${endpoint.structured_output ?? ''}:${endpoint.max_output_tokens ?? ''}`
    let model = models.get(id)
    if (!model) {
      // A whole script from a large model can take minutes: a timeout too short pays for the call twice.
      const base = {
        timeoutMs: LANGUAGE_MODEL_TIMEOUT_MS,
        ...common,
        apiKey: keyFor(role),
        model: endpoint.model,
        limiter: limiters[endpoint.provider],
        ...(endpoint.base_url ? {baseURL: endpoint.base_url} : {}),
        ...(endpoint.max_output_tokens ? {maxOutputTokens: endpoint.max_output_tokens} : {}),
      }
      model =
        endpoint.provider === 'anthropic'
          ? new AnthropicLanguageModel({...base, ...(endpoint.structured_output ? {structuredMode: endpoint.structured_output} : {})})
          : new OpenAIChatModel(base)
      models.set(id, model)
    }
    return model
  }
  const transcribe = config.roles.transcribe
  const speech = config.roles.speech
  return {
    transcriber: new WhisperTranscriber({
      ...common,
      apiKey: keyFor('transcribe'),
      model: transcribe.model,
      ...(transcribe.base_url ? {baseURL: transcribe.base_url} : {}),
    }),
    languageModel,
    ...(options.tts
      ? {
          speech: new OpenAISpeech({
            ...common,
            apiKey: keyFor('speech'),
            model: speech.model,
            ...(speech.base_url ? {baseURL: speech.base_url} : {}),
          }),
        }
      : {}),
  }
}
