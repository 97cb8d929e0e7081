import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import type { Kline } from '../../common/records.ts'
import { Recordings } from '../replay/recorded.ts'
import { type ReplayServer, startReplayServer } from '../replay/server.ts'
import { KlineGate } from './klines.ts'
import { BinanceRest } from './rest.ts'

// The gate against the replay server's REST klines (a recorded day) at 21:40 (minute 1300),
// its clock all but stopped: minutes 0..1299 closed, 1300 open.
let server: ReplayServer
let rest: BinanceRest
beforeAll(async () => {
  server = await startReplayServer({ symbols: ['BTCUSDT'], from: '2024-01-02T21:40:00Z', speed: 1e-6 })
  rest = new BinanceRest(server.restUrl)
})
afterAll(() => server.close())

const recorded = new Recordings(binanceDataDir()).day('BTCUSDT', '2024-01-02')!
const t = (i: number) => recorded.at(i)!.t
function gate(last?: number) {
  const out: Kline[] = []
  const g = new KlineGate(
    {
      rest,
      emit: async (ks) => {
        out.push(...ks)
      },
    },
    new Map(last === undefined ? [] : [['BTCUSDT', last]]),
  )
  return { g, out }
}

describe('KlineGate', () => {
  it('backfills more than one REST page (1000) without a hole, leaving the open minute to the stream', async () => {
    const { g, out } = gate(t(100))
    await g.backfill('BTCUSDT')
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 1199 }, (_, i) => t(101 + i)))
    expect(g.lastClosed('BTCUSDT')).toBe(t(1299))
  })

  it('a closed kline after a hole pulls the missing minutes first; duplicates are dropped', async () => {
    const { g, out } = gate(t(10))
    const k20 = (await rest.klines1m('BTCUSDT', t(20), t(20)))[0]!
    expect(k20.close).toBe(recorded.at(20)!.c)
    await g.closed(k20)
    await g.closed(k20)
    await g.closed((await rest.klines1m('BTCUSDT', t(15), t(15)))[0]!)
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 10 }, (_, i) => t(11 + i)))
    expect(g.acceptsOpen({ ...k20, closed: false })).toBe(false)
  })

  it('with no history, starts at the start of the day holding the latest initialMinutes closed klines', async () => {
    // a "latest 60" start (20:41) would make the first 1h candle (20:00) out of its last 19 minutes
    const { g, out } = gate()
    await g.backfill('BTCUSDT')
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 1300 }, (_, i) => t(i)))
    const hourly = new KlineGate(
      { rest, initialAlignMs: 3_600_000, emit: async (ks) => void out.splice(0, out.length, ...ks) },
      new Map(),
    )
    await hourly.backfill('BTCUSDT')
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 100 }, (_, i) => t(1200 + i)))
  })

  it('holds back open updates of a symbol until its backfill is in (issue 13, defect 1)', async () => {
    const { g, out } = gate(t(100))
    const live = { ...(await rest.klines1m('BTCUSDT', t(1300), t(1300)))[0]!, closed: false }
    const done = g.backfill('BTCUSDT') // after a reconnect: 1199 minutes to fetch
    expect(g.acceptsOpen(live)).toBe(false)
    await done
    expect(out).toHaveLength(1199)
    expect(g.acceptsOpen(live)).toBe(true)
    // no history at all: nothing live before the first backfill
    expect(gate().g.acceptsOpen(live)).toBe(false)
  })
})
