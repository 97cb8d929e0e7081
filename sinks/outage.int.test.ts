import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { registry } from '../common/metrics.ts'
import { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import { type ThrowawayServer, throwawayFerretdb, throwawayRedis } from '../test/servers.fixture.ts'
import { dropMongo, dropRedis, mongoDump, redisDump } from './dump.fixture.ts'
import { startSinks } from './index.ts'
import { inputRecords, sinkInput } from './input.fixture.ts'

// Redis and MongoDB stopped while the sinks are writing, input still arriving, then started again:
// the result equals an uninterrupted run of the same input (nothing lost, nothing doubled).

const { mongoUrl: MONGO_URL, redisUrl: REDIS_URL } = loadConfig()
const run = `${process.pid}_${Date.now()}`
const DB = `sinks_outage_${run}`
const PREFIX = `o${run}:`
const tuning = { maxRecords: 100, backoff: { minMs: 50, maxMs: 400 }, mongoTimeoutMs: 1000 }

async function errors(sink: string): Promise<number> {
  const m = await registry.getSingleMetric('cs_sink_errors_total')!.get()
  return m.values.filter((v) => v.labels.sink === sink).reduce((n, v) => n + v.value, 0)
}

/** The records of every topic in `parts` slices (each slice keeps partition and offset order). */
function slices(input: Map<string, ConsumedRecord[]>, parts: number): ConsumedRecord[][] {
  const out: ConsumedRecord[][] = Array.from({ length: parts }, () => [])
  for (const records of input.values()) {
    const size = Math.ceil(records.length / parts)
    for (let i = 0; i < parts; i++) out[i]!.push(...records.slice(i * size, (i + 1) * size))
  }
  return out
}

describe('sinks across a Redis and MongoDB outage', () => {
  let source: TestBed
  let input: Map<string, ConsumedRecord[]>
  let redis: ThrowawayServer
  let mongo: ThrowawayServer
  const bed = new TestBed('cs-sinks-outage-')

  beforeAll(async () => {
    source = await sinkInput(120)
    input = await inputRecords(source)
    ;[redis, mongo] = await Promise.all([throwawayRedis(), throwawayFerretdb()])
  })
  afterAll(async () => {
    await source?.close()
    await bed.close()
    await redis?.destroy()
    await mongo?.destroy()
    await dropMongo(MONGO_URL, DB)
    await dropRedis(REDIS_URL, PREFIX)
  })

  it('loses nothing: equal to an uninterrupted run', async () => {
    // uninterrupted, on the shared servers
    const reference = loadConfig(process.env, { mongoDb: DB })
    const ref = await startSinks({
      config: reference,
      transport: source.transport,
      keyPrefix: PREFIX,
      ...tuning,
    })
    await ref.caughtUp(60_000)
    await ref.close()

    // interrupted, on throwaway servers, input arriving in four parts
    const config = loadConfig(process.env, {
      mongoUrl: `mongodb://127.0.0.1:${mongo.port}/`,
      redisUrl: `redis://127.0.0.1:${redis.port}`,
      mongoDb: 'CRYPTO',
    })
    for (const topic of input.keys()) await bed.topic(topic, (await source.transport.partitions(topic)) ?? 1)
    const produce = (records: ConsumedRecord[]) =>
      bed.transport.producer().send(
        records.map(({ topic, key, value, timestamp, partition }) => ({
          topic,
          key,
          value,
          timestamp,
          partition,
        })),
      )
    const parts = slices(input, 4)
    const sinks = await startSinks({ config, transport: bed.transport, ...tuning })
    await produce(parts[0]!)
    await sinks.caughtUp(60_000)
    const before = { mongo: await errors('mongo'), redis: await errors('redis') }

    await produce(parts[1]!)
    await Promise.all([redis.stop(), mongo.stop()]) // while the sinks write part 2
    await produce(parts[2]!)
    for (
      let i = 0;
      i < 100 && ((await errors('mongo')) === before.mongo || (await errors('redis')) === before.redis);
      i++
    )
      await sleep(50)
    expect(await errors('mongo')).toBeGreaterThan(before.mongo)
    expect(await errors('redis')).toBeGreaterThan(before.redis)
    await Promise.all([redis.start(), mongo.start()])
    await produce(parts[3]!)
    await sinks.caughtUp(60_000)
    await sinks.close()

    const want = { mongo: await mongoDump(MONGO_URL, DB), redis: (await redisDump(REDIS_URL, PREFIX)).data }
    const got = {
      mongo: await mongoDump(config.mongoUrl, 'CRYPTO'),
      redis: (await redisDump(config.redisUrl, '')).data,
    }
    expect(Object.keys(got.redis).length).toBeGreaterThan(100)
    expect(got).toEqual(want)
  })
})
