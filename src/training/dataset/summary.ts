/**
 * What an export holds, in numbers (the --json summary) and in words (dataset_summary.md).
 * Pure: examples in, summary and Markdown out.
 */
import {SEGMENT_LABELS} from '../../core/schemas/common.js'
import type {DatasetExample, DatasetSummary} from '../../core/schemas/dataset.js'
import {countWords, mean, median, round} from '../../core/text.js'
import {chatExample, chatTokens} from './build.js'

type Stats = NonNullable<DatasetSummary['lengths']['paper_words']>

function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null
  return {min: Math.min(...values), median: round(median(values), 2), mean: round(mean(values), 2), max: Math.max(...values)}
}

export function summarise(
  examples: readonly DatasetExample[],
  context: Pick<DatasetSummary, 'run_id' | 'run_dir' | 'out' | 'files' | 'checks' | 'warnings'>,
): DatasetSummary {
  const byLabel = new Map<string, {segments: number; words: number}>(SEGMENT_LABELS.map((label) => [label, {segments: 0, words: 0}]))
  let totalWords = 0
  for (const example of examples) {
    for (const segment of example.target.segments) {
      const counted = segment.lines.reduce((sum, line) => sum + countWords(line.text), 0)
      const entry = byLabel.get(segment.label)!
      entry.segments++
      entry.words += counted
      totalWords += counted
    }
  }
  return {
    run_id: context.run_id,
    run_dir: context.run_dir,
    out: context.out,
    examples: examples.length,
    splits: {
      train: examples.filter((e) => e.metadata.split === 'train').length,
      validation: examples.filter((e) => e.metadata.split === 'validation').length,
    },
    files: context.files,
    lengths: {
      paper_words: stats(examples.map((e) => e.metadata.paper_words)),
      target_words: stats(examples.map((e) => e.target.words)),
      episode_seconds: stats(examples.map((e) => round(e.metadata.episode_seconds, 2))),
      chat_tokens: stats(examples.map((e) => chatTokens(chatExample(e)))),
    },
    labels: SEGMENT_LABELS.map((label) => {
      const counted = byLabel.get(label)!
      return {label, segments: counted.segments, words: counted.words, share: totalWords ? round(counted.words / totalWords, 4) : 0}
    }),
    checks: context.checks,
    warnings: context.warnings,
  }
}

function statsRow(name: string, value: Stats | null): string {
  if (!value) return `| ${name} | - | - | - | - |`
  return `| ${name} | ${value.min} | ${value.median} | ${value.mean} | ${value.max} |`
}

export function renderSummaryMarkdown(summary: DatasetSummary): string {
  const files = summary.files
  const lines = [
    `# Dataset of run ${summary.run_id}`,
    '',
    `Exported by \`studio training export-dataset\` from \`${summary.run_dir}\`.`,
    '',
    `- examples: ${summary.examples} (${summary.splits.train} train, ${summary.splits.validation} validation)`,
    `- checks passed: at least ${summary.checks.min_examples} example(s) (--min-examples), every chat example within ${summary.checks.max_tokens.toLocaleString('en-US')} tokens (--max-tokens), no empty field, no duplicate pair, no paper in both splits`,
    '',
    '## Files',
    '',
    `- \`${files.examples}\`: one example per line (input, target, metadata), described by \`${files.schema}\``,
    `- \`${files.parquet}\`: the same examples as a table`,
    `- \`${files.chat_train}\`: the training examples in the OpenAI chat fine-tuning format`,
    ...(files.chat_validation ? [`- \`${files.chat_validation}\`: the validation examples in the same format`] : []),
    '',
    '## Lengths',
    '',
    '| per example | min | median | mean | max |',
    '| --- | --- | --- | --- | --- |',
    statsRow('paper words', summary.lengths.paper_words),
    statsRow('episode words', summary.lengths.target_words),
    statsRow('episode seconds', summary.lengths.episode_seconds),
    statsRow('chat tokens (estimated)', summary.lengths.chat_tokens),
    '',
    '## Segment labels of the episodes',
    '',
    '| label | segments | words | share of words |',
    '| --- | --- | --- | --- |',
    ...summary.labels.map((l) => `| ${l.label} | ${l.segments} | ${l.words} | ${(l.share * 100).toFixed(1)}% |`),
    '',
  ]
  if (summary.warnings.length) lines.push('## Warnings', '', ...summary.warnings.map((w) => `- ${w}`), '')
  return lines.join('\n')
}
