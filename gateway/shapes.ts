import { z } from 'zod'
import { KLINE_INTERVALS } from './params.ts'

// What the routes answer, as zod schemas: the OpenAPI document shows them, and the REST test
// parses every answer with them, so the document cannot drift from the responses.

const decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/)
  .describe('decimal string as Binance prints it')
const time = z.number().int().describe('epoch ms')

export const kline = z.strictObject({
  symbol: z.string(),
  interval: z.enum(KLINE_INTERVALS),
  openTime: time,
  closeTime: time,
  open: decimal,
  high: decimal,
  low: decimal,
  close: decimal,
  volume: decimal,
  quoteVolume: decimal,
  trades: z.number().int(),
  takerBuyBase: decimal,
  takerBuyQuote: decimal,
  closed: z.boolean().describe('false while the candle is open'),
})

const level = z.tuple([decimal, decimal]).describe('[price, quantity]')
export const book = z.strictObject({
  symbol: z.string(),
  lastUpdateId: z.number().int(),
  time,
  bids: z.array(level).describe('best (highest) first'),
  asks: z.array(level).describe('best (lowest) first'),
})

export const trade = z.strictObject({
  symbol: z.string(),
  id: z.number().int(),
  price: decimal,
  qty: decimal,
  time,
  buyerIsMaker: z.boolean().describe('the taker sold'),
})

export const rankEntry = z.strictObject({
  rank: z.number().int(),
  symbol: z.string(),
  openTime: time,
  closeTime: time,
  openPrice: decimal,
  lastPrice: decimal,
  priceChange: decimal,
  priceChangePercent: decimal,
  volume: decimal,
  quoteVolume: decimal,
  count: z.number().int(),
  partial: z.boolean().describe('less than 24 h of minutes known'),
  stale: z.boolean().describe('the symbol went quiet'),
})

const value = z.number().nullable()
export const indicators = z.strictObject({
  symbol: z.string(),
  interval: z.string(),
  openTime: time,
  close: z.number(),
  rsi14: value,
  macd: value,
  macdSignal: value,
  macdHistogram: value,
  sma20: value,
  sma50: value,
  ema20: value,
  ema50: value,
})

export const symbolInfo = z.strictObject({
  symbol: z.string(),
  baseAsset: z.string(),
  quoteAsset: z.string(),
  tickSize: decimal.nullable(),
  stepSize: decimal.nullable(),
  pricePrecision: z.number().int().nullable(),
  quantityPrecision: z.number().int().nullable(),
})

export const candles = z.strictObject({
  symbol: z.string(),
  interval: z.enum(KLINE_INTERVALS),
  candles: z.array(kline),
})
export const health = z.strictObject({
  status: z.enum(['ok', 'down']),
  dependencies: z.record(z.string(), z.strictObject({ ok: z.boolean(), detail: z.string() })),
})
export const binanceRow = z
  .tuple([
    time,
    decimal,
    decimal,
    decimal,
    decimal,
    decimal,
    time,
    decimal,
    z.number().int(),
    decimal,
    decimal,
    z.literal('0'),
  ])
  .describe(
    '[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase, takerBuyQuote, "0"]',
  )
