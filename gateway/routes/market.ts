import { z } from 'zod'
import type { GatewayContext } from '../context.ts'
import { defineRoute, type RouteSpec } from '../http.ts'
import { intParam, symbolParam } from '../params.ts'
import { book, kline, trade } from '../shapes.ts'
import { noData } from './ohlc.ts'

// The raw side of a symbol: latest 1m kline, order book, recent trades.

export function marketRoutes(ctx: GatewayContext): RouteSpec[] {
  const symbol = symbolParam(ctx.symbols)
  return [
    defineRoute({
      path: '/latest',
      tag: 'market',
      summary: 'The newest 1m kline of a symbol (open or closed)',
      query: z.strictObject({ symbol }),
      response: kline,
      responses: { 404: 'no kline for the symbol yet' },
      async handle({ query: q }) {
        const k = await ctx.reader.latest(q.symbol)
        if (!k) throw noData('1m kline', q.symbol)
        return k
      },
    }),
    defineRoute({
      path: '/orderbook',
      tag: 'market',
      summary: 'The latest order book (best first), up to 20 levels per side',
      query: z.strictObject({ symbol, limit: intParam(1, 20, 'Levels per side (default 20)').optional() }),
      response: book,
      responses: { 404: 'no order book for the symbol yet' },
      async handle({ query: q }) {
        const b = await ctx.reader.orderbook(q.symbol)
        if (!b) throw noData('order book', q.symbol)
        const n = q.limit ?? 20
        return {
          symbol: b.symbol,
          lastUpdateId: b.lastUpdateId,
          time: b.time,
          bids: b.bids.slice(0, n),
          asks: b.asks.slice(0, n),
        }
      },
    }),
    defineRoute({
      path: '/trades',
      tag: 'market',
      summary: 'Recent trades, newest first',
      response: z.strictObject({ symbol: z.string(), trades: z.array(trade) }),
      query: z.strictObject({ symbol, limit: intParam(1, 1000, 'Trades (default 50)').optional() }),
      async handle({ query: q }) {
        return { symbol: q.symbol, trades: await ctx.reader.trades(q.symbol, q.limit ?? 50) }
      },
    }),
  ]
}
