import type { Book, Kline, Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import { spotDay } from '../processors/testdata.ts'
import { platformTopology } from '../topologies/index.ts'

// Sink test input: recorded 1m klines (an open update, then the final, per minute) of two symbols
// through the platform topology on the embedded log, so the candle, ranking and indicator topics
// hold what the engine really emits; plus trades, order books and predictions derived from the
// same klines, and a replayed stale open update and a corrected final in crypto_kline_5m.

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT']
export const DAY = '2024-01-06'

function openVersion(k: Kline): Kline {
  return { ...k, close: k.open, high: k.open, low: k.open, trades: 1, closed: false }
}

function tradesOf(k: Kline, i: number): Trade[] {
  return [k.open, k.high, k.close].map((price, j) => ({
    symbol: k.symbol,
    id: i * 3 + j,
    price,
    qty: '0.01000000',
    time: k.openTime + j * 20_000,
    buyerIsMaker: j % 2 === 0,
  }))
}

function bookOf(k: Kline, i: number): Book {
  return {
    symbol: k.symbol,
    lastUpdateId: i,
    bids: [[k.low, '1.00000000']],
    asks: [[k.high, '2.00000000']],
    time: k.closeTime,
  }
}

/** A TestBed holding every input topic of the sinks (the caller closes it). */
export async function sinkInput(minutes: number): Promise<TestBed> {
  const bed = new TestBed('cs-sinks-')
  await bed.topic(topics.kline1m, 2)
  const klines = SYMBOLS.map((s) =>
    spotDay(s, '1m', DAY)
      .slice(0, minutes)
      .map((k) => ({ ...k, interval: '1m' }) as Kline),
  )
  const byTime = klines.flat().sort((a, b) => a.openTime - b.openTime)
  await bed.produce(
    topics.kline1m,
    byTime.flatMap((k) =>
      [openVersion(k), k].map((v) => ({ key: k.symbol, value: v, timestamp: k.openTime })),
    ),
  )
  const streams = await bed.start(platformTopology(), { applicationId: 'sinks-input' })
  await streams.flush()
  await bed.stop(streams)

  for (const [topic, n] of [
    [topics.trades, 2],
    [topics.orderbook, 2],
    [topics.predictions, 1],
  ] as const)
    await bed.topic(topic, n)
  const perSymbol = klines.map((ks) => ks.map((k, i) => ({ k, i })))
  await bed.produce(
    topics.trades,
    perSymbol.flat().flatMap(({ k, i }) => tradesOf(k, i).map((t) => ({ key: t.symbol, value: t }))),
  )
  await bed.produce(
    topics.orderbook,
    perSymbol.flat().map(({ k, i }) => ({ key: k.symbol, value: bookOf(k, i) })),
  )
  const predictions = perSymbol
    .flat()
    .filter(({ i }) => i % 5 === 4)
    .map(({ k }) => ({
      key: k.symbol,
      value: {
        symbol: k.symbol,
        time: k.closeTime + 1,
        horizonMs: 300_000,
        lastClose: k.close,
        predictedPrice: k.close,
        predictedReturn: 0,
        direction: 'flat',
        confidence: 0.5,
        modelVersion: 'test-1',
      },
    }))
  await bed.produce(topics.predictions, predictions)
  // a corrected prediction (same symbol and time, re-emitted later)
  const first = predictions[0]!
  await bed.produce(topics.predictions, [
    { key: first.key, value: { ...first.value, confidence: 0.9, modelVersion: 'test-2' } },
  ])

  // A stale open update replayed after its final, and a correction of a final: the final must
  // survive the first, the correction must replace it.
  const five = (await bed.values<Kline>(topics.kline5m)).filter((k) => k.symbol === 'BTCUSDT')
  const finals = five.filter((k) => k.closed)
  const stale = five.find((k) => !k.closed && k.openTime === finals[0]!.openTime)!
  const corrected = { ...finals[1]!, close: finals[1]!.high }
  await bed.produce(
    topics.kline5m,
    [stale, corrected].map((k) => ({ key: k.symbol, value: k, timestamp: k.openTime })),
  )
  return bed
}

/** Every record of the sinks' input topics, by topic (partition, offset order). */
export async function inputRecords(bed: TestBed): Promise<Map<string, ConsumedRecord[]>> {
  const out = new Map<string, ConsumedRecord[]>()
  for (const t of Object.values(topics))
    if ((await bed.transport.partitions(t)) !== undefined) out.set(t, await bed.records(t))
  return out
}

/** Expected candle documents: the last final per (symbol, openTime), else the last open update. */
export function expectedCandles(records: ConsumedRecord[]): Kline[] {
  const byKey = new Map<string, Kline>()
  for (const r of records) {
    const k = JSON.parse(r.value) as Kline
    const id = `${k.symbol}:${k.openTime}`
    if (!(byKey.get(id)?.closed && !k.closed)) byKey.set(id, k)
  }
  return [...byKey.values()].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime)
}
