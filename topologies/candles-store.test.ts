import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import {
  aggregate,
  type Candle,
  type CandleState,
  candleOf,
  emptyFold,
  type Fold,
  foldMinute,
  initCandle,
  mergeMinute,
  windowStart,
} from '../processors/candles.ts'
import { spotDay } from '../processors/testdata.ts'
import { windowDbKey } from '../state/window-store.ts'
import { CandleWindow, candleSerde, parseStoredCandle } from './candles-store.ts'
import { candleStore, candlesTopology } from './index.ts'

// The candle stores' value layout: what is written reads back as the same window (also after
// out-of-order minutes, whose serialized text must be redone), and values written by earlier
// versions — an object with the candle and a fixed-point or a string-decimal fold — are still
// read: a task restored from a changelog of the earlier layout goes on to the same candles.

const IVS = ['5m', '1h', '4h', '1d'] as const
const SIZE = { '5m': 300_000, '1h': 3_600_000, '4h': 14_400_000, '1d': 86_400_000 } as const
const day = spotDay('BTCUSDT', '1m', '2024-01-02').map((k) => ({ ...k, interval: '1m' }) as Kline)

/** Every observable part of a window: its state and its candle. */
const view = (s: CandleWindow) => ({
  symbol: s.symbol,
  interval: s.interval,
  openTime: s.openTime,
  sizeMs: s.sizeMs,
  stepMs: s.stepMs,
  minutes: s.minutes.map((m) => [...m]), // without the text kept on each
  prefix: s.prefix,
  graceClosed: s.graceClosed === true,
  candle: s.candle,
})

describe('stored layout 2', () => {
  it('reads back as the same window, also after late, corrected and re-delivered minutes', () => {
    const w = CandleWindow.empty('BTCUSDT', '1h', 3_600_000, day[0]!.openTime, 60_000)
    const check = () => {
      const text = candleSerde.serialize(w)
      const back = parseStoredCandle(text)
      expect(view(back)).toEqual(view(w))
      expect(back.serialize()).toBe(text)
    }
    for (const k of day.slice(0, 30)) {
      if (k.openTime % 7 !== 3) w.merge(k)
      if (k.openTime % 5 === 0) check()
    }
    for (const k of day.slice(0, 30)) w.merge(k) // the held-back minutes arrive late (refold)
    check()
    w.merge({ ...day[10]!, close: '1.00000000' }) // a corrected earlier minute
    check()
    expect(w.merge(day[20]!)).toBe(false) // a re-delivery
    for (const k of day.slice(30, 60)) w.merge(k)
    w.closeByGrace()
    check()
    expect(w.candle).toEqual({
      ...aggregate(
        [...day.slice(0, 60).filter((_k, i) => i !== 10), { ...day[10]!, close: '1.00000000' }],
        '1h',
      )[0],
      closed: true,
    })
  })
})

/** What the earlier versions wrote: the state object with its candle (and a fold of `kind`). */
function earlier(state: CandleState, kind: 'fixed' | 'string', graceClosed = false): string {
  const candle = candleOf(state)
  if (graceClosed) candle.closed = true
  let prefix: unknown = state.prefix
  if (kind === 'string') {
    let f: Fold = emptyFold()
    for (const m of state.minutes.slice(0, -1)) f = foldMinute(f, m)
    prefix = f
  }
  return JSON.stringify({ ...state, prefix, candle, ...(graceClosed ? { graceClosed } : {}) })
}

describe('values of the earlier layouts', () => {
  const state = initCandle('BTCUSDT', '1h', 3_600_000, day[0]!.openTime)
  for (const k of day.slice(0, 45)) mergeMinute(state, k)

  for (const kind of ['fixed', 'string'] as const)
    it(`an object with a ${kind} fold reads as the same window and merges on`, () => {
      const w = parseStoredCandle(earlier(state, kind, true))
      expect(w.candle).toEqual({ ...candleOf(state), closed: true })
      expect(w.graceClosed).toBe(true)
      for (const k of day.slice(45, 60)) w.merge(k)
      expect(w.candle).toEqual({ ...aggregate(day.slice(0, 60), '1h')[0], closed: true })
      expect(parseStoredCandle(w.serialize()).candle).toEqual(w.candle)
    })
})

