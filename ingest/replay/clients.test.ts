import { Console } from 'node:console'
import { Writable } from 'node:stream'
import { Spot, WebsocketStream } from '@binance/connector'
import ccxt from 'ccxt'
import { afterEach, describe, expect, it } from 'vitest'
import { type ReplayOptions, type ReplayServer, startReplayServer } from './index.ts'

// Third-party Binance clients from npm, configured only through their documented options (base
// URLs), against the replay server: every answer must agree with the server's own REST.

const servers: ReplayServer[] = []
const closers: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
  for (const s of servers.splice(0)) await s.close()
})
const start = async (o: ReplayOptions) => {
  const s = await startReplayServer({ symbols: ['BTCUSDT', 'ETHUSDT'], speed: 'max', ...o })
  servers.push(s)
  return s
}
// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, checked by the assertions
const rest = async (s: ReplayServer, path: string): Promise<any> =>
  (await fetch(`${s.restUrl}${path}`)).json()
const num = (x: unknown) => Number(x)

/** The ccxt recipe of the README: every URL of `urls.api` (spot, sapi, futures, ws…) on the replay server. */
function ccxtPro(s: ReplayServer) {
  const local = (u: string) =>
    u.replace(/^(https?|wss?):\/\/[^/]+/, (_m, scheme: string) =>
      scheme.startsWith('ws') ? s.wsUrl : s.restUrl,
    )
  const mapUrls = (x: unknown): unknown =>
    typeof x === 'string'
      ? local(x)
      : Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, mapUrls(v)]))
  const ex = new ccxt.pro.binance({
    urls: { api: mapUrls(new ccxt.pro.binance().urls.api) },
    options: { fetchMarkets: { types: ['spot'] } },
  })
  closers.push(() => ex.close())
  return ex
}

/** Every URL a ccxt exchange holds for its API points at the replay server. */
function allLocal(x: unknown, s: ReplayServer): boolean {
  if (typeof x === 'string') return x.startsWith(s.restUrl) || x.startsWith(s.wsUrl)
  return Object.values(x as object).every((v) => allLocal(v, s))
}

const quiet = new Console({ stdout: new Writable({ write: (_c, _e, cb) => cb() }) })

describe('ccxt (REST)', () => {
  it('load_markets, OHLCV 1m/1h, trades, order book, ticker and time agree with the REST answers', async () => {
    // speed max and no WebSocket client: the clock stands still, so answers compare exactly
    const s = await start({ from: '2024-01-03T10:00:30Z' })
    const ex = ccxtPro(s)
    expect(allLocal(ex.urls.api, s)).toBe(true)
    await ex.loadMarkets()
    expect(Object.keys(ex.markets ?? {}).sort()).toEqual(['BTC/USDT', 'ETH/USDT'])
    expect(ex.market('BTC/USDT').precision.price).toBe(0.01)
    const since = Date.UTC(2024, 0, 3, 8)
    for (const iv of ['1m', '1h']) {
      const got = await ex.fetchOHLCV('BTC/USDT', iv, since, 3)
      const want = await rest(s, `/api/v3/klines?symbol=BTCUSDT&interval=${iv}&startTime=${since}&limit=3`)
      expect(got).toEqual(want.map((k: unknown[]) => [k[0], ...k.slice(1, 6).map(num)]))
    }
    const trades = await ex.fetchTrades('BTC/USDT', undefined, 5)
    const agg = await rest(s, '/api/v3/aggTrades?symbol=BTCUSDT&limit=5')
    expect(trades.map((t) => [Number(t.id), t.price, t.amount, t.timestamp])).toEqual(
      agg.map((a: { a: number; p: string; q: string; T: number }) => [a.a, num(a.p), num(a.q), a.T]),
    )
    const ob = await ex.fetchOrderBook('BTC/USDT', 100)
    const depth = await rest(s, '/api/v3/depth?symbol=BTCUSDT&limit=100')
    expect(ob.bids).toEqual(depth.bids.map((l: string[]) => l.map(num)))
    expect(ob.asks.length).toBe(100)
    const ticker = await ex.fetchTicker('BTC/USDT')
    const t24 = await rest(s, '/api/v3/ticker/24hr?symbol=BTCUSDT')
    expect([ticker.last, ticker.open, ticker.high, ticker.low, ticker.baseVolume]).toEqual(
      [t24.lastPrice, t24.openPrice, t24.highPrice, t24.lowPrice, t24.volume].map(num),
    )
    expect(await ex.fetchTime()).toBe(s.now())
    const tickers = await ex.fetchTickers(['BTC/USDT', 'ETH/USDT'])
    expect(tickers['ETH/USDT']!.last).toBe(num((await rest(s, '/api/v3/ticker/price?symbol=ETHUSDT')).price))
  })
})

