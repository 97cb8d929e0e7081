import { sub } from '../common/decimal.ts'
import type { Kline } from '../common/records.ts'
import { addTo, formatSum, percentChange, type Sum, takeFrom, zeroSum } from './fixed.ts'

// Rolling 24 h statistics per symbol, as Binance's /api/v3/ticker/24hr defines them, built from
// 1m klines: the window is the last 1440 minutes ending with the latest one; openPrice is the open
// of its first minute (the price 24 h ago), lastPrice the close of the latest, priceChange =
// lastPrice − openPrice, priceChangePercent = 100 × priceChange / openPrice (3 decimals, as
// Binance prints it), volume/quoteVolume/count summed over the window. Then the cross-symbol
// ranking: top gainers and losers, ties broken by symbol.

export const DAY_MS = 86_400_000
export const MINUTE_MS = 60_000

/**
 * [openTime, open, close, volume, quoteVolume, trades, closed 0|1] of one 1m kline (entries
 * written before the closed flag have 6 elements: treated as open).
 */
export type TickMinute = [number, string, string, string, string, number, (0 | 1)?]

/**
 * Summary of one symbol's window. The minutes themselves are separate entries
 * (`TickerStores.getMinute`): an update rewrites one minute and this summary, not the whole day.
 */
export interface TickerState {
  symbol: string
  /** openTime of the window's first and latest minute: every stored minute is within [first, last]. */
  first: number
  last: number
  /** Open of the first minute, close of the latest. */
  openPrice: string
  lastPrice: string
  /**
   * Exact running sums (processors/fixed.ts `Sum`): [whole, fraction × 1e8, largest scale], or
   * [decimal string, 0, scale] once a value did not fit; printed only when a ticker goes out.
   */
  volume: Sum
  quoteVolume: Sum
  count: number
}

/** The summary before fixed-point sums (volume and quote volume as decimal strings): still read. */
export interface DecimalTickerState extends Omit<TickerState, 'volume' | 'quoteVolume'> {
  volume: string
  quoteVolume: string
}

/** The window as one value (before the minutes had their own entries): read once, then split. */
export interface LegacyTickerState {
  symbol: string
  minutes: TickMinute[]
  volume: string
  quoteVolume: string
  count: number
}

/**
 * What the rolling ticker reads and writes; synchronous like task stores (staged writes).
 * mergeTick changes the state it read in place and puts it back: a store must not hand out an
 * object that something else keeps as a snapshot.
 */
