/**
 * --batch: a phase's model calls go through the providers' batch APIs instead of one
 * request each. The stage code is unchanged: it calls the language model as always,
 * and each call that the response cache cannot answer waits here. When every unit of
 * the phase in flight (a pair, or the refinement) waits on such a call, the waiting
 * calls go out as one batch per model, and their answers come back to the callers
 * (and into the cache). Calls that depend on an earlier answer (a judge on its script,
 * the parts of a long script) therefore go in the next batch of the same phase.
 *
 * Before a batch is polled, its id and its custom_id -> unit map are written to
 * batches/<phase>.json (atomically): a run stopped by Ctrl-C, kill -9 or a reboot
 * and resumed asks for the same calls again (the prompts are deterministic), finds
 * them in the file by their custom_id (the hash of the request as the cache keys it)
 * and re-attaches to the batch instead of paying for it again.
 *
 * A request that ended errored, expired or canceled goes in the next batch once more
 * (or is made synchronously, `retry: 'sync'`); one that fails again is made
 * synchronously, where the ordinary retries apply, and a pair whose call still fails
 * is isolated as without --batch. An answer the schema refuses is asked again
 * synchronously, where the ask loop can show the model what was wrong.
 */
import {AsyncLocalStorage} from 'node:async_hooks'
import {setTimeout as sleep} from 'node:timers/promises'

import {runPaths} from '../../core/layout.js'
import type {
  BatchClient,
  BatchItemResult,
  LanguageModel,
  PreparedCall,
  Providers,
  StructuredAnswer,
  StructuredRequest,
  Usage,
} from '../../core/providers.js'
import type {NewRunEvent, Phase} from '../../core/schemas/events.js'
import {BatchesFile, type BatchRecord} from '../../core/schemas/files.js'
import {makeDir, readJsonIfExists, writeJson} from '../../core/store.js'

export interface BatchSettings {
  /** The first wait between two polls of a batch; it doubles up to maxPollMs. */
  pollMs: number
  maxPollMs: number
  /** Where requests that ended errored, expired or canceled are retried once: the next batch, or synchronously. */
  retry: 'batch' | 'sync'
}

export const DEFAULT_BATCH_SETTINGS: BatchSettings = {pollMs: 5_000, maxPollMs: 60_000, retry: 'batch'}

/** Batches a request may be in before it is made synchronously. */
const MAX_BATCH_ATTEMPTS = 2

export interface BatchContext {
  runDir: string
  emit: (event: NewRunEvent) => void
  clock: () => Date
  signal?: AbortSignal
  settings: BatchSettings
}

/** One phase's calls: wrap its providers, and run each of its units (pairs) through `unit`. */
export interface CallScope {
  providers(base: Providers): Providers
  unit<T>(label: string, work: () => Promise<T>): Promise<T>
}

/** The scope of a phase in batch mode, or null without --batch (then the stages call as usual). */
export function batchScope(ctx: BatchContext | undefined, phase: string, eventPhase: Phase): CallScope | null {
  return ctx ? new PhaseBatcher(ctx, phase, eventPhase) : null
}

/** Runs `work` as a unit of `scope` when there is one. */
export function inUnit<T>(scope: CallScope | null, label: string, work: () => Promise<T>): Promise<T> {
  return scope ? scope.unit(label, work) : work()
}

interface Waiting {
  customId: string
  unit: string
  model: LanguageModel
  client: BatchClient
  request: StructuredRequest<unknown>
  prepared: PreparedCall<unknown>
  /** Batches it was in. */
  attempts: number
  callers: Array<{resolve: (answer: StructuredAnswer<unknown>) => void; reject: (error: unknown) => void}>
}

interface Pending {
  record: BatchRecord
  client: BatchClient
  entries: Waiting[]
}

const OUTSIDE_UNITS = '(run)'

class PhaseBatcher implements CallScope {
  private readonly units = new AsyncLocalStorage<string>()
  private active = 0
  private waiting = new Map<string, Waiting>()
  /** Calls in a batch not yet answered, by unit: a unit with one is blocked as one with a waiting call is. */
  private readonly inBatch = new Map<string, number>()
  private scheduled = false
  /** batches/<phase>.json as this process knows it (read once), and the chain of its writes. */
  private record: Promise<BatchesFile> | null = null
  private saving: Promise<void> = Promise.resolve()
  /** Batches whose results this process read: a request retried is not re-attached to them. */
  private readonly read = new Set<string>()
  private readonly file: string

  constructor(
    private readonly ctx: BatchContext,
    private readonly phase: string,
    private readonly eventPhase: Phase,
  ) {
    this.file = runPaths(ctx.runDir).batch(phase)
  }

  providers(base: Providers): Providers {
    const models = new Map<LanguageModel, LanguageModel>()
    return {
      ...base,
      languageModel: (role) => {
        const model = base.languageModel(role)
        if (!model.batch) return model
        let wrapped = models.get(model)
        if (!wrapped) {
          wrapped = this.batching(model)
          models.set(model, wrapped)
        }
        return wrapped
      },
    }
  }

