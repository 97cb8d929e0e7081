import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../../common/data.ts'
import type { BookLevel } from '../../../common/records.ts'
import { canonical, compareCanonical } from './decimal.ts'
import { BookSync, type DepthEvent, type DepthSnapshot } from './sync.ts'

const DIR = join(binanceDataDir(), 'cryptofeed')

// cryptofeed's recorder: `<recv_ts>: <frame>` (ws) and `<url> -> <ts>: <body>` (http).
type Rec =
  | { ts: number; kind: 'ws'; frame: { stream: string; data: Record<string, unknown> } }
  | { ts: number; kind: 'snap'; symbol: string; body: DepthSnapshot }
function recording(): Rec[] {
  const out: Rec[] = []
  for (const line of readFileSync(`${DIR}/BINANCE.ws.1.0`, 'utf8').split('\n').slice(1)) {
    const i = line.indexOf(': ')
    if (i < 0) continue
    out.push({ ts: Number(line.slice(0, i)), kind: 'ws', frame: JSON.parse(line.slice(i + 2)) })
  }
  for (const line of readFileSync(`${DIR}/BINANCE.http.0.0`, 'utf8').split('\n')) {
    const m = /^(\S+) -> ([\d.]+): (.*)$/.exec(line)
    if (!m || !m[1]!.includes('/depth')) continue
    const symbol = new URL(m[1]!).searchParams.get('symbol')!
    out.push({ ts: Number(m[2]), kind: 'snap', symbol, body: JSON.parse(m[3]!) })
  }
  return out.sort((a, b) => a.ts - b.ts)
}

describe('BookSync on the recorded Binance session (cryptofeed sample)', () => {
  it('ends with best bid/ask equal to the last bookTicker', () => {
    const books = new Map<string, BookSync>()
    const ticker = new Map<string, { b: string; B: string; a: string; A: string }>()
    for (const r of recording()) {
      if (r.kind === 'snap') {
        books.get(r.symbol)?.onSnapshot(r.body)
        continue
      }
      const d = r.frame.data
      if (r.frame.stream.endsWith('@depth@100ms')) {
        const s = d.s as string
        if (!books.has(s)) books.set(s, new BookSync({ symbol: s }))
        books.get(s)!.onEvent(d as unknown as DepthEvent)
      } else if (r.frame.stream.endsWith('@bookTicker')) {
        ticker.set(d.s as string, d as never)
      }
    }
    for (const s of ['NKNUSDT', 'BLZETH', 'LRCBTC']) {
      const sync = books.get(s)!
      expect(sync.synced, s).toBe(true)
      expect(sync.resyncs, s).toEqual({})
      const book = sync.lastGood!
      const t = ticker.get(s)!
      expect(book.bids[0], s).toEqual([t.b, t.B])
      expect(book.asks[0], s).toEqual([t.a, t.A])
      expect(book.bids).toHaveLength(20)
      expect(book.asks).toHaveLength(20)
    }
  })
})

// Seeded random book streams: a model book (Map) and a valid diff sequence; then straddle and gap cases.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}
const price = (n: number): string => (n / 100).toFixed(8)

function scenario(seed: number) {
  const r = rng(seed)
  const bids = new Map<number, string>()
  const asks = new Map<number, string>()
  for (let i = 1; i <= 50; i++) {
    bids.set(10_000 - i, `${1 + Math.floor(r() * 100)}.00000000`)
    asks.set(10_000 + i, `${1 + Math.floor(r() * 100)}.00000000`)
  }
  let id = 1000
  const snapshots: DepthSnapshot[] = []
  const events: DepthEvent[] = []
  const snap = (): DepthSnapshot => ({
    lastUpdateId: id,
    bids: [...bids].sort((a, b) => b[0] - a[0]).map(([p, q]): BookLevel => [price(p), q]),
    asks: [...asks].sort((a, b) => a[0] - b[0]).map(([p, q]): BookLevel => [price(p), q]),
  })
  const states: DepthSnapshot[] = []
  for (let e = 0; e < 300; e++) {
    const n = 1 + Math.floor(r() * 4)
    const ev: DepthEvent = { U: id + 1, u: id + n, E: e, b: [], a: [] }
    id += n
    for (let k = 0; k < n; k++) {
      const bid = r() < 0.5
      const bestBid = Math.max(...bids.keys())
      const bestAsk = Math.min(...asks.keys())
      // keep the model uncrossed: bids below best ask, asks above best bid
      const p = bid ? bestAsk - 1 - Math.floor(r() * 60) : bestBid + 1 + Math.floor(r() * 60)
      const q = r() < 0.3 ? '0.00000000' : `${Math.floor(r() * 50)}.5`
      const side = bid ? bids : asks
      if (q === '0.00000000') side.delete(p)
      else side.set(p, q)
      ;(bid ? ev.b : ev.a).push([price(p), q])
    }
    events.push(ev)
    states.push(snap())
    if (e % 50 === 10) snapshots.push(snap())
  }
  return { events, snapshots, states, r }
}

function topMatches(sync: BookSync, state: DepthSnapshot): void {
  const b = sync.lastGood!
  expect(b.lastUpdateId).toBe(state.lastUpdateId)
  expect(b.bids).toEqual(state.bids.slice(0, 20))
  expect(b.asks).toEqual(state.asks.slice(0, 20))
}

