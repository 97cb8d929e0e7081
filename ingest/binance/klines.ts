import type { Kline } from '../../common/records.ts'
import type { BinanceRest } from './rest.ts'

// Per-symbol gate for closed 1m klines: each openTime is produced exactly once and in order.
// A closed kline that skips minutes (after a disconnect, or at start) first pulls the missing
// ones from REST. Work for one symbol is serialized on a promise chain; open-candle updates of a
// symbol are held back while it has closed-kline work queued (its backfill comes first).

const MINUTE = 60_000
const DAY = 86_400_000

export interface KlineGateOptions {
  rest: BinanceRest
  /** Produces records in order; resolves when durable. */
  emit: (klines: Kline[], backfilled: boolean) => Promise<void>
  /** Closed klines fetched at start when the topic has none for a symbol (default 60). */
  initialMinutes?: number
  /**
   * That first backfill begins at a multiple of this (UTC epoch), at or before the latest
   * `initialMinutes`: every candle window up to this size then starts with its first minute
   * (default 1 day, the largest candle interval).
   */
  initialAlignMs?: number
}

export class KlineGate {
  private readonly last = new Map<string, number>()
  private readonly chains = new Map<string, Promise<void>>()
  /** Queued or running closed-kline work (a backfill, a gap fill) per symbol. */
  private readonly busy = new Map<string, number>()
  private readonly o: KlineGateOptions

  constructor(o: KlineGateOptions, recovered: Map<string, number>) {
    this.o = o
    for (const [s, t] of recovered) this.last.set(s, t)
  }

  lastClosed(symbol: string): number | undefined {
    return this.last.get(symbol)
  }

  private run(symbol: string, f: () => Promise<void>): Promise<void> {
    this.busy.set(symbol, (this.busy.get(symbol) ?? 0) + 1)
    const done = () => {
      const n = (this.busy.get(symbol) ?? 1) - 1
      if (n > 0) this.busy.set(symbol, n)
      else this.busy.delete(symbol)
    }
    const next = (this.chains.get(symbol) ?? Promise.resolve()).then(f).finally(done)
    this.chains.set(
      symbol,
      next.catch(() => {}),
    )
    return next
  }

  /** Resolves when queued work for every symbol is done. */
  async idle(): Promise<void> {
    await Promise.all(this.chains.values())
  }

  /**
   * Open-candle updates pass when they are newer than the last closed one, and only once the
   * symbol's closed history is in: never while its backfill (at start, after a reconnect or a gap)
   * is queued or running, nor before it ever ran. A live update published first would put the
   * symbol's event time hours ahead of the minutes still to come.
   */
  acceptsOpen(k: Kline): boolean {
    if (this.busy.has(k.symbol)) return false
    const last = this.last.get(k.symbol)
    return last !== undefined && k.openTime > last
  }

  closed(k: Kline): Promise<void> {
    return this.run(k.symbol, async () => {
      const last = this.last.get(k.symbol)
      if (last !== undefined && k.openTime <= last) return // duplicate
      if (last === undefined || k.openTime > last + MINUTE) await this.fill(k.symbol, k.openTime - 1)
      const now = this.last.get(k.symbol)
      if (now !== undefined && k.openTime <= now) return
      await this.o.emit([k], false)
      this.last.set(k.symbol, k.openTime)
    })
  }

  /** Fetch and produce every missing closed kline up to `endTime` (or up to now). */
  backfill(symbol: string): Promise<void> {
    return this.run(symbol, () => this.fill(symbol))
  }

  private async fill(symbol: string, endTime?: number): Promise<void> {
    const rest = this.o.rest
    let from = this.last.get(symbol)
    let page: Kline[]
    if (from === undefined) {
      // Nothing known: at least the latest N minutes (server time, so replayed days work too),
      // from the start of their day. Started mid-hour, "the latest N" alone would build that
      // hour's (and 4h's, day's) candle from its last minutes only and publish it as a final with
      // no correction ever coming: its first minutes are never fetched.
      const latest = await rest.klines1m(symbol, undefined, endTime, this.o.initialMinutes ?? 60)
      if (latest.length === 0) return
      const align = this.o.initialAlignMs ?? DAY
      const start = Math.floor(latest[0]!.openTime / align) * align
      if (start === latest[0]!.openTime) page = latest
      else {
        from = start - MINUTE
        page = await rest.klines1m(symbol, start, endTime)
      }
    } else {
      page = await rest.klines1m(symbol, from + MINUTE, endTime)
    }
    for (;;) {
      // Without an end bound a page's newest row may still be open: leave it to the stream (or
      // to the next page, which starts right there).
      const full = page.length === 1000
      const rows = endTime === undefined ? page.slice(0, -1) : page
      const fresh = rows.filter((k) => from === undefined || k.openTime > from)
      if (fresh.length > 0) {
        await this.o.emit(fresh, true)
        from = fresh[fresh.length - 1]!.openTime
        this.last.set(symbol, from)
      }
      if (!full || from === undefined) return
      page = await rest.klines1m(symbol, from + MINUTE, endTime)
    }
  }
}
