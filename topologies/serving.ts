import { type Book, intervalMs, type Kline, parseBook, parseTrade, type Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { Emitted, type KStream, type StreamsBuilder, TimeWindows } from '../engine/index.ts'

// What the gateway serves, kept the way it reads it. Stores only (no output topics); the gateway
// reads them by interactive query.
//   `klines-1m`        window store, key symbol, window start = openTime, 24 h: each minute's
//                      newest version, the open one included
//   `ohlc-<interval>`  window stores of the 5m/1h/4h/1d candles as emitted (the Kline alone,
//                      ~350 B; `candles-<interval>` also holds each window's inputs, ~10 KB for
//                      1h, which made a 500-candle read parse megabytes), same retention
//   `orderbook-latest` key-value, key symbol → Book with the highest lastUpdateId
//   `trades-recent`    key-value, key symbol → the last `tradesKeep` trades, oldest first
// Windows take late versions for their whole retention (grace = retention − size), as the
// candle stores do: a backfilled minute or a corrected candle is never dropped here.

export const KLINES_1M_STORE = 'klines-1m'
export const ORDERBOOK_STORE = 'orderbook-latest'
export const TRADES_STORE = 'trades-recent'
export const ohlcStore = (interval: OhlcInterval): string => `ohlc-${interval}`

type OhlcInterval = '5m' | '1h' | '4h' | '1d'
const OHLC_RETENTION: Record<OhlcInterval, number> = {
  '5m': 2 * 86_400_000,
  '1h': 30 * 86_400_000,
  '4h': 90 * 86_400_000,
  '1d': 400 * 86_400_000,
}

export interface ServingOptions {
  topicPrefix?: string
  /** Trades kept per symbol (default 200: the whole list is one store value, rewritten per commit). */
  tradesKeep?: number
  /** How long 1m klines stay queryable (default 24 h). */
  klinesRetentionMs?: number
  /** How long 5m..1d candles stay queryable (default as the candle stores: 2, 30, 90, 400 days). */
  retentionMs?: Partial<Record<OhlcInterval, number>>
}

/** A later version of the same candle replaces it; an open update never replaces the closed one. */
export function newerMinute(stored: Kline | null, k: Kline): Kline {
  if (stored === null) return k
  if (stored.closed && !k.closed) return stored
  return k
}

/** Appends a trade keeping (time, id) order and at most `keep` entries; a duplicate id changes nothing. */
export function appendTrade(list: Trade[], t: Trade, keep: number): Trade[] {
  const last = list[list.length - 1]
  if (last === undefined || t.time > last.time || (t.time === last.time && t.id > last.id)) list.push(t)
  else {
    if (list.some((x) => x.id === t.id)) return list
    const i = list.findIndex((x) => x.time > t.time || (x.time === t.time && x.id > t.id))
    list.splice(i, 0, t)
  }
  if (list.length > keep) list.splice(0, list.length - keep)
  return list
}

/** Latest version per (symbol, openTime) of a Kline stream, in a window store of the interval. */
function keepLatest(stream: KStream<string, Kline>, name: string, sizeMs: number, retentionMs: number): void {
  stream
    .groupByKey({ name, repartition: false })
    .windowedBy(TimeWindows.ofSizeAndGrace(sizeMs, retentionMs - sizeMs))
    .emitStrategy(Emitted.onUpdate())
    .aggregate<Kline | null>(
      () => null,
      (_s, k, stored) => newerMinute(stored, k),
      { name, retentionMs },
    )
}

export function addServing(
  builder: StreamsBuilder,
  klines: KStream<string, Kline>,
  options: ServingOptions = {},
  candles?: Record<OhlcInterval, KStream<string, Kline>>,
): void {
  const prefix = options.topicPrefix ?? ''
  const keep = options.tradesKeep ?? 200
  keepLatest(
    klines.filter((_s, k) => k.interval === '1m', 'serving-1m-only'),
    KLINES_1M_STORE,
    60_000,
    options.klinesRetentionMs ?? 86_400_000,
  )
  for (const [iv, stream] of Object.entries(candles ?? {}) as [OhlcInterval, KStream<string, Kline>][])
    keepLatest(stream, ohlcStore(iv), intervalMs[iv], options.retentionMs?.[iv] ?? OHLC_RETENTION[iv])

  builder
    .stream<Book>(prefix + topics.orderbook, {
      parse: parseBook,
      timestamp: (b) => b.time,
      name: 'orderbook-source',
    })
    .groupByKey({ name: ORDERBOOK_STORE, repartition: false })
    .reduce((stored, b) => (b.lastUpdateId >= stored.lastUpdateId ? b : stored), { name: ORDERBOOK_STORE })

  builder
    .stream<Trade>(prefix + topics.trades, {
      parse: parseTrade,
      timestamp: (t) => t.time,
      name: 'trades-source',
    })
    .groupByKey({ name: TRADES_STORE, repartition: false })
    .aggregate<Trade[]>(
      () => [],
      (_s, t, list) => appendTrade(list, t, keep),
      { name: TRADES_STORE },
    )
}
