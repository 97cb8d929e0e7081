import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { dropMongo, dropRedis } from '../sinks/dump.fixture.ts'
import { startSinks } from '../sinks/index.ts'
import { SinkReader } from './readers/sinks.ts'
import { type Gateway, startGateway } from './server.ts'
import { GatewayBed, recordedMarket } from './testing.ts'

// The two MarketReaders give the same answers for the same input: two recorded days of BTCUSDT
// and ETHUSDT through the platform topology; one gateway reads the engine's stores, the other
// what the sinks wrote to the real Redis and MongoDB-wire server. Every route, same JSON.

const { mongoUrl: MONGO_URL, redisUrl: REDIS_URL } = loadConfig()
const run = `${process.pid}_${Date.now()}`
const DB = `gateway_test_${run}`
const PREFIX = `gw${run}:`
const SYMBOLS = ['BTCUSDT', 'ETHUSDT']
const JAN9 = Date.parse('2024-01-09T00:00:00Z')

let g: GatewayBed
let fromSinks: Gateway

beforeAll(async () => {
  const markets = SYMBOLS.map((s) => recordedMarket(s, ['2024-01-08', '2024-01-09'], 90))
  g = await new GatewayBed().start(markets, { symbols: SYMBOLS })
  const config = loadConfig(process.env, {
    mongoDb: DB,
    redisTradesKeep: 1000,
    redisKline1mKeep: 1440,
  })
  const sinks = await startSinks({ config, transport: g.bed.transport, keyPrefix: PREFIX })
  await sinks.caughtUp(60_000)
  await sinks.close()
  const reader = await SinkReader.open({
    mongoUrl: MONGO_URL,
    mongoDb: DB,
    redisUrl: REDIS_URL,
    keyPrefix: PREFIX,
  })
  fromSinks = await startGateway({ port: 0, symbols: SYMBOLS, reader })
}, 120_000)
afterAll(async () => {
  await fromSinks?.close()
  await g?.close()
  await dropMongo(MONGO_URL, DB)
  await dropRedis(REDIS_URL, PREFIX)
})

const routes = (s: string) => [
  `/ohlc?symbol=${s}&interval=5m`,
  `/ohlc?symbol=${s}&interval=1h&limit=1000`,
  `/ohlc?symbol=${s}&interval=4h`,
  `/ohlc?symbol=${s}&interval=1d`,
  `/ohlc?symbol=${s}&interval=1h&startTime=${JAN9 + 1}&limit=7`,
  `/ohlc?symbol=${s}&interval=5m&endTime=${JAN9 + 3_600_000}&limit=20`,
  `/ohlc?symbol=${s}&interval=4h&startTime=${JAN9 - 86_400_000}&endTime=${JAN9}`,
  `/ohlc?collection=1h_kline&symbol=${s}&limit=3`,
  `/ohlc/realtime?symbol=${s}`,
  `/ohlc/realtime?symbol=${s}&limit=1000`,
  `/latest?symbol=${s}`,
  `/orderbook?symbol=${s}`,
  `/orderbook?symbol=${s}&limit=3`,
  `/trades?symbol=${s}`,
  `/trades?symbol=${s}&limit=200`,
  `/indicators?symbol=${s}&interval=5m&limit=300`,
  `/indicators?symbol=${s}&interval=1h`,
  `/indicators?symbol=${s}&interval=4h`,
  `/indicators?symbol=${s}&interval=1d`,
  `/prediction/${s}`,
  `/api/v3/klines?symbol=${s}&interval=1h&limit=30`,
  `/api/v3/klines?symbol=${s}&interval=1m&startTime=${JAN9 + 3_600_000}&limit=10`,
]

describe('stores and sinks readers', () => {
  it.each([...SYMBOLS.flatMap(routes), '/ranking/top-gainers', '/ranking/top-gainers?type=losers&limit=1'])(
    '%s: same status and body',
    async (path) => {
      const [a, b] = await Promise.all(
        [g.gateway.url, fromSinks.url].map(async (u) => {
          const r = await fetch(`${u}${path}`)
          return { status: r.status, body: await r.json() }
        }),
      )
      expect(b).toEqual(a)
      expect(a!.status === 200 || path.startsWith('/prediction/')).toBe(true)
      // and not trivially: every list answered holds data
      const body = a!.body as Record<string, unknown> | unknown[]
      const lists = Array.isArray(body) ? [body] : Object.values(body).filter(Array.isArray)
      for (const l of lists) expect((l as unknown[]).length).toBeGreaterThan(0)
    },
  )

  it('/health of the sinks reader names MongoDB and Redis', async () => {
    const h = (await (await fetch(`${fromSinks.url}/health`)).json()) as {
      dependencies: Record<string, unknown>
    }
    expect(h.dependencies).toEqual({ mongo: { ok: true, detail: 'ok' }, redis: { ok: true, detail: 'ok' } })
  })

  it('a server away: /health 503 naming it, reads 503 with the reason, no stack', async () => {
    const reader = await SinkReader.open({
      mongoUrl: 'mongodb://127.0.0.1:1/x',
      redisUrl: 'redis://127.0.0.1:1',
    })
    const down = await startGateway({ port: 0, symbols: SYMBOLS, reader })
    try {
      const h = await fetch(`${down.url}/health`)
      expect(h.status).toBe(503)
      const body = (await h.json()) as { status: string; dependencies: Record<string, { ok: boolean }> }
      expect(body.status).toBe('down')
      expect(body.dependencies.mongo!.ok).toBe(false)
      expect(body.dependencies.redis!.ok).toBe(false)
      for (const path of [
        '/latest?symbol=BTCUSDT',
        '/ohlc?symbol=BTCUSDT',
        '/api/v3/klines?symbol=BTCUSDT&interval=1h',
      ]) {
        const r = await fetch(`${down.url}${path}`)
        expect(r.status).toBe(503)
        const text = await r.text()
        expect(text).not.toMatch(/node_modules|\n\s+at /)
      }
    } finally {
      await down.close()
    }
  })
})
