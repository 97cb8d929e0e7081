import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import type { Kline, Trade } from '../common/records.ts'
import { deadLetterTopic, topics } from '../common/topics.ts'
import type { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import { dropMongo, dropRedis, mongoDump, redisDump } from './dump.fixture.ts'
import { startSinks } from './index.ts'
import { expectedCandles, inputRecords, SYMBOLS, sinkInput } from './input.fixture.ts'

// Recorded klines through the platform topology, then both sinks on the shared Redis and
// FerretDB: exactly the README's collections and keys, and a second replay changes nothing.

const { mongoUrl: MONGO_URL, redisUrl: REDIS_URL } = loadConfig()
const run = `${process.pid}_${Date.now()}`
const DB = `sinks_test_${run}`
const PREFIX = `t${run}:`
const KEEP_1M = 60
const KEEP_TRADES = 100
const config = loadConfig(process.env, {
  mongoDb: DB,
  redisKline1mKeep: KEEP_1M,
  redisTradesKeep: KEEP_TRADES,
})
const strip = ({ _id, _v, ...rest }: Record<string, unknown>) => rest
const values = <T>(rs: ConsumedRecord[] | undefined): T[] => (rs ?? []).map((r) => JSON.parse(r.value) as T)

describe('sinks on Redis and FerretDB', () => {
  let bed: TestBed
  let input: Map<string, ConsumedRecord[]>

  beforeAll(async () => {
    bed = await sinkInput(180)
    await bed.produce(topics.kline5m, [{ key: 'BTCUSDT', value: '{"symbol":"BTCUSDT"}' }])
    input = await inputRecords(bed)
    const sinks = await startSinks({ config, transport: bed.transport, keyPrefix: PREFIX, maxRecords: 500 })
    await sinks.caughtUp(60_000)
    await sinks.close()
  })
  afterAll(async () => {
    await bed?.close()
    await dropMongo(MONGO_URL, DB)
    await dropRedis(REDIS_URL, PREFIX)
  })

  it('MongoDB: the five collections, one document per (symbol, openTime), finals not overwritten by stale updates', async () => {
    const dump = await mongoDump(MONGO_URL, DB)
    expect(Object.keys(dump)).toEqual(['1d_kline', '1h_kline', '4h_kline', '5m_kline', 'predictions'])
    for (const [collection, topic] of [
      ['5m_kline', topics.kline5m],
      ['1h_kline', topics.kline1h],
      ['4h_kline', topics.kline4h],
      ['1d_kline', topics.kline1d],
    ] as const) {
      const wellFormed = input.get(topic)!.filter((r) => JSON.parse(r.value).openTime !== undefined)
      const docs = dump[collection] as Record<string, unknown>[]
      expect(docs.map(strip)).toEqual(expectedCandles(wellFormed))
      expect(docs.every((d) => d._id === `${d.symbol}:${d.openTime}`)).toBe(true)
    }
    // the stale open update replayed after the first final did not replace it; the correction did
    const five = values<Kline>(input.get(topics.kline5m)).filter((k) => k.symbol === 'BTCUSDT' && k.closed)
    const docs = (dump['5m_kline'] as Kline[]).filter((d) => d.symbol === 'BTCUSDT')
    expect(docs[0]).toMatchObject({ ...five[0], closed: true })
    expect(docs[1]!.close).toBe(docs[1]!.high)
    const preds = dump.predictions as Record<string, unknown>[]
    expect(preds.length).toBe(SYMBOLS.length * 36)
    expect(preds.find((p) => p.modelVersion === 'test-2')).toMatchObject({
      symbol: 'BTCUSDT',
      confidence: 0.9,
    })

    const client = new MongoClient(MONGO_URL)
    const idx = await client.db(DB).collection('5m_kline').indexes()
    await client.close()
    expect(idx.find((i) => i.name === 'symbol_openTime')).toMatchObject({
      key: { symbol: 1, openTime: 1 },
      unique: true,
    })
  })

  it('a malformed record goes to the dead-letter topic; the rest is written', async () => {
    const dead = await bed.records(deadLetterTopic(topics.kline5m))
    expect(dead.map((r) => r.value)).toEqual(['{"symbol":"BTCUSDT"}'])
    expect(dead[0]!.headers).toMatchObject({ 'dlq.reason': 'malformed', 'dlq.sink': 'mongo' })
  })

  it('Redis: exactly the layout keys, bounded by count, every key with a TTL', async () => {
    const { data, allExpire } = await redisDump(REDIS_URL, PREFIX)
    expect(allExpire).toBe(true)
    const expected: string[] = ['ranking:latest', 'ranking:top_gainers', 'ranking:top_losers']
    const k1m = input.get(topics.kline1m)!
    for (const s of SYMBOLS) {
      const mine = k1m.filter((r) => r.key === s)
      const finals = values<Kline>(mine).filter((k) => k.closed)
      const kept = finals.slice(-KEEP_1M)
      expected.push(
        `crypto:${s}:1m:latest`,
        `crypto:${s}:1m:index`,
        `orderbook:${s}:latest`,
        `trades:${s}:list`,
      )
      expected.push(`crypto:prediction:${s}`, ...kept.map((k) => `crypto:${s}:1m:${k.openTime}`))
      for (const i of new Set(
        values<{ symbol: string; interval: string }>(input.get(topics.indicators))
          .filter((x) => x.symbol === s)
          .map((x) => x.interval),
      ))
        expected.push(`indicators:${s}:${i}:latest`)
      expect(data[`crypto:${s}:1m:latest`]).toBe(mine.at(-1)!.value)
      expect(data[`crypto:${s}:1m:index`]).toEqual(
        kept.flatMap((k) => [String(k.openTime), String(k.openTime)]),
      )
      expect(data[`crypto:${s}:1m:${kept[0]!.openTime}`]).toBe(JSON.stringify(kept[0]))
      const trades = input
        .get(topics.trades)!
        .filter((r) => r.key === s)
        .slice(-KEEP_TRADES)
      expect(data[`trades:${s}:list`]).toEqual(
        trades.flatMap((r) => [r.value, String((JSON.parse(r.value) as Trade).time)]),
      )
      expect(data[`orderbook:${s}:latest`]).toBe(
        input
          .get(topics.orderbook)!
          .filter((r) => r.key === s)
          .at(-1)!.value,
      )
    }
    expect(Object.keys(data).sort()).toEqual(expected.sort())
    const ranking = values<{ gainers: unknown[]; losers: unknown[] }>(input.get(topics.ranking)).at(-1)!
    expect(JSON.parse(data['ranking:top_gainers'] as string)).toEqual(ranking.gainers)
    expect(JSON.parse(data['ranking:top_losers'] as string)).toEqual(ranking.losers)
  })

  it('replaying the same input again (new consumer group) leaves identical data', async () => {
    const before = [await mongoDump(MONGO_URL, DB), (await redisDump(REDIS_URL, PREFIX)).data]
    const again = await startSinks({
      config,
      transport: bed.transport,
      keyPrefix: PREFIX,
      groupPrefix: 'replay',
    })
    await again.caughtUp(60_000)
    await again.close()
    expect([await mongoDump(MONGO_URL, DB), (await redisDump(REDIS_URL, PREFIX)).data]).toEqual(before)
  })
})
