import { emptyFold, foldMinute } from '../../processors/candles.ts'
import { DAY_MS, DayRows, dayString, type Recordings, type Row } from './recorded.ts'
import { simulateDay, toTicks } from './simulator.ts'
import type { SymbolSpec } from './symbols.ts'

// The 1m history of every symbol: the recording where there is one (POLUSDT plays MATICUSDT),
// the seeded simulator elsewhere, continuing from the previous day's close (recorded or not).
// History starts at DATA_START (the first recorded day): Binance answers [] before a listing.

export const DATA_START = Date.UTC(2024, 0, 1)
export const MINUTE = 60_000

export class Market {
  private readonly rec: Recordings
  private readonly seed: number
  private readonly simDays = new Map<string, DayRows>()
  private readonly closes = new Map<string, number>()
  private readonly buckets = new Map<string, Row>()
  private readonly parts = new Map<string, { upTo: number; row: Row }>()
  private readonly maxSimDays: number

  /**
   * `maxSimDays`: simulated days kept (LRU; about 0.2 MB each, DayRows). The feed needs the current
   * day of each symbol, so a few per symbol are enough; more only grows the process over a long
   * replay (every symbol is simulated after the recordings end).
   */
  constructor(rec: Recordings, seed: number, maxSimDays = 64) {
    this.rec = rec
    this.seed = seed
    this.maxSimDays = maxSimDays
  }

  /** Simulated days held in memory. */
  get simulatedDaysCached(): number {
    return this.simDays.size
  }

  recorded(spec: SymbolSpec, dayStart: number): boolean {
    return this.rec.days(spec.source).has(dayString(dayStart))
  }

  /** The 1440 rows of a UTC day, undefined before DATA_START. */
  day(spec: SymbolSpec, dayStart: number): DayRows | undefined {
    if (dayStart < DATA_START) return undefined
    const rec = this.rec.day(spec.source, dayString(dayStart))
    if (rec) return rec
    const key = `${spec.symbol}/${dayStart}`
    let rows = this.simDays.get(key)
    if (!rows) {
      rows = DayRows.of(simulateDay(spec, this.seed, dayStart, this.closeBefore(spec, dayStart), false))
      this.simDays.set(key, rows)
      if (this.simDays.size > this.maxSimDays) this.simDays.delete(this.simDays.keys().next().value!)
    }
    return rows
  }

  row(spec: SymbolSpec, minute: number): Row | undefined {
    const dayStart = minute - (minute % DAY_MS)
    return this.day(spec, dayStart)?.at((minute - dayStart) / MINUTE)
  }

  /** Close (in ticks) of the day before `dayStart`: walks forward from the newest known close. */
  private closeBefore(spec: SymbolSpec, dayStart: number): number {
    const pending: number[] = []
    let d = dayStart - DAY_MS
    let close: number
    for (;;) {
      if (d < DATA_START) {
        close = Math.round(spec.price * 10 ** spec.tickDec)
        break
      }
      const known = this.closes.get(`${spec.symbol}/${d}`)
      if (known !== undefined) {
        close = known
        break
      }
      if (this.recorded(spec, d)) {
        close = toTicks(this.rec.day(spec.source, dayString(d))!.last()!.c, spec.tickDec)
        break
      }
      pending.push(d)
      d -= DAY_MS
    }
    for (let i = pending.length - 1; i >= 0; i--) {
      close = simulateDay(spec, this.seed, pending[i]!, close, true)
      this.closes.set(`${spec.symbol}/${pending[i]}`, close)
    }
    return close
  }

  /**
   * The candle [start, end) from closed 1m rows plus `open`, the state of the still-open minute
   * (1m .. 1M; see intervals.ts for the alignment). Binance's rule: minutes without trades are
   * skipped for open/high/low. Closed candles are cached, the closed part of the open one is
   * extended minute by minute (a 1M candle is 44 640 minutes).
   */
  candle(spec: SymbolSpec, start: number, end: number, openMinute: number, open: Row): Row | undefined {
    const closed = end <= openMinute
    const key = `${spec.symbol}/${start}/${end}`
    if (closed) {
      const hit = this.buckets.get(key)
      if (hit) return hit
    }
    const rows: Row[] = []
    if (end - start > DAY_MS && start % DAY_MS === 0) {
      // 3d, 1w, 1M: from day candles (cached once closed), so every long interval shares them
      for (let d = start; d < end && d <= openMinute; d += DAY_MS) {
        const r = this.candle(spec, d, d + DAY_MS, openMinute, open)
        if (r) rows.push(r)
      }
    } else {
      const part = this.closedPart(spec, start, Math.min(end, openMinute), key)
      if (part) rows.push(part)
      if (!closed && openMinute >= start && openMinute >= DATA_START) rows.push(open)
    }
    if (rows.length === 0) return undefined
    const out =
      rows.length === 1 ? { ...rows[0]!, t: start, T: end - 1 } : aggregate(rows, start, end - start)
    if (closed && end - start > MINUTE) {
      this.buckets.set(key, out)
      if (this.buckets.size > 20_000) this.buckets.delete(this.buckets.keys().next().value!)
    }
    return out
  }

  /** Aggregate of the closed minutes [start, upTo), extended incrementally per candle. */
  private closedPart(spec: SymbolSpec, start: number, upTo: number, key: string): Row | undefined {
    const hit = this.parts.get(key)
    let from = Math.max(start, DATA_START)
    let acc: Row | undefined
    if (hit && hit.upTo <= upTo) {
      from = hit.upTo
      acc = hit.row
    }
    const rows: Row[] = acc ? [acc] : []
    for (let m = from; m < upTo; m += MINUTE) {
      const r = this.row(spec, m)
      if (r) rows.push(r)
    }
    if (rows.length === 0) return undefined
    const out = rows.length === 1 && acc ? acc : aggregate(rows, start, MINUTE)
    this.parts.set(key, { upTo, row: out })
    if (this.parts.size > 2_000) this.parts.delete(this.parts.keys().next().value!)
    return out
  }
}

export function aggregate(rows: Row[], start: number, size: number): Row {
  // Binance's rule (zero-trade minutes skipped for open/high/low) lives in processors/candles.ts.
  const f = rows.reduce(
    (acc, r) => foldMinute(acc, [r.t, r.o, r.h, r.l, r.c, r.v, r.q, r.n, r.V, r.Q, 1]),
    emptyFold(),
  )
  return {
    t: start,
    T: start + size - 1,
    o: (f.open ?? f.eOpen)!,
    h: (f.high ?? f.eHigh)!,
    l: (f.low ?? f.eLow)!,
    c: f.close!,
    v: f.volume,
    q: f.quoteVolume,
    n: f.trades,
    V: f.takerBuyBase,
    Q: f.takerBuyQuote,
  }
}
