import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import { type ReplayServer, startReplayServer } from './index.ts'

// REST against the recordings: 1m rows exactly as recorded (all 12 fields), larger intervals
// exactly as Binance's own files, POLUSDT = MATICUSDT, a reproducible simulator, Binance errors.

const DATA = binanceDataDir()
const csv = (sym: string, iv: string, day: string): unknown[][] =>
  gunzipSync(readFileSync(join(DATA, 'klines', 'spot', sym, iv, `${sym}-${iv}-${day}.csv.gz`)))
    .toString()
    .trim()
    .split('\n')
    .map((l) => {
      const c = l.split(',')
      return [Number(c[0]), c[1], c[2], c[3], c[4], c[5], Number(c[6]), c[7], Number(c[8]), c[9], c[10], '0']
    })

let server: ReplayServer
// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, checked by the assertions
const get = async (path: string, s = server): Promise<{ status: number; body: any }> => {
  const r = await fetch(`${s.restUrl}${path}`)
  return { status: r.status, body: await r.json() }
}
const klines = async (q: string, s = server) => (await get(`/api/v3/klines?${q}`, s)).body as unknown[][]
const DAY1 = Date.UTC(2024, 0, 1)

beforeAll(async () => {
  server = await startReplayServer({
    symbols: ['BTCUSDT', 'PEPEUSDT', 'MATICUSDT', 'POLUSDT', 'BNBUSDT', 'ETHUSDT'],
  })
})
afterAll(() => server.close())

