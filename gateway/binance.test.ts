import ccxt from 'ccxt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { GatewayBed, recordedMarket } from './testing.ts'

// The Binance-compatible routes through a client nobody here wrote: ccxt's binance exchange with
// every API URL pointed at the gateway (so it cannot call anything else) fetches OHLCV, which
// must equal /ohlc. Then Binance's error shape for bad parameters.

let g: GatewayBed
let url: string
const JAN14 = Date.parse('2024-01-14T00:00:00Z')

beforeAll(async () => {
  g = await new GatewayBed().start([recordedMarket('BTCUSDT', ['2024-01-13', '2024-01-14', '2024-01-15'])], {
    symbols: ['BTCUSDT', 'ETHUSDT'],
  })
  url = g.gateway.url
}, 120_000)
afterAll(() => g?.close())

function client() {
  const api: Record<string, string> = {}
  for (const key of Object.keys(new ccxt.binance().urls.api as Record<string, string>))
    api[key] = key === 'public' ? `${url}/api/v3` : `${url}/not-offered/${key}`
  return new ccxt.binance({
    urls: { api },
    options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
  })
}

const ohlcv = (k: Kline) => [
  k.openTime,
  Number(k.open),
  Number(k.high),
  Number(k.low),
  Number(k.close),
  Number(k.volume),
]

describe('ccxt against /api/v3', () => {
  it('fetchOHLCV 1h and 1d equal /ohlc', async () => {
    const ex = client()
    const markets = await ex.loadMarkets()
    expect(Object.keys(markets).sort()).toEqual(['BTC/USDT', 'ETH/USDT'])
    const hours = await ex.fetchOHLCV('BTC/USDT', '1h', JAN14, 30)
    const h = (await (
      await fetch(`${url}/ohlc?symbol=BTCUSDT&interval=1h&startTime=${JAN14}&limit=30`)
    ).json()) as {
      candles: Kline[]
    }
    expect(hours).toHaveLength(30)
    expect(hours).toEqual(h.candles.map(ohlcv))
    const days = await ex.fetchOHLCV('BTC/USDT', '1d')
    const d = (await (await fetch(`${url}/ohlc?symbol=BTCUSDT&interval=1d`)).json()) as { candles: Kline[] }
    expect(days).toHaveLength(3)
    expect(days).toEqual(d.candles.map(ohlcv))
  })

  it('an interval the platform does not compute reaches ccxt as Binance’s -1120 error', async () => {
    const ex = client()
    await ex.loadMarkets()
    await expect(ex.fetchOHLCV('BTC/USDT', '15m')).rejects.toThrow(/interval|timeframe/i)
  })
})

describe('Binance shapes', () => {
  const get = async (path: string) => {
    const r = await fetch(`${url}${path}`)
    return { status: r.status, body: (await r.json()) as unknown }
  }

  it('ping, time, exchangeInfo, klines rows', async () => {
    expect(await get('/api/v3/ping')).toEqual({ status: 200, body: {} })
    expect(((await get('/api/v3/time')).body as { serverTime: number }).serverTime).toBeGreaterThan(0)
    const info = (await get('/api/v3/exchangeInfo?symbols=["ETHUSDT"]')).body as {
      symbols: { symbol: string }[]
    }
    expect(info.symbols.map((s) => s.symbol)).toEqual(['ETHUSDT'])
    // 1m klines are kept 24 h: from JAN14 on, the first two kept ones
    const rows = (await get(`/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${JAN14}&limit=2`))
      .body as number[][]
    expect(rows).toHaveLength(2)
    expect(rows[0]![0]).toBeGreaterThanOrEqual(JAN14)
    expect(rows[1]![0]! - rows[0]![0]!).toBe(60_000)
    const first = (await get('/ohlc/realtime?symbol=BTCUSDT&limit=1')).body as { candles: Kline[] }
    const recent = (await get('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1')).body as unknown[][]
    const k = first.candles[0]!
    expect(recent).toEqual([
      [
        k.openTime,
        k.open,
        k.high,
        k.low,
        k.close,
        k.volume,
        k.closeTime,
        k.quoteVolume,
        k.trades,
        k.takerBuyBase,
        k.takerBuyQuote,
        '0',
      ],
    ])
  })

  const errors: [string, number, number][] = [
    ['/api/v3/klines?interval=1h', 400, -1102],
    ['/api/v3/klines?symbol=BTCUSDT', 400, -1102],
    ['/api/v3/klines?symbol=NOPE&interval=1h', 400, -1121],
    ['/api/v3/klines?symbol=BTCUSDT&interval=3m', 400, -1120],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=0', 400, -1130],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=1001', 400, -1130],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=ten', 400, -1100],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=x', 400, -1100],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=2&endTime=1', 400, -1130],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&bogus=1', 400, -1104],
    ['/api/v3/exchangeInfo?symbols=[NOPE', 400, -1100],
    ['/api/v3/exchangeInfo?symbols=["NOPEUSDT"]', 400, -1121],
    ['/api/v3/depth?symbol=BTCUSDT', 404, -1000],
  ]
  it.each(errors)('%s → %i {code: %i}', async (path, status, code) => {
    const r = await get(path)
    expect(r.status).toBe(status)
    expect(r.body).toEqual({ code, msg: expect.any(String) })
  })
})
