import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import { aggregate, type Candle } from '../processors/candles.ts'
import { spotDay } from '../processors/testdata.ts'
import { candleStore, candlesTopology } from './index.ts'

// The 1h candles come from the 5m candles (as 4h/1d from 1h): they are what folding the 1m klines
// gives, update by update, for every input the 1m-fed 1h took inside the 5m retention.

const IVS = ['5m', '1h', '4h', '1d'] as const

let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-candles-chain-')
})
afterEach(async () => {
  await bed.close()
})

async function candleTask(app: string, options: Parameters<typeof candlesTopology>[0]) {
  await bed.transport.createTopics([
    { name: topics.kline1m, partitions: 1 },
    ...IVS.map((iv) => ({ name: `${app}-${candleStore(iv)}-changelog`, partitions: 1, compacted: true })),
  ])
  const task = await bed.openTask(candlesTopology(options), app)
  let offset = 0
  const feed = (ks: readonly Candle[]) => {
    for (const k of ks)
      task.process({
        topic: topics.kline1m,
        partition: 0,
        offset: offset++,
        key: k.symbol,
        value: JSON.stringify({ ...k, interval: '1m' }),
        timestamp: k.openTime,
      } satisfies ConsumedRecord)
  }
  const out = (iv: string) =>
    task.out
      .filter((r) => r.topic === `crypto_kline_${iv}`)
      .map((r) => JSON.parse(r.value as string) as Candle)
  return { task, feed, out }
}

const day = spotDay('BTCUSDT', '1m', '2024-01-02')

describe('1h from 5m candles', () => {
  // The limit this brings: a 1m kline is late for every candle once its 5m window has left the 5m
  // store (2 d by default), where 1h took it up to its own 30 d before (topologies/README.md).
  it('a correction older than the 5m retention reaches no candle (dropped as late)', async () => {
    const { task, feed, out } = await candleTask('chain-retention', { retentionMs: { '5m': 600_000 } })
    feed(day.slice(0, 120))
    const before = { '5m': out('5m').length, '1h': out('1h').length }
    feed([{ ...day[10]!, volume: '1000.00000000', trades: day[10]!.trades + 1 }])
    expect({ '5m': out('5m').length, '1h': out('1h').length }).toEqual(before)
    expect(out('1h').at(-1)).toEqual(aggregate(day.slice(60, 120), '1h')[0])
    await task.close()
  })

  // 1h takes 5m candles without the `regresses` guard: they are not replays (4h/1d from 1h had
  // refused such updates too before).
  it('a closed correction with fewer trades inside an open 5m window updates the hour', async () => {
    // 00:00–00:02 closed, 00:03 open; then 00:01 corrected (closed) with fewer trades: the open 5m
    // candle has fewer trades than its previous version, which 1h must not take for a replayed
    // open update (regresses)
    const { task, feed, out } = await candleTask('chain-regress', {})
    const open3 = { ...day[3]!, closed: false, trades: Math.floor(day[3]!.trades / 2) }
    feed([...day.slice(0, 3), open3])
    const fixed = { ...day[1]!, trades: day[1]!.trades - 5, volume: '1.00000000' }
    feed([fixed])
    expect(out('5m').at(-1)).toEqual(aggregate([day[0]!, fixed, day[2]!, open3], '5m')[0])
    expect(out('1h').at(-1)).toEqual({
      ...aggregate([day[0]!, fixed, day[2]!, open3], '1h')[0],
      interval: '1h',
    })
    await task.close()
  })

  // 1h closes the hour by grace, then the 5m 00:55 window closes by grace on the same input: the
  // same final is not emitted again.
  it('an hour whose last minute never comes is emitted closed once, as when 1h took the minutes', async () => {
    // 00:59 missing: 1h 00:00 closes by grace on 01:10, the same minute its 00:55 5m window does
    const { task, feed, out } = await candleTask('chain-grace', {})
    feed([...day.slice(0, 59), ...day.slice(60, 71)])
    const finals = out('1h').filter((k) => k.openTime === day[0]!.openTime && k.closed)
    expect(finals).toEqual([{ ...aggregate(day.slice(0, 59), '1h')[0], closed: true }])
    await task.close()
  })
})
