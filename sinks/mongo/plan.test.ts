import { describe, expect, it } from 'vitest'
import type { Kline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { decide, guardFilter, planBatch } from './plan.ts'

const kline = (openTime: number, close: string, closed: boolean): Kline => ({
  symbol: 'BTCUSDT',
  interval: '5m',
  openTime,
  closeTime: openTime + 299_999,
  open: '1.0',
  high: '2.0',
  low: '0.5',
  close,
  volume: '1',
  quoteVolume: '1',
  trades: 1,
  takerBuyBase: '0',
  takerBuyQuote: '0',
  closed,
})
let offset = 0
const rec = (topic: string, value: unknown): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: offset++,
  key: 'BTCUSDT',
  value: typeof value === 'string' ? value : JSON.stringify(value),
  timestamp: 0,
})

describe('mongo planBatch', () => {
  it('coalesces updates of one candle to its newest version; a later open update does not replace the final', () => {
    offset = 0
    const plan = planBatch([
      rec(topics.kline5m, kline(0, '1.1', false)),
      rec(topics.kline5m, kline(0, '1.2', false)),
      rec(topics.kline5m, kline(300_000, '1.5', false)),
      rec(topics.kline5m, kline(0, '1.3', true)),
      rec(topics.kline5m, kline(0, '9.9', false)),
      rec(topics.kline1h, { ...kline(0, '7', false), interval: '1h', closeTime: 3_599_999 }),
    ])
    const five = [...plan.docs.get('5m_kline')!.values()]
    expect(five.map((d) => [d._id, d.close, d.closed, d._v])).toEqual([
      ['BTCUSDT:0', '1.3', true, 3],
      ['BTCUSDT:300000', '1.5', false, 2],
    ])
    expect(plan.coalesced).toBe(3)
    expect([...plan.docs.get('1h_kline')!.keys()]).toEqual(['BTCUSDT:0'])
    expect(plan.rejected).toEqual([])
  })

  it('keys predictions by (symbol, time) and rejects malformed records with the reason', () => {
    offset = 0
    const p = { symbol: 'ETHUSDT', time: 60_000, horizonMs: 300_000, predictedPrice: '1', modelVersion: 'm' }
    const plan = planBatch([
      rec(topics.predictions, p),
      rec(topics.predictions, { ...p, predictedPrice: '2' }),
      rec(topics.predictions, { symbol: 'ETHUSDT' }),
      rec(topics.kline5m, '{not json'),
      rec(topics.kline5m, { ...kline(1, '1', true) }),
    ])
    expect([...plan.docs.get('predictions')!.values()]).toEqual([
      { _id: 'ETHUSDT:60000', ...p, predictedPrice: '2', _v: 1 },
    ])
    expect(plan.rejected.map((r) => [r.record.offset, r.error])).toEqual([
      [2, 'prediction.time: expected epoch ms'],
      [3, expect.stringContaining('JSON')],
      [4, 'kline.openTime 1 is not aligned to 5m'],
    ])
  })
})

describe('decide and guardFilter', () => {
  it('inserts new documents, updates older ones, skips newer or final ones', () => {
    const doc = { _id: 'A:0', _v: 7, closed: false }
    expect(decide(doc, undefined)).toBe('insert')
    expect(decide(doc, { _v: 3, closed: false })).toBe('update')
    expect(decide(doc, { _v: 3, closed: true })).toBe('skip')
    expect(decide(doc, { _v: 7, closed: false })).toBe('skip')
  })
  it('re-checks the version on the server; open updates also require the stored one to be open', () => {
    expect(guardFilter({ _id: 'A:0', _v: 7, closed: false })).toEqual({
      _id: 'A:0',
      _v: { $lt: 7 },
      closed: { $ne: true },
    })
    expect(guardFilter({ _id: 'A:0', _v: 7, closed: true })).toEqual({ _id: 'A:0', _v: { $lt: 7 } })
    expect(guardFilter({ _id: 'A:0', _v: 7 })).toEqual({ _id: 'A:0', _v: { $lt: 7 } })
  })
})