describe('ccxt.pro (WebSocket)', () => {
  it('watchOHLCV 1m and 1h: closed candles equal REST klines', async () => {
    // a numeric speed with 2 s of wall time for load_markets and both subscriptions before the
    // hour closes (virtual 01:00)
    const s = await start({ from: '2024-01-03T00:59:00Z', symbols: ['BTCUSDT'], speed: 30 })
    const ex = ccxtPro(s)
    await ex.loadHttpProxyAgent() // ccxt asks for this before any ws:// (non-TLS) URL
    const seen = { '1m': new Map<number, number[]>(), '1h': new Map<number, number[]>() }
    const watch = async (iv: '1m' | '1h', until: number) => {
      for (;;) {
        for (const c of await ex.watchOHLCV('BTC/USDT', iv)) seen[iv].set(c[0]!, c as number[])
        if ([...seen[iv].keys()].some((t) => t >= until)) return
      }
    }
    await Promise.all([watch('1m', Date.UTC(2024, 0, 3, 1, 1)), watch('1h', Date.UTC(2024, 0, 3, 1))])
    const closed = (iv: '1m' | '1h', t: number) =>
      rest(s, `/api/v3/klines?symbol=BTCUSDT&interval=${iv}&startTime=${t}&limit=1`).then((k) =>
        [k[0][0], ...k[0].slice(1, 6)].map(num),
      )
    for (const t of [Date.UTC(2024, 0, 3, 0, 59), Date.UTC(2024, 0, 3, 1)])
      expect(seen['1m'].get(t)).toEqual(await closed('1m', t))
    expect(seen['1h'].get(Date.UTC(2024, 0, 3))).toEqual(await closed('1h', Date.UTC(2024, 0, 3)))
  })

  it('watchTrades, watchOrderBook and watchTicker agree with REST trades and the server book', async () => {
    const s = await start({ from: '2024-01-03T10:00:00Z', symbols: ['BTCUSDT'], bookHistory: 20_000 })
    const ex = ccxtPro(s)
    await ex.loadHttpProxyAgent()
    const trades = []
    while (trades.length < 50) trades.push(...(await ex.watchTrades('BTC/USDT')))
    const byId = await rest(s, `/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${trades[0]!.id}&limit=50`)
    expect(trades.slice(0, 50).map((t) => [Number(t.id), t.price, t.amount, t.timestamp, t.side])).toEqual(
      byId.map((t: { id: number; price: string; qty: string; time: number; isBuyerMaker: boolean }) => [
        t.id,
        num(t.price),
        num(t.qty),
        t.time,
        t.isBuyerMaker ? 'sell' : 'buy',
      ]),
    )
    let checked = 0
    for (let i = 0; i < 20; i++) {
      const ob = await ex.watchOrderBook('BTC/USDT')
      const want = s.bookAt('BTCUSDT', ob.nonce!)
      if (!want) continue
      expect(ob.bids.slice(0, 20)).toEqual(want.bids.map((l) => l.map(num)))
      expect(ob.asks.slice(0, 20)).toEqual(want.asks.map((l) => l.map(num)))
      expect(ob.bids.length).toBeGreaterThanOrEqual(100)
      checked++
    }
    expect(checked).toBeGreaterThan(10)
    // watchTicker reads @miniTicker by default, @ticker with its documented `name` param: the open
    // is the open of the minute 24 h back, the full ticker's last price its last trade's (id L)
    for (const name of ['miniTicker', 'ticker']) {
      const tk = await ex.watchTicker('BTC/USDT', { name })
      const info = tk.info as { e: string; E: number; L: number }
      expect(info.e).toBe(name === 'ticker' ? '24hrTicker' : '24hrMiniTicker')
      const first = Math.floor(info.E / 60_000) * 60_000 - 1439 * 60_000
      const k = await rest(s, `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${first}&limit=1`)
      expect(tk.open).toBe(num(k[0][1]))
      if (name === 'ticker') {
        const last = await rest(s, `/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${info.L}&limit=1`)
        expect(tk.last).toBe(num(last[0].price))
      }
    }
  })
})

