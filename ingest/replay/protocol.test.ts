import { spawnSync } from 'node:child_process'
import { request } from 'node:https'
import Big from 'big.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { add, cmp, div } from '../../common/decimal.ts'
import { tempDirs } from '../../test/tmpdirs.ts'
import { type ReplayOptions, type ReplayServer, startReplayServer } from './index.ts'
import { bucketStart, nextStart } from './intervals.ts'
import { SYMBOLS } from './symbols.ts'
import { WeightLimiter } from './weights.ts'

// One test per REST path and stream family: shapes, Binance's error codes, request weights, time
// units, interval alignment, and that every view (klines of any interval, trades, tickers, the
// book) is built from the same minutes. Speed 'max' with no WebSocket client: the clock stands
// still, so REST answers compare exactly.

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, checked by the assertions
type Json = any
let server: ReplayServer
const NOW = Date.UTC(2024, 0, 10, 13, 30, 30)
const get = async (path: string, s = server, headers: Record<string, string> = {}) => {
  const r = await fetch(`${s.restUrl}${path}`, { headers })
  return { status: r.status, headers: r.headers, body: (await r.json()) as Json }
}
const body = async (path: string, s = server) => (await get(path, s)).body
const extra: ReplayServer[] = []
const start = async (o: ReplayOptions) => {
  const s = await startReplayServer({ symbols: ['BTCUSDT'], speed: 'max', ...o })
  extra.push(s)
  return s
}

beforeAll(async () => {
  server = await startReplayServer({
    symbols: ['BTCUSDT', 'ETHUSDT', 'PEPEUSDT', 'SOLUSDT'],
    from: new Date(NOW).toISOString(),
    speed: 'max',
  })
})
afterAll(async () => {
  await server.close()
  for (const s of extra) await s.close()
})

const sum = (xs: string[]) => xs.reduce((a, b) => add(a, b), '0')
const maxOf = (xs: string[]) => xs.reduce((a, b) => (cmp(a, b) >= 0 ? a : b))
const minOf = (xs: string[]) => xs.reduce((a, b) => (cmp(a, b) <= 0 ? a : b))

