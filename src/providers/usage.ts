/** Calls, tokens and cost per role, added up as a run makes its calls. */
import {costUsd} from './prices.js'
import {ProviderError} from '../core/errors.js'
import type {Providers, Usage} from '../core/providers.js'
import {USAGE_ROLES, type RoleUsage, type UsageRole, type UsageSummary} from '../core/schemas/common.js'

type Role = UsageRole

function zero(): RoleUsage {
  return {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}
}

const OPTIONAL_COUNTS = ['audio_seconds', 'characters', 'cache_write_tokens', 'cache_write_1h_tokens', 'cache_read_tokens'] as const

function add(a: RoleUsage, b: RoleUsage): RoleUsage {
  const sum: RoleUsage = {
    calls: a.calls + b.calls,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    // One call of unknown price makes the sum unknown: a partial sum would understate it.
    cost_usd: a.cost_usd === null || b.cost_usd === null ? null : a.cost_usd + b.cost_usd,
  }
  // Present only when non-zero, so that token-only usage keeps its shape.
  for (const key of OPTIONAL_COUNTS) {
    const total = (a[key] ?? 0) + (b[key] ?? 0)
    if (total > 0) sum[key] = total
  }
  return sum
}

export function emptyUsage(): UsageSummary {
  return {by_role: {}, total: zero()}
}

/** The usage of one answer as a summary (`usage.calls` requests, 1 when not given). */
export function callUsage(role: Role, usage: Usage, costUsd: number | null): UsageSummary {
  const entry: RoleUsage = {
    calls: usage.calls ?? 1,
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cost_usd: costUsd,
  }
  for (const key of OPTIONAL_COUNTS) if (usage[key]) entry[key] = usage[key]
  return {by_role: {[role]: entry}, total: entry}
}

export function mergeUsage(...summaries: UsageSummary[]): UsageSummary {
  const result = emptyUsage()
  for (const summary of summaries) {
    for (const role of USAGE_ROLES) {
      const entry = summary.by_role[role]
      if (entry) result.by_role[role] = add(result.by_role[role] ?? zero(), entry)
    }
    result.total = add(result.total, summary.total)
  }
  return result
}

/** Adds up the usage of every call made through the providers it wraps. */
export class UsageMeter {
  private summary = emptyUsage()

  record(role: Role, modelId: string, usage: Usage): void {
    this.summary = mergeUsage(this.summary, callUsage(role, usage, costUsd(modelId, usage)))
  }

  get usage(): UsageSummary {
    return this.summary
  }
}

/** A provider failure after answers that were paid for (ProviderError.usage) still costs them. */
function recordPaidFailure(error: unknown, role: Role, modelId: string, meters: UsageMeter[]): void {
  if (error instanceof ProviderError && error.usage) for (const meter of meters) meter.record(role, modelId, error.usage)
}

/**
 * Providers whose calls are recorded by every meter given. Answers served from the
 * response cache cost nothing and are not counted: usage is what the run paid for.
 */
export function metered(providers: Providers, ...meters: UsageMeter[]): Providers {
  const {transcriber, speech} = providers
  return {
    transcriber: {
      id: transcriber.id,
      async transcribe(request) {
        const result = await transcriber.transcribe(request).catch((error: unknown) => {
          recordPaidFailure(error, 'transcribe', transcriber.id, meters)
          throw error
        })
        // A transcriber that does not report usage is billed for the audio it was given.
        const usage = result.usage ?? {input_tokens: 0, output_tokens: 0, audio_seconds: request.durationSeconds}
        if (usage.audio_seconds || usage.input_tokens || usage.output_tokens)
          for (const meter of meters) meter.record('transcribe', transcriber.id, usage)
        return result
      },
    },
    languageModel(role) {
      const model = providers.languageModel(role)
      return {
        id: model.id,
        maxOutputTokens: model.maxOutputTokens,
        ...(model.requestLimit ? {requestLimit: model.requestLimit} : {}),
        async structured(request) {
          const answer = await model.structured(request).catch((error: unknown) => {
            recordPaidFailure(error, request.role, model.id, meters)
            throw error
          })
          if (!answer.cached) for (const meter of meters) meter.record(request.role, model.id, answer.usage)
          return answer
        },
      }
    },
    ...(speech
      ? {
          speech: {
            id: speech.id,
            voices: speech.voices,
            async synthesize(request) {
              const answer = await speech.synthesize(request)
              if (!answer.cached)
                for (const meter of meters)
                  meter.record('speech', speech.id, {input_tokens: 0, output_tokens: 0, characters: answer.characters})
              return answer
            },
          },
        }
      : {}),
  }
}
