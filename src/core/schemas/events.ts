/** The lines of <run-dir>/events.jsonl (core/event-log.ts writes and reads them). */
import {z} from 'zod'

import {LossBreakdown, StopReason, UsageSummary} from './common.js'

export const Phase = z.enum(['discover', 'ingest', 'analyse', 'trials', 'report'])
export type Phase = z.infer<typeof Phase>

/**
 * One line of <run-dir>/events.jsonl, appended as it happens so that another
 * terminal (or `studio training status`) can follow a run.
 */
export const RunEvent = z.discriminatedUnion('type', [
  z.object({type: z.literal('phase'), time: z.string(), phase: Phase, message: z.string()}),
  z.object({
    type: z.literal('progress'),
    time: z.string(),
    phase: Phase,
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    message: z.string(),
    trial: z.number().int().nonnegative().optional(),
    pair: z.string().optional(),
  }),
  z.object({type: z.literal('warning'), time: z.string(), message: z.string()}),
  z.object({
    type: z.literal('pair-skipped'),
    time: z.string(),
    pair: z.string(),
    reason: z.string(),
    hint: z.string().optional(),
    usage: UsageSummary.optional(),
  }),
  z.object({type: z.literal('pair-analysed'), time: z.string(), pair: z.string(), usage: UsageSummary}),
  z.object({
    type: z.literal('pair-scored'),
    time: z.string(),
    trial: z.number().int().nonnegative(),
    pair: z.string(),
    losses: LossBreakdown,
    usage: UsageSummary,
  }),
  z.object({
    type: z.literal('trial-finished'),
    time: z.string(),
    trial: z.number().int().nonnegative(),
    mean_losses: LossBreakdown,
    /** Absent in logs written before validation pairs were reported live. */
    validation_mean_losses: LossBreakdown.nullable().default(null),
    changes: z.array(z.string()),
    usage: UsageSummary,
  }),
  z.object({
    type: z.literal('run-finished'),
    time: z.string(),
    stop_reason: StopReason,
    best_trial: z.number().int().nonnegative(),
    usage: UsageSummary,
  }),
  z.object({type: z.literal('pair-failed'), time: z.string(), trial: z.number().int().nonnegative(), pair: z.string(), reason: z.string()}),
  z.object({type: z.literal('run-failed'), time: z.string(), message: z.string()}),
  z.object({type: z.literal('run-interrupted'), time: z.string()}),
  z.object({type: z.literal('run-resumed'), time: z.string(), pid: z.number().int()}),
])
export type RunEvent = z.infer<typeof RunEvent>

/** An event before its time is stamped: what the stages emit. */
export type NewRunEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never