describe('@binance/connector', () => {
  it('Spot: every market-data call answers what the REST endpoint answers', async () => {
    const s = await start({ from: '2024-01-03T10:00:30Z' })
    const spot = new Spot('', '', { baseURL: s.restUrl, logger: quiet })
    const t = Date.UTC(2024, 0, 3, 9)
    const pairs: [Promise<{ data: unknown }>, string][] = [
      [spot.time(), '/api/v3/time'],
      [spot.exchangeInfo({ symbol: 'BTCUSDT' }), '/api/v3/exchangeInfo?symbol=BTCUSDT'],
      [spot.klines('BTCUSDT', '1w', { limit: 2 }), '/api/v3/klines?symbol=BTCUSDT&interval=1w&limit=2'],
      [spot.uiklines('BTCUSDT', '1s', { limit: 5 }), '/api/v3/uiKlines?symbol=BTCUSDT&interval=1s&limit=5'],
      [spot.depth('BTCUSDT', { limit: 500 }), '/api/v3/depth?symbol=BTCUSDT&limit=500'],
      [spot.trades('BTCUSDT', { limit: 10 }), '/api/v3/trades?symbol=BTCUSDT&limit=10'],
      [
        spot.historicalTrades('BTCUSDT', { fromId: 99_999_000, limit: 3 }),
        '/api/v3/historicalTrades?symbol=BTCUSDT&fromId=99999000&limit=3',
      ],
      [
        spot.aggTrades('BTCUSDT', { startTime: t, endTime: t + 60_000 }),
        `/api/v3/aggTrades?symbol=BTCUSDT&startTime=${t}&endTime=${t + 60_000}`,
      ],
      [spot.avgPrice('BTCUSDT'), '/api/v3/avgPrice?symbol=BTCUSDT'],
      [
        spot.ticker24hr('', ['BTCUSDT', 'ETHUSDT'], 'MINI'),
        '/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]&type=MINI',
      ],
      [spot.tickerPrice('ETHUSDT'), '/api/v3/ticker/price?symbol=ETHUSDT'],
      [spot.bookTicker('', ['BTCUSDT']), '/api/v3/ticker/bookTicker?symbols=["BTCUSDT"]'],
      [
        spot.rollingWindowTicker('BTCUSDT', [], { windowSize: '4h' }),
        '/api/v3/ticker?symbol=BTCUSDT&windowSize=4h',
      ],
    ]
    for (const [call, path] of pairs)
      expect({ path, data: (await call).data }).toEqual({ path, data: await rest(s, path) })
    // the documented timeUnit option: times in microseconds
    const us = (await spot.klines('BTCUSDT', '1m', { limit: 1, timeUnit: 'MICROSECOND' })).data as number[][]
    const ms = await rest(s, '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1')
    expect([us[0]![0], us[0]![6]]).toEqual([ms[0][0] * 1000, ms[0][6] * 1000 + 999])
  })

  it('WebsocketStream: kline 1h, aggTrade, tickers and book streams agree with REST', async () => {
    const s = await start({ from: '2024-01-03T00:59:00Z', symbols: ['BTCUSDT'] })
    const got = new Map<string, Record<string, unknown>[]>()
    const ws = new WebsocketStream({
      logger: quiet,
      wsURL: s.wsUrl,
      callbacks: {
        open: () => {
          ws.aggTrade('BTCUSDT')
          ws.ticker('BTCUSDT')
          ws.miniTicker('BTCUSDT')
          ws.rollingWindowTicker('1h', 'BTCUSDT')
        },
        message: (m: string) => {
          const ev = JSON.parse(m) as Record<string, unknown>
          if (ev.e === undefined && !('u' in ev)) return // a SUBSCRIBE answer
          const kind = String(ev.e ?? 'bookTicker') + (ev.e === 'kline' ? (ev.k as { i: string }).i : '')
          got.set(kind, [...(got.get(kind) ?? []), ev])
        },
      },
    })
    closers.push(() => ws.disconnect())
    ws.kline('BTCUSDT', '1h')
    const kinds = ['kline1h', 'aggTrade', '24hrTicker', '24hrMiniTicker', '1hTicker']
    const closedHour = () => got.get('kline1h')?.find((e) => (e.k as { x: boolean }).x)
    while (!kinds.every((k) => got.has(k)) || !closedHour()) await new Promise((r) => setTimeout(r, 20))
    const k = closedHour()!.k as Record<string, unknown>
    const want = (
      await rest(s, `/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${Date.UTC(2024, 0, 3)}&limit=1`)
    )[0]
    expect([k.t, k.o, k.h, k.l, k.c, k.v, k.T, k.q, k.n, k.V, k.Q]).toEqual(want.slice(0, 11))
    const aggs = got.get('aggTrade')!.slice(0, 20)
    const rows = await rest(s, `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${aggs[0]!.a}&limit=20`)
    expect(aggs.map((a) => [a.a, a.p, a.q, a.T, a.m])).toEqual(
      rows.map((r: Record<string, unknown>) => [r.a, r.p, r.q, r.T, r.m]),
    )
    const tk = got.get('24hrTicker')![0]!
    const last = await rest(s, `/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${tk.L}&limit=1`)
    expect(tk.c).toBe(last[0].price)
    const mini = got.get('24hrMiniTicker')!.find((m) => m.E === tk.E)
    if (mini) expect([mini.o, mini.h, mini.l, mini.c, mini.v]).toEqual([tk.o, tk.h, tk.l, tk.c, tk.v])
  })
})