function uncrossed(b: { bids: BookLevel[]; asks: BookLevel[] }): boolean {
  const sorted = (l: BookLevel[], dir: number) =>
    l.every((x, i) => i === 0 || dir * compareCanonical(canonical(l[i - 1]![0]), canonical(x[0])) < 0)
  const ok = sorted(b.bids, -1) && sorted(b.asks, 1)
  if (!b.bids[0] || !b.asks[0]) return ok
  return ok && compareCanonical(canonical(b.bids[0][0]), canonical(b.asks[0][0])) < 0
}

describe('BookSync properties (seeded random streams)', () => {
  it('any snapshot taken while buffering syncs to the model book (straddle + stale drop)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { events, states, snapshots, r } = scenario(seed)
      const sync = new BookSync({ symbol: 'TESTUSDT' })
      const snapshot = snapshots[Math.floor(r() * snapshots.length)]!
      // buffer from an event before the snapshot, deliver the snapshot at a random later point
      const start = Math.floor(r() * events.findIndex((e) => e.u >= snapshot.lastUpdateId))
      const at = events.findIndex((e) => e.u > snapshot.lastUpdateId) + Math.floor(r() * 5)
      for (let i = start; i < events.length; i++) {
        if (i === at) sync.onSnapshot(snapshot)
        sync.onEvent(events[i]!)
        if (sync.synced) topMatches(sync, states[i]!)
      }
      expect(sync.synced, `seed ${seed}`).toBe(true)
      expect(sync.resyncs).toEqual({})
    }
  })

  it('a snapshot older than the first buffered event is refused and refetched', () => {
    const { events, snapshots } = scenario(7)
    const sync = new BookSync({ symbol: 'TESTUSDT' })
    const late = events.findIndex((e) => e.U > snapshots[0]!.lastUpdateId + 1)
    sync.onEvent(events[late]!)
    sync.snapshotRequested()
    sync.onSnapshot(snapshots[0]!)
    expect(sync.synced).toBe(false)
    expect(sync.needSnapshot).toBe(true)
    expect(sync.resyncs.stale_snapshot).toBe(1)
  })

  it('an injected sequence gap triggers a resync and nothing is published from the broken state', () => {
    for (let seed = 100; seed < 130; seed++) {
      const { events, states, snapshots, r } = scenario(seed)
      const sync = new BookSync({ symbol: 'TESTUSDT' })
      const s0 = snapshots[0]!
      const i0 = events.findIndex((e) => e.u > s0.lastUpdateId)
      sync.onEvent(events[i0]!)
      sync.onSnapshot(s0)
      expect(sync.synced).toBe(true)
      const published: { i: number; lastUpdateId: number }[] = []
      const gapAt = i0 + 5 + Math.floor(r() * 100)
      const lost = 1 + Math.floor(r() * 3)
      let resyncedAt = -1
      for (let i = i0 + 1; i < events.length; i++) {
        if (i >= gapAt && i < gapAt + lost) continue // dropped by the "network"
        sync.onEvent(events[i]!)
        if (i === gapAt + lost) {
          expect(sync.synced).toBe(false)
          expect(sync.resyncs.gap).toBe(1)
          expect(sync.needSnapshot).toBe(true)
          // still serving the last good book, from before the gap
          expect(sync.lastGood!.lastUpdateId).toBe(states[gapAt - 1]!.lastUpdateId)
          sync.snapshotRequested()
        }
        if (i === gapAt + lost + 3) {
          const snap = snapshots.find((s) => s.lastUpdateId >= events[gapAt + lost]!.U) ?? states[i]!
          sync.onSnapshot(snap)
          resyncedAt = i
        }
        const b = sync.take()
        if (b) {
          published.push({ i, lastUpdateId: b.lastUpdateId })
          expect(uncrossed(b)).toBe(true)
          topMatches(sync, states[i]!)
        }
      }
      // nothing between the gap and the resync was published
      expect(published.filter((p) => p.i >= gapAt && p.i < resyncedAt)).toEqual([])
      expect(sync.synced, `seed ${seed}`).toBe(true)
    }
  })

  it('a crossed result (corrupt diff) resyncs instead of publishing an inverted book', () => {
    const { events, snapshots } = scenario(3)
    const sync = new BookSync({ symbol: 'TESTUSDT' })
    const s0 = snapshots[0]!
    const i0 = events.findIndex((e) => e.u > s0.lastUpdateId)
    sync.onEvent(events[i0]!)
    sync.onSnapshot(s0)
    sync.take()
    const e = events[i0 + 1]!
    sync.onEvent({ ...e, b: [...e.b, ['999999.00000000', '1.00000000']] })
    expect(sync.synced).toBe(false)
    expect(sync.take()).toBeUndefined()
    expect(sync.resyncs.crossed).toBe(1)
    expect(uncrossed(sync.lastGood!)).toBe(true)
  })

  it('orders decimals exactly', () => {
    expect(compareCanonical(canonical('0.35130000'), canonical('0.3513'))).toBe(0)
    expect(compareCanonical(canonical('0.00000116'), canonical('0.00000115'))).toBeGreaterThan(0)
    expect(compareCanonical(canonical('10.0'), canonical('9.99999999'))).toBeGreaterThan(0)
    expect(compareCanonical(canonical('100000000.00000001'), canonical('100000000.00000002'))).toBeLessThan(0)
  })
})
