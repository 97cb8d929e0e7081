import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import type { Kline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import { openTransport, type Transport } from '../../engine/index.ts'
import { aggregate } from '../../processors/candles.ts'
import { spotDay } from '../../processors/testdata.ts'
import { tempDirs } from '../tmpdirs.ts'
import { type Child, startRole, until } from './child.ts'
import { ThrowawayKafka } from './kafka.fixture.ts'

// Scale-out: two `process` instances (the CLI role, one consumer group) on a Kafka whose raw
// topic has CS_PARTITIONS=6 partitions. Each owns part of the symbols (its interactive queries
// answer only for them), and together they write what one instance writes: Binance's own 1h
// candles of the day, each final exactly as recorded. A throwaway broker: the role's topics are
// not prefixed.

const tmp = tempDirs('cs-e2e-scale-')
// one symbol per partition of 6 (murmur2 of the key, as Kafka's default partitioner)
const symbols = ['DOTUSDT', 'PEPEUSDT', 'BTCUSDT', 'SOLUSDT', 'TIAUSDT', 'ETHUSDT']
const day = '2024-01-02'
let kafka: ThrowawayKafka | undefined
let transport: Transport | undefined
const roles: Child[] = []

afterAll(async () => {
  for (const r of roles) r.signal('SIGTERM')
  await Promise.all(roles.map((r) => r.exited))
  await transport?.close()
  await kafka?.destroy()
}, 120_000)

/** The status server URL the role logged. */
const statusUrl = async (c: Child): Promise<string> => {
  let url = ''
  await until('process running', async () => {
    url = /"msg":"process running"/.test(c.stderr()) ? /"status":"([^"]+)"/.exec(c.stderr())![1]! : ''
    return url !== ''
  })
  return url.replace(/\/$/, '')
}

/** Latest value per key of a whole topic. */
async function finals(topic: string): Promise<Kline[]> {
  const byKey = new Map<string, Kline>()
  for (let p = 0; p < ((await transport!.partitions(topic)) ?? 0); p++) {
    const end = await transport!.endOffset({ topic, partition: p })
    if (end === 0) continue
    read: for await (const batch of transport!.read({ topic, partition: p }, 0))
      for (const r of batch) {
        const k = JSON.parse(r.value!) as Kline
        if (k.closed) byKey.set(`${k.symbol}:${k.openTime}`, k)
        if (r.offset >= end - 1) break read
      }
  }
  return [...byKey.values()].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime)
}

describe('scale-out: two process instances on 6 partitions', () => {
  it('split the symbols between them and write what one instance writes', async () => {
    kafka = await ThrowawayKafka.create()
    const env = {
      CS_TRANSPORT: 'kafka',
      KAFKA_BROKERS: kafka.brokers,
      CS_SYMBOLS: symbols.join(','),
      CS_GATEWAY_PORT: '0',
      CS_LOG_LEVEL: 'info',
    }
    transport = await openTransport(loadConfig(env), 'scale-out-test')
    const partitions = loadConfig({}).partitions
    await transport.createTopics([{ name: topics.kline1m, partitions }])
    for (let i = 0; i < 2; i++) roles.push(startRole('process', [], { ...env, CS_DATA_DIR: tmp() }))
    const urls = await Promise.all(roles.map(statusUrl))

    const minutes = symbols.flatMap((s) => spotDay(s, '1m', day))
    await transport.producer().send(
      minutes.map((k) => ({
        topic: topics.kline1m,
        key: k.symbol,
        value: JSON.stringify({ ...k, interval: '1m' }),
        timestamp: k.openTime,
      })),
    )
    // Binance's 1h candles of the day, from its 15m file
    const binance = symbols
      .flatMap((s) => aggregate(spotDay(s, '15m', day), '1h', 900_000))
      .map((k) => ({ ...k, interval: '1h', closed: true }) as Kline)
      .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime)
    expect(binance).toHaveLength(24 * symbols.length)
    await until(
      'every 1h final on the topic',
      async () => (await finals(topics.kline1h)).length === binance.length,
    )
    expect(await finals(topics.kline1h)).toEqual(binance)

    // each symbol's candles are answered by exactly one instance; each instance has some
    const owned = async (url: string, s: string) => {
      const res = await fetch(`${url}/ohlc?symbol=${s}&interval=1h&limit=1000`)
      return (
        res.ok && ((await res.json()) as { candles: Kline[] }).candles.filter((k) => k.closed).length === 24
      )
    }
    const owners = new Map<string, number[]>()
    await until('each symbol served by one instance', async () => {
      for (const s of symbols) {
        const o: number[] = []
        for (const [i, u] of urls.entries()) if (await owned(u, s)) o.push(i)
        owners.set(s, o)
      }
      // both members in the group: the assignor gives each a share
      const shares = [0, 1].map((i) => [...owners.values()].filter((o) => o[0] === i).length)
      return [...owners.values()].every((o) => o.length === 1) && shares.every((n) => n > 0)
    }).catch(() => {})
    const perInstance = [0, 1].map((i) => symbols.filter((s) => owners.get(s)![0] === i))
    expect(perInstance[0]!.length).toBeGreaterThan(0)
    expect(perInstance[1]!.length).toBeGreaterThan(0)
  }, 240_000)
})