describe('replay REST: paths', () => {
  it('uiKlines equals klines; limit above 1000 is cut to 1000, 0 is -1130', async () => {
    const q = 'symbol=BTCUSDT&interval=1m&limit=7'
    expect(await body(`/api/v3/uiKlines?${q}`)).toEqual(await body(`/api/v3/klines?${q}`))
    expect((await body('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5000')).length).toBe(1000)
    expect((await get('/api/v3/uiKlines?symbol=BTCUSDT&interval=1m&limit=0')).body.code).toBe(-1130)
  })

  it('1s, 3d, 1w and 1M klines: Binance alignment, aggregated from the same minutes', async () => {
    // 1s: the 60 seconds of a closed minute add up to its 1m kline
    const m = Date.UTC(2024, 0, 10, 13, 0)
    const secs = await body(`/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=${m}&limit=60`)
    const [one] = await body(`/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${m}&limit=1`)
    expect(secs.map((k: Json[]) => k[0])).toEqual(Array.from({ length: 60 }, (_, i) => m + i * 1000))
    expect(secs[0][6]).toBe(m + 999)
    expect(secs[0][1]).toBe(one[1])
    expect(secs[59][4]).toBe(one[4])
    expect(maxOf(secs.map((k: Json[]) => k[2]))).toBe(one[2])
    expect(minOf(secs.map((k: Json[]) => k[3]))).toBe(one[3])
    expect(cmp(sum(secs.map((k: Json[]) => k[5])), one[5])).toBe(0)
    expect(cmp(sum(secs.map((k: Json[]) => k[9])), one[9])).toBe(0)
    // 1w starts on Monday 00:00 UTC: 2024-01-08 was a Monday
    const weeks = await body('/api/v3/klines?symbol=BTCUSDT&interval=1w&limit=5')
    expect(weeks.map((k: Json[]) => new Date(k[0]).toISOString())).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
    ])
    expect(weeks[0][6]).toBe(Date.UTC(2024, 0, 8) - 1)
    // the closed week equals its seven days
    const days = await body(
      `/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=${Date.UTC(2024, 0, 1)}&limit=7`,
    )
    expect(weeks[0][1]).toBe(days[0][1])
    expect(weeks[0][4]).toBe(days[6][4])
    expect(weeks[0][2]).toBe(maxOf(days.map((k: Json[]) => k[2])))
    expect(weeks[0][8]).toBe(days.reduce((a: number, k: Json[]) => a + k[8], 0))
    expect(cmp(weeks[0][5], sum(days.map((k: Json[]) => k[5])))).toBe(0)
    // 1M: calendar months; 3d: every third day from the epoch
    const month = await body('/api/v3/klines?symbol=BTCUSDT&interval=1M&limit=3')
    expect(month.map((k: Json[]) => [k[0], k[6]])).toEqual([[Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1) - 1]])
    const three = await body('/api/v3/klines?symbol=BTCUSDT&interval=3d&limit=2')
    for (const k of three) expect(k[0] % (3 * 86_400_000)).toBe(0)
    expect(nextStart('1M', Date.UTC(2024, 0, 1))).toBe(Date.UTC(2024, 1, 1))
    expect(bucketStart('1M', Date.UTC(2024, 1, 29, 23))).toBe(Date.UTC(2024, 1, 1))
    expect(bucketStart('1w', Date.UTC(2024, 0, 14, 23, 59))).toBe(Date.UTC(2024, 0, 8))
  })

  it('trades, historicalTrades and aggTrades: the same trades and ids; limits and windows', async () => {
    const trades = await body('/api/v3/trades?symbol=BTCUSDT&limit=1000')
    expect(trades.length).toBe(1000)
    trades.forEach((t: Json, i: number) => {
      if (i > 0) expect(t.id).toBe(trades[i - 1].id + 1)
      expect(t.time).toBeLessThanOrEqual(NOW)
      expect(t.quoteQty).toBe(new Big(t.price).times(t.qty).toFixed(8, Big.roundDown))
    })
    expect((await body('/api/v3/trades?symbol=BTCUSDT&limit=5000')).length).toBe(1000)
    const hist = await body(`/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${trades[0].id}&limit=1000`)
    expect(hist).toEqual(trades)
    const agg = await body(`/api/v3/aggTrades?symbol=BTCUSDT&fromId=${trades[0].id}&limit=10`)
    expect(agg).toEqual(
      trades.slice(0, 10).map((t: Json) => ({
        a: t.id,
        p: t.price,
        q: t.qty,
        f: t.id,
        l: t.id,
        T: t.time,
        m: t.isBuyerMaker,
        M: true,
      })),
    )
    const t0 = trades[100].time
    const window = await body(
      `/api/v3/aggTrades?symbol=BTCUSDT&startTime=${t0}&endTime=${t0 + 30_000}&limit=1000`,
    )
    expect(window[0].a).toBe(trades.find((t: Json) => t.time >= t0).id)
    expect(window.every((a: Json) => a.T >= t0 && a.T <= t0 + 30_000)).toBe(true)
    const bad = await get(`/api/v3/aggTrades?symbol=BTCUSDT&startTime=${t0}&endTime=${t0 + 3_600_001}`)
    expect([bad.status, bad.body.code]).toEqual([400, -1127])
  })

  it('avgPrice is Σ quote / Σ base of the last 5 minutes', async () => {
    const a = await body('/api/v3/avgPrice?symbol=ETHUSDT')
    const k = await body('/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=5')
    expect(a.mins).toBe(5)
    expect(a.price).toBe(div(sum(k.map((r: Json[]) => r[7])), sum(k.map((r: Json[]) => r[5]))))
    expect(a.closeTime).toBeLessThanOrEqual(NOW)
  })

  it('ticker (rolling windows) and ticker/tradingDay equal the klines of their window', async () => {
    const h = await body('/api/v3/ticker?symbol=BTCUSDT&windowSize=1h')
    const k = await body('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=60')
    expect(h.openTime).toBe(k[0][0])
    expect(h.closeTime).toBe(NOW)
    expect([h.openPrice, h.lastPrice, h.highPrice, h.lowPrice]).toEqual([
      k[0][1],
      k[59][4],
      maxOf(k.map((r: Json[]) => r[2])),
      minOf(k.map((r: Json[]) => r[3])),
    ])
    expect(h.count).toBe(k.reduce((a: number, r: Json[]) => a + r[8], 0))
    const day = await body('/api/v3/ticker/tradingDay?symbols=["BTCUSDT","ETHUSDT"]&type=MINI')
    const [d] = await body('/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=1')
    expect(day[0]).toMatchObject({
      symbol: 'BTCUSDT',
      openTime: d[0],
      openPrice: d[1],
      lastPrice: d[4],
      volume: d[5],
    })
    expect(day[0]).not.toHaveProperty('priceChange')
    for (const [path, code] of [
      ['/api/v3/ticker', -1102],
      ['/api/v3/ticker?symbol=BTCUSDT&windowSize=8d', -1100],
      ['/api/v3/ticker?symbol=BTCUSDT&windowSize=60m', -1100],
      ['/api/v3/ticker?symbol=BTCUSDT&type=HUGE', -1139],
      ['/api/v3/ticker/tradingDay?symbol=BTCUSDT&timeZone=8', -1130],
      ['/api/v3/ticker/tradingDay', -1102],
    ] as const) {
      const r = await get(path)
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 400, code })
    }
  })

  it('ticker/price and ticker/bookTicker in all three forms; the book top is the depth top', async () => {
    const all = await body('/api/v3/ticker/price')
    expect(all.map((p: Json) => p.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'PEPEUSDT', 'SOLUSDT'])
    const [k] = await body('/api/v3/klines?symbol=PEPEUSDT&interval=1m&limit=1')
    expect(await body('/api/v3/ticker/price?symbol=PEPEUSDT')).toEqual({ symbol: 'PEPEUSDT', price: k[4] })
    expect(
      (await body('/api/v3/ticker/price?symbols=["SOLUSDT","BTCUSDT"]')).map((p: Json) => p.symbol),
    ).toEqual(['SOLUSDT', 'BTCUSDT'])
    const bt = await body('/api/v3/ticker/bookTicker?symbol=SOLUSDT')
    const d = await body('/api/v3/depth?symbol=SOLUSDT&limit=1')
    expect(bt).toEqual({
      symbol: 'SOLUSDT',
      bidPrice: d.bids[0][0],
      bidQty: d.bids[0][1],
      askPrice: d.asks[0][0],
      askQty: d.asks[0][1],
    })
    expect((await body('/api/v3/ticker/bookTicker')).length).toBe(4)
    expect((await get('/api/v3/ticker/bookTicker?symbols=["SOLUSDT","SOLUSDT"]')).body.code).toBe(-1151)
  })

  it('order books have at least 100 levels per side for every symbol', async () => {
    const s = await start({ symbols: SYMBOLS.map((x) => x.symbol), from: '2024-03-01T00:00:00Z' })
    for (const { symbol } of SYMBOLS) {
      const d = await body(`/api/v3/depth?symbol=${symbol}&limit=5000`, s)
      expect({ symbol, bids: d.bids.length >= 100, asks: d.asks.length >= 100 }).toEqual({
        symbol,
        bids: true,
        asks: true,
      })
      expect(cmp(d.bids[0][0], d.asks[0][0])).toBe(-1)
      expect(cmp(d.bids.at(-1)[0], '0')).toBe(1)
    }
  })
})

