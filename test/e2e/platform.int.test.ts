import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { loadConfig } from '../../common/config.ts'
import type { Kline } from '../../common/records.ts'
import { aggregate } from '../../processors/candles.ts'
import { spotDay } from '../../processors/testdata.ts'
import { type Platform, startPlatform } from '../../scripts/platform.ts'
import { dropMongo, dropRedis } from '../../sinks/dump.fixture.ts'
import { candles, until } from './child.ts'
import { ThrowawayKafka } from './kafka.fixture.ts'

// The whole platform on real servers: a recorded period replayed at high speed through
// ingest → topologies → sinks (MongoDB + Redis) → gateway reading the sinks. Its 1h candles equal
// Binance's own (its 15m files aggregated; 4h compared with Binance's 4h files directly);
// rankings, indicators and predictions exist for every symbol; Socket.IO and /ws/kline clients
// received updates. Kafka is a throwaway broker (the platform's topics are not prefixed); MongoDB
// and Redis are the shared servers with a database and key prefix of this run.

const run = `e2e${process.pid}${Date.now().toString(36)}`
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27027/crypto'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'DOTUSDT', 'AVAXUSDT']
const HOUR = 3_600_000
const from = Date.parse('2024-01-02T00:00:00Z')
const end = from + 4 * HOUR
const dir = mkdtempSync(join(tmpdir(), 'cs-e2e-'))
let kafka: ThrowawayKafka | undefined
let platform: Platform | undefined
let socket: Socket | undefined
let ws: WebSocket | undefined
const socketUpdates = new Map<string, number>()
let wsUpdates = 0

beforeAll(async () => {
  kafka = await ThrowawayKafka.create()
  const config = loadConfig(
    {
      CS_TRANSPORT: 'kafka',
      KAFKA_BROKERS: kafka.brokers,
      MONGO_URL: mongoUrl,
      MONGO_DB: run,
      REDIS_URL: redisUrl,
      CS_GATEWAY_READER: 'sinks',
    },
    {
      dataDir: dir,
      symbols,
      replayPort: 0,
      gatewayPort: 0,
      replaySpeed: '1200',
      // the compared window starts with the replay: its first hours come from ingest's start-up
      // REST backfill while the replay runs on at 1200× (seconds of start-up are hours of market)
      replayFrom: new Date(from).toISOString(),
    },
  )
  platform = await startPlatform(
    config,
    {},
    // 2 partitions: the scale-out test covers 6; fewer tasks keep this run short
    { sinks: { mongo: true, redis: true }, sinkOptions: { keyPrefix: `${run}:` }, env: {}, partitions: 2 },
  )
  const url = platform.gateway.url
  socket = io(url, { transports: ['websocket'] })
  socket.on('update', (m: { channel: string }) =>
    socketUpdates.set(m.channel, (socketUpdates.get(m.channel) ?? 0) + 1),
  )
  for (const sub of [
    { stream: 'kline', symbol: 'BTCUSDT', interval: '1m' },
    { stream: 'kline', symbol: 'ETHUSDT', interval: '1h' },
    { stream: 'ranking' },
    { stream: 'indicators', symbol: 'SOLUSDT', interval: '5m' },
  ])
    expect(await socket.emitWithAck('subscribe', sub)).toMatchObject({ ok: true })
  ws = new WebSocket(`${url.replace('http', 'ws')}/ws/kline?symbol=XRPUSDT`)
  ws.on('message', (d) => {
    if ((JSON.parse(String(d)) as { type: string }).type === 'update') wsUpdates++
  })
}, 120_000)

afterAll(async () => {
  socket?.close()
  ws?.close()
  await platform?.close()
  await kafka?.destroy()
  await dropMongo(mongoUrl, run)
  await dropRedis(redisUrl, `${run}:`)
  rmSync(dir, { recursive: true, force: true })
}, 120_000)

const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${platform!.gateway.url}${path}`)
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}
const closed = async (symbol: string, interval: string) =>
  (await candles(platform!.gateway.url, symbol, interval, from, end)).filter((k) => k.closed)
/** Binance's own candles of [from, end): 1h aggregated from its 15m file, 4h as recorded. */
const binance = (symbol: string, interval: '1h' | '4h'): Kline[] => {
  const day = new Date(from).toISOString().slice(0, 10)
  const rows =
    interval === '4h' ? spotDay(symbol, '4h', day) : aggregate(spotDay(symbol, '15m', day), '1h', 900_000)
  return rows
    .filter((k) => k.openTime >= from && k.openTime < end)
    .map((k) => ({ ...k, interval, closed: true }) as Kline)
}

describe('the platform end to end on Kafka, MongoDB and Redis', () => {
  it('serves Binance-equal candles, rankings, indicators, predictions and live updates', async () => {
    // equal once every final is in (a correction may follow a final that came without its last minute)
    const equal = async () => {
      for (const s of symbols) {
        if (!isDeepStrictEqual(await closed(s, '1h'), binance(s, '1h'))) return false
        if (!isDeepStrictEqual(await closed(s, '4h'), binance(s, '4h'))) return false
      }
      return true
    }
    await until('1h and 4h candles in MongoDB equal to Binance’s for every symbol', equal, 180_000).catch(
      () => {},
    )
    for (const s of symbols) {
      expect(binance(s, '1h')).toHaveLength(4)
      expect(await closed(s, '1h'), `${s} 1h`).toEqual(binance(s, '1h'))
      expect(await closed(s, '4h'), `${s} 4h`).toEqual(binance(s, '4h'))
    }
    await until('a ranking of every symbol', async () => {
      const r = await get<{ symbols: number; entries: { symbol: string }[] }>(
        '/ranking/top-gainers?limit=100',
      )
      return r.entries.length === symbols.length
    })
    for (const s of symbols) {
      await until(`${s} indicators`, async () => {
        const r = await get<{ indicators: unknown[] }>(`/indicators?symbol=${s}&interval=5m&limit=5`)
        return r.indicators.length > 0
      })
      await until(
        `${s} prediction`,
        async () => (await get<{ symbol: string }>(`/prediction/${s}`)).symbol === s,
      )
    }
    for (const channel of ['kline:BTCUSDT:1m', 'kline:ETHUSDT:1h', 'ranking', 'indicators:SOLUSDT:5m'])
      expect(socketUpdates.get(channel) ?? 0, channel).toBeGreaterThan(0)
    expect(wsUpdates).toBeGreaterThan(0)
  }, 300_000)
})
