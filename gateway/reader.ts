import type { Book, Interval, Kline, Trade } from '../common/records.ts'
import type { Indicators } from '../processors/indicators.ts'
import type { Ranking } from '../processors/ranking.ts'

// The gateway's one read interface. Two implementations answer the same questions the same way:
// readers/stores.ts (the engine's state stores, interactive queries) and readers/sinks.ts
// (MongoDB + Redis, as sinks/ writes them). Routes, Socket.IO and WebSocket only see this.

export interface CandleQuery {
  symbol: string
  interval: Interval
  limit: number
  /** With startTime: the first `limit` candles from it; otherwise the last `limit` up to endTime. */
  startTime?: number
  endTime?: number
}

/** What a prediction looks like on `crypto_predictions` (passed through as produced). */
export type Prediction = Record<string, unknown> & { symbol: string }

export interface DependencyState {
  ok: boolean
  detail: string
}

export interface MarketReader {
  readonly kind: 'stores' | 'sinks'
  /** Candles oldest first (1m from the serving store / Redis; 5m..1d from candles / Mongo). */
  candles(q: CandleQuery): Promise<Kline[]>
  /** The newest 1m kline of a symbol, open or closed. */
  latest(symbol: string): Promise<Kline | undefined>
  orderbook(symbol: string): Promise<Book | undefined>
  /** Newest first. */
  trades(symbol: string, limit: number): Promise<Trade[]>
  /** Gainers and losers over every ranked symbol (or the top the sink kept). */
  ranking(): Promise<Ranking | undefined>
  prediction(symbol: string): Promise<Prediction | undefined>
  /** Indicator values per closed candle, oldest first, the last `limit`. */
  indicators(symbol: string, interval: Exclude<Interval, '1m'>, limit: number): Promise<Indicators[]>
  /** The reader's own dependencies (engine, or Mongo and Redis). */
  health(): Promise<Record<string, DependencyState>>
  close(): Promise<void>
}

/** Binance's klines selection over candles sorted by openTime (used by both readers' tests). */
export function selectCandles<T extends { openTime: number }>(sorted: T[], q: CandleQuery): T[] {
  const end = q.endTime ?? Number.MAX_SAFE_INTEGER
  if (q.startTime !== undefined) {
    const from = q.startTime
    return sorted.filter((c) => c.openTime >= from && c.openTime <= end).slice(0, q.limit)
  }
  const upTo = sorted.filter((c) => c.openTime <= end)
  return upTo.slice(Math.max(0, upTo.length - q.limit))
}
