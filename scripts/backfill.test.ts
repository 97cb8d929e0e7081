import { afterAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { aggregate } from '../processors/candles.ts'
import { outageDay, spotDay } from '../processors/testdata.ts'
import { backfill } from './backfill.ts'

describe('backfill', () => {
  const bed = new TestBed('cs-backfill-')
  afterAll(() => bed.close())

  it('csv → raw topic, then topic → derived topics equal Binance 4h (zero-trade bucket day)', async () => {
    const o = { symbol: 'PEPEUSDT', from: '2024-01-06', to: '2024-01-06', topicPrefix: '' }
    await backfill({ ...o, source: 'csv', writeRaw: true }, bed.transport)
    const counts = await backfill({ ...o, source: 'topic', writeRaw: false }, bed.transport)
    expect(counts[topics.kline4h]).toBe(6)
    const h4 = (await bed.values<Kline>(topics.kline4h)).slice(-6)
    const strip = ({ interval: _i, ...k }: Omit<Kline, 'interval'> & { interval: string }) => k
    expect(h4.map(strip)).toEqual(spotDay('PEPEUSDT', '4h', '2024-01-06').map(strip))
  })

  it('a day with an exchange outage (Binance 2018-01-04): windows without their last minute are emitted closed, as Binance has them (issue 13, defect 10)', async () => {
    const day = outageDay()
    const prefix = 'outage.'
    await bed.topic(prefix + topics.kline1m)
    await bed.produce(
      prefix + topics.kline1m,
      day.map((k) => ({ key: k.symbol, value: { ...k, interval: '1m' }, timestamp: k.openTime })),
    )
    const o = { symbol: 'BTCUSDT', from: '2018-01-04', to: '2018-01-04', topicPrefix: prefix }
    const counts = await backfill({ ...o, source: 'topic', writeRaw: false }, bed.transport)
    // 4h: all 6 (00:00 with 181 minutes); 1h: 23 (04:00 has no minute at all, 03:00 has one)
    expect([counts[prefix + topics.kline4h], counts[prefix + topics.kline1h]]).toEqual([6, 23])
    for (const iv of ['5m', '1h', '4h', '1d'] as const) {
      const topic =
        prefix +
        { '5m': topics.kline5m, '1h': topics.kline1h, '4h': topics.kline4h, '1d': topics.kline1d }[iv]
      expect(await bed.values<Kline>(topic)).toEqual(aggregate(day, iv).map((c) => ({ ...c, closed: true })))
    }
  })
})
