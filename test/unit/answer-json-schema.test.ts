/**
 * The JSON Schema each structured answer actually goes out as: OpenAI strict mode
 * (providers/structured.ts toJsonSchema) and Anthropic (the SDK's zodOutputFormat, used
 * by output_config.format and, as the input schema, by the forced `answer` tool). No API
 * enforces numeric or length bounds, so none is sent (the Anthropic helper would move
 * them into descriptions); enums go out where the scale is a set of names.
 */
import {zodOutputFormat} from '@anthropic-ai/sdk/helpers/zod'
import {describe, expect, it} from 'vitest'
import type {z} from 'zod'

import {JudgeAnswer, KeyConceptsAnswer, RefineAnswer, ScriptAnswer, SegmentLabelsAnswer} from '../../src/core/schemas/answers.js'
import {SEGMENT_LABELS} from '../../src/core/schemas/common.js'
import {toJsonSchema} from '../../src/providers/structured.js'

type Json = Record<string, unknown>

const ANSWERS = {SegmentLabelsAnswer, KeyConceptsAnswer, ScriptAnswer, JudgeAnswer, RefineAnswer} as const

const SENT: Record<string, (schema: z.ZodType) => Json> = {
  openai: (schema) => toJsonSchema(schema),
  anthropic: (schema) => zodOutputFormat(schema).schema,
}

/** Keywords no structured-output API enforces (STACK.md); the Anthropic helper keeps only minItems 0 or 1. */
const BOUND_KEYWORDS = [
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'maxItems',
  'pattern',
]
/** What the APIs do enforce, and the bounds above: the parts of each node the tests look at. */
const KEYWORDS = ['type', 'enum', 'const', 'minItems', ...BOUND_KEYWORDS]

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function resolve(node: Json, root: Json): Json {
  const ref = node.$ref
  if (typeof ref !== 'string') return node
  const target = ref
    .slice(2)
    .split('/')
    .reduce<unknown>((at, part) => (isObject(at) ? at[part] : undefined), root)
  return isObject(target) ? resolve(target, root) : {}
}

/** Every node of a schema by path (`.concepts[].importance`), with its constraint keywords and description. */
function nodes(schema: Json, root: Json = schema, path = '$', out: Record<string, Json> = {}): Record<string, Json> {
  const node = resolve(schema, root)
  out[path] = Object.fromEntries(Object.entries(node).filter(([key]) => KEYWORDS.includes(key) || key === 'description'))
  if (isObject(node.properties))
    for (const [key, value] of Object.entries(node.properties)) nodes(value as Json, root, `${path}.${key}`, out)
  if (isObject(node.items)) nodes(node.items, root, `${path}[]`, out)
  for (const key of ['anyOf', 'allOf'] as const) {
    const branches = node[key]
    if (Array.isArray(branches)) branches.forEach((b, i) => isObject(b) && nodes(b, root, `${path}|${i}`, out))
  }
  return out
}

/** The constraint keywords of the nodes at these paths (types, enums, bounds), without descriptions. */
function constraints(all: Record<string, Json>, paths: string[]): Record<string, Json> {
  return Object.fromEntries(paths.map((p) => [p, Object.fromEntries(Object.entries(all[p] ?? {}).filter(([k]) => k !== 'description'))]))
}

