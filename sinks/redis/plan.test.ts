import { describe, expect, it } from 'vitest'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { redisKeys } from './keys.ts'
import { planBatch } from './plan.ts'

let offset = 0
const rec = (topic: string, value: unknown): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: offset++,
  key: 'k',
  value: typeof value === 'string' ? value : JSON.stringify(value),
  timestamp: 0,
})
const k1m = (openTime: number, close: string, closed: boolean) => ({
  symbol: 'BTCUSDT',
  interval: '1m',
  openTime,
  closeTime: openTime + 59_999,
  open: '1',
  high: '2',
  low: '0.5',
  close,
  volume: '1',
  quoteVolume: '1',
  trades: 3,
  takerBuyBase: '0',
  takerBuyQuote: '0',
  closed,
})

describe('redis keys', () => {
  it('builds the README layout, under an optional prefix', () => {
    const k = redisKeys()
    expect([
      k.kline1mLatest('BTCUSDT'),
      k.kline1m('BTCUSDT', 60_000),
      k.kline1mIndex('BTCUSDT'),
      k.orderbookLatest('BTCUSDT'),
      k.trades('BTCUSDT'),
      k.rankingGainers(),
      k.rankingLosers(),
      k.prediction('BTCUSDT'),
      k.indicatorsLatest('BTCUSDT', '1h'),
    ]).toEqual([
      'crypto:BTCUSDT:1m:latest',
      'crypto:BTCUSDT:1m:60000',
      'crypto:BTCUSDT:1m:index',
      'orderbook:BTCUSDT:latest',
      'trades:BTCUSDT:list',
      'ranking:top_gainers',
      'ranking:top_losers',
      'crypto:prediction:BTCUSDT',
      'indicators:BTCUSDT:1h:latest',
    ])
    expect(redisKeys('t1:').trades('ETHUSDT')).toBe('t1:trades:ETHUSDT:list')
    expect(redisKeys('t1:').kline1mPrefix('ETHUSDT')).toBe('t1:crypto:ETHUSDT:1m:')
  })
})

describe('redis planBatch', () => {
  it('coalesces: newest version per minute (a final is kept over a later open update), last value per latest key', () => {
    offset = 0
    const k = redisKeys()
    const book = (id: number) => ({ symbol: 'BTCUSDT', lastUpdateId: id, bids: [], asks: [], time: id })
    const plan = planBatch(
      [
        rec(topics.kline1m, k1m(0, '1.1', false)),
        rec(topics.kline1m, k1m(0, '1.5', true)),
        rec(topics.kline1m, k1m(0, '1.9', false)),
        rec(topics.kline1m, k1m(60_000, '1.2', false)),
        rec(topics.orderbook, book(1)),
        rec(topics.orderbook, book(2)),
        rec(topics.ranking, { asOf: 1, window: '24h', symbols: 1, gainers: [{ symbol: 'A' }], losers: [] }),
      ],
      k,
    )
    expect([...plan.minutes.values()].map((m) => [m.openTime, m.json])).toEqual([
      [0, JSON.stringify(k1m(0, '1.5', true))],
      [60_000, JSON.stringify(k1m(60_000, '1.2', false))],
    ])
    expect(plan.latest.get(k.orderbookLatest('BTCUSDT'))).toBe(JSON.stringify(book(2)))
    expect(plan.latest.get(k.rankingGainers())).toBe('[{"symbol":"A"}]')
    expect(plan.latest.get(k.rankingLosers())).toBe('[]')
  })

  it('keeps every trade as a (time, JSON) member and rejects malformed records', () => {
    offset = 0
    const t = (id: number) => ({
      symbol: 'ETHUSDT',
      id,
      price: '1.5',
      qty: '2',
      time: 1000 + id,
      buyerIsMaker: false,
    })
    const plan = planBatch(
      [
        rec(topics.trades, t(1)),
        rec(topics.trades, t(2)),
        rec(topics.trades, { ...t(3), price: 1.5 }),
        rec(topics.indicators, '{}'),
      ],
      redisKeys(),
    )
    expect(plan.trades.get('trades:ETHUSDT:list')).toEqual([
      [1001, JSON.stringify(t(1))],
      [1002, JSON.stringify(t(2))],
    ])
    expect(plan.rejected.map((r) => [r.record.offset, r.error])).toEqual([
      [2, 'trade.price: invalid value 1.5'],
      [3, 'indicators.symbol: invalid'],
    ])
  })
})
