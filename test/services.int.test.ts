import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { connectMongo, connectRedis, waitForKafka } from '../common/connect.ts'
import { ServiceUnavailableError } from '../common/errors.ts'

// One real round trip per server the product talks to (started by scripts/services).
const cfg = loadConfig()

describe('Kafka (KRaft, real broker)', () => {
  const topic = `svc-test-${Date.now()}`
  const admin = new Admin({ clientId: 'svc-test', bootstrapBrokers: cfg.kafkaBrokers })
  afterAll(() => admin.close())

  it('round-trips 10,000 keyed records through a 3-partition topic in a consumer group, per-key order kept', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })

    const producer = new Producer({
      clientId: 'svc-test-p',
      bootstrapBrokers: cfg.kafkaBrokers,
      serializers: stringSerializers,
    })
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`)
    const total = 10_000
    for (let start = 0; start < total; start += 1000) {
      const messages = []
      for (let i = start; i < start + 1000; i++)
        messages.push({ topic, key: keys[i % keys.length]!, value: String(i) })
      await producer.send({ messages })
    }
    await producer.close()

    const consumer = new Consumer({
      clientId: 'svc-test-c',
      groupId: `svc-test-group-${Date.now()}`,
      bootstrapBrokers: cfg.kafkaBrokers,
      deserializers: stringDeserializers,
    })
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true })
    const seen = new Map<string, number[]>()
    const partitions = new Set<number>()
    // a consumer group delivers at least once: a rejoin (a late heartbeat on a loaded machine)
    // resumes from the last autocommit, so a record can come twice — count each offset once
    const offsets = new Set<string>()
    let count = 0
    for await (const msg of stream) {
      const at = `${msg.partition}:${msg.offset}`
      if (offsets.has(at)) continue
      offsets.add(at)
      const list = seen.get(msg.key) ?? []
      list.push(Number(msg.value))
      seen.set(msg.key, list)
      partitions.add(msg.partition)
      if (++count === total) break
    }
    await stream.close()
    await consumer.close(true)

    expect(count).toBe(total)
    expect(partitions.size).toBe(3)
    const all = [...seen.values()].flat().sort((a, b) => a - b)
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i))
    for (const list of seen.values()) {
      expect(list).toEqual([...list].sort((a, b) => a - b))
    }
  })
})

describe('Redis (real server)', () => {
  it('round-trips a hash and a sorted set with ioredis', async () => {
    const redis = await connectRedis(cfg.redisUrl)
    try {
      const key = `svc-test:${Date.now()}`
      await redis.hset(`${key}:h`, { open: '42283.58000000', close: '42290.01000000' })
      expect(await redis.hgetall(`${key}:h`)).toEqual({ open: '42283.58000000', close: '42290.01000000' })
      await redis.zadd(`${key}:z`, '3', 'c', '1', 'a', '2', 'b')
      expect(await redis.zrange(`${key}:z`, '0', '-1')).toEqual(['a', 'b', 'c'])
      await redis.del(`${key}:h`, `${key}:z`)
    } finally {
      redis.disconnect()
    }
  })
})

describe('MongoDB wire (FerretDB, real server)', () => {
  it('upserts idempotently and answers an indexed range query', async () => {
    const client = await connectMongo(cfg.mongoUrl)
    try {
      const col = client
        .db()
        .collection<{ symbol: string; openTime: number; close: string }>(`svc_test_${Date.now()}`)
      await col.createIndex({ symbol: 1, openTime: 1 }, { unique: true })
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < 50; i++) {
          await col.updateOne(
            { symbol: 'BTCUSDT', openTime: i * 60_000 },
            { $set: { close: `${42000 + i}.00000000` } },
            { upsert: true },
          )
        }
      }
      expect(await col.countDocuments()).toBe(50)
      const range = await col
        .find({ symbol: 'BTCUSDT', openTime: { $gte: 10 * 60_000, $lt: 20 * 60_000 } })
        .sort({ openTime: 1 })
        .toArray()
      expect(range.map((d) => d.close)).toEqual(Array.from({ length: 10 }, (_, i) => `${42010 + i}.00000000`))
      await col.drop()
    } finally {
      await client.close()
    }
  })
})

describe('a missing server', () => {
  // Port 1 on loopback has no listener: the error must name the server and how to start it, in bounded time.
  it.each([
    ['Kafka', () => waitForKafka(['127.0.0.1:1'], 3000)],
    ['Redis', () => connectRedis('redis://127.0.0.1:1', 3000)],
    ['MongoDB', () => connectMongo('mongodb://127.0.0.1:1/x', 3000)],
  ])('%s gives a clear error, not a hang', async (name, connect) => {
    const started = Date.now()
    const err = await (connect as () => Promise<unknown>)().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ServiceUnavailableError)
    expect((err as Error).message).toContain(name)
    expect((err as Error).message).toContain('services.sh start')
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
