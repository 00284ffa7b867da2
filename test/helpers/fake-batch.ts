/**
 * The batch APIs of the fake (fake-api.ts): Anthropic's Message Batches and OpenAI's
 * Files + Batch, as their references describe them and no stricter.
 *
 * - Anthropic: POST /v1/messages/batches checks only the envelope (a non-empty list, a
 *   custom_id matching ^[a-zA-Z0-9_-]{1,64}$, unique); each request's params are checked
 *   when it is processed, and a bad one ends `errored` in the results, not a 400.
 * - OpenAI: the input file is uploaded with purpose "batch"; POST /v1/batches checks the
 *   endpoint (no audio endpoints) and the window ("24h"); the lines are checked while the
 *   batch is `validating`, and a bad file fails the whole batch (`failed`, `errors`). A
 *   batch holds one model. Outputs go to the output file, failed requests to the error file.
 *
 * Batches end `delayMs` after they were created (processing is done when a client
 * first looks after that), unless held; results are JSONL, in no particular order.
 */
import {createHash} from 'node:crypto'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

export interface BatchReply {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** What one batched request became: the route's own answer to it (status and JSON body). */
export interface RoutedAnswer {
  status: number
  body: unknown
}

export type BatchRequestFault = 'errored' | 'expired'

export interface FakeBatch {
  api: 'anthropic' | 'openai'
  id: string
  /** custom_ids in the order they were sent. */
  customIds: string[]
  /** in_progress until processed; then ended (Anthropic) or completed / expired / cancelled / failed (OpenAI). */
  status: string
  createdAt: number
}

export interface BatchControls {
  /** Time from creation to the end of a batch; default 150 ms. */
  setBatchDelay(ms: number): void
  /** While held, no batch ends (a batch pending for as long as a test needs). */
  holdBatches(on: boolean): void
  /** The next `count` batched requests processed end as `kind` instead of being answered. */
  failBatchRequests(kind: BatchRequestFault, count?: number): void
  /** Every batch created since start or the last reset. */
  readonly batches: FakeBatch[]
}

export interface BatchDeps {
  /** Answers one request as the synchronous endpoint would (never streamed). */
  route(api: 'anthropic' | 'openai', path: string, body: Json): RoutedAnswer
  errorBody(
    api: 'anthropic' | 'openai',
    status: number,
    message: string,
    extra?: {param?: string | null; code?: string | null; type?: string},
  ): Json
  /** The server's base URL, for Anthropic's results_url. */
  baseUrl(): string
}

interface AnthropicBatch extends FakeBatch {
  api: 'anthropic'
  requests: Array<{custom_id: string; params: unknown}>
  canceling: number | null
  endedAt: number | null
  results: Json[] | null
}

interface OpenAIBatch extends FakeBatch {
  api: 'openai'
  endpoint: string
  inputFileId: string
  canceling: number | null
  doneAt: number | null
  outputFileId: string | null
  errorFileId: string | null
  errors: Json | null
  counts: {total: number; completed: number; failed: number}
}

interface StoredFile {
  id: string
  purpose: string
  filename: string
  bytes: Buffer
  createdAt: number
}

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/
const OPENAI_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations']
const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals']
const DAY_SECONDS = 86_400

const json = (status: number, value: unknown): BatchReply => ({
  status,
  headers: {'content-type': 'application/json'},
  body: Buffer.from(JSON.stringify(value)),
})
const jsonl = (lines: unknown[], contentType: string): BatchReply => ({
  status: 200,
  headers: {'content-type': contentType},
  body: Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join('')),
})
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())
const unix = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000))

/** Results come back unordered: a fixed shuffle of the ids makes that visible to a client relying on order. */
function unordered<T extends {custom_id: unknown}>(items: T[]): T[] {
  return [...items].sort((a, b) => (sha256(String(a.custom_id)) < sha256(String(b.custom_id)) ? -1 : 1))
}

