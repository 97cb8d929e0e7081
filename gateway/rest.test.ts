import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Book, Kline, Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams } from '../engine/index.ts'
import { type ReplayServer, startReplayServer } from '../ingest/replay/index.ts'
import type { Indicators } from '../processors/indicators.ts'
import { restKlines } from '../processors/testdata.ts'
import { platformTopology } from '../topologies/index.ts'
import { StoreReader } from './readers/stores.ts'
import { startGateway } from './server.ts'
import { GatewayBed, type Market, recordedMarket } from './testing.ts'

// Every REST route and every bad parameter, on two recorded days of BTCUSDT through the platform
// topology (ETHUSDT is configured but has no data). Candles are checked against Binance's own.

const H = 3_600_000
const JAN15 = Date.parse('2024-01-15T00:00:00Z')
let replay: ReplayServer
let g: GatewayBed
let btc: Market
let url: string

const get = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${url}${path}`, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body: body as Record<string, unknown>, headers: res.headers }
}

beforeAll(async () => {
  replay = await startReplayServer({ port: 0, symbols: ['BTCUSDT', 'ETHUSDT'], speed: 1 })
  btc = recordedMarket('BTCUSDT', ['2024-01-14', '2024-01-15'])
  g = await new GatewayBed().start([btc], {
    symbols: ['BTCUSDT', 'ETHUSDT'],
    exchangeInfoUrl: replay.restUrl,
    corsOrigins: ['http://localhost:4200'],
    dashboardDir: 'no-such-dir',
  })
  url = g.gateway.url
}, 120_000)
afterAll(async () => {
  await g?.close()
  await replay?.close()
})

describe('candles', () => {
  it('/ohlc 1h and 1d equal Binance’s own candles', async () => {
    const h = await get(`/ohlc?symbol=BTCUSDT&interval=1h&startTime=${JAN15}&limit=24`)
    expect(h.status).toBe(200)
    expect(h.body.candles).toEqual(restKlines('BTCUSDT-1h-2024-01-15.klines.json', 'BTCUSDT', '1h'))
    const d = await get('/ohlc?symbol=BTCUSDT&interval=1d&limit=2')
    expect(d.body).toEqual({
      symbol: 'BTCUSDT',
      interval: '1d',
      candles: restKlines('BTCUSDT-1d-2024-01-04_2024-01-15.klines.json', 'BTCUSDT', '1d').slice(-2),
    })
  })

  it('/ohlc selects like Binance: default 1h/500, endTime, startTime+endTime', async () => {
    const all = (await get('/ohlc?symbol=BTCUSDT')).body.candles as Kline[]
    expect(all.map((c) => c.openTime)).toEqual(Array.from({ length: 48 }, (_, i) => JAN15 - 24 * H + i * H))
    const end = (await get(`/ohlc?symbol=BTCUSDT&interval=1h&endTime=${JAN15 + 5 * H}&limit=3`)).body
    expect((end.candles as Kline[]).map((c) => c.openTime)).toEqual([
      JAN15 + 3 * H,
      JAN15 + 4 * H,
      JAN15 + 5 * H,
    ])
    const both = (
      await get(`/ohlc?symbol=BTCUSDT&interval=4h&startTime=${JAN15 + 1}&endTime=${JAN15 + 12 * H}`)
    ).body
    expect((both.candles as Kline[]).map((c) => c.openTime)).toEqual([
      JAN15 + 4 * H,
      JAN15 + 8 * H,
      JAN15 + 12 * H,
    ])
  })

  it('/ohlc?collection=5m_kline reads the 5m candles', async () => {
    const r = await get('/ohlc?collection=5m_kline&symbol=BTCUSDT&limit=5')
    const c = r.body.candles as Kline[]
    expect(r.body.interval).toBe('5m')
    expect(c.map((x) => x.openTime)).toEqual([0, 1, 2, 3, 4].map((i) => JAN15 + 24 * H - (5 - i) * 300_000))
    expect(c.every((x) => x.closed && x.interval === '5m')).toBe(true)
  })

  it('/ohlc/realtime and /latest serve the 1m klines', async () => {
    const r = await get('/ohlc/realtime?symbol=BTCUSDT&limit=3')
    expect(r.body).toEqual({ symbol: 'BTCUSDT', interval: '1m', candles: btc.klines.slice(-3) })
    expect((await get('/ohlc/realtime?symbol=BTCUSDT')).body.candles).toHaveLength(60)
    expect((await get('/latest?symbol=BTCUSDT')).body).toEqual(btc.klines.at(-1))
  })

  it('a configured symbol without data: empty lists, 404 for single records', async () => {
    expect((await get('/ohlc?symbol=ETHUSDT')).body.candles).toEqual([])
    const l = await get('/latest?symbol=ETHUSDT')
    expect(l).toMatchObject({
      status: 404,
      body: { error: 'NO_DATA', message: 'no 1m kline for ETHUSDT yet' },
    })
    expect((await get('/orderbook?symbol=ETHUSDT')).status).toBe(404)
    expect((await get('/trades?symbol=ETHUSDT')).body.trades).toEqual([])
  })
})

describe('market, analytics, ops', () => {
  it('/orderbook and /trades', async () => {
    const last = btc.books.at(-1) as Book
    const b = await get('/orderbook?symbol=BTCUSDT&limit=5')
    expect(b.body).toEqual({ ...last, bids: last.bids.slice(0, 5), asks: last.asks.slice(0, 5) })
    expect(((await get('/orderbook?symbol=BTCUSDT')).body.bids as unknown[]).length).toBe(20)
    const t = await get('/trades?symbol=BTCUSDT&limit=10')
    expect(t.body.trades).toEqual(btc.trades.slice(-10).reverse())
    expect(((await get('/trades?symbol=BTCUSDT')).body.trades as Trade[]).length).toBe(50)
  })

  it('/ranking/top-gainers: gainers and losers with 24 h ticker fields', async () => {
    const r = await get('/ranking/top-gainers')
    expect(r.body).toMatchObject({ window: '24h', symbols: 1, type: 'gainers' })
    const e = (r.body.entries as Record<string, unknown>[])[0]!
    expect(e).toMatchObject({ rank: 1, symbol: 'BTCUSDT', lastPrice: btc.klines.at(-1)!.close })
    expect(e.openPrice).toBe(btc.klines.at(-1440)!.open)
    expect((await get('/ranking/top-gainers?type=losers&limit=1')).body.type).toBe('losers')
  })

  it('/indicators equal what crypto_indicators emitted', async () => {
    const emitted = (await g.bed.values<Indicators>(topics.indicators)).filter(
      (x) => x.symbol === 'BTCUSDT' && x.interval === '1h',
    )
    const r = await get('/indicators?symbol=BTCUSDT&interval=1h&limit=5')
    expect(r.body.indicators).toEqual(emitted.slice(-5))
    expect((await get('/indicators?symbol=BTCUSDT')).body.indicators).toEqual(emitted)
  })

  it('/prediction/:symbol: 404 until a prediction exists', async () => {
    expect(await get('/prediction/BTCUSDT')).toMatchObject({
      status: 404,
      body: { error: 'NO_PREDICTION', message: 'no prediction yet for BTCUSDT' },
    })
    expect(await get('/prediction/NOPEUSDT')).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } })
  })

  it('/symbols carries tick and step sizes from exchangeInfo', async () => {
    const s = (await get('/symbols')).body.symbols as Record<string, unknown>[]
    expect(s[0]).toEqual({
      symbol: 'BTCUSDT',
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      tickSize: '0.01000000',
      stepSize: '0.00001000',
      pricePrecision: 2,
      quantityPrecision: 5,
    })
    expect(s.map((x) => x.symbol)).toEqual(['BTCUSDT', 'ETHUSDT'])
  })

  it('/health, /metrics, /openapi.json, /docs, /', async () => {
    const h = await get('/health')
    expect(h.status).toBe(200)
    expect(h.body).toMatchObject({ status: 'ok', dependencies: { engine: { ok: true }, feed: { ok: true } } })
    const m = await get('/metrics')
    expect(m.body).toMatch(
      /cs_gateway_http_request_duration_seconds_count\{method="GET",route="\/ohlc",status="200"\}/,
    )
    const doc = (await get('/openapi.json')).body as unknown as {
      paths: Record<string, { get: { parameters: { name: string }[] } }>
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/ohlc',
        '/ohlc/realtime',
        '/latest',
        '/orderbook',
        '/trades',
        '/ranking/top-gainers',
      ]),
    )
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/prediction/{symbol}',
        '/symbols',
        '/indicators',
        '/health',
        '/api/v3/klines',
      ]),
    )
    expect(doc.paths['/ohlc']!.get.parameters.map((p) => p.name)).toEqual([
      'symbol',
      'interval',
      'collection',
      'limit',
      'startTime',
      'endTime',
    ])
    const docs = await get('/docs/')
    expect(docs.status).toBe(200)
    expect(String(docs.body)).toContain('swagger-ui')
    expect((await get('/docs/swagger-initializer.js')).body).toContain('openapi.json')
    expect((await get('/')).body).toMatchObject({ docs: '/docs', socketio: '/socket.io' })
  })

  it('every answer parses with its route’s documented response schema (the OpenAPI bodies)', async () => {
    const samples = [
      '/ohlc?symbol=BTCUSDT&interval=4h',
      '/ohlc/realtime?symbol=BTCUSDT',
      '/latest?symbol=BTCUSDT',
      '/orderbook?symbol=BTCUSDT',
      '/trades?symbol=BTCUSDT',
      '/ranking/top-gainers?type=losers',
      '/indicators?symbol=BTCUSDT&interval=5m',
      '/symbols',
      '/health',
      '/api/v3/ping',
      '/api/v3/time',
      '/api/v3/exchangeInfo',
      '/api/v3/klines?symbol=BTCUSDT&interval=1d',
    ]
    const documented = g.gateway.routes.filter((r) => r.response).map((r) => r.path)
    expect(documented.filter((p) => !samples.some((x) => x.split('?')[0] === p))).toEqual([
      '/prediction/:symbol', // 404 until predictions run
      '/api/v3/uiKlines',
    ])
    for (const path of samples) {
      const route = g.gateway.routes.find((r) => r.path === path.split('?')[0])!
      const r = await get(path)
      expect(r.status).toBe(200)
      const parsed = route.response!.safeParse(r.body)
      expect(parsed.error?.issues ?? [], path).toEqual([])
    }
    const doc = (await get('/openapi.json')).body as unknown as {
      paths: Record<
        string,
        { get: { responses: { 200: { content: Record<string, { schema?: unknown }> } } } }
      >
    }
    expect(doc.paths['/ohlc']!.get.responses[200].content['application/json']!.schema).toMatchObject({
      type: 'object',
      properties: { candles: { type: 'array' } },
    })
  })

  it('security headers and CORS for the configured origins only', async () => {
    const ok = await get('/symbols', { headers: { origin: 'http://localhost:4200' } })
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:4200')
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff')
    const other = await get('/symbols', { headers: { origin: 'http://evil.example' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('bad input: 400/404 with the reason, never a 500', () => {
  const cases: [string, number, RegExp][] = [
    ['/ohlc', 400, /^symbol: is required$/],
    ['/ohlc?symbol=NOPEUSDT', 400, /^symbol: unknown symbol "NOPEUSDT"/],
    ['/ohlc?symbol=btcusdt', 400, /^symbol: unknown symbol "btcusdt"/],
    ['/ohlc?symbol=BTCUSDT&symbol=ETHUSDT', 400, /^symbol: unknown symbol \["BTCUSDT","ETHUSDT"\]/],
    ['/ohlc?symbol=BTCUSDT&interval=2m', 400, /^interval: expected one of 5m, 1h, 4h, 1d, got "2m"$/],
    ['/ohlc?symbol=BTCUSDT&interval=1m', 400, /^interval: expected one of/],
    ['/ohlc?symbol=BTCUSDT&limit=0', 400, /^limit: must be at least 1$/],
    ['/ohlc?symbol=BTCUSDT&limit=1001', 400, /^limit: must be at most 1000$/],
    ['/ohlc?symbol=BTCUSDT&limit=abc', 400, /^limit: expected a non-negative integer, got "abc"$/],
    ['/ohlc?symbol=BTCUSDT&limit=-1', 400, /^limit: expected a non-negative integer/],
    ['/ohlc?symbol=BTCUSDT&limit=1.5', 400, /^limit: expected a non-negative integer/],
    ['/ohlc?symbol=BTCUSDT&limit=', 400, /^limit: expected a non-negative integer/],
    ['/ohlc?symbol=BTCUSDT&startTime=yesterday', 400, /^startTime: expected a non-negative integer/],
    ['/ohlc?symbol=BTCUSDT&endTime=1e12', 400, /^endTime: expected a non-negative integer/],
    ['/ohlc?symbol=BTCUSDT&startTime=2&endTime=1', 400, /^startTime: startTime must not be after endTime$/],
    ['/ohlc?symbol=BTCUSDT&collection=7m_kline', 400, /^collection: expected one of 5m_kline/],
    [
      '/ohlc?symbol=BTCUSDT&interval=5m&collection=1h_kline',
      400,
      /^collection: interval and collection disagree$/,
    ],
    ['/ohlc?symbol=BTCUSDT&foo=1', 400, /^unknown parameter "foo"$/],
    ['/ohlc/realtime?symbol=BTCUSDT&limit=1441', 400, /^limit: must be at most 1440$/],
    ['/ohlc/realtime', 400, /^symbol: is required$/],
    ['/latest', 400, /^symbol: is required$/],
    ['/latest?symbol=XX', 400, /^symbol: unknown symbol/],
    ['/orderbook?symbol=BTCUSDT&limit=21', 400, /^limit: must be at most 20$/],
    ['/orderbook?symbol=BTCUSDT&limit=x', 400, /^limit: expected a non-negative integer/],
    ['/trades?symbol=BTCUSDT&limit=1001', 400, /^limit: must be at most 1000$/],
    ['/trades?limit=5', 400, /^symbol: is required$/],
    ['/ranking/top-gainers?type=best', 400, /^type: expected one of gainers, losers, got "best"$/],
    ['/ranking/top-gainers?limit=101', 400, /^limit: must be at most 100$/],
    ['/indicators?symbol=BTCUSDT&interval=1m', 400, /^interval: expected one of/],
    ['/indicators?symbol=BTCUSDT&limit=0', 400, /^limit: must be at least 1$/],
    ['/prediction/btcusdt', 404, /^symbol: unknown symbol "btcusdt"$/],
    ['/symbols?x=1', 400, /^unknown parameter "x"$/],
    ['/nope', 404, /^no route GET \/nope$/],
    ['/ohlc/nope', 404, /^no route GET \/ohlc\/nope$/],
  ]
  it.each(cases)('%s → %i', async (path, status, message) => {
    const r = await get(path)
    expect(r.status).toBe(status)
    expect(r.body.error).toMatch(/^[A-Z_]+$/)
    expect(r.body.message).toMatch(message)
  })

  it('other methods and oversized bodies are refused without a stack', async () => {
    const post = await get('/ohlc', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(post).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } })
    const big = await get('/ohlc', {
      method: 'POST',
      body: JSON.stringify({ x: 'y'.repeat(20_000) }),
      headers: { 'content-type': 'application/json' },
    })
    expect(big).toMatchObject({ status: 413, body: { error: 'PAYLOAD_TOO_LARGE' } })
    const broken = await get('/ohlc', {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    })
    expect(broken.status).toBe(400)
    expect(JSON.stringify(broken.body)).not.toMatch(/at .*\.js|node_modules/)
  })
})

describe('engine not running', () => {
  it('/health 503 naming the engine; reads 503 NOT_READY, Binance routes -1001', async () => {
    const streams = new KafkaStreams(platformTopology({ serving: true }), {
      applicationId: 'gateway-idle',
      transport: g.bed.transport,
      stateDir: `${g.bed.dir}/idle`,
    })
    const idle = await startGateway({ port: 0, symbols: ['BTCUSDT'], reader: new StoreReader(streams) })
    try {
      const h = await fetch(`${idle.url}/health`)
      expect(h.status).toBe(503)
      expect(await h.json()).toEqual({
        status: 'down',
        dependencies: { engine: { ok: false, detail: 'created' } },
      })
      const r = await fetch(`${idle.url}/ohlc?symbol=BTCUSDT`)
      expect(r.status).toBe(503)
      expect(((await r.json()) as { error: string }).error).toBe('NOT_READY')
      const b = await fetch(`${idle.url}/api/v3/klines?symbol=BTCUSDT&interval=1h`)
      expect(b.status).toBe(503)
      expect(((await b.json()) as { code: number }).code).toBe(-1001)
    } finally {
      await idle.close()
    }
  })
})
