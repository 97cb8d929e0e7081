import type { Book, Kline, Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { KafkaStreams } from '../engine/index.ts'
import { TestBed } from '../engine/testing.ts'
import { specOf } from '../ingest/replay/symbols.ts'
import { synthesize } from '../ingest/replay/trades.ts'
import { spotDay } from '../processors/testdata.ts'
import { platformTopology } from '../topologies/index.ts'
import { StoreReader } from './readers/stores.ts'
import { type Gateway, type GatewayOptions, startGateway } from './server.ts'

// Test and bench set-up: recorded Binance 1m klines (with trades synthesized from them exactly
// as the replay server does, and a book around each minute's close) through the platform
// topology on a throwaway embedded log, and a gateway over its stores and output topics.

export interface Market {
  klines: Kline[]
  trades: Trade[]
  books: Book[]
}

const toKline = (c: ReturnType<typeof spotDay>[number]): Kline => ({ ...c, interval: '1m' }) as Kline

/** Recorded days of `symbol`; trades and books for the last `liveMinutes` minutes of them. */
export function recordedMarket(symbol: string, dates: string[], liveMinutes = 30): Market {
  const klines = dates.flatMap((d) => spotDay(symbol, '1m', d)).map(toKline)
  const spec = specOf(symbol)
  if (!spec || klines.length === 0) throw new Error(`no recording of ${symbol} on ${dates.join(', ')}`)
  const trades: Trade[] = []
  const books: Book[] = []
  let id = 1
  for (const k of klines.slice(-liveMinutes)) {
    const row = { t: k.openTime, T: k.closeTime, o: k.open, h: k.high, l: k.low, c: k.close }
    const m = synthesize(
      { ...row, v: k.volume, q: k.quoteVolume, n: k.trades, V: k.takerBuyBase, Q: k.takerBuyQuote },
      spec,
      7,
      8,
    )
    for (let i = 0; i < m.count; i++)
      trades.push({
        symbol,
        id: id++,
        price: m.price[i]!,
        qty: m.qty[i]!,
        time: m.time[i]!,
        buyerIsMaker: m.maker[i]!,
      })
    books.push(bookAround(symbol, k.close, spec.tickDec, k.closeTime, 1000 + books.length))
  }
  return { klines, trades, books }
}

export function bookAround(
  symbol: string,
  close: string,
  tickDec: number,
  time: number,
  lastUpdateId: number,
): Book {
  const tick = 10 ** -tickDec
  const mid = Number(close)
  const level = (i: number, side: 1 | -1): [string, string] => [
    (mid + side * (i + 1) * tick).toFixed(8),
    (1 + i / 10).toFixed(8),
  ]
  return {
    symbol,
    lastUpdateId,
    time,
    bids: Array.from({ length: 20 }, (_, i) => level(i, -1)),
    asks: Array.from({ length: 20 }, (_, i) => level(i, 1)),
  }
}

/** Raw-topic records of markets, in time order (as ingest would write them). */
export function rawRecords(markets: Market[]) {
  const out: { topic: string; key: string; value: unknown; timestamp: number }[] = []
  for (const m of markets) {
    for (const k of m.klines)
      out.push({ topic: topics.kline1m, key: k.symbol, value: k, timestamp: k.closeTime })
    for (const t of m.trades) out.push({ topic: topics.trades, key: t.symbol, value: t, timestamp: t.time })
    for (const b of m.books) out.push({ topic: topics.orderbook, key: b.symbol, value: b, timestamp: b.time })
  }
  return out.sort((a, b) => a.timestamp - b.timestamp)
}

export class GatewayBed {
  readonly bed = new TestBed('cs-gateway-')
  streams!: KafkaStreams
  gateway!: Gateway

  /** Engine (platform topology with serving stores) over `markets`, caught up, then the gateway. */
  async start(markets: Market[], options: Partial<GatewayOptions> & { symbols: string[] }): Promise<this> {
    for (const t of [topics.kline1m, topics.trades, topics.orderbook]) await this.bed.topic(t, 1)
    await this.produce(markets)
    this.streams = await this.bed.start(platformTopology({ serving: true }), {
      applicationId: 'gateway-test',
    })
    await this.streams.flush()
    this.gateway = await startGateway({
      port: 0,
      reader: new StoreReader(this.streams),
      transport: this.bed.transport,
      ...options,
    })
    return this
  }

  /** Writes more raw records (what ingest does); the engine and the live feed pick them up. */
  async produce(markets: Market[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: unknown; timestamp: number }[]>()
    for (const r of rawRecords(markets)) {
      const list = byTopic.get(r.topic) ?? []
      list.push(r)
      byTopic.set(r.topic, list)
    }
    for (const [topic, records] of byTopic) await this.bed.produce(topic, records)
  }

  async close(): Promise<void> {
    await this.gateway?.close()
    await this.bed.close()
  }
}

/** The part of a market before `time` and the part from it on (the "live" part of a test). */
export function splitMarket(m: Market, time: number): [Market, Market] {
  const before = (t: number) => t < time
  return [
    {
      klines: m.klines.filter((k) => before(k.openTime)),
      trades: m.trades.filter((t) => before(t.time)),
      books: m.books.filter((b) => before(b.time)),
    },
    {
      klines: m.klines.filter((k) => !before(k.openTime)),
      trades: m.trades.filter((t) => !before(t.time)),
      books: m.books.filter((b) => !before(b.time)),
    },
  ]
}
