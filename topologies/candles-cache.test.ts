import { afterAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { spotDay } from '../processors/testdata.ts'
import { candlesTopology } from './index.ts'

// emitEveryMs (engine/record-cache.ts): a day of two symbols replayed as one burst, with live open
// updates and re-delivered minutes. Coalesced, far fewer records come out, and what a consumer
// that upserts holds (latest per symbol, interval, openTime) equals the every-change run, finals
// in the same order.

const candleTopics = [topics.kline5m, topics.kline1h, topics.kline4h, topics.kline1d]
const key = (k: Kline) => `${k.symbol}|${k.interval}|${k.openTime}`

describe('candle updates coalesced per window (record cache)', () => {
  const bed = new TestBed('cs-candles-cache-')
  afterAll(() => bed.close())

  it('fewer records, the same latest version of every window, finals in the same order', async () => {
    const input = ['BTCUSDT', 'ETHUSDT']
      .flatMap((s) => spotDay(s, '1m', '2024-01-05'))
      .flatMap((k, i) => [
        { ...k, closed: false, trades: Math.floor(k.trades / 2), close: k.open },
        k,
        ...(i % 50 === 0 ? [k] : []),
      ])
      .sort((a, b) => a.openTime - b.openTime)
    const run = async (prefix: string, emitEveryMs?: number) => {
      await bed.topic(prefix + topics.kline1m)
      await bed.produce(
        prefix + topics.kline1m,
        input.map((k) => ({ key: k.symbol, value: { ...k, interval: '1m' }, timestamp: k.openTime })),
      )
      const s = await bed.start(candlesTopology({ topicPrefix: prefix, emitEveryMs }), {
        applicationId: `${prefix}app`,
      })
      await s.flush()
      await s.close()
      return (await Promise.all(candleTopics.map((t) => bed.values<Kline>(prefix + t)))).flat()
    }
    const every = await run('every.')
    const coalesced = await run('coalesced.', 60_000)
    expect(coalesced.length).toBeLessThan(every.length / 2)
    const latest = (all: Kline[]) => new Map(all.map((k) => [key(k), k]))
    expect(latest(coalesced)).toEqual(latest(every))
    const finals = (all: Kline[]) => all.filter((k) => k.closed).map(key)
    expect(new Set(finals(coalesced))).toEqual(new Set(finals(every)))
    const order = (all: Kline[]) => [...new Set(finals(all).reverse())].reverse()
    expect(order(coalesced)).toEqual(order(every))
  }, 60_000)
})
