import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { binanceDataDir } from '../../common/data.ts'
import { add, cmp } from '../../common/decimal.ts'
import { type ReplayOptions, type ReplayServer, startReplayServer } from './index.ts'
import { parseRow, type Row } from './recorded.ts'
import { TICK_CATCH_UP } from './server.ts'

// The WebSocket side at speed 'max' (as fast as the client reads): closed klines equal the
// recorded rows, each minute's trades add up to its kline exactly, a snapshot plus the diffs
// that follow reproduce the server's book, live SUBSCRIBE, Binance's rejections and limits.

const rows = (sym: string, day: string): Row[] =>
  gunzipSync(readFileSync(join(binanceDataDir(), 'klines', 'spot', sym, '1m', `${sym}-1m-${day}.csv.gz`)))
    .toString()
    .trim()
    .split('\n')
    .map(parseRow)

const servers: ReplayServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})
const start = async (o: ReplayOptions) => {
  const s = await startReplayServer({ from: '2024-01-01T00:00:00Z', speed: 'max', ...o })
  servers.push(s)
  return s
}
type Frame = { stream: string; data: Record<string, unknown> }
const collect = (url: string, until: (f: Frame[]) => boolean): Promise<Frame[]> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const got: Frame[] = []
    ws.on('message', (d) => {
      got.push(JSON.parse(d.toString()))
      if (until(got)) {
        ws.terminate()
        resolve(got)
      }
    })
    ws.on('error', reject)
  })
/** A reader that loses nothing between awaits. */
function reader(ws: WebSocket): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = []
  let wake: (() => void) | undefined
  ws.on('message', (d) => {
    queue.push(JSON.parse(d.toString()))
    wake?.()
  })
  return async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r))
    return queue.shift()!
  }
}

