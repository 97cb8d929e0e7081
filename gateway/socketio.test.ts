import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Book, Kline, Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { Indicators } from '../processors/indicators.ts'
import type { Ranking } from '../processors/ranking.ts'
import { until } from '../test/until.ts'
import { StoreReader } from './readers/stores.ts'
import { startGateway } from './server.ts'
import { GatewayBed, type Market, recordedMarket, splitMarket } from './testing.ts'

// Socket.IO with socket.io-client: a recorded day of BTCUSDT and ETHUSDT, the last hour held back
// and written after the client subscribed. The client gets `initial` first, then every update of
// the symbol it subscribed to, in order, and nothing of the other symbol.

interface Message {
  channel: string
  stream: string
  symbol?: string
  interval?: string
  data: unknown
}

const LIVE_FROM = Date.parse('2024-01-09T23:00:00Z')
let g: GatewayBed
let live: Record<string, Market>
let socket: Socket
const got: { event: string; m: Message }[] = []

const emit = (event: string, body: unknown) =>
  new Promise<{ ok: boolean; channel?: string; error?: string; message?: string }>((r) =>
    socket.emit(event, body, r),
  )
const updates = (channel: string) =>
  got.filter((x) => x.event === 'update' && x.m.channel === channel).map((x) => x.m)

beforeAll(async () => {
  const markets = ['BTCUSDT', 'ETHUSDT'].map((s) =>
    splitMarket(recordedMarket(s, ['2024-01-09'], 60), LIVE_FROM),
  )
  live = { BTCUSDT: markets[0]![1], ETHUSDT: markets[1]![1] }
  g = await new GatewayBed().start(
    markets.map((m) => m[0]),
    { symbols: ['BTCUSDT', 'ETHUSDT'] },
  )
  socket = io(g.gateway.url, { transports: ['websocket'] })
  socket.on('initial', (m: Message) => got.push({ event: 'initial', m }))
  socket.on('update', (m: Message) => got.push({ event: 'update', m }))
  await new Promise<void>((r) => socket.on('connect', () => r()))
}, 120_000)
afterAll(async () => {
  socket?.disconnect()
  await g?.close()
})

