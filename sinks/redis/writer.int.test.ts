import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import type { Kline, Trade } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { dropRedis } from '../dump.fixture.ts'
import { RedisWriter } from './writer.ts'

// The Redis writer's retention on the real server: counts, TTLs, the trim deleting the minute
// keys that leave the index, replays of old minutes, and a flat key count over three days.

const REDIS_URL = loadConfig().redisUrl
const PREFIX = `rw${process.pid}_${Date.now()}:`
const redis = new Redis(REDIS_URL)
afterAll(async () => {
  redis.disconnect()
  await dropRedis(REDIS_URL, PREFIX)
})

const T0 = Date.UTC(2024, 0, 1)
const minute = (i: number, closed = true): Kline => ({
  symbol: 'BTCUSDT',
  interval: '1m',
  openTime: T0 + i * 60_000,
  closeTime: T0 + i * 60_000 + 59_999,
  open: '1.0',
  high: '1.0',
  low: '1.0',
  close: `${i}.0`,
  volume: '1.0',
  quoteVolume: '1.0',
  trades: 1,
  takerBuyBase: '0',
  takerBuyQuote: '0',
  closed,
})
const trade = (i: number): Trade => ({
  symbol: 'BTCUSDT',
  id: i,
  price: '1.0',
  qty: '1.0',
  time: T0 + i,
  buyerIsMaker: false,
})
let offset = 0
const recs = (topic: string, values: unknown[]): ConsumedRecord[] =>
  values.map((v) => ({
    topic,
    partition: 0,
    offset: offset++,
    key: 'BTCUSDT',
    value: JSON.stringify(v),
    timestamp: 0,
  }))

describe('RedisWriter retention', () => {
  it('keeps the newest N minutes and trades, deletes trimmed minute keys, never moves latest back', async () => {
    const p = `${PREFIX}a:`
    const w = new RedisWriter({
      url: REDIS_URL,
      keyPrefix: p,
      ttlSeconds: 600,
      kline1mKeep: 5,
      tradesKeep: 10,
    })
    await w.write(
      recs(
        topics.kline1m,
        Array.from({ length: 10 }, (_, i) => minute(i)),
      ),
    )
    await w.write(
      recs(
        topics.trades,
        Array.from({ length: 15 }, (_, i) => trade(i)),
      ),
    )
    const index = `${p}crypto:BTCUSDT:1m:index`
    expect(await redis.zrange(index, '0', '-1')).toEqual([5, 6, 7, 8, 9].map((i) => String(T0 + i * 60_000)))
    expect(await redis.exists(`${p}crypto:BTCUSDT:1m:${T0 + 4 * 60_000}`)).toBe(0)
    expect(await redis.get(`${p}crypto:BTCUSDT:1m:${T0 + 5 * 60_000}`)).toBe(JSON.stringify(minute(5)))
    expect(await redis.zrange(`${p}trades:BTCUSDT:list`, '0', '-1')).toEqual(
      Array.from({ length: 10 }, (_, i) => JSON.stringify(trade(i + 5))),
    )

    // a replayed old minute: added and trimmed at once, latest untouched
    await w.write(recs(topics.kline1m, [minute(2)]))
    expect(await redis.exists(`${p}crypto:BTCUSDT:1m:${T0 + 2 * 60_000}`)).toBe(0)
    expect(await redis.zcard(index)).toBe(5)
    expect(await redis.get(`${p}crypto:BTCUSDT:1m:latest`)).toBe(JSON.stringify(minute(9)))
    // the next minute's open update becomes latest
    await w.write(recs(topics.kline1m, [minute(10, false)]))
    expect(await redis.get(`${p}crypto:BTCUSDT:1m:latest`)).toBe(JSON.stringify(minute(10, false)))

    for (const k of await redis.keys(`${p}*`)) {
      const ttl = await redis.ttl(k)
      expect(ttl, k).toBeGreaterThan(0)
      expect(ttl, k).toBeLessThanOrEqual(600)
    }
    await w.close()
  })

  it('key count stays flat over three days of minutes (24 h kept)', async () => {
    const p = `${PREFIX}b:`
    const w = new RedisWriter({
      url: REDIS_URL,
      keyPrefix: p,
      ttlSeconds: 86_400,
      kline1mKeep: 1440,
      tradesKeep: 1000,
    })
    const counts: number[] = []
    for (let day = 0; day < 3; day++) {
      for (let b = 0; b < 1440; b += 480)
        await w.write(
          recs(
            topics.kline1m,
            Array.from({ length: 480 }, (_, i) => minute(day * 1440 + b + i)),
          ),
        )
      counts.push((await redis.keys(`${p}*`)).length)
    }
    expect(counts).toEqual([1442, 1442, 1442]) // minutes + index + latest
    await w.close()
  })
})