describe('replay REST: headers, weights, time units, duplicates', () => {
  it('every answer carries the weight used and a Date from the virtual clock', async () => {
    const weights: [string, number][] = [
      ['/api/v3/ping', 1],
      ['/api/v3/time', 1],
      ['/api/v3/exchangeInfo', 20],
      ['/api/v3/depth?symbol=BTCUSDT&limit=100', 5],
      ['/api/v3/depth?symbol=BTCUSDT&limit=500', 25],
      ['/api/v3/depth?symbol=BTCUSDT&limit=1000', 50],
      ['/api/v3/depth?symbol=BTCUSDT&limit=5000', 250],
      ['/api/v3/trades?symbol=BTCUSDT', 25],
      ['/api/v3/historicalTrades?symbol=BTCUSDT', 25],
      ['/api/v3/aggTrades?symbol=BTCUSDT', 4],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m', 2],
      ['/api/v3/uiKlines?symbol=BTCUSDT&interval=1m', 2],
      ['/api/v3/avgPrice?symbol=BTCUSDT', 2],
      ['/api/v3/ticker/24hr?symbol=BTCUSDT', 2],
      ['/api/v3/ticker/24hr', 80],
      ['/api/v3/ticker?symbols=["BTCUSDT","ETHUSDT"]', 8],
      ['/api/v3/ticker/tradingDay?symbol=BTCUSDT', 4],
      ['/api/v3/ticker/price?symbol=BTCUSDT', 2],
      ['/api/v3/ticker/price', 4],
      ['/api/v3/ticker/bookTicker?symbol=BTCUSDT', 2],
      ['/api/v3/ticker/bookTicker', 4],
    ]
    let used = Number((await get('/api/v3/ping')).headers.get('x-mbx-used-weight-1m'))
    for (const [path, w] of weights) {
      const r = await get(path)
      expect(r.status).toBe(200)
      const now = Number(r.headers.get('x-mbx-used-weight-1m'))
      // a new wall minute starts the count again
      expect({ path, w: now === w ? w : now - used }).toEqual({ path, w })
      used = now
      expect(r.headers.get('date')).toBe(new Date(NOW).toUTCString())
    }
  })

  it('past the weight limit: 429 -1003 with Retry-After, and the header still sent', async () => {
    const s = await start({ from: '2024-01-02T00:00:00Z', weightLimit: 30 })
    let r = await get('/api/v3/exchangeInfo', s)
    expect(r.status).toBe(200)
    r = await get('/api/v3/exchangeInfo', s)
    if (r.status === 200) r = await get('/api/v3/exchangeInfo', s) // a new wall minute began
    expect(r.status).toBe(429)
    expect(r.body.code).toBe(-1003)
    const wait = Number(r.headers.get('retry-after'))
    expect(wait >= 1 && wait <= 60).toBe(true)
    expect(Number(r.headers.get('x-mbx-used-weight-1m'))).toBeLessThanOrEqual(30)
    const l = new WeightLimiter(10)
    expect(l.take('a', 6, 0)).toEqual({ used: 6 })
    expect(l.take('a', 6, 1000)).toEqual({ used: 6, retryAfter: 59 })
    expect(l.take('b', 6, 1000)).toEqual({ used: 6 })
    expect(l.take('a', 6, 60_000)).toEqual({ used: 6 })
  })

  it('X-MBX-TIME-UNIT: MICROSECOND gives every time in µs; µs startTime is accepted', async () => {
    const us = { 'X-MBX-TIME-UNIT': 'MICROSECOND' }
    expect((await get('/api/v3/time', server, us)).body.serverTime).toBe(NOW * 1000)
    const k = (await get('/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=1', server, us)).body[0]
    expect([k[0] % 1_000_000, k[6] - k[0]]).toEqual([0, 3_600_000_000 - 1])
    const t = (await get('/api/v3/trades?symbol=BTCUSDT&limit=1', server, us)).body[0]
    const a = (await get(`/api/v3/aggTrades?symbol=BTCUSDT&fromId=${t.id}&limit=1`, server, us)).body[0]
    expect(a.T).toBe(t.time)
    expect(String(t.time).length).toBe(16)
    const tk = (await get('/api/v3/ticker/24hr?symbol=BTCUSDT', server, us)).body
    expect(tk.closeTime).toBe(NOW * 1000)
    const ms = await body(
      `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${(NOW - 120_000) * 1000}&limit=1`,
    )
    expect(ms[0][0]).toBe(NOW - 120_000 - (NOW % 60_000) + 60_000)
    expect((await get('/api/v3/time', server, { 'X-MBX-TIME-UNIT': 'NANO' })).status).toBe(400)
  })

  it('a parameter sent twice is -1101; unknown paths 404 -1000 with a weight header', async () => {
    const r = await get('/api/v3/klines?symbol=BTCUSDT&interval=1m&interval=5m')
    expect([r.status, r.body.code]).toEqual([400, -1101])
    expect(r.headers.get('x-mbx-used-weight-1m')).not.toBeNull()
    const n = await get('/api/v3/account')
    expect([n.status, n.body.code]).toEqual([404, -1000])
  })
})