describe('Socket.IO', () => {
  it('initial snapshots on subscribe, then ordered updates of the subscribed symbol only', async () => {
    const subs = [
      { stream: 'kline', symbol: 'BTCUSDT', interval: '1m', limit: 5 },
      { stream: 'kline', symbol: 'BTCUSDT', interval: '1h' },
      { stream: 'trades', symbol: 'BTCUSDT', limit: 3 },
      { stream: 'orderbook', symbol: 'BTCUSDT' },
      { stream: 'indicators', symbol: 'BTCUSDT', interval: '5m', limit: 2 },
      { stream: 'ranking' },
      { stream: 'prediction', symbol: 'BTCUSDT' },
    ]
    const acks = await Promise.all(subs.map((s) => emit('subscribe', s)))
    expect(acks.map((a) => a.channel)).toEqual([
      'kline:BTCUSDT:1m',
      'kline:BTCUSDT:1h',
      'trades:BTCUSDT',
      'orderbook:BTCUSDT',
      'indicators:BTCUSDT:5m',
      'ranking',
      'prediction:BTCUSDT',
    ])
    const initial = (channel: string) => got.find((x) => x.event === 'initial' && x.m.channel === channel)?.m
    const k = initial('kline:BTCUSDT:1m')!
    expect(k).toMatchObject({ stream: 'kline', symbol: 'BTCUSDT', interval: '1m' })
    expect((k.data as Kline[]).map((x) => x.openTime)).toEqual(
      [5, 4, 3, 2, 1].map((i) => LIVE_FROM - i * 60_000),
    )
    expect(initial('trades:BTCUSDT')!.data as Trade[]).toHaveLength(0) // trades only exist for the live hour
    expect(initial('orderbook:BTCUSDT')!.data).toBeNull()
    expect((initial('indicators:BTCUSDT:5m')!.data as Indicators[]).map((x) => x.openTime)).toEqual([
      LIVE_FROM - 600_000,
      LIVE_FROM - 300_000,
    ])
    expect((initial('ranking')!.data as Ranking).symbols).toBe(2)
    expect(initial('prediction:BTCUSDT')!.data).toBeNull()
    const initials = got.length

    await g.produce([live.BTCUSDT!, live.ETHUSDT!])
    const btc = live.BTCUSDT!
    await until('every live 1m kline and trade of BTCUSDT', () => {
      return (
        updates('kline:BTCUSDT:1m').length === 60 && updates('trades:BTCUSDT').length === btc.trades.length
      )
    })
    await until('the final 1h candle and 12 5m indicators', () => {
      const h = updates('kline:BTCUSDT:1h').map((m) => m.data as Kline)
      return h.at(-1)?.closed === true && updates('indicators:BTCUSDT:5m').length === 12
    })
    // initial came before any update of its channel
    expect(got.slice(0, initials).every((x) => x.event === 'initial')).toBe(true)
    expect(updates('kline:BTCUSDT:1m').map((m) => m.data)).toEqual(btc.klines)
    expect(updates('trades:BTCUSDT').map((m) => m.data)).toEqual(btc.trades)
    const hours = updates('kline:BTCUSDT:1h').map((m) => m.data as Kline)
    expect(hours.every((h) => h.openTime === LIVE_FROM && h.symbol === 'BTCUSDT')).toBe(true)
    expect(hours.at(-1)).toMatchObject({ closed: true, close: btc.klines.at(-1)!.close })
    const books = updates('orderbook:BTCUSDT').map((m) => m.data as Book)
    expect(books.at(-1)).toEqual(btc.books.at(-1))
    expect(books.map((b) => b.lastUpdateId)).toEqual(
      [...books.map((b) => b.lastUpdateId)].sort((a, b) => a - b),
    )
    const ind = updates('indicators:BTCUSDT:5m').map((m) => (m.data as Indicators).openTime)
    expect(ind).toEqual(Array.from({ length: 12 }, (_, i) => LIVE_FROM + i * 300_000))
    await until('a ranking update', () => updates('ranking').length > 0)
    // nothing of ETHUSDT, which was not subscribed
    expect(got.filter((x) => x.m.symbol === 'ETHUSDT')).toEqual([])
    expect(got.every((x) => x.m.symbol === undefined || x.m.symbol === 'BTCUSDT')).toBe(true)
  })

  it('a prediction written to crypto_predictions (a topic created after the gateway started) is an update', async () => {
    const prediction = {
      symbol: 'BTCUSDT',
      time: LIVE_FROM + 3_600_000,
      horizonMs: 300_000,
      predictedPrice: 46_000,
    }
    await g.bed.produce(topics.predictions, [
      { key: 'ETHUSDT', value: { ...prediction, symbol: 'ETHUSDT' } },
      { key: 'BTCUSDT', value: prediction },
    ])
    await until('the prediction update', () => updates('prediction:BTCUSDT').length === 1)
    expect(updates('prediction:BTCUSDT')[0]).toEqual({
      channel: 'prediction:BTCUSDT',
      stream: 'prediction',
      symbol: 'BTCUSDT',
      data: prediction,
    })
  })

  it('unsubscribe stops the updates of that channel', async () => {
    expect(await emit('unsubscribe', { stream: 'trades', symbol: 'BTCUSDT' })).toEqual({
      ok: true,
      channel: 'trades:BTCUSDT',
    })
    const before = updates('trades:BTCUSDT').length
    const next = splitMarket(
      recordedMarket('BTCUSDT', ['2024-01-10'], 5),
      Date.parse('2024-01-10T23:55:00Z'),
    )[1]
    await g.produce([{ klines: next.klines.slice(0, 1), trades: next.trades, books: [] }])
    await until('the next 1m kline', () => updates('kline:BTCUSDT:1m').length > 60)
    expect(updates('trades:BTCUSDT').length).toBe(before)
  })

  it('bad subscriptions are refused in the ack with the reason', async () => {
    expect(await emit('subscribe', { stream: 'kline', symbol: 'NOPEUSDT' })).toEqual({
      ok: false,
      error: 'INVALID_SUBSCRIPTION',
      message: 'symbol: unknown symbol "NOPEUSDT"',
    })
    expect((await emit('subscribe', { stream: 'kline', symbol: 'BTCUSDT', interval: '3m' })).ok).toBe(false)
    expect((await emit('subscribe', { stream: 'candles', symbol: 'BTCUSDT' })).message).toMatch(/^stream: /)
    expect((await emit('subscribe', { stream: 'trades', symbol: 'BTCUSDT', limit: 5000 })).message).toMatch(
      /limit/,
    )
    expect((await emit('subscribe', 'kline')).ok).toBe(false)
  })

  it('a connection holds at most maxSubscriptions channels', async () => {
    const small = await startGateway({
      port: 0,
      symbols: ['BTCUSDT', 'ETHUSDT'],
      reader: new StoreReader(g.streams),
      maxSubscriptions: 2,
    })
    const s = io(small.url, { transports: ['websocket'], forceNew: true })
    const sub = (body: unknown) =>
      new Promise<{ ok: boolean; error?: string }>((r) => s.emit('subscribe', body, r))
    try {
      expect((await sub({ stream: 'ranking' })).ok).toBe(true)
      expect((await sub({ stream: 'trades', symbol: 'ETHUSDT' })).ok).toBe(true)
      expect((await sub({ stream: 'ranking' })).ok).toBe(true) // already held
      expect(await sub({ stream: 'orderbook', symbol: 'ETHUSDT' })).toEqual({
        ok: false,
        error: 'TOO_MANY_SUBSCRIPTIONS',
        message: 'at most 2 channels per connection',
      })
    } finally {
      s.disconnect()
      await small.close()
    }
  })
})
