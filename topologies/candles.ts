import { type Interval, intervalMs, type Kline, parseKline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import {
  type KStream,
  type Processor,
  type ProcessorContext,
  Stores,
  type StreamRecord,
  type StreamsBuilder,
} from '../engine/index.ts'
import { RecordCache } from '../engine/record-cache.ts'
import { type CandleInterval, regroup, windowStart } from '../processors/candles.ts'
import type { LevelWindowStore } from '../state/window-store.ts'
import { CandleWindow, candleSerde, type StoredCandle } from './candles-store.ts'

// crypto_kline_1m → crypto_kline_5m / 1h / 4h / 1d, every change emitted (closed=false while the
// window is open, then the final with closed=true once its last input arrived closed, or once its
// end passed by the grace without it; a later input re-emits it closed=true, a correction).
// 5m aggregates 1m klines, 1h the 5m candles, 4h and 1d the 1h candles (same rule, exact, and a
// 1d window holds 24 entries instead of 1440). Stores `candles-<interval>` are window stores
// keyed by symbol: value `.candle` is the Kline, the rest is the merge state (topologies/candles-store.ts).

export const candleStore = (interval: CandleInterval): string => `candles-${interval}`
export const candleTopic: Record<CandleInterval, string> = {
  '5m': topics.kline5m,
  '1h': topics.kline1h,
  '4h': topics.kline4h,
  '1d': topics.kline1d,
}

export interface CandlesOptions {
  /** Prefix for every topic name, inputs and outputs (benches and tests on a shared broker); default none. */
  topicPrefix?: string
  /**
   * A window whose last input never arrives (an exchange outage, a halted symbol) is closed with
   * the inputs it has once its end has passed by this much; default 10 min.
   */
  graceMs?: number
  /**
   * A symbol with no input for this long (wall clock) is quiet: its windows close on the task's
   * stream time, or, when the whole task is quiet, on stream time moved on by the idle wall clock
   * (minus this slack); default 60 s (Binance updates an open kline about every 2 s).
   */
  idleCloseMs?: number
  /** How long windows stay stored (and accept inputs) per interval. */
  retentionMs?: Partial<Record<CandleInterval, number>>
  /**
   * Coalesce each window's updates for at most this long (wall clock) and emit only the latest
   * (engine/record-cache.ts); default: every change is emitted. A burst (backfill, catch-up)
   * then emits about one update per window per interval; finals and corrections are never
   * dropped (a later version of a window replaces only what it supersedes), and everything is
   * forwarded before each commit.
   */
  emitEveryMs?: number
}

const DEFAULT_RETENTION: Record<CandleInterval, number> = {
  '5m': 2 * 86_400_000,
  '1h': 30 * 86_400_000,
  '4h': 90 * 86_400_000,
  '1d': 400 * 86_400_000,
}

/** Two printed candles with the same fields. */
function sameCandle(a: Kline, b: Kline): boolean {
  for (const f of Object.keys(a) as (keyof Kline)[]) if (a[f] !== b[f]) return false
  return Object.keys(a).length === Object.keys(b).length
}

/** Per symbol: its event time, the wall clock of its latest input, the window that input went to. */
class SymbolTime {
  /** Latest input event time (-Infinity: none yet). */
  time = Number.NEGATIVE_INFINITY
  wall = 0
  /** The symbol's latest window (in-order input lands here without a store read). */
  latest: CandleWindow | undefined
  /** Its windows not yet final (the processor's `open` holds the same set). */
  open: Set<number> | undefined
  /** At most the smallest start in `open`: nothing is due for closing before it is. */
  firstOpen = Number.POSITIVE_INFINITY
}

/**
 * One candle interval over a window store (key symbol, window start = openTime). Every input that
 * changes a window emits it. Nothing inside retention is dropped: the merge is keyed by input
 * openTime and idempotent, so a minute arriving hours late (a backfill after a reconnect) still
 * lands. A window is final (`closed: true`) when its last input arrived closed, or by grace (see
 * StoredCandle.graceClosed). Event time is per symbol: one symbol's live data never closes or
 * drops another's backfill, though they share a partition.
 *
 * Per input in order: no store read (the symbol's latest window is held), no store write once the
 * window is staged for the next commit (it is mutated in place; the staged value is the same
 * object), and with `emitEveryMs` no candle printed (the record cache holds the window and prints
 * its candle when it forwards it).
 */
class CandleProcessor implements Processor<string, Kline, string, Kline> {
  private readonly interval: CandleInterval
  private readonly size: number
  private readonly stepMs: number
  private readonly graceMs: number
  private readonly idleCloseMs: number
  private readonly retentionMs: number
  private readonly emitEveryMs: number | undefined
  /**
   * Inputs are the candles of the processor before it in the same task (1h from 5m, 4h/1d from
   * 1h): always the latest version of their window, so no `regresses` guard (mergeMinute), and a
   * closed window whose candle an input leaves as it was is not emitted again (the stage below
   * closing its last window by grace right after this one did).
   */
  private readonly chained: boolean
  private cache: RecordCache<string, Kline, CandleWindow> | undefined
  private ctx!: ProcessorContext<string, Kline>
  private store!: LevelWindowStore<StoredCandle>
  private readonly symbols = new Map<string, SymbolTime>()
  /** Per symbol: windows not yet final. */
  private readonly open = new Map<string, Set<number>>()
  /** Windows starting at or before this have been dropped from the store (its last expire()). */
  private expiredUpTo = Number.NEGATIVE_INFINITY

  constructor(interval: CandleInterval, stepMs: number, options: CandlesOptions, chained: boolean) {
    this.chained = chained
    this.interval = interval
    this.size = intervalMs[interval]
    this.stepMs = stepMs
    this.graceMs = options.graceMs ?? 600_000
    this.idleCloseMs = options.idleCloseMs ?? 60_000
    this.retentionMs = options.retentionMs?.[interval] ?? DEFAULT_RETENTION[interval]
    this.emitEveryMs = options.emitEveryMs
  }

  init(ctx: ProcessorContext<string, Kline>): void {
    this.ctx = ctx
    if (this.emitEveryMs)
      this.cache = new RecordCache<string, Kline, CandleWindow>(ctx, {
        maxEmitIntervalMs: this.emitEveryMs,
        toOutput: (s) => s.candle,
      })
    this.store = ctx.getWindowStore<StoredCandle>(
      candleStore(this.interval),
    ) as LevelWindowStore<StoredCandle>
    // After a restore: the windows still open, and each symbol's event time, from the stored
    // states. Only a symbol's latest windows can be open (older ones passed end + grace on its
    // own time), so only those are read.
    const now = Date.now()
    const latest = new Map<string, number>()
    const all = this.store.windowsByStart(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)
    for (const [key, start] of all) latest.set(key, Math.max(latest.get(key) ?? start, start))
    for (const [key, start] of all) {
      if (start + this.size + this.graceMs <= (latest.get(key) as number)) continue
      const s = this.fetch(key, start)
      if (!s) continue
      const sym = this.symbolOf(key)
      const last = s.minutes[s.minutes.length - 1]
      if (last) sym.time = Math.max(sym.time, last[0])
      if (!s.closed) this.opened(key, sym, start)
      sym.wall = now
    }
    ctx.schedule(Math.min(this.idleCloseMs, 1000), 'wall-clock', (t) => this.closeQuiet(t))
  }

  private symbolOf(key: string): SymbolTime {
    let sym = this.symbols.get(key)
    if (sym === undefined) {
      sym = new SymbolTime()
      this.symbols.set(key, sym)
    }
    return sym
  }

  private opened(key: string, sym: SymbolTime, start: number): void {
    let set = sym.open
    if (set === undefined) {
      set = this.open.get(key)
      if (set === undefined) {
        set = new Set()
        this.open.set(key, set)
      }
      sym.open = set
    }
    set.add(start)
    if (start < sym.firstOpen) sym.firstOpen = start
  }

  /**
   * The stored window as a CandleWindow (values of every layout are read as one by candleSerde),
   * its inputs regrouped when it was stored with finer ones than this processor gets.
   */
  private fetch(key: string, start: number): CandleWindow | undefined {
    const v = this.store.fetch(key, start)
    if (v === undefined) return undefined
    const w = v instanceof CandleWindow ? v : new CandleWindow(v, v.graceClosed)
    if (w.stepMs >= this.stepMs || this.stepMs % w.stepMs !== 0) return w
    return new CandleWindow(regroup(w, this.stepMs), w.graceClosed)
  }

  /**
   * The window `start` of `key`: the symbol's latest one as held (the store's value is that same
   * object, or an older copy of it once a commit wrote it), otherwise from the store.
   */
  private window(key: string, sym: SymbolTime, start: number): CandleWindow | undefined {
    const latest = sym.latest
    if (latest !== undefined && latest.openTime === start) {
      if (start > this.expiredUpTo) return latest
      sym.latest = undefined // the store dropped it (retention): gone, as a store read finds
    }
    const s = this.fetch(key, start)
    if (s !== undefined && (latest === undefined || start > latest.openTime)) sym.latest = s
    return s
  }

  process(r: StreamRecord<string, Kline>): void {
    const k = r.value
    const key = r.key
    const sym = this.symbolOf(key)
    const time = Math.max(sym.time, r.timestamp)
    sym.time = time
    sym.wall = Date.now()
    const start = windowStart(k.openTime, this.size)
    const now = Math.max(this.ctx.streamTime(), time)
    if (start + this.size <= now - this.retentionMs) {
      this.ctx.recordLate(r) // older than what the store keeps
      return
    }
    let s = this.window(key, sym, start)
    if (s === undefined) {
      s = CandleWindow.empty(key, this.interval, this.size, start, this.stepMs)
      if (sym.latest === undefined || start > sym.latest.openTime) sym.latest = s
    }
    const final = this.chained && s.closed ? s.candle : undefined
    if (s.merge(k, !this.chained)) {
      if (!s.graceClosed && start + this.size + this.graceMs <= time) s.closeByGrace()
      if (final !== undefined && sameCandle(final, s.candle)) this.stage(key, s)
      else this.emit(key, sym, s, r.timestamp)
    }
    this.closeUpTo(key, sym, time)
    this.store.expire(now)
    this.expiredUpTo = now - this.retentionMs - this.size
  }

  /** Put once per commit: while the store's generation is the same, the staged value is `s` itself. */
  private stage(key: string, s: CandleWindow): void {
    const generation = this.store.stagedGeneration
    if (s.staged !== generation) {
      this.store.put(key, s.openTime, s)
      s.staged = generation
    }
  }

  private emit(key: string, sym: SymbolTime, s: CandleWindow, timestamp: number): void {
    this.stage(key, s)
    if (s.closed) sym.open?.delete(s.openTime)
    else this.opened(key, sym, s.openTime)
    if (this.cache) this.cache.put(s.cacheKey, { key, value: s, timestamp })
    else this.ctx.forward({ key, value: s.candle, timestamp })
  }

  /** Before each commit: the held updates go out. */
  flush(): void {
    this.cache?.flush()
  }

  /** Closes the symbol's open windows whose end + grace ≤ `time` with the inputs they have. */
  private closeUpTo(key: string, sym: SymbolTime, time: number): void {
    const set = sym.open
    if (set === undefined || set.size === 0 || sym.firstOpen + this.size + this.graceMs > time) return
    for (const start of set) {
      if (start + this.size + this.graceMs > time) continue
      const s = this.window(key, sym, start)
      if (!s) {
        set.delete(start)
        continue
      }
      s.closeByGrace()
      this.emit(key, sym, s, Math.min(time, start + this.size - 1))
    }
    let first = Number.POSITIVE_INFINITY
    for (const start of set) if (start < first) first = start
    sym.firstOpen = first
  }

  /** Quiet symbols close on the task's stream time, moved on by the wall clock while the task idles. */
  private closeQuiet(now: number): void {
    const streamTime = this.ctx.streamTime()
    if (streamTime === Number.NEGATIVE_INFINITY) return
    const taskTime = streamTime + Math.max(0, this.ctx.inputIdleMs(now) - this.idleCloseMs)
    for (const [key, set] of this.open) {
      const sym = this.symbolOf(key)
      if (set.size === 0 || now - sym.wall <= this.idleCloseMs) continue
      this.closeUpTo(key, sym, Math.max(sym.time, taskTime))
    }
  }
}

function candles(
  builder: StreamsBuilder,
  input: KStream<string, Kline>,
  interval: CandleInterval,
  stepMs: number,
  options: CandlesOptions,
  chained = false,
): KStream<string, Kline> {
  const store = candleStore(interval)
  builder.addStateStore(
    Stores.window<StoredCandle>(store, {
      serde: candleSerde,
      windowSizeMs: intervalMs[interval],
      retentionMs: options.retentionMs?.[interval] ?? DEFAULT_RETENTION[interval],
    }),
  )
  // inputs are keyed by symbol already (1m source, or the stage below in the same task): no repartition
  return input.process<string, Kline>(() => new CandleProcessor(interval, stepMs, options, chained), {
    stores: [store],
    name: `candles-${interval}`,
  })
}

/** Adds the candle chain to `builder`; returns the four output streams (keyed by symbol). */
export function addCandles(
  builder: StreamsBuilder,
  options: CandlesOptions = {},
  source: KStream<string, Kline> = klines1m(builder, options.topicPrefix),
): Record<CandleInterval, KStream<string, Kline>> {
  const oneMinute = source.filter((_s, k) => k.interval === '1m', 'candles-1m-only')
  const out = {
    '5m': candles(builder, oneMinute, '5m', 60_000, options),
  } as Record<CandleInterval, KStream<string, Kline>>
  // 1h from the 5m candles, as 4h and 1d from the 1h ones: a window holds 12 entries, not 60
  // minutes (its stored value, written at each commit, is a fifth of the size), and folds one
  // entry per 5m update instead of every 1m kline. Same candles: the fold is associative, and
  // a 5m candle without trades is skipped for open/high/low exactly as its minutes would be.
  out['1h'] = candles(builder, out['5m'], '1h', 300_000, options, true)
  out['4h'] = candles(builder, out['1h'], '4h', 3_600_000, options, true)
  out['1d'] = candles(builder, out['1h'], '1d', 3_600_000, options, true)
  const prefix = options.topicPrefix ?? ''
  for (const iv of Object.keys(out) as CandleInterval[])
    out[iv].to(prefix + candleTopic[iv], { name: `candles-${iv}-sink` })
  return out
}

/** The 1m kline source (keyed by symbol, event time = openTime). */
export function klines1m(builder: StreamsBuilder, topicPrefix = ''): KStream<string, Kline> {
  return builder.stream<Kline>(topicPrefix + topics.kline1m, {
    parse: parseKline,
    timestamp: (k) => k.openTime,
    name: 'klines-1m-source',
  })
}

export const candleIntervalsOf = (x: string): x is CandleInterval =>
  x === '5m' || x === '1h' || x === '4h' || x === '1d'
export type { StoredCandle } from './candles-store.ts'
export type { CandleInterval, Interval }