describe('replay REST', () => {
  it('1m klines of a recorded day equal the recorded rows, all 12 fields (two pages)', async () => {
    for (const sym of ['BTCUSDT', 'PEPEUSDT']) {
      const a = await klines(`symbol=${sym}&interval=1m&startTime=${DAY1}&limit=1000`)
      const b = await klines(`symbol=${sym}&interval=1m&startTime=${DAY1 + 1000 * 60_000}&limit=1000`)
      expect([...a, ...b].slice(0, 1440)).toEqual(csv(sym, '1m', '2024-01-01'))
    }
  })

  it('15m, 30m and 4h klines equal Binance’s own files; 5m and 1h equal the 1m aggregation', async () => {
    for (const iv of ['15m', '30m', '4h']) {
      const got = await klines(
        `symbol=PEPEUSDT&interval=${iv}&startTime=${DAY1}&endTime=${DAY1 + 86_399_999}`,
      )
      expect(got).toEqual(csv('PEPEUSDT', iv, '2024-01-01'))
    }
    const ones = csv('BTCUSDT', '1m', '2024-01-01')
    for (const [iv, n] of [
      ['5m', 5],
      ['1h', 60],
    ] as const) {
      const got = await klines(`symbol=BTCUSDT&interval=${iv}&startTime=${DAY1}&limit=10`)
      got.forEach((k, i) => {
        const part = ones.slice(i * n, (i + 1) * n)
        expect(k[0]).toBe(part[0]![0])
        expect(k[1]).toBe(part[0]![1])
        expect(k[4]).toBe(part.at(-1)![4])
        expect(Number(k[2])).toBe(Math.max(...part.map((r) => Number(r[2]))))
        expect(Number(k[3])).toBe(Math.min(...part.map((r) => Number(r[3]))))
        expect(k[8]).toBe(part.reduce((a, r) => a + (r[8] as number), 0))
        expect(k[6]).toBe((k[0] as number) + n * 60_000 - 1)
      })
    }
  })

  it('1h klines equal Binance’s REST answer for 2024-01-15; 2025 µs rows are served in ms', async () => {
    const s = await startReplayServer({ symbols: ['BTCUSDT'], from: '2024-01-16T00:00:00Z' })
    const want = JSON.parse(
      readFileSync(join(DATA, 'klines', 'rest', 'BTCUSDT-1h-2024-01-15.klines.json'), 'utf8'),
    )
    const got = await klines(`symbol=BTCUSDT&interval=1h&startTime=${Date.UTC(2024, 0, 15)}&limit=24`, s)
    expect(got).toEqual(want)
    // 2025 files have microsecond timestamps: served in ms like Binance's REST
    const s2 = await startReplayServer({ symbols: ['BTCUSDT'], from: '2025-06-02T00:00:00Z' })
    const k = await klines(`symbol=BTCUSDT&interval=1m&startTime=${Date.UTC(2025, 5, 1)}&limit=2`, s2)
    expect(k.map((r) => [r[0], r[6]])).toEqual([
      [Date.UTC(2025, 5, 1), Date.UTC(2025, 5, 1) + 59_999],
      [Date.UTC(2025, 5, 1) + 60_000, Date.UTC(2025, 5, 1) + 119_999],
    ])
    await s.close()
    await s2.close()
  })

  it('POLUSDT serves MATICUSDT’s recording', async () => {
    const q = `interval=1m&startTime=${DAY1}&limit=1000`
    expect(await klines(`symbol=POLUSDT&${q}`)).toEqual(await klines(`symbol=MATICUSDT&${q}`))
  })

  it('simulated symbols are reproducible by seed and continue from the last recorded close', async () => {
    const q = `symbol=BNBUSDT&interval=1m&startTime=${DAY1}&limit=1000`
    const a = await klines(q)
    const other = await startReplayServer({
      symbols: ['BNBUSDT', 'ETHUSDT'],
      seed: 1,
      from: '2024-01-12T00:00:00Z',
    })
    const third = await startReplayServer({ symbols: ['BNBUSDT'], seed: 2 })
    expect(await klines(q, other)).toEqual(a)
    expect(await klines(q, third)).not.toEqual(a)
    for (const k of a) {
      expect(Number(k[3])).toBeLessThanOrEqual(Math.min(Number(k[1]), Number(k[4])))
      expect(Number(k[2])).toBeGreaterThanOrEqual(Math.max(Number(k[1]), Number(k[4])))
    }
    // ETHUSDT is recorded until 2024-01-10: 2024-01-11 is simulated from its last close on
    const last = await klines(
      `symbol=ETHUSDT&interval=1m&startTime=${Date.UTC(2024, 0, 10, 23, 59)}&limit=2`,
      other,
    )
    expect(last[1]![1]).toBe(last[0]![4])
    // day boundaries of the simulation join up too
    const join2 = await klines(
      `symbol=BNBUSDT&interval=1m&startTime=${Date.UTC(2024, 0, 10, 23, 59)}&limit=2`,
      other,
    )
    expect(join2[1]![1]).toBe(join2[0]![4])
    await other.close()
    await third.close()
  })

  it('the last row without startTime is the open kline at virtual now', async () => {
    const k = await klines('symbol=BTCUSDT&interval=1m&limit=3')
    const now = server.now()
    expect(k.at(-1)![0]).toBe(now - (now % 60_000))
    expect(k.length).toBe(3)
  })

  it('exchangeInfo, depth, ticker and trades have Binance’s shape', async () => {
    const info = (await get('/api/v3/exchangeInfo?symbols=["BTCUSDT","PEPEUSDT"]')).body
    expect(info.symbols.map((s: { symbol: string }) => s.symbol)).toEqual(['BTCUSDT', 'PEPEUSDT'])
    const pepe = info.symbols[1]
    expect(pepe.filters.find((f: { filterType: string }) => f.filterType === 'PRICE_FILTER').tickSize).toBe(
      '0.00000001',
    )
    const d = (await get('/api/v3/depth?symbol=BTCUSDT&limit=5')).body
    expect(d.bids.length).toBe(5)
    expect(Number(d.bids[0][0])).toBeLessThan(Number(d.asks[0][0]))
    const t = (await get('/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]')).body
    expect(t.map((x: { symbol: string }) => x.symbol)).toEqual(['BTCUSDT', 'ETHUSDT'])
    for (const f of [
      'priceChange',
      'priceChangePercent',
      'lastPrice',
      'openPrice',
      'highPrice',
      'lowPrice',
      'volume',
      'quoteVolume',
      'openTime',
      'closeTime',
      'count',
    ])
      expect(t[0]).toHaveProperty(f)
    expect((await get('/api/v3/ticker/24hr')).body.length).toBe(6)
    expect((await get('/api/v3/time')).body.serverTime).toBeGreaterThanOrEqual(Date.UTC(2024, 0, 2))
  })

  it('rejects bad parameters with Binance’s codes', async () => {
    const cases: [string, number][] = [
      ['/api/v3/klines?interval=1m', -1102],
      ['/api/v3/klines?symbol=NOPEUSDT&interval=1m', -1121],
      ['/api/v3/klines?symbol=btcusdt&interval=1m', -1100],
      ['/api/v3/klines?symbol=BTCUSDT', -1102],
      ['/api/v3/klines?symbol=BTCUSDT&interval=7m', -1120],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=abc', -1100],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=0', -1130],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=5&endTime=4', -1128],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&foo=1', -1104],
      ['/api/v3/depth?symbol=BTCUSDT&limit=-1', -1100],
      ['/api/v3/ticker/24hr?symbols=BTCUSDT', -1100],
      ['/api/v3/ticker/24hr?symbol=BTCUSDT&symbols=["BTCUSDT"]', -1128],
      ['/api/v3/ticker/24hr?symbols=["BTCUSDT","BTCUSDT"]', -1151],
      ['/api/v3/exchangeInfo?symbol=NOPEUSDT', -1121],
    ]
    for (const [path, code] of cases) {
      const r = await get(path)
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 400, code })
      expect(typeof r.body.msg).toBe('string')
    }
    expect((await get('/api/v3/nope')).status).toBe(404)
  })

  it('injected REST failures: 429 with Retry-After, 503', async () => {
    server.failRest(429, 1)
    const r = await fetch(`${server.restUrl}/api/v3/ping`)
    expect(r.status).toBe(429)
    expect(r.headers.get('retry-after')).toBe('1')
    server.failRest(503, 1)
    expect((await fetch(`${server.restUrl}/api/v3/ping`)).status).toBe(503)
    expect((await fetch(`${server.restUrl}/api/v3/ping`)).status).toBe(200)
  })
})

describe('replay memory', () => {
  it('keeps a few parsed days per symbol, however many days requests and the feed walk through', async () => {
    const s = await startReplayServer({ symbols: ['BTCUSDT', 'ETHUSDT'], from: '2024-03-01T00:00:00Z' })
    try {
      // two months of day candles per symbol: every 1m day of both is read once
      for (const symbol of ['BTCUSDT', 'ETHUSDT'])
        expect(await klines(`symbol=${symbol}&interval=1d&startTime=${DAY1}&limit=60`, s)).toHaveLength(60)
      expect(s.daysInMemory()).toBeLessThanOrEqual(2 * (2 * 2 + 8)) // cachedDays(2), recorded + simulated
    } finally {
      await s.close()
    }
  })
})
