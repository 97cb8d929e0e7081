import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { waitForKafka } from '../common/connect.ts'
import { KafkaTransport } from '../engine/kafka/index.ts'
import type { TestBed } from '../engine/testing.ts'
import { dropMongo, dropRedis, mongoDump, redisDump } from './dump.fixture.ts'
import { startSinks } from './index.ts'
import { inputRecords, sinkInput } from './input.fixture.ts'

// The same input through Kafka (a real consumer group) and through the embedded log: identical
// Mongo documents and Redis keys. Topics are prefixed per run on the shared broker.

const cfg = loadConfig()
const { mongoUrl: MONGO_URL, redisUrl: REDIS_URL } = cfg
const run = `${process.pid}_${Date.now()}`
const TOPICS = `ks${run}-`
const dbs = [`sinks_kafka_${run}`, `sinks_embedded_${run}`]
const prefixes = [`k${run}:`, `e${run}:`]
const config = (i: number) => loadConfig(process.env, { mongoDb: dbs[i]! })

describe('sinks on Kafka', () => {
  let source: TestBed
  let kafka: KafkaTransport

  beforeAll(async () => {
    await waitForKafka(cfg.kafkaBrokers)
    source = await sinkInput(60)
    kafka = new KafkaTransport({
      brokers: cfg.kafkaBrokers,
      clientId: `sinks-${run}`,
      sessionTimeoutMs: 6000,
    })
  })
  afterAll(async () => {
    await kafka?.close()
    await source?.close()
    for (const db of dbs) await dropMongo(MONGO_URL, db)
    for (const p of prefixes) await dropRedis(REDIS_URL, p)
  })

  it('writes what the embedded run writes', async () => {
    const input = await inputRecords(source)
    for (const topic of input.keys())
      await kafka.createTopics([
        { name: TOPICS + topic, partitions: (await source.transport.partitions(topic)) ?? 1 },
      ])
    const producer = kafka.producer()
    await producer.send(
      [...input.values()].flat().map(({ topic, key, value, timestamp, partition }) => ({
        topic: TOPICS + topic,
        key,
        value,
        timestamp,
        partition,
      })),
    )
    await producer.close()

    const viaKafka = await startSinks({
      config: config(0),
      transport: kafka,
      keyPrefix: prefixes[0],
      topicPrefix: TOPICS,
      groupPrefix: `sink-${run}`,
    })
    const embedded = await startSinks({
      config: config(1),
      transport: source.transport,
      keyPrefix: prefixes[1],
    })
    await Promise.all([viaKafka.caughtUp(60_000), embedded.caughtUp(60_000)])
    await Promise.all([viaKafka.close(), embedded.close()])

    const got = [await mongoDump(MONGO_URL, dbs[0]!), (await redisDump(REDIS_URL, prefixes[0]!)).data]
    const want = [await mongoDump(MONGO_URL, dbs[1]!), (await redisDump(REDIS_URL, prefixes[1]!)).data]
    expect(Object.keys(got[1]!).length).toBeGreaterThan(50)
    expect(got).toEqual(want)
  })
})
