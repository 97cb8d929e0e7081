import { StreamsError } from '../common/errors.ts'

// Window and emit settings are tiny immutable values built by factories, as in Kafka Streams.
// Windows follow event time and are epoch-aligned, [start, end).

export interface Window {
  /** Inclusive, epoch ms. */
  readonly start: number
  /** Exclusive, epoch ms. */
  readonly end: number
}

/** The key of a windowed aggregation result. */
export interface Windowed<K = string> {
  readonly key: K
  readonly window: Window
}

export const isWindowed = (x: unknown): x is Windowed<unknown> =>
  typeof x === 'object' && x !== null && 'window' in x && 'key' in x

export class TimeWindows {
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    if (!(Number.isSafeInteger(sizeMs) && sizeMs > 0))
      throw new StreamsError(
        'ENGINE',
        'INVALID_WINDOW',
        `window size must be a positive integer, got ${sizeMs}`,
      )
    if (!(Number.isSafeInteger(advanceMs) && advanceMs > 0 && advanceMs <= sizeMs))
      throw new StreamsError('ENGINE', 'INVALID_WINDOW', `advance must be in (0, size], got ${advanceMs}`)
    if (!(Number.isSafeInteger(graceMs) && graceMs >= 0))
      throw new StreamsError(
        'ENGINE',
        'INVALID_WINDOW',
        `grace must be a non-negative integer, got ${graceMs}`,
      )
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
    Object.freeze(this)
  }

  /** Tumbling windows of `sizeMs`; records up to `graceMs` after a window's end still count. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs)
  }

  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0)
  }

  /** Hopping windows: a new window starts every `advanceMs` (≤ size). */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs)
  }

  get hopping(): boolean {
    return this.advanceMs !== this.sizeMs
  }

  /** Every window containing `timestamp`, oldest first. */
  windowsFor(timestamp: number): Window[] {
    const out: Window[] = []
    // Starts are multiples of advance; walk back from the last one while the window still holds ts.
    for (
      let start = timestamp - mod(timestamp, this.advanceMs);
      start + this.sizeMs > timestamp && start >= 0;
      start -= this.advanceMs
    ) {
      out.push({ start, end: start + this.sizeMs })
    }
    return out.reverse()
  }

  toString(): string {
    return this.hopping
      ? `HoppingWindows(size=${this.sizeMs}ms, advance=${this.advanceMs}ms, grace=${this.graceMs}ms)`
      : `TumblingWindows(size=${this.sizeMs}ms, grace=${this.graceMs}ms)`
  }
}

const mod = (a: number, b: number) => ((a % b) + b) % b

export type EmitStrategy =
  | {
      readonly kind: 'onUpdate'
      /**
       * Coalesce each window's updates for at most this long (wall clock) and emit the latest
       * (engine/record-cache.ts): a burst emits about one record per window per interval, live
       * updates wait at most one interval, everything is forwarded before each commit.
       */
      readonly maxEmitIntervalMs?: number
    }
  | {
      readonly kind: 'onWindowClose'
      /**
       * Stream time only moves when records arrive. When a task has received no record at all
       * for longer than this (wall clock; records with an old or constant event time are input,
       * and a paused processing loop restarts the count), its close watermark moves on as if
       * event time kept pace with the wall clock, minus this slack: quiet periods still close
       * windows. 0 disables it. Records that arrive after such a close (a backfill after an
       * outage) count as late.
       */
      readonly idleCloseMs: number
      /**
       * Closes a window early, as soon as its aggregate is known to be complete (e.g. the 1m kline
       * that ends a 5m candle arrived): emitted at once, and later records for it count as late.
       */
      readonly finalWhen?: (aggregate: unknown, window: Window) => boolean
    }

export const Emitted = {
  /** Every change of a window's aggregate is emitted; with `maxEmitIntervalMs`, the latest per window per interval. */
  onUpdate(options: { maxEmitIntervalMs?: number } = {}): EmitStrategy {
    const every = options.maxEmitIntervalMs
    return every && every > 0 ? Object.freeze({ kind: 'onUpdate', maxEmitIntervalMs: every }) : ON_UPDATE
  },
  /** One final result per window, once stream time passes its end + grace (or `finalWhen` says so). */
  onWindowClose<VA = unknown>(
    options: { idleCloseMs?: number; finalWhen?: (aggregate: VA, window: Window) => boolean } = {},
  ): EmitStrategy {
    const finalWhen = options.finalWhen as ((aggregate: unknown, window: Window) => boolean) | undefined
    return Object.freeze({
      kind: 'onWindowClose',
      idleCloseMs: options.idleCloseMs ?? 5_000,
      ...(finalWhen ? { finalWhen } : {}),
    })
  },
} as const

const ON_UPDATE: EmitStrategy = Object.freeze({ kind: 'onUpdate' })