export function createBatchApi(deps: BatchDeps): BatchControls & {
  handle(
    method: string,
    api: 'anthropic' | 'openai',
    path: string,
    body: Json | null,
    upload: {fields: Record<string, string>; file: Buffer | null; filename: string} | null,
  ): BatchReply | null
  reset(): void
} {
  let delayMs = 150
  let held = false
  let faults: Array<{kind: BatchRequestFault; remaining: number}> = []
  let anthropic = new Map<string, AnthropicBatch>()
  let openai = new Map<string, OpenAIBatch>()
  let files = new Map<string, StoredFile>()
  let counter = 0
  const all: FakeBatch[] = []
  const nextId = (prefix: string) => `${prefix}${sha256(`${Date.now()}:${++counter}`).slice(0, 24)}`

  const takeFault = (): BatchRequestFault | null => {
    const entry = faults.find((f) => f.remaining > 0)
    if (!entry) return null
    entry.remaining--
    faults = faults.filter((f) => f.remaining > 0)
    return entry.kind
  }
  const due = (batch: {createdAt: number}) => !held && Date.now() >= batch.createdAt + delayMs

  // ------------------------------------------------------------- Anthropic

  const anthropicError = (status: number, message: string, type?: string) =>
    json(status, deps.errorBody('anthropic', status, message, type ? {type} : {}))

  const processAnthropic = (batch: AnthropicBatch) => {
    if (batch.results) return
    const now = Date.now()
    if (batch.canceling !== null) {
      batch.results = batch.requests.map((r) => ({custom_id: r.custom_id, result: {type: 'canceled'}}))
    } else {
      if (!due(batch)) return
      batch.results = batch.requests.map((request) => {
        const fault = takeFault()
        if (fault === 'expired') return {custom_id: request.custom_id, result: {type: 'expired'}}
        const params = isObject(request.params) ? request.params : null
        const answer: RoutedAnswer =
          fault === 'errored'
            ? {status: 500, body: deps.errorBody('anthropic', 500, 'Internal server error')}
            : !params
              ? {status: 400, body: deps.errorBody('anthropic', 400, 'params: Input should be a valid dictionary')}
              : params.stream === true
                ? {status: 400, body: deps.errorBody('anthropic', 400, 'stream: Streaming is not supported in the Message Batches API')}
                : deps.route('anthropic', '/v1/messages', params)
        if (answer.status === 200) return {custom_id: request.custom_id, result: {type: 'succeeded', message: answer.body}}
        const error = isObject(answer.body) ? answer.body : {}
        return {
          custom_id: request.custom_id,
          result: {type: 'errored', error: {type: 'error', error: error.error ?? error, request_id: `req_fake_batch_${++counter}`}},
        }
      })
    }
    batch.endedAt = now
    batch.status = 'ended'
  }

  /** `process`: false for the answer to a cancel, which shows the batch `canceling` before it ends. */
  const anthropicView = (batch: AnthropicBatch, process = true): Json => {
    if (process) processAnthropic(batch)
    const counts = {processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0}
    if (!batch.results) counts.processing = batch.requests.length
    else for (const r of batch.results) counts[(r.result as {type: keyof typeof counts}).type]++
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: batch.results ? 'ended' : batch.canceling !== null ? 'canceling' : 'in_progress',
      request_counts: counts,
      ended_at: iso(batch.endedAt),
      created_at: iso(batch.createdAt),
      expires_at: iso(batch.createdAt + DAY_SECONDS * 1000),
      archived_at: null,
      cancel_initiated_at: iso(batch.canceling),
      results_url: batch.results ? `${deps.baseUrl()}/v1/messages/batches/${batch.id}/results` : null,
    }
  }

  const anthropicRoutes = (method: string, path: string, body: Json | null): BatchReply | null => {
    if (path === '/v1/messages/batches' && method === 'POST') {
      if (!body) return anthropicError(400, 'There was an issue with the JSON body of the request.')
      const requests = body.requests
      if (!Array.isArray(requests)) return anthropicError(400, 'requests: Field required')
      if (requests.length === 0) return anthropicError(400, 'requests: List should have at least 1 item after validation, not 0')
      if (requests.length > 100_000) return anthropicError(400, 'requests: List should have at most 100000 items after validation')
      const seen = new Set<string>()
      for (const [i, request] of requests.entries()) {
        if (!isObject(request)) return anthropicError(400, `requests.${i}: Input should be a valid dictionary`)
        const id = request.custom_id
        if (typeof id !== 'string') return anthropicError(400, `requests.${i}.custom_id: Field required`)
        if (!CUSTOM_ID.test(id)) return anthropicError(400, `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`)
        if (seen.has(id)) return anthropicError(400, `Duplicate custom_id: ${id}. custom_id must be unique within a batch.`)
        seen.add(id)
        if (!('params' in request)) return anthropicError(400, `requests.${i}.params: Field required`)
      }
      const batch: AnthropicBatch = {
        api: 'anthropic',
        id: nextId('msgbatch_'),
        customIds: [...seen],
        status: 'in_progress',
        createdAt: Date.now(),
        requests: requests as AnthropicBatch['requests'],
        canceling: null,
        endedAt: null,
        results: null,
      }
      anthropic.set(batch.id, batch)
      all.push(batch)
      return json(200, anthropicView(batch))
    }
    const match = /^\/v1\/messages\/batches\/([^/]+)(\/results|\/cancel)?$/.exec(path)
    if (!match) return null
    const batch = anthropic.get(match[1]!)
    if (!batch) return anthropicError(404, `Message batch ${match[1]} not found`, 'not_found_error')
    if (match[2] === '/cancel') {
      if (method !== 'POST') return anthropicError(405, `Method ${method} not allowed`)
      processAnthropic(batch)
      if (!batch.results && batch.canceling === null) batch.canceling = Date.now()
      return json(200, anthropicView(batch, false))
    }
    if (method !== 'GET') return anthropicError(405, `Method ${method} not allowed`)
    const view = anthropicView(batch)
    if (match[2] === '/results') {
      if (!batch.results)
        return anthropicError(400, `Batch ${batch.id} is still in progress; results are available once processing has ended.`)
      return jsonl(unordered(batch.results as Array<Json & {custom_id: unknown}>), 'application/binary')
    }
    return json(200, view)
  }

  // ---------------------------------------------------------------- OpenAI

  const openaiError = (status: number, message: string, extra: {param?: string | null; code?: string | null; type?: string} = {}) =>
    json(status, deps.errorBody('openai', status, message, extra))

  const fileView = (file: StoredFile): Json => ({
    id: file.id,
    object: 'file',
    bytes: file.bytes.length,
    created_at: unix(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    expires_at: null,
    status_details: null,
  })

  const storeFile = (purpose: string, filename: string, bytes: Buffer): StoredFile => {
    const file = {id: nextId('file-'), purpose, filename, bytes, createdAt: Date.now()}
    files.set(file.id, file)
    return file
  }

  /** The lines of an input file, or the errors that fail the batch (as `validating` finds them). */
  const validateLines = (batch: OpenAIBatch, text: string): {lines: Json[]} | {errors: Json[]} => {
    const errors: Json[] = []
    const lines: Json[] = []
    const ids = new Set<string>()
    let model: string | null = null
    const raw = text.split('\n').filter((l) => l.trim() !== '')
    if (raw.length === 0) errors.push({code: 'empty_file', message: 'The batch input file is empty.', param: null, line: null})
    for (const [i, textLine] of raw.entries()) {
      const line = i + 1
      let parsed: unknown
      try {
        parsed = JSON.parse(textLine)
      } catch {
        errors.push({code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line})
        continue
      }
      if (!isObject(parsed) || typeof parsed.custom_id !== 'string') {
        errors.push({code: 'missing_required_parameter', message: "Missing required parameter: 'custom_id'.", param: 'custom_id', line})
        continue
      }
      if (ids.has(parsed.custom_id)) {
        errors.push({
          code: 'duplicate_custom_id',
          message: 'The custom_id for this request is a duplicate of another request.',
          param: 'custom_id',
          line,
        })
        continue
      }
      ids.add(parsed.custom_id)
      if (parsed.method !== 'POST') errors.push({code: 'invalid_method', message: "The 'method' must be 'POST'.", param: 'method', line})
      if (parsed.url !== batch.endpoint)
        errors.push({
          code: 'mismatched_endpoint',
          message: `The URL provided for this request does not match the batch endpoint '${batch.endpoint}'.`,
          param: 'url',
          line,
        })
      const body = isObject(parsed.body) ? parsed.body : null
      if (!body) {
        errors.push({code: 'missing_required_parameter', message: "Missing required parameter: 'body'.", param: 'body', line})
        continue
      }
      if (typeof body.model === 'string') {
        if (model !== null && body.model !== model)
          errors.push({
            code: 'model_mismatch',
            message: `The provided model '${body.model}' does not match the model of other requests in the file ('${model}'). A batch may only contain requests for a single model.`,
            param: 'body.model',
            line,
          })
        model ??= body.model
      }
      lines.push(parsed)
    }
    return errors.length ? {errors} : {lines}
  }

  const processOpenAI = (batch: OpenAIBatch) => {
    if (batch.doneAt !== null) return
    const now = Date.now()
    const input = files.get(batch.inputFileId)!
    const validated = validateLines(batch, input.bytes.toString('utf8'))
    if ('errors' in validated) {
      batch.status = 'failed'
      batch.errors = {object: 'list', data: validated.errors}
      batch.doneAt = now
      return
    }
    batch.counts.total = validated.lines.length
    const outputs: Json[] = []
    const failures: Json[] = []
    const requestId = () => `req_fake_batch_${++counter}`
    const lineId = () => `batch_req_${sha256(String(++counter)).slice(0, 24)}`
    if (batch.canceling !== null) {
      for (const line of validated.lines)
        failures.push({
          id: lineId(),
          custom_id: line.custom_id,
          response: null,
          error: {code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.'},
        })
      batch.status = 'cancelled'
    } else {
      if (!due(batch)) {
        batch.status = 'in_progress'
        return
      }
      let expired = false
      for (const line of validated.lines) {
        const fault = takeFault()
        if (fault === 'expired') {
          expired = true
          failures.push({
            id: lineId(),
            custom_id: line.custom_id,
            response: null,
            error: {code: 'batch_expired', message: 'This request could not be executed before the completion window expired.'},
          })
          continue
        }
        const body = line.body as Json
        const answer: RoutedAnswer =
          fault === 'errored'
            ? {status: 500, body: deps.errorBody('openai', 500, 'The server had an error while processing your request. Sorry about that!')}
            : body.stream === true
              ? {
                  status: 400,
                  body: deps.errorBody('openai', 400, 'Streaming is not supported in the Batch API.', {
                    param: 'stream',
                    code: 'invalid_value',
                  }),
                }
              : deps.route('openai', batch.endpoint, body)
        const entry = {
          id: lineId(),
          custom_id: line.custom_id,
          response: {status_code: answer.status, request_id: requestId(), body: answer.body},
          error: null,
        }
        if (answer.status === 200) outputs.push(entry)
        else failures.push(entry)
      }
      batch.counts.completed = outputs.length
      batch.counts.failed = failures.length
      batch.status = expired ? 'expired' : 'completed'
    }
    if (outputs.length)
      batch.outputFileId = storeFile(
        'batch_output',
        'batch_output.jsonl',
        Buffer.from(outputs.map((o) => `${JSON.stringify(o)}\n`).join('')),
      ).id
    if (failures.length)
      batch.errorFileId = storeFile(
        'batch_output',
        'batch_error.jsonl',
        Buffer.from(
          unordered(failures as Array<Json & {custom_id: unknown}>)
            .map((o) => `${JSON.stringify(o)}\n`)
            .join(''),
        ),
      ).id
    batch.doneAt = now
  }

  const openaiView = (batch: OpenAIBatch, process = true): Json => {
    if (process) processOpenAI(batch)
    const at = (status: string) => (batch.status === status ? unix(batch.doneAt) : null)
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      errors: batch.errors,
      input_file_id: batch.inputFileId,
      completion_window: '24h',
      status: batch.canceling !== null && batch.doneAt === null ? 'cancelling' : batch.status,
      output_file_id: batch.outputFileId,
      error_file_id: batch.errorFileId,
      created_at: unix(batch.createdAt),
      in_progress_at: batch.status === 'failed' ? null : unix(batch.createdAt),
      expires_at: unix(batch.createdAt + DAY_SECONDS * 1000),
      finalizing_at: batch.status === 'completed' ? unix(batch.doneAt) : null,
      completed_at: at('completed'),
      failed_at: at('failed'),
      expired_at: at('expired'),
      cancelling_at: unix(batch.canceling),
      cancelled_at: at('cancelled'),
      request_counts: batch.counts,
      metadata: null,
    }
  }

  const openaiRoutes = (
    method: string,
    path: string,
    body: Json | null,
    upload: {fields: Record<string, string>; file: Buffer | null; filename: string} | null,
  ): BatchReply | null => {
    if (path === '/v1/files' && method === 'POST') {
      const purpose = upload?.fields.purpose
      if (!upload?.file) return openaiError(400, "Missing required parameter: 'file'.", {param: 'file', code: 'missing_required_parameter'})
      if (!purpose)
        return openaiError(400, "Missing required parameter: 'purpose'.", {param: 'purpose', code: 'missing_required_parameter'})
      if (!FILE_PURPOSES.includes(purpose))
        return openaiError(400, `'${purpose}' is not one of ${JSON.stringify(FILE_PURPOSES)} - 'purpose'`, {
          param: 'purpose',
          code: 'invalid_value',
        })
      if (purpose === 'batch' && !upload.filename.endsWith('.jsonl'))
        return openaiError(400, 'Invalid file format for Batch API. Must be .jsonl', {param: null, code: null})
      return json(200, fileView(storeFile(purpose, upload.filename, upload.file)))
    }
    const fileMatch = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path)
    if (fileMatch) {
      const file = files.get(fileMatch[1]!)
      if (!file) return openaiError(404, `No such File object: ${fileMatch[1]}`, {param: 'id', code: null})
      if (method !== 'GET') return openaiError(405, `Method ${method} not allowed`)
      if (fileMatch[2]) return {status: 200, headers: {'content-type': 'application/octet-stream'}, body: file.bytes}
      return json(200, fileView(file))
    }
    if (path === '/v1/batches' && method === 'POST') {
      if (!body) return openaiError(400, 'We could not parse the JSON body of your request.')
      for (const field of ['input_file_id', 'endpoint', 'completion_window'])
        if (typeof body[field] !== 'string')
          return openaiError(400, `Missing required parameter: '${field}'.`, {param: field, code: 'missing_required_parameter'})
      const endpoint = body.endpoint as string
      if (!OPENAI_ENDPOINTS.includes(endpoint))
        return openaiError(
          400,
          `Invalid value: '${endpoint}'. Supported values are: ${OPENAI_ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`,
          {param: 'endpoint', code: 'invalid_value'},
        )
      if (body.completion_window !== '24h')
        return openaiError(400, `Invalid value: '${String(body.completion_window)}'. Supported values are: '24h'.`, {
          param: 'completion_window',
          code: 'invalid_value',
        })
      const input = files.get(body.input_file_id as string)
      if (!input) return openaiError(404, `No such File object: ${String(body.input_file_id)}`, {param: 'input_file_id', code: null})
      if (input.purpose !== 'batch')
        return openaiError(400, `The input file must have purpose 'batch', got '${input.purpose}'.`, {
          param: 'input_file_id',
          code: 'invalid_value',
        })
      const batch: OpenAIBatch = {
        api: 'openai',
        id: nextId('batch_'),
        customIds: input.bytes
          .toString('utf8')
          .split('\n')
          .flatMap((l) => {
            try {
              const parsed: unknown = JSON.parse(l)
              return isObject(parsed) && typeof parsed.custom_id === 'string' ? [parsed.custom_id] : []
            } catch {
              return []
            }
          }),
        status: 'validating',
        createdAt: Date.now(),
        endpoint,
        inputFileId: input.id,
        canceling: null,
        doneAt: null,
        outputFileId: null,
        errorFileId: null,
        errors: null,
        counts: {total: 0, completed: 0, failed: 0},
      }
      openai.set(batch.id, batch)
      all.push(batch)
      return json(200, {...openaiView(batch), status: 'validating'})
    }
    const match = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path)
    if (!match) return null
    const batch = openai.get(match[1]!)
    if (!batch) return openaiError(404, `No batch found with id '${match[1]}'.`, {param: null, code: null})
    if (match[2]) {
      if (method !== 'POST') return openaiError(405, `Method ${method} not allowed`)
      processOpenAI(batch)
      if (batch.doneAt === null && batch.canceling === null) batch.canceling = Date.now()
      return json(200, openaiView(batch, false))
    }
    if (method !== 'GET') return openaiError(405, `Method ${method} not allowed`)
    return json(200, openaiView(batch))
  }

  return {
    handle(method, api, path, body, upload) {
      return api === 'anthropic' ? anthropicRoutes(method, path, body) : openaiRoutes(method, path, body, upload)
    },
    setBatchDelay(ms) {
      delayMs = ms
    },
    holdBatches(on) {
      held = on
    },
    failBatchRequests(kind, count = 1) {
      faults.push({kind, remaining: count})
    },
    get batches() {
      return all.map((b) => ({api: b.api, id: b.id, customIds: [...b.customIds], status: b.status, createdAt: b.createdAt}))
    },
    reset() {
      anthropic = new Map()
      openai = new Map()
      files = new Map()
      faults = []
      held = false
      all.length = 0
    },
  }
}