export interface TickerStores {
  getState(symbol: string): TickerState | DecimalTickerState | LegacyTickerState | undefined
  putState(s: TickerState): void
  getMinute(symbol: string, openTime: number): TickMinute | undefined
  putMinute(symbol: string, m: TickMinute): void
  /** Removes the minute and returns it (undefined: there was none). */
  takeMinute(symbol: string, openTime: number): TickMinute | undefined
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

/** In-memory stores (tests, batch use). */
export function memoryTickerStores(): TickerStores & { minutes: Map<string, TickMinute> } {
  const states = new Map<string, TickerState | DecimalTickerState | LegacyTickerState>()
  const minutes = new Map<string, TickMinute>()
  return {
    minutes,
    getState: (symbol) => states.get(symbol),
    putState: (s) => void states.set(s.symbol, s),
    getMinute: (symbol, t) => minutes.get(`${symbol}|${t}`),
    putMinute: (symbol, m) => void minutes.set(`${symbol}|${m[0]}`, m),
    takeMinute: (symbol, t) => {
      const m = minutes.get(`${symbol}|${t}`)
      minutes.delete(`${symbol}|${t}`)
      return m
    },
  }
}

/** A sum stored as a decimal string, as exact fixed point at its printed scale. */
function sumOf(x: string): Sum {
  const s = zeroSum()
  addTo(s, x)
  return s
}

function add(s: TickerState, m: TickMinute): void {
  addTo(s.volume, m[3])
  addTo(s.quoteVolume, m[4])
  s.count += m[5]
}

function take(s: TickerState, m: TickMinute): void {
  takeFrom(s.volume, m[3])
  takeFrom(s.quoteVolume, m[4])
  s.count -= m[5]
}

/** A summary stored with decimal-string sums, as one with fixed-point sums (a new object). */
function fixedOf(s: DecimalTickerState): TickerState {
  return { ...s, volume: sumOf(s.volume), quoteVolume: sumOf(s.quoteVolume) }
}

/** Splits a legacy one-value window into minute entries; its sums stay as they were. */
function upgrade(st: TickerStores, old: LegacyTickerState): TickerState | undefined {
  const first = old.minutes[0]
  const last = old.minutes[old.minutes.length - 1]
  if (!first || !last) return undefined
  for (const m of old.minutes) st.putMinute(old.symbol, m)
  const { symbol, volume, quoteVolume, count } = old
  return {
    symbol,
    first: first[0],
    last: last[0],
    openPrice: first[1],
    lastPrice: last[2],
    volume: sumOf(volume),
    quoteVolume: sumOf(quoteVolume),
    count,
  }
}

/**
 * The window moves to end with minute `m`: minutes before its new start are subtracted and
 * deleted, the first one left gives openPrice. Minutes are usually contiguous (one probe per new
 * minute); a gap is walked once, as the start passes it. Never more than 1440 probes: every
 * stored minute is within [first, last].
 */
function advance(st: TickerStores, s: TickerState, m: TickMinute): void {
  const from = m[0] - DAY_MS + MINUTE_MS
  if (s.first >= from) return
  let t = s.first
  for (; t < from && t <= s.last; t += MINUTE_MS) {
    const x = st.takeMinute(s.symbol, t)
    if (x) take(s, x)
  }
  for (; t <= s.last; t += MINUTE_MS) {
    const x = st.getMinute(s.symbol, t)
    if (x) {
      s.first = t
      s.openPrice = x[1]
      return
    }
  }
  s.first = m[0]
  s.openPrice = m[1]
}

/**
 * Adds or replaces a 1m kline: O(1) store reads and writes per update (plus the minutes the
 * window start passes). A duplicate changes nothing; a correction subtracts the old version; an
 * open update never replaces a closed minute or one with more trades (replays cannot regress).
 * Minutes older than the window are ignored, as are openTimes off the minute grid (the window is
 * walked minute by minute; Binance 1m klines are always on it). Returns false when nothing changed.
 */
export function mergeTick(st: TickerStores, k: Kline): boolean {
  const m: TickMinute = [k.openTime, k.open, k.close, k.volume, k.quoteVolume, k.trades, k.closed ? 1 : 0]
  if (!Number.isInteger(m[0] / MINUTE_MS)) return false // off the grid (exactly m[0] % MINUTE_MS !== 0, without fmod)
  const prev = st.getState(k.symbol)
  // changed in place (nothing before a `return false`) and put back
  const s =
    prev === undefined
      ? undefined
      : 'minutes' in prev
        ? upgrade(st, prev)
        : typeof prev.volume === 'string'
          ? fixedOf(prev as DecimalTickerState)
          : (prev as TickerState)
  if (s && prev && 'minutes' in prev) st.putState(s) // split even if `k` changes nothing
  if (s === undefined) {
    const fresh: TickerState = {
      symbol: k.symbol,
      first: m[0],
      last: m[0],
      openPrice: m[1],
      lastPrice: m[2],
      volume: zeroSum(),
      quoteVolume: zeroSum(),
      count: 0,
    }
    add(fresh, m)
    st.putMinute(k.symbol, m)
    st.putState(fresh)
    return true
  }
  if (m[0] <= s.last) {
    if (m[0] < s.last - DAY_MS + MINUTE_MS) return false // outside the window
    const old = st.getMinute(s.symbol, m[0])
    if (old) {
      // equal values: nothing changes (an entry written before the closed flag keeps none)
      if ((old[6] === undefined || old[6] === m[6]) && old.every((v, j) => v === m[j])) return false
      // an older open update (a replay after a crash) never replaces a closed or later minute
      if (m[6] === 0 && (old[6] === 1 || m[5] < old[5])) return false
      take(s, old)
    }
    if (m[0] <= s.first) {
      s.first = m[0]
      s.openPrice = m[1]
    }
    if (m[0] === s.last) s.lastPrice = m[2]
  } else {
    advance(st, s, m)
    s.last = m[0]
    s.lastPrice = m[2]
  }
  add(s, m)
  st.putMinute(s.symbol, m)
  st.putState(s)
  return true
}

export function tickerOf(s: TickerState): Ticker24h {
  return {
    symbol: s.symbol,
    openTime: s.first,
    closeTime: s.last + 59_999,
    openPrice: s.openPrice,
    lastPrice: s.lastPrice,
    priceChange: sub(s.lastPrice, s.openPrice),
    priceChangePercent: percentChange(s.lastPrice, s.openPrice),
    volume: formatSum(s.volume),
    quoteVolume: formatSum(s.quoteVolume),
    count: s.count,
    partial: s.last - s.first < DAY_MS - MINUTE_MS,
  }
}

/** The current ticker of `symbol`, or undefined before its first minute. */
export function tickerFor(st: TickerStores, symbol: string): Ticker24h | undefined {
  const s = st.getState(symbol)
  if (s === undefined) return undefined
  if (!('minutes' in s))
    return tickerOf(typeof s.volume === 'string' ? fixedOf(s as DecimalTickerState) : (s as TickerState))
  const first = s.minutes[0]
  const last = s.minutes[s.minutes.length - 1]
  if (!first || !last) return undefined
  return tickerOf({
    symbol: s.symbol,
    first: first[0],
    last: last[0],
    openPrice: first[1],
    lastPrice: last[2],
    volume: sumOf(s.volume),
    quoteVolume: sumOf(s.quoteVolume),
    count: s.count,
  })
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