  async unit<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.active++
    try {
      return await this.units.run(label, work)
    } finally {
      this.active--
      this.schedule()
    }
  }

  private batching(model: LanguageModel): LanguageModel {
    const support = model.batch!
    return {
      id: model.id,
      maxOutputTokens: model.maxOutputTokens,
      ...(model.requestLimit ? {requestLimit: model.requestLimit} : {}),
      structured: async <T>(request: StructuredRequest<T>): Promise<StructuredAnswer<T>> => {
        const prepared = support.prepare(request)
        const hit = await prepared.cached()
        if (hit) return hit
        const customId = `r_${prepared.hash.slice(0, 62)}`
        return new Promise<StructuredAnswer<T>>((resolve, reject) => {
          const caller = {resolve: resolve as (answer: StructuredAnswer<unknown>) => void, reject}
          const same = this.waiting.get(customId)
          if (same) same.callers.push(caller)
          else
            this.waiting.set(customId, {
              customId,
              unit: this.units.getStore() ?? OUTSIDE_UNITS,
              model,
              client: support.client,
              request,
              prepared,
              attempts: 0,
              callers: [caller],
            })
          this.schedule()
        })
      },
    }
  }

  /**
   * Sends the waiting calls once every unit in flight is blocked: on a waiting call, or on
   * one in a batch already sent (checked after the current turn, when siblings have asked
   * too). Batches of one phase may thus be pending together (a pair's classification goes
   * out while the concepts batch runs).
   */
  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      if (this.waiting.size === 0) return
      const blocked = new Set([...this.waiting.values()].map((w) => w.unit))
      for (const [unit, count] of this.inBatch) if (count > 0) blocked.add(unit)
      blocked.delete(OUTSIDE_UNITS)
      if (blocked.size < this.active) return
      const entries = [...this.waiting.values()]
      this.waiting = new Map()
      for (const entry of entries) this.inBatch.set(entry.unit, (this.inBatch.get(entry.unit) ?? 0) + 1)
      this.flush(entries)
        .catch((error: unknown) => {
          for (const entry of entries) this.settle(entry, (caller) => caller.reject(error))
        })
        .finally(() => this.schedule())
    })
  }

  /** Answers (or fails) an entry's callers, once: the entry no longer blocks its unit. */
  private settle(entry: Waiting, how: (caller: Waiting['callers'][number]) => void): void {
    const callers = entry.callers.splice(0)
    if (callers.length === 0) return
    this.inBatch.set(entry.unit, (this.inBatch.get(entry.unit) ?? 1) - 1)
    for (const caller of callers) how(caller)
    this.schedule()
  }

  private async flush(entries: Waiting[]): Promise<void> {
    this.ctx.signal?.throwIfAborted()
    this.record ??= readJsonIfExists(this.file, BatchesFile).then((file) => file ?? {phase: this.phase, batches: []})
    const file = await this.record
    const batches = new Map<string, Pending>()
    const fresh: Waiting[] = []
    for (const entry of entries) {
      // A run resumed asks for the same calls: the latest batch that holds one is polled, not paid for again.
      const record = entry.attempts === 0 ? file.batches.findLast((b) => entry.customId in b.requests && !this.read.has(b.id)) : undefined
      if (!record) {
        fresh.push(entry)
        continue
      }
      const pending = batches.get(record.id) ?? {record, client: entry.client, entries: []}
      pending.entries.push(entry)
      batches.set(record.id, pending)
    }
    for (const pending of batches.values())
      this.progress(pending, `re-attached to batch ${pending.record.id} submitted at ${pending.record.submitted_at}`, 0)

    const groups = new Map<string, Waiting[]>()
    for (const entry of fresh) groups.set(entry.prepared.group, [...(groups.get(entry.prepared.group) ?? []), entry])
    for (const [group, members] of groups) {
      const id = await this.submitOrFail(members)
      if (id === null) continue
      const record: BatchRecord = {
        id,
        client: members[0]!.client.id,
        group,
        submitted_at: this.ctx.clock().toISOString(),
        requests: Object.fromEntries(members.map((m) => [m.customId, {unit: m.unit, request_sha256: m.prepared.hash}])),
        ended_at: null,
      }
      file.batches.push(record)
      // Written before the first poll: from here on a restart re-attaches instead of paying again.
      await this.save(file)
      const pending = {record, client: members[0]!.client, entries: members}
      batches.set(id, pending)
      this.progress(pending, `submitted batch ${id} of ${members.length} request(s)`, 0)
    }
    await Promise.all(
      [...batches.values()].map(async (pending) => {
        const results = await this.await(pending)
        pending.record.ended_at = this.ctx.clock().toISOString()
        this.read.add(pending.record.id)
        await this.save(file)
        await Promise.all(pending.entries.map((entry) => this.deliver(entry, results.get(entry.customId))))
      }),
    )
  }

  /** Submits one group; a refusal fails its callers (their pairs are isolated), not the other groups. */
  private async submitOrFail(members: Waiting[]): Promise<string | null> {
    try {
      return await members[0]!.client.submit(members.map((m) => ({customId: m.customId, body: m.prepared.body})))
    } catch (error) {
      for (const member of members) this.settle(member, (caller) => caller.reject(error))
      return null
    }
  }

  /** Writes the file (atomically), one write after the other: batches of a phase may end together. */
  private save(file: BatchesFile): Promise<void> {
    const write = this.saving.then(async () => {
      await makeDir(runPaths(this.ctx.runDir).batches, {recursive: true})
      await writeJson(this.file, BatchesFile, file)
    })
    this.saving = write.catch(() => {})
    return write
  }

  /** Polls a batch until it ends (backoff from pollMs to maxPollMs), reporting progress; then its results. */
  private async await(pending: Pending): Promise<Map<string, BatchItemResult>> {
    const {client, record} = pending
    let delay = this.ctx.settings.pollMs
    for (;;) {
      this.ctx.signal?.throwIfAborted()
      const progress = await client.progress(record.id)
      const counts = `${progress.done}/${progress.total} done${progress.failed ? ` (${progress.failed} failed)` : ''}`
      this.progress(pending, `${counts}, ${progress.status}${progress.note ? `: ${progress.note}` : ''}`, progress.done, progress.total)
      if (progress.ended) break
      await sleep(delay, undefined, this.ctx.signal ? {signal: this.ctx.signal} : {})
      delay = Math.min(delay * 2, this.ctx.settings.maxPollMs)
    }
    return client.results(record.id)
  }

  private progress(pending: Pending, what: string, done: number, total = pending.entries.length): void {
    const elapsed = Math.max(0, Math.round((this.ctx.clock().getTime() - Date.parse(pending.record.submitted_at)) / 1000))
    this.ctx.emit({
      type: 'progress',
      phase: this.eventPhase,
      done,
      total,
      message: `Batch ${pending.record.id} (${this.phase}, ${pending.entries[0]?.model.id ?? pending.record.group}): ${what}; ${formatElapsed(elapsed)} elapsed`,
    })
  }

  /** One request's result to its callers: the answer, another batch, or a synchronous call. */
  private async deliver(entry: Waiting, result: BatchItemResult | undefined): Promise<void> {
    if (result?.ok) {
      const accepted = await entry.prepared.accept(result.body)
      if (accepted.ok) {
        this.settle(entry, (caller) => caller.resolve(accepted.answer))
        return
      }
      this.ctx.emit({
        type: 'warning',
        message: `${entry.unit}: a batched ${entry.request.role} answer was refused (${accepted.reason}); asking again without a batch`,
      })
      this.synchronously(entry, accepted.usage)
      return
    }
    entry.attempts++
    const reason = result ? result.reason : 'the request is missing from the results'
    if (this.ctx.settings.retry === 'batch' && entry.attempts < MAX_BATCH_ATTEMPTS) {
      this.ctx.emit({
        type: 'warning',
        message: `${entry.unit}: a batched ${entry.request.role} request failed (${reason}); it goes in the next batch`,
      })
      // Still blocking its unit, now as a waiting call.
      this.inBatch.set(entry.unit, (this.inBatch.get(entry.unit) ?? 1) - 1)
      this.waiting.set(entry.customId, entry)
      this.schedule()
      return
    }
    this.ctx.emit({
      type: 'warning',
      message: `${entry.unit}: a batched ${entry.request.role} request failed (${reason}); making it without a batch`,
    })
    this.synchronously(entry)
  }

  /**
   * The ordinary call (cache, retries, the ask loop's correction). What a refused batch
   * answer cost is added to it and billed at the full price: an overstatement by half of
   * that answer, never an understatement.
   */
  private synchronously(entry: Waiting, paid?: Usage): void {
    entry.model
      .structured(entry.request)
      .then((answer) => {
        const usage = paid && !answer.cached ? sumUsage(answer.usage, paid) : answer.usage
        this.settle(entry, (caller) => caller.resolve({...answer, usage}))
      })
      .catch((error: unknown) => this.settle(entry, (caller) => caller.reject(error)))
  }
}

function sumUsage(a: Usage, b: Usage): Usage {
  const {batch: _a, ...first} = a
  const {batch: _b, ...second} = b
  const out: Record<string, number> = {}
  for (const key of new Set([...Object.keys(first), ...Object.keys(second)]))
    out[key] = ((first as Record<string, number | undefined>)[key] ?? 0) + ((second as Record<string, number | undefined>)[key] ?? 0)
  return {...(out as unknown as Usage), calls: (a.calls ?? 1) + (b.calls ?? 1)}
}

function formatElapsed(seconds: number): string {
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`
}
