/**
 * training.parquet: the examples as one flat table, a row per example. Scalars are typed
 * columns; nested values (key concepts, segments, profiles, losses) are JSON columns
 * (BYTE_ARRAY with the JSON converted type), which DuckDB, pandas and Spark read as JSON.
 * TRAINING.md ("studio training export-dataset") lists the columns; keep it in step.
 */
import {parquetWriteBuffer} from 'hyparquet-writer'

import type {DatasetExample} from '../../core/schemas/dataset.js'

type ColumnType = 'STRING' | 'JSON' | 'INT32' | 'DOUBLE' | 'BOOLEAN'

interface Column {
  name: string
  type: ColumnType
  /** Whether the column may hold null (only where the example's field is nullable). */
  nullable: boolean
  value: (example: DatasetExample) => unknown
}

const column = (name: string, type: ColumnType, value: Column['value'], nullable = false): Column => ({name, type, nullable, value})

/** In this order in the file. */
export const PARQUET_COLUMNS: readonly Column[] = [
  column('pair_id', 'STRING', (e) => e.metadata.pair_id),
  column('split', 'STRING', (e) => e.metadata.split),
  column('run_id', 'STRING', (e) => e.metadata.run_id),
  column('title', 'STRING', (e) => e.input.title),
  column('key_concepts', 'JSON', (e) => e.input.key_concepts),
  column('paper_text', 'STRING', (e) => e.input.paper_text),
  column('paper_condensed', 'BOOLEAN', (e) => e.input.paper_condensed),
  column('paper_text_sha256', 'STRING', (e) => e.input.paper_text_sha256),
  column('system_prompt', 'STRING', (e) => e.input.system_prompt),
  column('user_prompt', 'STRING', (e) => e.input.user_prompt),
  column('target_words', 'INT32', (e) => e.input.target_words),
  column('target_text', 'STRING', (e) => e.target.text),
  column('target_segments', 'JSON', (e) => e.target.segments),
  column('episode_words', 'INT32', (e) => e.target.words),
  column('speakers', 'JSON', (e) => e.target.speakers),
  column('paper_words', 'INT32', (e) => e.metadata.paper_words),
  column('episode_seconds', 'DOUBLE', (e) => e.metadata.episode_seconds),
  column('transcript_source', 'STRING', (e) => e.metadata.transcript_source),
  column('structure', 'JSON', (e) => e.metadata.structure),
  column('style', 'JSON', (e) => e.metadata.style),
  column('best_trial', 'INT32', (e) => e.metadata.best_trial.index),
  column('best_trial_losses', 'JSON', (e) => e.metadata.best_trial.losses, true),
  column('best_trial_total_loss', 'DOUBLE', (e) => e.metadata.best_trial.losses?.total ?? null, true),
  column('best_trial_script_file', 'STRING', (e) => e.metadata.best_trial.script_file, true),
  column('best_trial_generated_seconds', 'DOUBLE', (e) => e.metadata.best_trial.generated_seconds, true),
]

/** The Parquet file's bytes (Snappy-compressed pages, one row group for a run's pairs). */
export function examplesToParquet(examples: readonly DatasetExample[], createdBy: string): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: PARQUET_COLUMNS.map((c) => ({name: c.name, type: c.type, nullable: c.nullable, data: examples.map((e) => c.value(e))})),
    createdBy,
  })
  return new Uint8Array(buffer)
}
