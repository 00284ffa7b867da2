/**
 * The most output tokens one answer of a model can have (its max_tokens cap), as
 * the providers publish them. A script longer than the cap is written in parts
 * (training/write-script.ts); a model missing here gets a conservative 8,192, which
 * `max_output_tokens` of the role in studio.config.json overrides.
 *
 * Checked 2026-12 against the providers' model pages.
 */
import type {ProviderName} from './config.js'

const CAPS: ReadonlyArray<{provider: ProviderName; prefix: string; tokens: number}> = [
  {provider: 'anthropic', prefix: 'claude-sonnet-4', tokens: 64_000},
  {provider: 'anthropic', prefix: 'claude-sonnet-5', tokens: 64_000},
  {provider: 'anthropic', prefix: 'claude-haiku-4', tokens: 64_000},
  {provider: 'anthropic', prefix: 'claude-opus-4-1', tokens: 32_000},
  {provider: 'anthropic', prefix: 'claude-opus-4-0', tokens: 32_000},
  {provider: 'anthropic', prefix: 'claude-opus-4', tokens: 64_000},
  {provider: 'anthropic', prefix: 'claude-opus-5', tokens: 128_000},
  {provider: 'openai', prefix: 'gpt-4o', tokens: 16_384},
  {provider: 'openai', prefix: 'gpt-4.1', tokens: 32_768},
  {provider: 'openai', prefix: 'gpt-5', tokens: 128_000},
]

/** A model the table does not know: small enough for any current model and for local servers. */
export const UNKNOWN_MODEL_OUTPUT_CAP = 8192

export function modelOutputCap(provider: ProviderName, model: string): number {
  return CAPS.find((cap) => cap.provider === provider && model.startsWith(cap.prefix))?.tokens ?? UNKNOWN_MODEL_OUTPUT_CAP
}