describe.each(Object.keys(SENT))('the JSON Schema sent to %s', (api) => {
  const sent = (name: keyof typeof ANSWERS) => nodes(SENT[api]!(ANSWERS[name]))
  /** Anthropic's helper drops `type` next to an enum or const; OpenAI keeps it. */
  const typed = (type: string, rest: Json) => (api === 'openai' ? {type, ...rest} : rest)

  it.each(Object.keys(ANSWERS))('%s carries no numeric or length bound, not even in a description', (name) => {
    for (const [path, node] of Object.entries(sent(name as keyof typeof ANSWERS))) {
      for (const keyword of BOUND_KEYWORDS) expect(node, `${path}.${keyword}`).not.toHaveProperty(keyword)
      expect(typeof node.description === 'string' ? node.description : '', path).not.toMatch(
        /\{(minimum|maximum|exclusiveMinimum|minLength|maxItems|minItems)/,
      )
    }
  })

  it('minItems only where a script needs a segment (Anthropic enforces minItems 1)', () => {
    const withMinItems = Object.keys(ANSWERS).flatMap((name) =>
      Object.entries(sent(name as keyof typeof ANSWERS))
        .filter(([, node]) => 'minItems' in node)
        .map(([path, node]) => `${name}${path.slice(1)}: ${String(node.minItems)}`),
    )
    expect(withMinItems).toEqual(['ScriptAnswer.segments: 1'])
  })

  it('judge scores: plain numbers, the scale in the description (clamped after validation)', () => {
    const judge = sent('JudgeAnswer')
    expect(constraints(judge, ['$.engagement', '$.clarity', '$.accuracy'])).toEqual({
      '$.engagement': {type: 'number'},
      '$.clarity': {type: 'number'},
      '$.accuracy': {type: 'number'},
    })
    expect(judge['$.engagement']!.description).toBe('A score from 0 to 100')
  })

  it('key concepts: importance a plain number with no top, the term a plain string', () => {
    expect(constraints(sent('KeyConceptsAnswer'), ['$.concepts[].term', '$.concepts[].importance'])).toEqual({
      '$.concepts[].term': {type: 'string'},
      '$.concepts[].importance': {type: 'number'},
    })
  })

  it('segment labels: an enum of the six labels; the index an integer without bounds', () => {
    expect(constraints(sent('SegmentLabelsAnswer'), ['$.labels[].index', '$.labels[].label'])).toEqual({
      '$.labels[].index': {type: 'integer'},
      '$.labels[].label': typed('string', {enum: [...SEGMENT_LABELS]}),
    })
  })

  it('scripts: labels an enum, speaker and text plain strings', () => {
    expect(
      constraints(sent('ScriptAnswer'), [
        '$.segments',
        '$.segments[].label',
        '$.segments[].lines',
        '$.segments[].lines[].speaker',
        '$.segments[].lines[].text',
      ]),
    ).toEqual({
      '$.segments': {type: 'array', minItems: 1},
      '$.segments[].label': typed('string', {enum: [...SEGMENT_LABELS]}),
      '$.segments[].lines': {type: 'array'},
      '$.segments[].lines[].speaker': {type: 'string'},
      '$.segments[].lines[].text': {type: 'string'},
    })
  })

  it("refine: the prompt's version a const, labels an enum, its numbers without PromptSpec's bounds", () => {
    const refine = sent('RefineAnswer')
    expect(
      constraints(refine, [
        '$.prompt.version',
        '$.prompt.target_words',
        '$.prompt.segment_plan',
        '$.prompt.segment_plan[].label',
        '$.prompt.segment_plan[].share',
        '$.prompt.speakers',
        '$.prompt.speakers[].name',
        '$.prompt.style.words_per_minute',
        '$.prompt.style.questions_per_minute',
        '$.prompt.style.mean_sentence_words',
        '$.prompt.must_cover_concepts',
      ]),
    ).toEqual({
      '$.prompt.version': typed('number', {const: 1}),
      '$.prompt.target_words': {type: 'integer'},
      '$.prompt.segment_plan': {type: 'array'},
      '$.prompt.segment_plan[].label': typed('string', {enum: [...SEGMENT_LABELS]}),
      '$.prompt.segment_plan[].share': {type: 'number'},
      '$.prompt.speakers': {type: 'array'},
      '$.prompt.speakers[].name': {type: 'string'},
      '$.prompt.style.words_per_minute': {type: 'number'},
      '$.prompt.style.questions_per_minute': {type: 'number'},
      '$.prompt.style.mean_sentence_words': {type: 'number'},
      '$.prompt.must_cover_concepts': {type: 'integer'},
    })
  })
})
