import { z } from 'zod'
import type { GatewayContext } from '../context.ts'
import { defineRoute, HttpError, type RouteSpec } from '../http.ts'
import { CANDLE_INTERVALS, intParam, oneOf, symbolParam } from '../params.ts'
import { indicators, rankEntry } from '../shapes.ts'

// Derived views: the 24 h gainers/losers ranking, indicators, predictions.

export function analyticsRoutes(ctx: GatewayContext): RouteSpec[] {
  return [
    defineRoute({
      path: '/ranking/top-gainers',
      tag: 'analytics',
      summary: 'Rolling 24 h gainers (or losers), Binance 24hr-ticker fields per entry',
      response: z.strictObject({
        asOf: z.number().int().nullable(),
        window: z.literal('24h'),
        symbols: z.number().int(),
        type: z.enum(['gainers', 'losers']),
        entries: z.array(rankEntry),
      }),
      query: z.strictObject({
        limit: intParam(1, 100, 'Entries (default 10)').optional(),
        type: oneOf(['gainers', 'losers'], 'Which list (default gainers)').optional(),
      }),
      async handle({ query: q }) {
        const r = await ctx.reader.ranking()
        const type = q.type ?? 'gainers'
        const entries = (r?.[type] ?? []).slice(0, q.limit ?? 10)
        return { asOf: r?.asOf ?? null, window: '24h', symbols: r?.symbols ?? 0, type, entries }
      },
    }),
    defineRoute({
      path: '/indicators',
      tag: 'analytics',
      summary: 'RSI(14), MACD(12,26,9), SMA/EMA(20,50) per closed candle, oldest first',
      response: z.strictObject({ symbol: z.string(), interval: z.string(), indicators: z.array(indicators) }),
      query: z.strictObject({
        symbol: symbolParam(ctx.symbols),
        interval: oneOf(CANDLE_INTERVALS, 'Candle interval (default 1h)').optional(),
        limit: intParam(1, 1000, 'Values (default 100)').optional(),
      }),
      async handle({ query: q }) {
        const interval = q.interval ?? '1h'
        const indicators = await ctx.reader.indicators(q.symbol, interval, q.limit ?? 100)
        return { symbol: q.symbol, interval, indicators }
      },
    }),
    defineRoute({
      path: '/prediction/:symbol',
      tag: 'analytics',
      summary: 'The latest price prediction of a symbol',
      response: z
        .looseObject({ symbol: z.string(), time: z.number().int() })
        .describe('the crypto_predictions record as produced'),
      params: z.strictObject({
        symbol: z
          .string()
          .refine((s) => ctx.symbols.includes(s), {
            error: (iss) => `unknown symbol ${JSON.stringify(iss.input)}`,
          })
          .describe('Symbol, one of /symbols'),
      }),
      responses: { 404: 'unknown symbol, or no prediction yet' },
      async handle({ params: p }) {
        const pred = await ctx.reader.prediction(p.symbol)
        if (!pred) throw new HttpError(404, 'NO_PREDICTION', `no prediction yet for ${p.symbol}`)
        return pred
      },
    }),
  ]
}
