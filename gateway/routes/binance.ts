import { z } from 'zod'
import type { Interval, Kline } from '../../common/records.ts'
import type { GatewayContext } from '../context.ts'
import { defineRoute, HttpError, type InvalidInput, type RouteSpec } from '../http.ts'
import { intParam, KLINE_INTERVALS, timeOrder, timeParam } from '../params.ts'
import { binanceRow } from '../shapes.ts'

// Binance's spot REST for market data, as far as clients such as ccxt need it to use this
// platform as a kline source: ping, time, exchangeInfo, klines (and uiKlines). Errors in
// Binance's shape {code, msg} with its codes, so client libraries map them as they would Binance's.

export class BinanceError extends HttpError {
  constructor(code: number, msg: string, status = 400) {
    super(status, String(code), msg)
  }
}

/** zod issues → the Binance error a client expects for that parameter. */
export const binanceInvalid: InvalidInput = (issues) => {
  const i = issues[0]!
  const field = String(i.path[0] ?? '')
  if (i.code === 'unrecognized_keys')
    return new BinanceError(
      -1104,
      `Not all sent parameters were read; read ${i.keys.length} unknown parameter(s).`,
    )
  if (i.message === 'is required')
    return new BinanceError(
      -1102,
      `Mandatory parameter '${field}' was not sent, was empty/null, or malformed.`,
    )
  if (field === 'symbol') return new BinanceError(-1121, 'Invalid symbol.')
  if (field === 'interval') return new BinanceError(-1120, 'Invalid interval.')
  if (field === 'limit' && i.code !== 'invalid_format')
    return new BinanceError(-1130, 'Invalid data sent for a parameter.')
  if (field === 'startTime' && i.code === 'custom')
    return new BinanceError(-1130, 'startTime must be before endTime.')
  if (field === 'symbols') return new BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
  return new BinanceError(
    -1100,
    `Illegal characters found in parameter '${field}'; legal range is '^[0-9]{1,20}$'.`,
  )
}

export const klineRow = (k: Kline): unknown[] => [
  k.openTime,
  k.open,
  k.high,
  k.low,
  k.close,
  k.volume,
  k.closeTime,
  k.quoteVolume,
  k.trades,
  k.takerBuyBase,
  k.takerBuyQuote,
  '0',
]

export function binanceRoutes(ctx: GatewayContext): RouteSpec[] {
  const symbol = z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'not a string') })
    .refine((s) => ctx.symbols.includes(s), { error: 'unknown symbol' })
  const klines = defineRoute({
    path: '/api/v3/klines',
    tag: 'binance',
    summary: 'Binance-compatible klines: arrays [openTime, open, high, low, close, volume, closeTime, …]',
    query: z
      .strictObject({
        symbol: symbol.describe('Symbol, one of /symbols'),
        interval: z.enum(KLINE_INTERVALS, {
          error: (iss) => (iss.input === undefined ? 'is required' : 'invalid'),
        }),
        startTime: timeParam('openTime from (epoch ms)').optional(),
        endTime: timeParam('openTime up to (epoch ms)').optional(),
        limit: intParam(1, 1000, 'Rows (default 500)').optional(),
        timeZone: z.literal(['0', '+0', '00:00', '+00:00']).optional().describe('Only UTC is offered'),
      })
      .refine(timeOrder, { path: ['startTime'] }),
    response: z.array(binanceRow),
    responses: { 400: 'Binance error {code, msg}' },
    async handle({ query: q }) {
      const rows = await ctx.reader.candles({
        symbol: q.symbol,
        interval: q.interval as Interval,
        limit: q.limit ?? 500,
        startTime: q.startTime,
        endTime: q.endTime,
      })
      return rows.map(klineRow)
    },
  })
  return [
    defineRoute({
      path: '/api/v3/ping',
      tag: 'binance',
      summary: 'Connectivity check',
      response: z.strictObject({}),
      query: z.strictObject({}),
      handle: async () => ({}),
    }),
    defineRoute({
      path: '/api/v3/time',
      tag: 'binance',
      summary: 'Server time',
      response: z.strictObject({ serverTime: z.number().int() }),
      query: z.strictObject({}),
      handle: async () => ({ serverTime: Date.now() }),
    }),
    defineRoute({
      path: '/api/v3/exchangeInfo',
      tag: 'binance',
      summary: 'The configured symbols with PRICE_FILTER and LOT_SIZE',
      response: z.looseObject({
        timezone: z.literal('UTC'),
        serverTime: z.number().int(),
        symbols: z.array(
          z.looseObject({ symbol: z.string(), filters: z.array(z.looseObject({ filterType: z.string() })) }),
        ),
      }),
      query: z.strictObject({
        symbol: symbol.optional(),
        symbols: z.string().optional().describe('JSON array of symbols, e.g. ["BTCUSDT","ETHUSDT"]'),
        permissions: z.string().optional(),
        showPermissionSets: z.string().optional(),
      }),
      async handle({ query: q }) {
        let wanted: string[] | undefined = q.symbol ? [q.symbol] : undefined
        if (q.symbols !== undefined) {
          try {
            wanted = z.array(z.string()).parse(JSON.parse(q.symbols))
          } catch {
            throw new BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
          }
          if (wanted.some((s) => !ctx.symbols.includes(s))) throw new BinanceError(-1121, 'Invalid symbol.')
        }
        const list = (await ctx.catalog.list()).filter((s) => !wanted || wanted.includes(s.symbol))
        return {
          timezone: 'UTC',
          serverTime: Date.now(),
          rateLimits: [],
          exchangeFilters: [],
          symbols: list.map((s) => ({
            symbol: s.symbol,
            status: 'TRADING',
            baseAsset: s.baseAsset,
            baseAssetPrecision: 8,
            quoteAsset: s.quoteAsset,
            quotePrecision: 8,
            quoteAssetPrecision: 8,
            orderTypes: [],
            isSpotTradingAllowed: false,
            isMarginTradingAllowed: false,
            permissions: [],
            permissionSets: [['SPOT']],
            filters: [
              ...(s.tickSize
                ? [
                    {
                      filterType: 'PRICE_FILTER',
                      minPrice: s.tickSize,
                      maxPrice: '1000000.00000000',
                      tickSize: s.tickSize,
                    },
                  ]
                : []),
              ...(s.stepSize
                ? [
                    {
                      filterType: 'LOT_SIZE',
                      minQty: s.stepSize,
                      maxQty: '9000000000.00000000',
                      stepSize: s.stepSize,
                    },
                  ]
                : []),
            ],
          })),
        }
      },
    }),
    klines,
    { ...klines, path: '/api/v3/uiKlines', summary: 'Same as /api/v3/klines' },
  ]
}
