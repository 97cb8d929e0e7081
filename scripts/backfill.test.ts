import { afterAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { spotDay } from '../processors/testdata.ts'
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
})
