import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Book, Kline, Trade } from '../common/records.ts'
import { until } from '../test/until.ts'
import { GatewayBed, type Market, recordedMarket, splitMarket } from './testing.ts'

// The original plain WebSocket endpoints with the `ws` client: message types and order
// (initial, latest, update for klines; initial, update for book and trades), only the requested
// symbol, and refused upgrades for bad parameters.

const LIVE_FROM = Date.parse('2024-01-09T23:30:00Z')
let g: GatewayBed
let live: Market
let other: Market

interface Msg {
  type: string
  data: unknown
}

function connect(path: string): Promise<{ ws: WebSocket; msgs: Msg[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${g.gateway.url.replace('http', 'ws')}${path}`)
    const msgs: Msg[] = []
    ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Msg))
    ws.on('open', () => resolve({ ws, msgs }))
    ws.on('error', reject)
  })
}

function refused(path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${g.gateway.url.replace('http', 'ws')}${path}`)
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (c: Buffer) => {
        text += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    ws.on('error', () => {})
  })
}

beforeAll(async () => {
  const markets = ['BTCUSDT', 'ETHUSDT'].map((s) =>
    splitMarket(recordedMarket(s, ['2024-01-09'], 40), LIVE_FROM),
  )
  live = markets[0]![1]
  g = await new GatewayBed().start(
    markets.map((m) => m[0]),
    { symbols: ['BTCUSDT', 'ETHUSDT'] },
  )
  // the other symbol's live part goes in too: none of it may reach a BTCUSDT client
  other = markets[1]![1]
}, 120_000)
afterAll(() => g?.close())

describe('plain WebSocket endpoints', () => {
  it('/ws/kline, /ws/orderbook, /ws/trades: initial (+ latest), then updates in order', async () => {
    const kline = await connect('/ws/kline?symbol=BTCUSDT&limit=3')
    const book = await connect('/ws/orderbook?symbol=BTCUSDT')
    const trades = await connect('/ws/trades?symbol=BTCUSDT&limit=4')
    await until(
      'initial messages',
      () => kline.msgs.length >= 2 && book.msgs.length >= 1 && trades.msgs.length >= 1,
    )
    const [initial, latest] = kline.msgs as [Msg, Msg]
    expect(initial.type).toBe('initial')
    expect((initial.data as Kline[]).map((k) => k.openTime)).toEqual(
      [3, 2, 1].map((i) => LIVE_FROM - i * 60_000),
    )
    expect(latest).toEqual({ type: 'latest', data: (initial.data as Kline[])[2] })
    expect(book.msgs[0]!.type).toBe('initial')
    expect((book.msgs[0]!.data as Book).time).toBeLessThan(LIVE_FROM)
    expect(trades.msgs[0]!.type).toBe('initial')
    expect(trades.msgs[0]!.data as Trade[]).toHaveLength(4)

    await g.produce([live, other])
    await until('the live hour', () => kline.msgs.length === 2 + live.klines.length)
    await until('every book and trade', () => {
      return book.msgs.length === 1 + live.books.length && trades.msgs.length === 1 + live.trades.length
    })
    expect(kline.msgs.slice(2)).toEqual(live.klines.map((k) => ({ type: 'update', data: k })))
    expect(book.msgs.slice(1)).toEqual(live.books.map((b) => ({ type: 'update', data: b })))
    expect(trades.msgs.slice(1)).toEqual(live.trades.map((t) => ({ type: 'update', data: t })))
    for (const c of [kline, book, trades]) c.ws.close()
  })

  const bad: [string, number, RegExp][] = [
    ['/ws/kline', 400, /^symbol: is required$/],
    ['/ws/kline?symbol=NOPEUSDT', 400, /^symbol: unknown symbol/],
    ['/ws/kline?symbol=BTCUSDT&limit=0', 400, /^limit: must be at least 1$/],
    ['/ws/trades?symbol=BTCUSDT&limit=many', 400, /^limit: expected a non-negative integer/],
    ['/ws/orderbook?symbol=BTCUSDT&depth=5', 400, /^unknown parameter "depth"$/],
    ['/ws/ticker?symbol=BTCUSDT', 404, /^no WebSocket endpoint \/ws\/ticker$/],
  ]
  it.each(bad)('%s → %i', async (path, status, message) => {
    const r = await refused(path)
    expect(r.status).toBe(status)
    expect((r.body as { message: string }).message).toMatch(message)
  })
})
