import { io as connectIo } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { registry } from '../common/metrics.ts'
import type { Book } from '../common/records.ts'
import { until } from '../test/until.ts'
import { bookAround, GatewayBed, recordedMarket } from './testing.ts'

// A client that stops reading never holds up the others: with its socket paused, order-book
// updates pile up in the kernel, then its outbox conflates them to the latest book, while a
// reading client on the same channel gets every update. Once it reads again it receives the
// newest book last (not the whole backlog).

const BOOKS = 15_000
let g: GatewayBed

beforeAll(async () => {
  g = await new GatewayBed().start([recordedMarket('BTCUSDT', ['2024-01-09'], 1)], {
    symbols: ['BTCUSDT'],
    maxBufferedBytes: 262_144,
    maxBuffered: 1000,
  })
}, 120_000)
afterAll(() => g?.close())

function connect(path: string): Promise<{ ws: WebSocket; books: Book[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${g.gateway.url.replace('http', 'ws')}${path}`)
    const books: Book[] = []
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; data: Book }
      if (m.type === 'update') books.push(m.data)
    })
    ws.on('open', () => resolve({ ws, books }))
    ws.on('error', reject)
  })
}

const metric = async (name: string, kind = 'ws') => {
  const m = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return m
    .filter((v) => v.labels.kind === kind && v.labels.stream === 'orderbook')
    .reduce((s, v) => s + v.value, 0)
}

/** A Socket.IO client on the BTCUSDT book, and the `ws` socket under it (to pause reading). */
async function socketIoClient(): Promise<{ books: Book[]; raw: WebSocket; close(): void }> {
  const socket = connectIo(g.gateway.url, { transports: ['websocket'], forceNew: true })
  const books: Book[] = []
  socket.on('update', (m: { data: Book }) => books.push(m.data))
  await new Promise<void>((r) => socket.on('connect', () => r()))
  await new Promise((r) => socket.emit('subscribe', { stream: 'orderbook', symbol: 'BTCUSDT' }, r))
  const raw = (socket.io.engine as unknown as { transport: { ws: WebSocket } }).transport.ws
  return { books, raw, close: () => socket.disconnect() }
}

describe('slow clients', () => {
  it('WebSocket: a paused client is conflated to the latest book, a reading one gets every update', async () => {
    const fast = await connect('/ws/orderbook?symbol=BTCUSDT')
    const slow = await connect('/ws/orderbook?symbol=BTCUSDT')
    slow.ws.pause()
    const conflatedBefore = await metric('cs_gateway_messages_conflated_total')
    const t0 = Date.parse('2024-01-10T00:00:00Z')
    const books = Array.from({ length: BOOKS }, (_, i) =>
      bookAround('BTCUSDT', '46000.00', 2, t0 + i, 10_000 + i),
    )
    await g.produce([{ klines: [], trades: [], books }])
    await until('every book at the fast client', () => fast.books.length === BOOKS, 60_000)
    expect(fast.books.map((b) => b.lastUpdateId)).toEqual(books.map((b) => b.lastUpdateId))
    expect(slow.books.length).toBeLessThan(BOOKS)

    slow.ws.resume()
    await until(
      'the newest book at the slow client',
      () => slow.books.at(-1)?.lastUpdateId === 10_000 + BOOKS - 1,
    )
    expect(slow.books.length).toBeLessThan(BOOKS)
    const ids = slow.books.map((b) => b.lastUpdateId)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(await metric('cs_gateway_messages_conflated_total')).toBeGreaterThan(conflatedBefore)
    fast.ws.close()
    slow.ws.close()
  }, 90_000)

  it('Socket.IO: the same, bounded by the engine.io write buffer', async () => {
    const fast = await socketIoClient()
    const slow = await socketIoClient()
    slow.raw.pause()
    const conflatedBefore = await metric('cs_gateway_messages_conflated_total', 'socketio')
    const t0 = Date.parse('2024-01-11T00:00:00Z')
    const first = 100_000
    const books = Array.from({ length: BOOKS }, (_, i) =>
      bookAround('BTCUSDT', '47000.00', 2, t0 + i, first + i),
    )
    await g.produce([{ klines: [], trades: [], books }])
    await until('every book at the fast client', () => fast.books.length === BOOKS, 60_000)
    expect(fast.books.map((b) => b.lastUpdateId)).toEqual(books.map((b) => b.lastUpdateId))
    slow.raw.resume()
    await until(
      'the newest book at the slow client',
      () => slow.books.at(-1)?.lastUpdateId === first + BOOKS - 1,
    )
    expect(slow.books.length).toBeLessThan(BOOKS)
    const ids = slow.books.map((b) => b.lastUpdateId)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(await metric('cs_gateway_messages_conflated_total', 'socketio')).toBeGreaterThan(conflatedBefore)
    fast.close()
    slow.close()
  }, 90_000)
})
