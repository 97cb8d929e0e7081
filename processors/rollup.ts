import type { Kline } from '../common/records.ts'
import {
  aggregate,
  type Candle,
  candleIntervals,
  type FinalsOptions,
  finalsOf,
  intervalSizes,
} from './candles.ts'
import { FixedSums, greater, scanInto } from './fixed.ts'

// Batch aggregation of a 1m series into several intervals in one pass, the same candles as
// `aggregate` (processors/candles.ts, the rule and the reference) per interval, for backfills and
// benches. Per symbol it holds the latest minute aside (a re-delivery or a later version of it
// replaces it, by the same rule as mergeMinute) and folds a minute once the next one arrives: its
// decimals are scanned once into exact integers (fixed.ts scanInto) and added to one mutable,
// preallocated window per interval (nested intervals: to the smallest, whose finished windows fold
// into the next); a window is printed once, when the next one starts or at the end. In-order
// input costs O(1) per minute (O(intervals) when they do not nest) and allocates only the printed
// candles. A symbol whose minutes go back in time (an out-of-order minute) is aggregated by
// `aggregate`.

/** One minute scanned: high, low, volume, quoteVolume, takerBuyBase, takerBuyQuote (3 slots each). */
const M = new Float64Array(18)
const HIGH = 1
const LOW = 2
const SUM0 = 2 // bit of the first sum: 1 << (SUM0 + i)

/**
 * A price in exact units of 1e-8, or -1 when it does not fit (compared via strings then): a whole
 * part ≤ 90,071,991 keeps w × 1e8 + fraction < 2^53 (90,071,992.99999999 would not).
 */
const units = (at: number): number => {
  const w = M[at] as number
  return w <= 90_071_991 ? w * 1e8 + (M[at + 1] as number) : -1
}

/** Exactly x > y, from units when both have them, else from the strings. */
const above = (x: string, xu: number, y: string, yu: number): boolean =>
  xu >= 0 && yu >= 0 ? xu > yu : greater(x, Number(x), y, Number(y))

/** Scans `k`'s decimals into M; bit set per field that scanned (a clear bit: BigInt fallback). */
function scanMinute(k: Kline | Candle): number {
  let mask = 0
  if (scanInto(k.high, M, 0)) mask |= HIGH
  if (scanInto(k.low, M, 3)) mask |= LOW
  if (scanInto(k.volume, M, 6)) mask |= 1 << SUM0
  if (scanInto(k.quoteVolume, M, 9)) mask |= 1 << (SUM0 + 1)
  if (scanInto(k.takerBuyBase, M, 12)) mask |= 1 << (SUM0 + 2)
  if (scanInto(k.takerBuyQuote, M, 15)) mask |= 1 << (SUM0 + 3)
  return mask
}

/** The fold of one window (mutable, reused for the next window of the same interval). */
class Window {
  openTime = -1
  open: string | null = null
  high: string | null = null
  low: string | null = null
  eOpen: string | null = null
  eHigh: string | null = null
  eLow: string | null = null
  close: string | null = null
  trades = 0
  last = 0
  lastClosed = false
  /** Units of high, low, eHigh, eLow (-1: compare their strings). */
  readonly u = new Float64Array(4)
  readonly sums = new FixedSums(4)

  start(openTime: number): void {
    this.openTime = openTime
    this.open = this.high = this.low = this.eOpen = this.eHigh = this.eLow = this.close = null
    this.trades = 0
    this.sums.reset()
  }

  /** Folds minute `k` (scanned into M with `mask`, high/low in units): the rule of candles.ts foldInto. */
  fold(k: Kline | Candle, mask: number, hu: number, lu: number): void {
    const u = this.u
    if (k.trades > 0) {
      if (this.open === null) this.open = k.open
      if (this.high === null || above(k.high, hu, this.high, u[0] as number)) {
        this.high = k.high
        u[0] = hu
      }
      if (this.low === null || above(this.low, u[1] as number, k.low, lu)) {
        this.low = k.low
        u[1] = lu
      }
    } else {
      if (this.eOpen === null) this.eOpen = k.open
      if (this.eHigh === null || above(k.high, hu, this.eHigh, u[2] as number)) {
        this.eHigh = k.high
        u[2] = hu
      }
      if (this.eLow === null || above(this.eLow, u[3] as number, k.low, lu)) {
        this.eLow = k.low
        u[3] = lu
      }
    }
    this.close = k.close
    this.trades += k.trades
    const s = this.sums
    s.add(0, k.volume, M, 6, (mask & (1 << SUM0)) !== 0)
    s.add(1, k.quoteVolume, M, 9, (mask & (1 << (SUM0 + 1))) !== 0)
    s.add(2, k.takerBuyBase, M, 12, (mask & (1 << (SUM0 + 2))) !== 0)
    s.add(3, k.takerBuyQuote, M, 15, (mask & (1 << (SUM0 + 3))) !== 0)
    this.last = k.openTime
    this.lastClosed = k.closed
  }

