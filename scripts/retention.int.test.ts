import { readdirSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { type Document, MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { EmbeddedTransport } from '../engine/embedded/transport.ts'
import { redisKeys } from '../sinks/redis/keys.ts'
import { tempDirs } from '../test/tmpdirs.ts'
import { parseMongoDays, retention } from './retention.ts'

// The retention job on the real MongoDB-wire server, Redis and the embedded log: what is older than
// its age goes, everything else stays, byte for byte.

process.env.MONGO_URL ||= loadConfig().mongoUrl
process.env.REDIS_URL ||= loadConfig().redisUrl
const run = `ret${Date.now().toString(36)}`
const NOW = Date.parse('2026-06-01T00:00:00Z')
const DAY = 86_400_000
const tmp = tempDirs('cs-retention-')
const keys = redisKeys(`${run}:`)
let mongo: MongoClient
let redis: Redis

beforeAll(async () => {
  mongo = await new MongoClient(loadConfig().mongoUrl).connect()
  redis = new Redis(loadConfig().redisUrl)
})
afterAll(async () => {
  await mongo.db(run).dropDatabase()
  const left = await redis.keys(`${run}:*`)
  if (left.length) await redis.del(...left)
  await mongo.close()
  redis.disconnect()
})

const kline = (symbol: string, openTime: number) => ({
  _id: `${symbol}:${openTime}`,
  symbol,
  openTime,
  close: '1.0',
})

describe('retention job', () => {
  it('MongoDB and Redis: only what is older than each age is deleted', async () => {
    const db = mongo.db(run)
    const ages = [200, 100, 40, 10, 1] // days before NOW
    await db
      .collection('5m_kline')
      .insertMany(ages.map((d) => kline('BTCUSDT', NOW - d * DAY)) as unknown as Document[])
    await db
      .collection('4h_kline')
      .insertMany(ages.map((d) => kline('BTCUSDT', NOW - d * DAY)) as unknown as Document[])
    await db.collection('predictions').insertMany(
      ages.map((d) => ({
        _id: `ETHUSDT:${d}`,
        symbol: 'ETHUSDT',
        time: NOW - d * DAY,
      })) as unknown as Document[],
    )
    const hours = [48, 25, 23, 1]
    for (const s of ['BTCUSDT', 'PEPEUSDT'])
      for (const h of hours) {
        const t = NOW - h * 3_600_000
        await redis.set(keys.kline1m(s, t), `{"openTime":${t}}`)
        await redis.zadd(keys.kline1mIndex(s), t, String(t))
        await redis.zadd(keys.trades(s), t, `{"id":${h}}`)
      }
    await redis.set(keys.kline1mLatest('BTCUSDT'), 'latest')
    const config = loadConfig(process.env, { mongoDb: run, transport: 'kafka' })

    const dry = await retention(config, { dryRun: true, now: NOW, keyPrefix: `${run}:` })
    expect(dry).toEqual({
      dryRun: true,
      mongo: { '5m_kline': 2, '1h_kline': 0, predictions: 3 },
      redis: { minutes: 4, trades: 4 },
    })
    expect(await db.collection('5m_kline').countDocuments()).toBe(5)

    const done = await retention(config, { now: NOW, keyPrefix: `${run}:` })
    expect(done).toEqual({ ...dry, dryRun: false })
    const times = async (c: string, f = 'openTime') =>
      (
        await db
          .collection(c)
          .find()
          .sort({ [f]: 1 })
          .toArray()
      ).map((d) => (NOW - d[f]) / DAY)
    expect(await times('5m_kline')).toEqual([40, 10, 1]) // 90 days
    expect(await times('4h_kline')).toEqual(ages) // no age: kept whole
    expect(await times('predictions', 'time')).toEqual([10, 1]) // 30 days
    for (const s of ['BTCUSDT', 'PEPEUSDT']) {
      const kept = [23, 1].map((h) => String(NOW - h * 3_600_000))
      expect(await redis.zrange(keys.kline1mIndex(s), '0', '-1')).toEqual(kept) // 24 h (REDIS_TTL_SECONDS)
      for (const h of hours)
        expect(await redis.exists(keys.kline1m(s, NOW - h * 3_600_000))).toBe(h < 24 ? 1 : 0)
      expect(await redis.zrange(keys.trades(s), '0', '-1')).toEqual(['{"id":23}', '{"id":1}'])
    }
    expect(await redis.get(keys.kline1mLatest('BTCUSDT'))).toBe('latest')
  })

  it('the embedded log: closed segments last written before the age go, newer ones and the active one stay', async () => {
    const dir = tmp()
    const log = join(dir, 'log')
    const t = new EmbeddedTransport({ dir: log, segmentBytes: 4096, retentionMs: -1 })
    await t.createTopics([{ name: 'candles', partitions: 1 }])
    const p = t.producer()
    for (let i = 0; i < 300; i++)
      await p.send([{ topic: 'candles', key: 'k', value: JSON.stringify({ i, pad: 'x'.repeat(80) }) }])
    await p.close()
    await t.close()
    // `0.log` holds offsets from 0, `0.<base>.log` from <base>: oldest first
    const base = (f: string) => Number(f.split('.').length === 2 ? 0 : f.split('.')[1])
    const segments = () =>
      readdirSync(join(log, 'topics', 'candles'))
        .filter((f) => f.endsWith('.log'))
        .sort((a, b) => base(a) - base(b))
    const all = segments()
    expect(all.length).toBeGreaterThan(4)
    // the oldest half was last written 10 days ago
    const old = all.slice(0, Math.floor(all.length / 2))
    const tenDaysAgo = (Date.now() - 10 * DAY) / 1000
    for (const f of old) utimesSync(join(log, 'topics', 'candles', f), tenDaysAgo, tenDaysAgo)

    const config = loadConfig({}, { dataDir: dir, transport: 'embedded' })
    const r = await retention(config, { logDays: 7 })
    expect(r.log).toEqual({ segmentsDeleted: old.length })
    expect(segments()).toEqual(all.filter((f) => !old.includes(f)))
    const again = new EmbeddedTransport({ dir: log })
    const start = await again.startOffset({ topic: 'candles', partition: 0 })
    expect(start).toBeGreaterThan(0)
    expect(await again.endOffset({ topic: 'candles', partition: 0 })).toBe(300)
    await again.close()
  })

  it('a collection the sinks do not write is a usage error', () => {
    expect(parseMongoDays('5m_kline=30,predictions=7')).toEqual({ '5m_kline': 30, predictions: 7 })
    expect(() => parseMongoDays('5m_klines=30')).toThrow(/collections: 5m_kline, 1h_kline/)
    expect(() => parseMongoDays('1h_kline=0')).toThrow(/days > 0/)
  })
})
