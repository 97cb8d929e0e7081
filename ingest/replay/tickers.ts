import { div, percentChange, sub } from '../../common/decimal.ts'
import type { Feed } from './feed.ts'
import type { History } from './history.ts'
import { type Market, MINUTE } from './market.ts'
import type { Row } from './recorded.ts'
import type { SymbolSpec } from './symbols.ts'

// Rolling-window statistics (24 h ticker, `/api/v3/ticker` windows, trading day, 5-minute average
// price), computed from the same 1m rows as the klines plus the open minute as of now, for REST
// and the ticker streams alike.

export interface MarketView {
  feed: Feed
  market: Market
  history: History
  now(): number
}

export interface Stats {
  symbol: string
  w: Row
  openTime: number
  closeTime: number
  firstId: number
  lastId: number
  /** Close of the minute before the window (Binance's prevClosePrice / `x`). */
  prevClose: string
}

const DAY = 86_400_000

/** Window of minutes [firstMinute, open minute], reported as opening at `openTime`. */
export function windowStats(c: MarketView, spec: SymbolSpec, firstMinute: number, openTime: number): Stats {
  const open = c.feed.openKline(spec.symbol)
  const w = c.market.candle(spec, firstMinute, open.minute + MINUTE, open.minute, open.row)!
  const lastId = c.feed.lastTradeId(spec.symbol)
  const prev = c.market.row(spec, firstMinute - MINUTE)
  return {
    symbol: spec.symbol,
    w,
    openTime,
    closeTime: c.now(),
    firstId: Math.max(0, lastId - w.n + 1),
    lastId,
    prevClose: prev?.c ?? w.o,
  }
}

/** Rolling window of `ms` ending now (minute granular like Binance's). */
export function rolling(c: MarketView, spec: SymbolSpec, ms: number, exactOpen = false): Stats {
  const open = c.feed.openKline(spec.symbol)
  const first = open.minute - (ms / MINUTE - 1) * MINUTE
  return windowStats(c, spec, first, exactOpen ? c.now() - ms : first)
}

/** Since 00:00 UTC of the current day. */
export function tradingDay(c: MarketView, spec: SymbolSpec): Stats {
  const now = c.now()
  const start = now - (now % DAY)
  return windowStats(c, spec, start, start)
}

/** Binance's FULL ticker fields shared by every window. */
export function fullFields(s: Stats): Record<string, unknown> {
  const { w } = s
  const { symbol, ...mini } = miniFields(s)
  return {
    symbol,
    priceChange: sub(w.c, w.o),
    priceChangePercent: percentChange(w.c, w.o),
    weightedAvgPrice: div(w.q, w.v),
    ...mini,
  }
}

/** Binance's MINI ticker fields (FULL without the changes and the weighted average). */
export function miniFields(s: Stats): Record<string, unknown> {
  const { w } = s
  return {
    symbol: s.symbol,
    openPrice: w.o,
    highPrice: w.h,
    lowPrice: w.l,
    lastPrice: w.c,
    volume: w.v,
    quoteVolume: w.q,
    openTime: s.openTime,
    closeTime: s.closeTime,
    firstId: s.firstId,
    lastId: s.lastId,
    count: w.n,
  }
}

/** `/api/v3/ticker/24hr` FULL: the window fields plus last trade and best bid/ask. */
export function ticker24h(c: MarketView, spec: SymbolSpec, mini: boolean): Record<string, unknown> {
  const s = rolling(c, spec, DAY, true)
  if (mini) return miniFields(s)
  const zero = '0.00000000'
  const book = c.feed.book(spec.symbol)
  const bid = book.bestBid()
  const ask = book.bestAsk()
  const last = c.feed.lastTrade(spec.symbol)
  const f = fullFields(s)
  return {
    symbol: spec.symbol,
    priceChange: f.priceChange,
    priceChangePercent: f.priceChangePercent,
    weightedAvgPrice: f.weightedAvgPrice,
    prevClosePrice: s.prevClose,
    lastPrice: s.w.c,
    lastQty: last?.qty ?? zero,
    bidPrice: bid?.[0] ?? zero,
    bidQty: bid?.[1] ?? zero,
    askPrice: ask?.[0] ?? zero,
    askQty: ask?.[1] ?? zero,
    openPrice: s.w.o,
    highPrice: s.w.h,
    lowPrice: s.w.l,
    volume: s.w.v,
    quoteVolume: s.w.q,
    openTime: s.openTime,
    closeTime: s.closeTime,
    firstId: s.firstId,
    lastId: s.lastId,
    count: s.w.n,
  }
}

/** Average price of the last 5 minutes (Σ quote / Σ base), and the last trade's time. */
export function avgPrice(
  c: MarketView,
  spec: SymbolSpec,
): { mins: number; price: string; closeTime: number } {
  const s = rolling(c, spec, 5 * MINUTE)
  const last = c.feed.lastTrade(spec.symbol)
  const price = Number(s.w.v) === 0 ? s.w.c : div(s.w.q, s.w.v)
  return { mins: 5, price, closeTime: last?.time ?? s.closeTime }
}

// --- stream payloads ---

export function tickerEvent(c: MarketView, spec: SymbolSpec, E: number): Record<string, unknown> {
  const t = ticker24h(c, spec, false)
  return {
    e: '24hrTicker',
    E,
    s: spec.symbol,
    p: t.priceChange,
    P: t.priceChangePercent,
    w: t.weightedAvgPrice,
    x: t.prevClosePrice,
    c: t.lastPrice,
    Q: t.lastQty,
    b: t.bidPrice,
    B: t.bidQty,
    a: t.askPrice,
    A: t.askQty,
    o: t.openPrice,
    h: t.highPrice,
    l: t.lowPrice,
    v: t.volume,
    q: t.quoteVolume,
    O: t.openTime,
    C: t.closeTime,
    F: t.firstId,
    L: t.lastId,
    n: t.count,
  }
}

export function miniTickerEvent(c: MarketView, spec: SymbolSpec, E: number): Record<string, unknown> {
  const { w } = rolling(c, spec, DAY, true)
  return { e: '24hrMiniTicker', E, s: spec.symbol, c: w.c, o: w.o, h: w.h, l: w.l, v: w.v, q: w.q }
}

export const WINDOW_MS: Record<string, number> = { '1h': 3_600_000, '4h': 4 * 3_600_000, '1d': DAY }

export function windowTickerEvent(
  c: MarketView,
  spec: SymbolSpec,
  win: string,
  E: number,
): Record<string, unknown> {
  const s = rolling(c, spec, WINDOW_MS[win]!)
  const f = fullFields(s)
  return {
    e: `${win}Ticker`,
    E,
    s: spec.symbol,
    p: f.priceChange,
    P: f.priceChangePercent,
    o: f.openPrice,
    h: f.highPrice,
    l: f.lowPrice,
    c: f.lastPrice,
    w: f.weightedAvgPrice,
    v: f.volume,
    q: f.quoteVolume,
    O: f.openTime,
    C: f.closeTime,
    F: f.firstId,
    L: f.lastId,
    n: f.count,
  }
}

export function avgPriceEvent(c: MarketView, spec: SymbolSpec, E: number): Record<string, unknown> {
  const a = avgPrice(c, spec)
  return { e: 'avgPrice', E, s: spec.symbol, i: '5m', w: a.price, T: a.closeTime }
}
