/**
 * Keeps <output-dir>/signals/latest.json current while a run works: rebuilt from the run
 * folders (report/signals.ts) after its events, at most every SIGNAL_INTERVAL_MS, at once on
 * a phase change, and a last time when the run has ended.
 *
 * Best effort: the file is a view for dashboards, so a failed write is one warning event
 * (repeated only after a write succeeded again), never the run's failure; the run's own
 * writes already stop it on a full disk.
 */
import {describeError} from '../../core/errors.js'
import {outputPaths} from '../../core/layout.js'
import type {RunEvent} from '../../core/schemas/events.js'
import {writeSignals, type ManifestCache} from '../report/signals.js'

/**
 * Progress events come several times a second in a fast run; rebuilding reads every run.json
 * of the folder and the shown runs' event logs, so rewrites are spaced out by this much.
 */
export const SIGNAL_INTERVAL_MS = 500

export interface SignalWriterOptions {
  outputDir: string
  host: string
  clock: () => Date
  /** Told once when a write fails (a warning event). */
  warn: (message: string) => void
  intervalMs?: number
}

export class SignalWriter {
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  /** An event came while a write was in flight: that write may have missed it. */
  private dirty = false
  private dirtyUrgent = false
  private lastStart = Number.NEGATIVE_INFINITY
  private failing = false
  private closed = false
  private readonly manifests: ManifestCache = new Map()

  constructor(private readonly options: SignalWriterOptions) {}

  /** After each event of the run. */
  notify(event: Pick<RunEvent, 'type'>): void {
    if (this.closed) return
    const urgent = event.type === 'phase'
    if (this.inFlight) {
      this.dirty = true
      this.dirtyUrgent ||= urgent
      return
    }
    this.schedule(urgent)
  }

  /** The last write, once the run has ended (its run.json, report and HTML written). Never throws. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    // A write in flight may have read the run before it ended.
    await this.inFlight
    await this.write()
  }

  private schedule(urgent: boolean): void {
    const wait = urgent ? 0 : Math.max(0, this.lastStart + (this.options.intervalMs ?? SIGNAL_INTERVAL_MS) - Date.now())
    if (this.timer) {
      if (!urgent) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = null
      if (this.inFlight) {
        this.dirty = true
        return
      }
      this.inFlight = this.write().finally(() => {
        this.inFlight = null
        if (this.dirty && !this.closed) {
          const urgent = this.dirtyUrgent
          this.dirty = this.dirtyUrgent = false
          this.schedule(urgent)
        }
      })
    }, wait)
    // A pending rewrite must never keep the process alive; close() writes the last one.
    this.timer.unref()
  }

  private async write(): Promise<void> {
    this.lastStart = Date.now()
    try {
      await writeSignals(this.options.outputDir, {host: this.options.host, now: this.options.clock(), cache: this.manifests})
      this.failing = false
    } catch (error) {
      if (this.failing) return
      this.failing = true
      try {
        this.options.warn(
          `Could not update ${outputPaths(this.options.outputDir).signals}: ${describeError(error)}. The run goes on; \`studio training status --all\` tells the same from the run folders.`,
        )
      } catch {
        // The warning could not be logged either (a full disk): the run's own writes report that.
      }
    }
  }
}