describe('a task restored from a changelog of an earlier layout', () => {
  let bed: TestBed
  beforeEach(() => {
    bed = new TestBed('cs-candles-store-')
  })
  afterEach(async () => {
    await bed.close()
  })

  // 1h windows are stored as earlier versions built them, from 1m minutes (they come from 5m
  // candles now); a cut inside a 5m window (01:41) is where a 5m candle meets minutes it includes.
  for (const [kind, cut] of [
    ['fixed', 100],
    ['string', 100],
    ['layout 2', 100],
    ['layout 2', 102],
  ] as const)
    it(`goes on to the same candles (${kind}, cut after ${cut} minutes)`, async () => {
      // the earlier run saw the day's first `cut` minutes; its windows' states are in the changelogs
      const app = `candles-layout-${kind.replace(' ', '')}-${cut}`
      const hours = aggregate(day.slice(0, cut), '1h').map((c) => ({
        ...c,
        closed: c.openTime === day[0]!.openTime,
      }))
      const inputs: Record<(typeof IVS)[number], readonly Candle[]> = {
        '5m': day.slice(0, cut),
        '1h': day.slice(0, cut),
        '4h': hours,
        '1d': hours,
      }
      await bed.transport.createTopics([
        { name: topics.kline1m, partitions: 1 },
        ...IVS.map((iv) => ({ name: `${app}-${candleStore(iv)}-changelog`, partitions: 1, compacted: true })),
      ])
      for (const iv of IVS) {
        const step = iv === '4h' || iv === '1d' ? 3_600_000 : 60_000
        const states = new Map<number, CandleState>()
        for (const k of inputs[iv]) {
          const start = windowStart(k.openTime, SIZE[iv])
          const s = states.get(start) ?? initCandle('BTCUSDT', iv, SIZE[iv], start, step)
          states.set(start, s)
          mergeMinute(s, k)
        }
        await bed.produce(
          `${app}-${candleStore(iv)}-changelog`,
          [...states.values()].map((s) => ({
            partition: 0,
            key: windowDbKey('BTCUSDT', s.openTime),
            value: kind === 'layout 2' ? new CandleWindow(s).serialize() : earlier(s, kind),
            timestamp: s.openTime,
          })),
        )
      }
      const topology = candlesTopology()
      const task = await bed.openTask(topology, app)
      let offset = 0
      for (const k of day.slice(cut))
        task.process({
          topic: topics.kline1m,
          partition: 0,
          offset: offset++,
          key: k.symbol,
          value: JSON.stringify(k),
          timestamp: k.openTime,
        })
      const out = task.out.map((r) => JSON.parse(r.value as string) as Kline)
      await task.close()
      const latest = new Map(out.map((k) => [`${k.interval}|${k.openTime}`, k]))
      // every window the task emitted ends as the candle of all the day's minutes
      for (const iv of IVS) {
        const want = aggregate(
          iv === '4h' || iv === '1d' ? aggregate(day, '1h') : day,
          iv,
          iv === '4h' || iv === '1d' ? 3_600_000 : 60_000,
        )
        const got = want.filter((c) => latest.has(`${iv}|${c.openTime}`))
        expect(got.length, iv).toBeGreaterThan(0)
        for (const c of got) expect(latest.get(`${iv}|${c.openTime}`), `${iv} ${c.openTime}`).toEqual(c)
      }
      // the windows the earlier run left half done were completed, not restarted
      expect(latest.get(`1h|${day[60]!.openTime}`)?.trades).toBe(
        day.slice(60, 120).reduce((n, k) => n + k.trades, 0),
      )
      expect(latest.get(`1d|${day[0]!.openTime}`)?.volume).toBe(aggregate(day, '1d')[0]!.volume)
      // the restored 01:00 window closes with its last input (01:55's 5m candle), not by grace
      const h1 = day[60]!.openTime
      const closedAt = out.findIndex((k) => k.interval === '1h' && k.openTime === h1 && k.closed)
      const next = out.findIndex((k) => k.interval === '5m' && k.openTime === h1 + 3_600_000)
      expect(closedAt).toBeGreaterThanOrEqual(0)
      expect(closedAt).toBeLessThan(next)
    })
})
