/** Calls, tokens and cost per role, added up as a run makes its calls. */
import {costUsd} from '../providers/prices.js'
import type {Providers, Usage} from '../providers/types.js'
import {ROLES, type RoleUsage, type UsageSummary} from './schemas.js'

type Role = (typeof ROLES)[number]

function zero(): RoleUsage {
  return {calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0}
}

function add(a: RoleUsage, b: RoleUsage): RoleUsage {
  return {
    calls: a.calls + b.calls,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    // One call of unknown price makes the sum unknown: a partial sum would understate it.
    cost_usd: a.cost_usd === null || b.cost_usd === null ? null : a.cost_usd + b.cost_usd,
  }
}

export function emptyUsage(): UsageSummary {
  return {by_role: {}, total: zero()}
}

/** The usage of one call as a summary. */
export function callUsage(role: Role, usage: Usage, costUsd: number | null): UsageSummary {
  const entry: RoleUsage = {calls: 1, input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, cost_usd: costUsd}
  return {by_role: {[role]: entry}, total: entry}
}

export function mergeUsage(...summaries: UsageSummary[]): UsageSummary {
  const result = emptyUsage()
  for (const summary of summaries) {
    for (const role of ROLES) {
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

/** Providers whose language-model calls are recorded by every meter given. */
export function metered(providers: Providers, ...meters: UsageMeter[]): Providers {
  return {
    transcriber: providers.transcriber,
    languageModel(role) {
      const model = providers.languageModel(role)
      return {
        id: model.id,
        async structured(request) {
          const answer = await model.structured(request)
          for (const meter of meters) meter.record(request.role, model.id, answer.usage)
          return answer
        },
      }
    },
  }
}
