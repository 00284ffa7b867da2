/**
 * Prices per million tokens, in USD, by model id as providers report it
 * (LanguageModel.id). One table, so that a price change is one edit. A model
 * missing here has an unknown cost (null), never a guessed one.
 */
export interface Price {
  input_per_million: number
  output_per_million: number
}

const PRICES: Record<string, Price> = {
  mock: {input_per_million: 0, output_per_million: 0},
}

export function costUsd(modelId: string, usage: {input_tokens: number; output_tokens: number}): number | null {
  const price = PRICES[modelId]
  if (!price) return null
  return (usage.input_tokens * price.input_per_million + usage.output_tokens * price.output_per_million) / 1_000_000
}