  /** Folds the finished window `c` (of a smaller interval, inside this one) into this one. */
  merge(c: Window): void {
    const u = this.u
    const cu = c.u
    if (c.high !== null && c.low !== null) {
      if (this.open === null) this.open = c.open
      if (this.high === null || above(c.high, cu[0] as number, this.high, u[0] as number)) {
        this.high = c.high
        u[0] = cu[0] as number
      }
      if (this.low === null || above(this.low, u[1] as number, c.low, cu[1] as number)) {
        this.low = c.low
        u[1] = cu[1] as number
      }
    }
    if (c.eHigh !== null && c.eLow !== null) {
      if (this.eOpen === null) this.eOpen = c.eOpen
      if (this.eHigh === null || above(c.eHigh, cu[2] as number, this.eHigh, u[2] as number)) {
        this.eHigh = c.eHigh
        u[2] = cu[2] as number
      }
      if (this.eLow === null || above(this.eLow, u[3] as number, c.eLow, cu[3] as number)) {
        this.eLow = c.eLow
        u[3] = cu[3] as number
      }
    }
    this.close = c.close
    this.trades += c.trades
    this.sums.addAll(c.sums)
    this.last = c.last
    this.lastClosed = c.lastClosed
  }

  /** The candle, printed (same fields, same order as candleOf). */
  candle(symbol: string, interval: string, sizeMs: number, stepMs: number): Candle {
    const s = this.sums
    return {
      symbol,
      interval,
      openTime: this.openTime,
      closeTime: this.openTime + sizeMs - 1,
      open: this.open ?? this.eOpen ?? '0',
      high: this.high ?? this.eHigh ?? '0',
      low: this.low ?? this.eLow ?? '0',
      close: this.close ?? '0',
      volume: s.format(0),
      quoteVolume: s.format(1),
      trades: this.trades,
      takerBuyBase: s.format(2),
      takerBuyQuote: s.format(3),
      closed: this.last === this.openTime + sizeMs - stepMs && this.lastClosed,
    }
  }
}

class SymbolRollup {
  readonly symbol: string
  /** The latest minute, not folded yet (a later version of it may still come). */
  pending: Kline | Candle | null = null
  /** Went back in time: left to `aggregate`. */
  disordered = false
  readonly windows: Window[]
  readonly out: Candle[][]

  constructor(symbol: string, count: number) {
    this.symbol = symbol
    this.windows = Array.from({ length: count }, () => new Window())
    this.out = Array.from({ length: count }, () => [])
  }
}

/**
 * Aggregates a 1m series (inputs of `stepMs`; any order, duplicates allowed) into candles of every
 * interval in one pass: for each interval exactly what `aggregate(klines, interval, stepMs)` returns.
 */
export function rollup(
  klines: readonly (Kline | Candle)[],
  intervals: readonly string[] = candleIntervals,
  stepMs = 60_000,
): Record<string, Candle[]> {
  const r = new Rollup(intervals, stepMs)
  for (let i = 0; i < klines.length; i++) r.add(klines[i] as Kline | Candle)
  return r.finish(klines)
}

/** The one-pass fold behind `rollup`: add() each input, then finish() once. */
export class Rollup {
  readonly intervals: readonly string[]
  readonly sizes: number[]
  readonly stepMs: number
  /**
   * Each interval divides the next (5m, 1h, 4h, 1d): a minute is folded into the smallest window
   * only, and a finished window into the next larger one (exact sums: same candles, less work).
   */
  readonly nested: boolean
  readonly bySymbol = new Map<string, SymbolRollup>()

  constructor(intervals: readonly string[], stepMs = 60_000) {
    this.intervals = intervals
    this.stepMs = stepMs
    this.sizes = intervals.map((iv) => {
      const size = intervalSizes[iv]
      if (size === undefined) throw new RangeError(`unknown interval ${iv}`)
      return size
    })
    this.nested = this.sizes.every((size, i) => i === 0 || size % (this.sizes[i - 1] as number) === 0)
  }

