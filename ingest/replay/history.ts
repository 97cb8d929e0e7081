import { formatDec, parseDec } from '../../common/decimal.ts'
import { DATA_START, type Market, MINUTE } from './market.ts'
import type { Row } from './recorded.ts'
import type { TradeEvent } from './streams.ts'
import type { SymbolSpec } from './symbols.ts'
import { type MinuteTrades, synthesize, tradeCount } from './trades.ts'

// Trades and 1s candles of any past minute, as the feed sends them. Trade ids are consecutive
// per symbol: the first trade at or after `from` is FIRST_ID and every minute's first id is
// FIRST_ID ± the trade counts in between (counts need no randomness, so this is cheap), so REST
// (`trades`, `historicalTrades`, `aggTrades`) and the streams agree on every id.

export const FIRST_ID = 100_000_000
const SEARCH_MINUTES = 31 * 1440

export class History {
  private readonly market: Market
  private readonly seed: number
  private readonly cap: number
  private readonly fromMinute: number
  /** Per symbol: first ids of minutes fromMinute + i (fwd) and fromMinute − i (back). */
  private readonly fwd = new Map<string, number[]>()
  private readonly back = new Map<string, number[]>()
  private readonly minutes = new Map<string, MinuteTrades>()

  constructor(market: Market, seed: number, cap: number, from: number) {
    this.market = market
    this.seed = seed
    this.cap = cap
    this.fromMinute = from - (from % MINUTE)
  }

  private count(spec: SymbolSpec, minute: number): number {
    const r = this.market.row(spec, minute)
    return r ? tradeCount(r, spec, this.cap) : 0
  }

  /** Id of the first trade of `minute` (or of the next trade, if it has none). */
  firstId(spec: SymbolSpec, minute: number): number {
    const i = (minute - this.fromMinute) / MINUTE
    if (i >= 0) {
      const a = this.fwd.get(spec.symbol) ?? [FIRST_ID]
      this.fwd.set(spec.symbol, a)
      while (a.length <= i) a.push(a.at(-1)! + this.count(spec, this.fromMinute + (a.length - 1) * MINUTE))
      return a[i]!
    }
    const b = this.back.get(spec.symbol) ?? [FIRST_ID]
    this.back.set(spec.symbol, b)
    while (b.length <= -i) b.push(b.at(-1)! - this.count(spec, this.fromMinute - b.length * MINUTE))
    return b[-i]!
  }

  minuteTrades(spec: SymbolSpec, minute: number): MinuteTrades | undefined {
    const key = `${spec.symbol}/${minute}`
    let m = this.minutes.get(key)
    if (!m) {
      const row = this.market.row(spec, minute)
      if (!row) return undefined
      m = synthesize(row, spec, this.seed, this.cap)
      this.minutes.set(key, m)
      if (this.minutes.size > 512) this.minutes.delete(this.minutes.keys().next().value!)
    }
    return m
  }

  /** Trades of `minute`, the first `sent` of them (all when undefined), with their ids. */
  trades(spec: SymbolSpec, minute: number, sent?: number): TradeEvent[] {
    const m = this.minuteTrades(spec, minute)
    if (!m) return []
    const id0 = this.firstId(spec, minute)
    const n = Math.min(m.count, sent ?? m.count)
    const out: TradeEvent[] = []
    for (let i = 0; i < n; i++)
      out.push({ id: id0 + i, price: m.price[i]!, qty: m.qty[i]!, time: m.time[i]!, maker: m.maker[i]! })
    return out
  }

  /** The minute holding trade `id`, searching back from `openMinute` (undefined if not found). */
  minuteOfId(spec: SymbolSpec, id: number, openMinute: number): number | undefined {
    for (let m = openMinute; m >= DATA_START && m > openMinute - SEARCH_MINUTES * MINUTE; m -= MINUTE)
      if (this.firstId(spec, m) <= id) return m
    return undefined
  }

  /** 1s candles of `minute`'s first `sent` trades (a second without trades repeats the last close). */
  seconds(spec: SymbolSpec, minute: number, sent?: number, upTo = minute + MINUTE): Row[] {
    const m = this.minuteTrades(spec, minute)
    if (!m) return []
    const n = Math.min(m.count, sent ?? m.count)
    const vs = parseDec(m.row.v).scale
    const zeroV = formatDec({ units: 0n, scale: vs })
    let last = m.count > 0 ? m.price[0]! : m.row.o
    const out: Row[] = []
    let i = 0
    for (let s = minute; s < upTo; s += 1000) {
      let o = last
      let h = last
      let l = last
      let c = last
      let v = 0n
      let vb = 0n
      let q = 0n
      let qb = 0n
      let k = 0
      let hT = 0
      let lT = 0
      for (; i < n && m.time[i]! < s + 1000; i++, k++) {
        const p = m.price[i]!
        const pt = m.ticks[i]!
        if (k === 0) {
          o = h = l = p
          hT = lT = pt
        } else if (pt > hT) {
          h = p
          hT = pt
        } else if (pt < lT) {
          l = p
          lT = pt
        }
        c = p
        v += m.units[i]!
        const pq = notional(p, m.qty[i]!)
        q += pq
        if (!m.maker[i]) {
          vb += m.units[i]!
          qb += pq
        }
      }
      last = c
      out.push({
        t: s,
        T: s + 999,
        o,
        h,
        l,
        c,
        v: k ? formatDec({ units: v, scale: vs }) : zeroV,
        q: formatDec({ units: q, scale: 8 }),
        n: k,
        V: k ? formatDec({ units: vb, scale: vs }) : zeroV,
        Q: formatDec({ units: qb, scale: 8 }),
      })
    }
    return out
  }
}

/** price × qty in units of 1e-8 (truncated), as Binance prints quote volumes. */
export function notional(price: string, qty: string): bigint {
  const p = parseDec(price)
  const q = parseDec(qty)
  const scale = p.scale + q.scale
  const u = p.units * q.units
  return scale >= 8 ? u / 10n ** BigInt(scale - 8) : u * 10n ** BigInt(8 - scale)
}
