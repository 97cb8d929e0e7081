import { addDec, formatDec, parseDec, percentChange, sub, subDec } from '../common/decimal.ts'
import type { Kline } from '../common/records.ts'

// Rolling 24 h statistics per symbol, as Binance's /api/v3/ticker/24hr defines them, built from
// 1m klines: the window is the last 1440 minutes ending with the latest one; openPrice is the open
// of its first minute (the price 24 h ago), lastPrice the close of the latest, priceChange =
// lastPrice − openPrice, priceChangePercent = 100 × priceChange / openPrice (3 decimals, as
// Binance prints it), volume/quoteVolume/count summed over the window. Then the cross-symbol
// ranking: top gainers and losers, ties broken by symbol.

export const DAY_MS = 86_400_000

/** [openTime, open, close, volume, quoteVolume, trades] of one 1m kline. */
export type TickMinute = [number, string, string, string, string, number]

export interface TickerState {
  symbol: string
  /** Minutes of the window, sorted by openTime, all within 24 h of the latest. */
  minutes: TickMinute[]
  volume: string
  quoteVolume: string
  count: number
}

export interface Ticker24h {
  symbol: string
  /** First and last minute of the window (epoch ms): openTime of the first, closeTime of the last. */
  openTime: number
  closeTime: number
  openPrice: string
  lastPrice: string
  priceChange: string
  priceChangePercent: string
  volume: string
  quoteVolume: string
  count: number
  /** true while less than 24 h of minutes are known (a young symbol or a fresh start). */
  partial: boolean
}

export const initTicker = (symbol: string): TickerState => ({
  symbol,
  minutes: [],
  volume: '0',
  quoteVolume: '0',
  count: 0,
})

const plus = (a: string, b: string): string => formatDec(addDec(parseDec(a), parseDec(b)))
const minus = (a: string, b: string): string => formatDec(subDec(parseDec(a), parseDec(b)))

function resum(s: TickerState): void {
  let v = '0'
  let q = '0'
  let n = 0
  for (const m of s.minutes) {
    v = plus(v, m[3])
    q = plus(q, m[4])
    n += m[5]
  }
  s.volume = v
  s.quoteVolume = q
  s.count = n
}

/**
 * Adds or replaces a 1m kline (in place). In order it costs O(1) amortized (sums updated, expired
 * minutes subtracted); a correction or an out-of-order minute re-sums the window. Minutes older
 * than the window are ignored. Returns false when nothing changed.
 */
export function mergeTick(s: TickerState, k: Kline): boolean {
  const m: TickMinute = [k.openTime, k.open, k.close, k.volume, k.quoteVolume, k.trades]
  const ms = s.minutes
  const last = ms[ms.length - 1]
  if (last !== undefined && m[0] <= last[0]) {
    if (m[0] < last[0] - DAY_MS + 60_000) return false // outside the window
    const i = ms.findIndex((x) => x[0] >= m[0])
    const at = ms[i] as TickMinute
    if (at[0] === m[0]) {
      if (at.every((v, j) => v === m[j])) return false
      ms[i] = m
    } else ms.splice(i, 0, m)
    resum(s)
    return true
  }
  ms.push(m)
  s.volume = plus(s.volume, m[3])
  s.quoteVolume = plus(s.quoteVolume, m[4])
  s.count += m[5]
  const from = m[0] - DAY_MS + 60_000
  while ((ms[0] as TickMinute)[0] < from) {
    const old = ms.shift() as TickMinute
    s.volume = minus(s.volume, old[3])
    s.quoteVolume = minus(s.quoteVolume, old[4])
    s.count -= old[5]
  }
  return true
}

export function tickerOf(s: TickerState): Ticker24h | undefined {
  const first = s.minutes[0]
  const last = s.minutes[s.minutes.length - 1]
  if (!first || !last) return undefined
  return {
    symbol: s.symbol,
    openTime: first[0],
    closeTime: last[0] + 59_999,
    openPrice: first[1],
    lastPrice: last[2],
    priceChange: sub(last[2], first[1]),
    priceChangePercent: percentChange(last[2], first[1]),
    volume: s.volume,
    quoteVolume: s.quoteVolume,
    count: s.count,
    partial: last[0] - first[0] < DAY_MS - 60_000,
  }
}

export interface RankEntry extends Ticker24h {
  rank: number
  /** The symbol's latest minute ends before `asOf`: it has gone quiet (its window is not current). */
  stale: boolean
}

export interface Ranking {
  /** Close time of the newest minute over all symbols (epoch ms). */
  asOf: number
  window: '24h'
  /** Symbols ranked (symbols without any data are omitted). */
  symbols: number
  /** Best priceChangePercent first; ties by symbol ascending. */
  gainers: RankEntry[]
  /** Worst priceChangePercent first; ties by symbol ascending. */
  losers: RankEntry[]
}

/** Ranks the latest 24 h tickers. Both lists hold every symbol unless `top` limits them. */
export function rank(tickers: Iterable<Ticker24h>, top = Number.POSITIVE_INFINITY): Ranking {
  const all = [...tickers]
  const asOf = all.reduce((t, x) => Math.max(t, x.closeTime), 0)
  const bySymbol = (a: Ticker24h, b: Ticker24h): number =>
    a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0
  // percentages have 3 decimals and few digits: as doubles they keep their exact order and ties
  const pct = new Map(all.map((t) => [t, Number(t.priceChangePercent)]))
  const p = (t: Ticker24h): number => pct.get(t) as number
  const up = [...all].sort((a, b) => p(b) - p(a) || bySymbol(a, b))
  const down = [...all].sort((a, b) => p(a) - p(b) || bySymbol(a, b))
  const entry = (t: Ticker24h, i: number): RankEntry => ({ ...t, rank: i + 1, stale: t.closeTime < asOf })
  return {
    asOf,
    window: '24h',
    symbols: all.length,
    gainers: up.slice(0, top).map(entry),
    losers: down.slice(0, top).map(entry),
  }
}