  add(k: Kline | Candle): void {
    let s = this.bySymbol.get(k.symbol)
    if (s === undefined) {
      s = new SymbolRollup(k.symbol, this.sizes.length)
      this.bySymbol.set(k.symbol, s)
    }
    const p = s.pending
    if (p === null) {
      if (!s.disordered) s.pending = k
    } else if (k.openTime > p.openTime) {
      this.fold(s, p)
      s.pending = k
    } else if (k.openTime === p.openTime) {
      // a later version replaces it, an older open update does not (candles.ts regresses)
      if (k.closed || (!p.closed && k.trades >= p.trades)) s.pending = k
    } else {
      s.disordered = true
      s.pending = null
    }
  }

  /** Folds minute `k` into the window of each interval, printing the window it closes. */
  private fold(s: SymbolRollup, k: Kline | Candle): void {
    const mask = scanMinute(k)
    const hu = mask & HIGH ? units(0) : -1
    const lu = mask & LOW ? units(3) : -1
    const t = k.openTime
    const sizes = this.sizes
    if (this.nested) {
      const w = s.windows[0] as Window
      const start = t - (t % (sizes[0] as number))
      if (w.openTime !== start) {
        if (w.openTime >= 0) this.close(s, 0)
        w.start(start)
      }
      w.fold(k, mask, hu, lu)
      return
    }
    for (let i = 0; i < sizes.length; i++) {
      const size = sizes[i] as number
      const start = t - (t % size)
      const w = s.windows[i] as Window
      if (w.openTime !== start) {
        if (w.openTime >= 0)
          (s.out[i] as Candle[]).push(w.candle(s.symbol, this.intervals[i] as string, size, this.stepMs))
        w.start(start)
      }
      w.fold(k, mask, hu, lu)
    }
  }

  /** Nested: prints window `i` and folds it into the window of the next interval (closing that first when it is over). */
  private close(s: SymbolRollup, i: number): void {
    const w = s.windows[i] as Window
    const size = this.sizes[i] as number
    ;(s.out[i] as Candle[]).push(w.candle(s.symbol, this.intervals[i] as string, size, this.stepMs))
    const up = s.windows[i + 1]
    if (up !== undefined) {
      const t = w.openTime
      const start = t - (t % (this.sizes[i + 1] as number))
      if (up.openTime !== start) {
        if (up.openTime >= 0) this.close(s, i + 1)
        up.start(start)
      }
      up.merge(w)
    }
    w.openTime = -1
  }

  /**
   * The candles per interval, sorted by symbol and open time. `input` is everything that was
   * added: the symbols that went back in time are aggregated from it.
   */
  finish(input: readonly (Kline | Candle)[]): Record<string, Candle[]> {
    const result: Record<string, Candle[]> = {}
    for (const iv of this.intervals) result[iv] = []
    const symbols = [...this.bySymbol.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (const symbol of symbols) {
      const s = this.bySymbol.get(symbol) as SymbolRollup
      if (s.disordered) {
        const own = input.filter((k) => k.symbol === symbol)
        for (const iv of this.intervals) {
          const all = result[iv] as Candle[]
          for (const c of aggregate(own, iv, this.stepMs)) all.push(c) // no spread: a year of 5m is 105k
        }
        continue
      }
      if (s.pending) this.fold(s, s.pending)
      s.pending = null
      if (this.nested)
        for (let i = 0; i < s.windows.length; i++)
          if ((s.windows[i] as Window).openTime >= 0) this.close(s, i)
      this.intervals.forEach((iv, i) => {
        const w = s.windows[i] as Window
        const out = s.out[i] as Candle[]
        if (w.openTime >= 0) out.push(w.candle(symbol, iv, this.sizes[i] as number, this.stepMs))
        const all = result[iv] as Candle[]
        for (const c of out) all.push(c)
      })
    }
    return result
  }
}

/** `finals` (processors/candles.ts) of every interval from one pass: what a backfill emits. */
export function rollupFinals(
  klines: readonly (Kline | Candle)[],
  intervals: readonly string[] = candleIntervals,
  options: FinalsOptions = {},
): Record<string, Candle[]> {
  const all = rollup(klines, intervals, options.stepMs)
  const out: Record<string, Candle[]> = {}
  for (const iv of intervals) out[iv] = finalsOf(all[iv] as Candle[], klines, iv, options)
  return out
}
