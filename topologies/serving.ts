import { type Book, type Kline, parseBook, parseTrade, type Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { Emitted, type KStream, type StreamsBuilder, TimeWindows } from '../engine/index.ts'

// Raw data the gateway serves but no other topology keeps: the last 24 h of 1m klines (each
// minute's newest version, the open one included), the latest order book and the recent trades
// of each symbol. Stores only (no output topics); the gateway reads them by interactive query.
//   `klines-1m`       window store, key symbol, window start = openTime, 24 h retention
//   `orderbook-latest` key-value, key symbol → Book with the highest lastUpdateId
//   `trades-recent`    key-value, key symbol → the last `tradesKeep` trades, oldest first

export const KLINES_1M_STORE = 'klines-1m'
export const ORDERBOOK_STORE = 'orderbook-latest'
export const TRADES_STORE = 'trades-recent'

export interface ServingOptions {
  topicPrefix?: string
  /** Trades kept per symbol (default 200: the whole list is one store value, rewritten per commit). */
  tradesKeep?: number
  /** How long 1m klines stay queryable (default 24 h). */
  klinesRetentionMs?: number
}

/** A later version of the same minute replaces it; an open update never replaces the closed one. */
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

export function addServing(
  builder: StreamsBuilder,
  klines: KStream<string, Kline>,
  options: ServingOptions = {},
): void {
  const prefix = options.topicPrefix ?? ''
  const keep = options.tradesKeep ?? 200
  klines
    .filter((_s, k) => k.interval === '1m', 'serving-1m-only')
    .groupByKey({ name: KLINES_1M_STORE, repartition: false })
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 3_600_000))
    .emitStrategy(Emitted.onUpdate())
    .aggregate<Kline | null>(
      () => null,
      (_s, k, stored) => newerMinute(stored, k),
      {
        name: KLINES_1M_STORE,
        retentionMs: options.klinesRetentionMs ?? 86_400_000,
      },
    )

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