// --- streams ---

type Frame = { stream: string; data: Json }
/** Frames of a combined-stream connection until `done` says so. */
function frames(
  url: string,
  done: (byStream: Map<string, Json[]>) => boolean,
  ca?: string,
): Promise<Map<string, Json[]>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ca ? { ca } : {})
    const by = new Map<string, Json[]>()
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Frame
      by.set(f.stream, [...(by.get(f.stream) ?? []), f.data])
      if (done(by)) {
        ws.terminate()
        resolve(by)
      }
    })
    ws.on('error', reject)
  })
}

describe('replay WebSocket: streams', () => {
  it('kline_<interval> for every interval: closed candles equal REST; 1s every second', async () => {
    const s = await start({ from: '2024-01-02T23:58:00Z' })
    const ivs = [
      '1s',
      '1m',
      '3m',
      '5m',
      '15m',
      '30m',
      '1h',
      '2h',
      '4h',
      '6h',
      '8h',
      '12h',
      '1d',
      '3d',
      '1w',
      '1M',
    ]
    const names = ivs.map((i) => `btcusdt@kline_${i}`)
    const closed = (b: Map<string, Json[]>, n: string) => (b.get(n) ?? []).filter((f) => f.k.x)
    const by = await frames(
      `${s.wsUrl}/stream?streams=${names.join('/')}`,
      (b) =>
        ['1s', '1m', '1h', '1d', '3m'].every((i) => closed(b, `btcusdt@kline_${i}`).length >= 1) &&
        names.every((n) => b.has(n)),
    )
    for (const iv of ['1s', '1m', '3m', '1h', '1d']) {
      const k = closed(by, `btcusdt@kline_${iv}`)[0].k
      const [r] = await body(`/api/v3/klines?symbol=BTCUSDT&interval=${iv}&startTime=${k.t}&limit=1`, s)
      expect({ iv, k: [k.t, k.o, k.h, k.l, k.c, k.v, k.T, k.n, k.V, k.i] }).toEqual({
        iv,
        k: [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[8], r[9], iv],
      })
    }
    // open 1M/1w candles start where Binance starts them
    expect(by.get('btcusdt@kline_1M')![0].k.t).toBe(Date.UTC(2024, 0, 1))
    expect(by.get('btcusdt@kline_1w')![0].k.t).toBe(Date.UTC(2024, 0, 1))
  })

  it('ticker, miniTicker, ticker_<window>, their !…@arr forms, avgPrice, bookTicker and aggTrade', async () => {
    const s = await start({ symbols: ['BTCUSDT', 'ETHUSDT'], from: '2024-01-05T12:00:00Z' })
    const names = [
      'btcusdt@ticker',
      'btcusdt@miniTicker',
      'btcusdt@ticker_1h',
      'btcusdt@ticker_4h',
      'btcusdt@ticker_1d',
      '!ticker@arr',
      '!miniTicker@arr',
      '!ticker_1h@arr',
      'ethusdt@avgPrice',
      'ethusdt@bookTicker',
      'ethusdt@aggTrade',
    ]
    const by = await frames(`${s.wsUrl}/stream?streams=${names.join('/')}`, (b) =>
      names.every((n) => (b.get(n)?.length ?? 0) >= 2),
    )
    const t = by.get('btcusdt@ticker')![0]
    expect(t).toMatchObject({ e: '24hrTicker', s: 'BTCUSDT' })
    for (const f of [
      'p',
      'P',
      'w',
      'x',
      'c',
      'Q',
      'b',
      'B',
      'a',
      'A',
      'o',
      'h',
      'l',
      'v',
      'q',
      'O',
      'C',
      'F',
      'L',
      'n',
    ])
      expect(t).toHaveProperty(f)
    expect(t.C - t.O).toBe(86_400_000)
    const all = by.get('!ticker@arr')!.find((a) => a[0].E === t.E)
    expect(all.map((x: Json) => x.s)).toEqual(['BTCUSDT', 'ETHUSDT'])
    expect(all[0]).toEqual(t)
    const mini = by.get('!miniTicker@arr')![0]
    expect(mini[0]).toMatchObject({ e: '24hrMiniTicker' })
    const h1 = by.get('btcusdt@ticker_1h')![0]
    expect(h1.e).toBe('1hTicker')
    expect(h1.O % 60_000).toBe(0)
    expect(by.get('btcusdt@ticker_4h')![0].e).toBe('4hTicker')
    expect(by.get('btcusdt@ticker_1d')![0].e).toBe('1dTicker')
    expect(by.get('!ticker_1h@arr')![0][0].e).toBe('1hTicker')
    const ap = by.get('ethusdt@avgPrice')![0]
    expect(ap).toMatchObject({ e: 'avgPrice', s: 'ETHUSDT', i: '5m' })
    // the 5-minute average lies within those minutes' range
    const k = await body(`/api/v3/klines?symbol=ETHUSDT&interval=1m&endTime=${ap.E}&limit=5`, s)
    expect(
      cmp(ap.w, minOf(k.map((r: Json[]) => r[3]))) >= 0 && cmp(ap.w, maxOf(k.map((r: Json[]) => r[2]))) <= 0,
    ).toBe(true)
    const bt = by.get('ethusdt@bookTicker')![0]
    expect(cmp(bt.b, bt.a)).toBe(-1)
    const ag = by.get('ethusdt@aggTrade')!
    const rest = await body(`/api/v3/aggTrades?symbol=ETHUSDT&fromId=${ag[0].a}&limit=2`, s)
    expect(
      ag.slice(0, 2).map((a: Json) => ({ a: a.a, p: a.p, q: a.q, f: a.f, l: a.l, T: a.T, m: a.m, M: a.M })),
    ).toEqual(rest)
  })

  it('/ws/<anything> and /stream upgrade (SUBSCRIBE follows); timeUnit=MICROSECOND on the URL', async () => {
    const s = await start({ from: '2024-01-02T00:00:00Z' })
    for (const path of ['/ws/0', '/ws/some-listen-key', '/stream', '/stream/1']) {
      const ws = new WebSocket(`${s.wsUrl}${path}`)
      const got = await new Promise<Json>((resolve, reject) => {
        ws.on('open', () =>
          ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 1 })),
        )
        ws.on('message', (d) => {
          const m = JSON.parse(d.toString())
          if (m.id === undefined) resolve(m)
        })
        ws.on('error', reject)
      })
      ws.terminate()
      expect(path.startsWith('/stream') ? got.data.e : got.e).toBe('trade')
    }
    const by = await frames(
      `${s.wsUrl}/stream?streams=btcusdt@trade/btcusdt@kline_1m&timeUnit=MICROSECOND`,
      (b) => (b.get('btcusdt@kline_1m')?.length ?? 0) > 0 && b.has('btcusdt@trade'),
    )
    const tr = by.get('btcusdt@trade')![0]
    expect([String(tr.E).length, String(tr.T).length, tr.T % 1000]).toEqual([16, 16, 0])
    const k = by.get('btcusdt@kline_1m')![0].k
    expect(k.T - k.t).toBe(60_000_000 - 1)
  })
})

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

describe('replay --tls', () => {
  const tmp = tempDirs('replay-tls-')
  it.skipIf(!hasOpenssl)('serves https:// and wss:// with a generated self-signed certificate', async () => {
    const s = await start({ from: '2024-01-02T00:00:00Z', tls: true, tlsDir: tmp() })
    expect(s.restUrl.startsWith('https://')).toBe(true)
    expect(s.wsUrl.startsWith('wss://')).toBe(true)
    expect(s.certificate?.path).toMatch(/cert\.pem$/)
    const ca = s.certificate!.pem
    const time = await new Promise<Json>((resolve, reject) => {
      request(`${s.restUrl}/api/v3/time`, { ca }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve(JSON.parse(text)))
      })
        .on('error', reject)
        .end()
    })
    expect(time.serverTime).toBe(s.now())
    const by = await frames(`${s.wsUrl}/stream?streams=btcusdt@trade`, (b) => b.has('btcusdt@trade'), ca)
    expect(by.get('btcusdt@trade')![0].e).toBe('trade')
  })
})
