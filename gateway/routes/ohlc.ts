import { z } from 'zod'
import type { Interval } from '../../common/records.ts'
import type { GatewayContext } from '../context.ts'
import { defineRoute, HttpError, type RouteSpec } from '../http.ts'
import { CANDLE_INTERVALS, intParam, oneOf, symbolParam, timeOrder, timeParam } from '../params.ts'
import { candles } from '../shapes.ts'

// Candles: GET /ohlc by interval (or by the sinks' collection name, as the original design
// asked) with Binance's startTime/endTime/limit selection, and GET /ohlc/realtime for 1m.

const COLLECTIONS = ['5m_kline', '1h_kline', '4h_kline', '1d_kline'] as const

export function ohlcRoutes(ctx: GatewayContext): RouteSpec[] {
  const ohlc = z
    .strictObject({
      symbol: symbolParam(ctx.symbols),
      interval: oneOf(CANDLE_INTERVALS, 'Candle interval (default 1h)').optional(),
      collection: oneOf(COLLECTIONS, 'MongoDB collection name, instead of interval').optional(),
      limit: intParam(1, 1000, 'Candles to return (default 500)').optional(),
      startTime: timeParam('First openTime (epoch ms), inclusive').optional(),
      endTime: timeParam('Last openTime (epoch ms), inclusive').optional(),
    })
    .refine(timeOrder, { error: 'startTime must not be after endTime', path: ['startTime'] })
    .refine((q) => !q.interval || !q.collection || q.collection === `${q.interval}_kline`, {
      error: 'interval and collection disagree',
      path: ['collection'],
    })
  const realtime = z.strictObject({
    symbol: symbolParam(ctx.symbols),
    limit: intParam(1, 1440, '1m klines to return (default 60)').optional(),
  })
  return [
    defineRoute({
      path: '/ohlc',
      tag: 'candles',
      summary: 'Candles of one symbol and interval, oldest first (open candle last, closed=false)',
      query: ohlc,
      response: candles,
      async handle({ query: q }) {
        const interval = (q.interval ?? q.collection?.split('_')[0] ?? '1h') as Interval
        const candles = await ctx.reader.candles({
          symbol: q.symbol,
          interval,
          limit: q.limit ?? 500,
          startTime: q.startTime,
          endTime: q.endTime,
        })
        return { symbol: q.symbol, interval, candles }
      },
    }),
    defineRoute({
      path: '/ohlc/realtime',
      tag: 'candles',
      summary: 'The last 1m klines (24 h kept), oldest first, the open one last',
      query: realtime,
      response: candles,
      async handle({ query: q }) {
        const candles = await ctx.reader.candles({ symbol: q.symbol, interval: '1m', limit: q.limit ?? 60 })
        return { symbol: q.symbol, interval: '1m', candles }
      },
    }),
  ]
}

export const noData = (what: string, symbol: string) =>
  new HttpError(404, 'NO_DATA', `no ${what} for ${symbol} yet`)