describe('replay WebSocket', () => {
  it('closed klines equal the recorded rows; trades add up to each minute exactly', async () => {
    for (const cap of [0, 50]) {
      const syms = ['BTCUSDT', 'PEPEUSDT', 'UNIUSDT']
      const s = await start({ symbols: syms, tradesPerMinute: cap })
      const streams = syms.flatMap((x) => [`${x.toLowerCase()}@kline_1m`, `${x.toLowerCase()}@trade`])
      const minutes = 8
      const frames = await collect(
        `${s.wsUrl}/stream?streams=${streams.join('/')}`,
        (f) =>
          f.filter((x) => (x.data.k as { x?: boolean } | undefined)?.x === true).length >=
          minutes * syms.length,
      )
      for (const sym of syms) {
        const recorded = rows(sym, '2024-01-01')
        const mine = frames.filter((f) => f.data.s === sym)
        const closed = mine.filter((f) => f.data.e === 'kline' && (f.data.k as { x: boolean }).x)
        const trades = mine.filter((f) => f.data.e === 'trade').map((f) => f.data)
        let prevL = -1
        let full = 0
        for (const f of closed) {
          const k = f.data.k as Record<string, unknown>
          const r = recorded[((k.t as number) - recorded[0]!.t) / 60_000]!
          expect([k.t, k.T, k.o, k.h, k.l, k.c, k.v, k.q, k.n, k.V, k.Q]).toEqual([
            r.t,
            r.T,
            r.o,
            r.h,
            r.l,
            r.c,
            r.v,
            r.q,
            r.n,
            r.V,
            r.Q,
          ])
          const mt = trades.filter((t) => (t.T as number) >= r.t && (t.T as number) <= r.T)
          if (r.n === 0) {
            expect(mt.length).toBe(0)
            continue
          }
          // the minute the client joined in lacks the trades before it joined
          if (mt[0]?.t !== k.f) continue
          full++
          const sum = (l: typeof mt) => l.reduce((a, t) => add(a, t.q as string), '0')
          expect(cmp(sum(mt), r.v)).toBe(0)
          expect(cmp(sum(mt.filter((t) => t.m === false)), r.V)).toBe(0)
          expect([mt[0]!.p, mt.at(-1)!.p]).toEqual([r.o, r.c])
          expect(mt.some((t) => t.p === r.h) && mt.some((t) => t.p === r.l)).toBe(true)
          expect(mt.every((t) => cmp(t.p as string, r.l) >= 0 && cmp(t.p as string, r.h) <= 0)).toBe(true)
          // ids consecutive, and the kline's f/L are the first and last id sent
          expect(mt.map((t) => t.t)).toEqual(mt.map((_, i) => (k.f as number) + i))
          expect(k.L).toBe((k.f as number) + mt.length - 1)
          if (prevL >= 0) expect(k.f).toBe(prevL + 1)
          prevL = k.L as number
          if (cap === 0) expect(mt.length).toBe(r.n)
          else expect(mt.length).toBeLessThanOrEqual(Math.max(cap, 4))
        }
        expect(full).toBeGreaterThanOrEqual(minutes - 2)
        // open updates agree with the trades sent before them
        for (const f of mine.filter((x) => x.data.e === 'kline' && !(x.data.k as { x: boolean }).x)) {
          const k = f.data.k as Record<string, string>
          const before = trades.filter(
            (t) => (t.T as number) >= Number(k.t) && (t.T as number) <= (f.data.E as number),
          )
          // the minute the client joined in: trades before joining were not received
          if (before[0]?.t !== (k.f as unknown)) continue
          expect(
            cmp(
              before.reduce((a, t) => add(a, t.q as string), '0'),
              k.v!,
            ),
          ).toBe(0)
          expect(k.c).toBe(before.at(-1)!.p)
        }
      }
      await s.close()
    }
  })

  it('a depth snapshot plus the diffs after it reproduce the server’s book at every update id', async () => {
    const s = await start({ symbols: ['ETHUSDT'], bookHistory: 100_000 })
    const ws = new WebSocket(`${s.wsUrl}/ws/ethusdt@depth@100ms`)
    const events: { U: number; u: number; b: [string, string][]; a: [string, string][] }[] = []
    ws.on('message', (d) => events.push(JSON.parse(d.toString())))
    await new Promise((r) => ws.once('open', r))
    while (events.length < 5) await new Promise((r) => setTimeout(r, 5))
    const snap = (await (await fetch(`${s.restUrl}/api/v3/depth?symbol=ETHUSDT&limit=5000`)).json()) as {
      lastUpdateId: number
      bids: [string, string][]
      asks: [string, string][]
    }
    // 250 diffs after the snapshot, however many passed while it was fetched (a loaded machine)
    while (events.filter((e) => e.u > snap.lastUpdateId).length < 250)
      await new Promise((r) => setTimeout(r, 5))
    ws.terminate()
    const bids = new Map(snap.bids)
    const asks = new Map(snap.asks)
    let last = snap.lastUpdateId
    let checked = 0
    for (const e of events) {
      if (e.u <= last) continue
      expect(e.U).toBe(last + 1) // the first one straddles, the rest follow on
      for (const [p, q] of e.b) Number(q) === 0 ? bids.delete(p) : bids.set(p, q)
      for (const [p, q] of e.a) Number(q) === 0 ? asks.delete(p) : asks.set(p, q)
      last = e.u
      const top = (m: Map<string, string>, desc: boolean) =>
        [...m].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0]))).slice(0, 20)
      const b = top(bids, true)
      const a = top(asks, false)
      expect({ bids: b, asks: a }).toEqual(s.bookAt('ETHUSDT', e.u))
      expect(Number(b[0]![0])).toBeLessThan(Number(a[0]![0]))
      checked++
    }
    expect(checked).toBeGreaterThan(200)
  })

  it('SUBSCRIBE / LIST_SUBSCRIPTIONS / UNSUBSCRIBE on a raw /ws connection', async () => {
    const s = await start({ symbols: ['BTCUSDT'] })
    const ws = new WebSocket(`${s.wsUrl}/ws`)
    const next = reader(ws)
    await new Promise((r) => ws.once('open', r))
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@aggTrade'], id: 1 }))
    expect(await next()).toEqual({ result: null, id: 1 })
    const ev = await next() // raw payloads: no envelope
    expect(['trade', 'aggTrade']).toContain(ev.e)
    ws.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: ['btcusdt@aggTrade'], id: 2 }))
    ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 3 }))
    const answers: Record<string, unknown>[] = []
    while (answers.length < 2) {
      const m = await next()
      if ('id' in m) answers.push(m)
    }
    expect(answers).toEqual([
      { result: null, id: 2 },
      { result: ['btcusdt@trade'], id: 3 },
    ])
    ws.terminate()
  })

  it('rejects unknown streams (URL and SUBSCRIBE), bad requests and too many messages per second', async () => {
    const s = await start({ symbols: ['BTCUSDT'], speed: 1 })
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${s.wsUrl}/stream?streams=btcusdt@trade/btcusdt@nope`)
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('error', () => {})
    })
    expect(status).toBe(400)
    const ws = new WebSocket(`${s.wsUrl}/ws`)
    const next = reader(ws)
    await new Promise((r) => ws.once('open', r))
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['ethusdt@trade'], id: 7 }))
    expect(await next()).toMatchObject({ error: { code: 2 }, id: 7 })
    ws.send(JSON.stringify({ method: 'SUBSCRIB', params: [], id: 8 }))
    expect(await next()).toMatchObject({ error: { code: 2 }, id: 8 })
    ws.send('{oops')
    expect(await next()).toMatchObject({ error: { code: 3 } })
    const closed = new Promise((r) => ws.once('close', r))
    for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }))
    await closed
    expect(s.stats.rateLimited).toBe(1)
  })

  it('drops a client that does not answer pings; keeps one that does', async () => {
    const s = await start({ symbols: ['BTCUSDT'], speed: 1, pingMs: 30, pongTimeoutMs: 150 })
    const silent = new WebSocket(`${s.wsUrl}/ws/btcusdt@trade`, { autoPong: false })
    const polite = new WebSocket(`${s.wsUrl}/ws/btcusdt@trade`)
    await new Promise((r) => silent.once('close', r))
    expect(polite.readyState).toBe(WebSocket.OPEN)
    expect(s.stats.pongTimeouts).toBe(1)
    polite.terminate()
  })

  it('after the event loop stood still, one clock tick generates a bounded stretch of market time', async () => {
    const s = await start({ symbols: ['BTCUSDT', 'ETHUSDT'], speed: 600 })
    await new Promise((r) => setTimeout(r, 50))
    const before = s.now()
    const until = performance.now() + 2000
    while (performance.now() < until) {} // the loop stands still for 2 s (1200 s of market time at 600×)
    await new Promise((r) => setTimeout(r, 0)) // the clock's overdue tick runs first
    // at most TICK_CATCH_UP ticks of 10 ms (60 s at 600×), not the 1200 s it missed in one burst
    expect(s.now() - before).toBeLessThanOrEqual(600 * 10 * TICK_CATCH_UP)
    await new Promise((r) => setTimeout(r, 300)) // and it catches up when it can
    expect(s.now() - before).toBeGreaterThan(600 * 10 * TICK_CATCH_UP)
  })
})
