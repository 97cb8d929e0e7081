import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kline } from '../../common/records.ts'
import { FakeBinance } from './fake-binance.fixture.ts'
import { KlineGate } from './klines.ts'
import { BinanceRest } from './rest.ts'

// The gate against the fixture's REST klines (a recorded day), paused at minute 1300.
let server: FakeBinance
let rest: BinanceRest
beforeAll(async () => {
  server = new FakeBinance({ symbols: ['BTCUSDT'], day: '2024-01-02', tickMs: 3600_000 })
  rest = new BinanceRest((await server.start()).restUrl)
  server.minute = 1300 // minutes 0..1299 closed, 1300 open
})
afterAll(() => server.stop())

const t = (i: number) => Number(server.rowsOf('BTCUSDT')[i]![0])
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
    const row = server.rowsOf('BTCUSDT')[20]!
    const k20 = (await rest.klines1m('BTCUSDT', t(20), t(20)))[0]!
    expect(k20.close).toBe(row[4])
    await g.closed(k20)
    await g.closed(k20)
    await g.closed((await rest.klines1m('BTCUSDT', t(15), t(15)))[0]!)
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 10 }, (_, i) => t(11 + i)))
    expect(g.acceptsOpen({ ...k20, closed: false })).toBe(false)
  })

  it('with no history, starts from the latest initialMinutes closed klines', async () => {
    const { g, out } = gate()
    await g.backfill('BTCUSDT')
    expect(out.map((k) => k.openTime)).toEqual(Array.from({ length: 59 }, (_, i) => t(1241 + i)))
  })
})
