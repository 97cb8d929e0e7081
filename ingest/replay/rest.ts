import { div, formatDec, parseDec, percentChange, sub } from '../../common/decimal.ts'
import type { Faults } from './faults.ts'
import type { Feed } from './feed.ts'
import { aggregate, DATA_START, type Market, MINUTE } from './market.ts'
import type { Row } from './recorded.ts'
import { type SymbolSpec, unitString } from './symbols.ts'

// Binance spot REST market data (/api/v3/...), every parameter validated with Binance's error
// codes and messages: HTTP 400 with {code, msg}. Times are the virtual clock's.

export interface RestContext {
  feed: Feed
  market: Market
  specs: ReadonlyMap<string, SymbolSpec>
  faults: Faults
  now(): number
}

export interface RestResponse {
  status: number
  body: unknown
  headers?: Record<string, string>
}

class ApiError extends Error {
  readonly code: number
  constructor(code: number, msg: string) {
    super(msg)
    this.code = code
  }
}

export const INTERVALS: Record<string, number> = {
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '2h': 120 * MINUTE,
  '4h': 240 * MINUTE,
  '6h': 360 * MINUTE,
  '8h': 480 * MINUTE,
  '12h': 720 * MINUTE,
  '1d': 1440 * MINUTE,
}

type Params = URLSearchParams

function allowOnly(p: Params, names: string[]): void {
  const extra = [...p.keys()].filter((k) => !names.includes(k))
  if (extra.length > 0) {
    const read = [...p.keys()].length - extra.length
    throw new ApiError(
      -1104,
      `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${read + extra.length}'.`,
    )
  }
}

function mandatory(p: Params, name: string): string {
  const v = p.get(name)
  if (v === null || v === '')
    throw new ApiError(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`)
  return v
}

function integer(p: Params, name: string): number | undefined {
  const v = p.get(name)
  if (v === null) return undefined
  if (!/^[0-9]{1,20}$/.test(v))
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`,
    )
  return Number(v)
}

const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/
function symbolOf(ctx: RestContext, raw: string, name = 'symbol'): SymbolSpec {
  if (!SYMBOL.test(raw))
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter '${name}'; legal range is '^[A-Z0-9-_.]{1,20}$'.`,
    )
  const spec = ctx.specs.get(raw)
  if (!spec) throw new ApiError(-1121, 'Invalid symbol.')
  return spec
}

/** `symbol=X` or `symbols=["X","Y"]` (both is an error); undefined when neither. */
function symbolsOf(ctx: RestContext, p: Params): SymbolSpec[] | undefined {
  const one = p.get('symbol')
  const many = p.get('symbols')
  if (one !== null && many !== null) throw new ApiError(-1128, 'Combination of optional parameters invalid.')
  if (one !== null) return [symbolOf(ctx, one)]
  if (many === null) return undefined
  let list: unknown
  try {
    list = JSON.parse(many)
  } catch {
    list = undefined
  }
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((s) => typeof s === 'string' && SYMBOL.test(s))
  )
    throw new ApiError(
      -1100,
      `Illegal characters found in parameter 'symbols'; legal range is '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'.`,
    )
  if (new Set(list).size !== list.length)
    throw new ApiError(-1151, 'Symbol is present multiple times in the list.')
  return (list as string[]).map((s) => symbolOf(ctx, s, 'symbols'))
}

export function handleRest(ctx: RestContext, method: string, url: string): RestResponse {
  const u = new URL(url, 'http://replay')
  const route = ROUTES[u.pathname]
  if (!route) return { status: 404, body: { code: -1000, msg: `Unknown path ${u.pathname}.` } }
  if (method !== 'GET') return { status: 405, body: { code: -1000, msg: `Method ${method} not allowed.` } }
  const fail = ctx.faults.restFailure()
  if (fail === 429)
    return {
      status: 429,
      headers: { 'retry-after': '1' },
      body: {
        code: -1003,
        msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE.',
      },
    }
  if (fail !== undefined)
    return { status: fail, body: { code: -1008, msg: 'Server is currently overloaded with other requests.' } }
  try {
    return { status: 200, body: route(ctx, u.searchParams) }
  } catch (e) {
    if (e instanceof ApiError) return { status: 400, body: { code: e.code, msg: e.message } }
    return { status: 500, body: { code: -1000, msg: `An unknown error occurred: ${(e as Error).message}` } }
  }
}

const ROUTES: Record<string, (ctx: RestContext, p: Params) => unknown> = {
  '/api/v3/ping': (_c, p) => {
    allowOnly(p, [])
    return {}
  },
  '/api/v3/time': (c, p) => {
    allowOnly(p, [])
    return { serverTime: c.now() }
  },
  '/api/v3/exchangeInfo': exchangeInfo,
  '/api/v3/klines': klines,
  '/api/v3/uiKlines': klines,
  '/api/v3/depth': depth,
  '/api/v3/trades': trades,
  '/api/v3/ticker/24hr': ticker24h,
  '/api/v3/ticker/price': (c, p) => {
    allowOnly(p, ['symbol', 'symbols'])
    const list = symbolsOf(c, p)
    const one = (s: SymbolSpec) => ({ symbol: s.symbol, price: c.feed.openKline(s.symbol).row.c })
    return p.has('symbol') ? one(list![0]!) : (list ?? [...c.specs.values()]).map(one)
  },
}

function exchangeInfo(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'permissions', 'showPermissionSets', 'symbolStatus'])
  const status = p.get('symbolStatus')
  if (status !== null && !['TRADING', 'HALT', 'BREAK'].includes(status))
    throw new ApiError(-1122, 'Invalid symbolStatus.')
  let list = symbolsOf(c, p) ?? [...c.specs.values()]
  if (status !== null && status !== 'TRADING') list = []
  return {
    timezone: 'UTC',
    serverTime: c.now(),
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
    ],
    exchangeFilters: [],
    symbols: list.map((s) => ({
      symbol: s.symbol,
      status: 'TRADING',
      baseAsset: s.baseAsset,
      baseAssetPrecision: 8,
      quoteAsset: s.quoteAsset,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
      icebergAllowed: true,
      ocoAllowed: true,
      otoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: true,
      cancelReplaceAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: unitString(s.tickDec),
          maxPrice: '1000000.00000000',
          tickSize: unitString(s.tickDec),
        },
        {
          filterType: 'LOT_SIZE',
          minQty: unitString(s.stepDec),
          maxQty: '9000000000.00000000',
          stepSize: unitString(s.stepDec),
        },
        {
          filterType: 'NOTIONAL',
          minNotional: '5.00000000',
          applyMinToMarket: true,
          maxNotional: '9000000.00000000',
          applyMaxToMarket: false,
          avgPriceMins: 5,
        },
      ],
      permissions: [],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
    })),
  }
}

export const klineArray = (r: Row): unknown[] => [r.t, r.o, r.h, r.l, r.c, r.v, r.T, r.q, r.n, r.V, r.Q, '0']

function klines(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'interval', 'startTime', 'endTime', 'limit', 'timeZone'])
  const spec = symbolOf(c, mandatory(p, 'symbol'))
  const size = INTERVALS[mandatory(p, 'interval')]
  if (size === undefined) throw new ApiError(-1120, 'Invalid interval.')
  const tz = p.get('timeZone')
  if (tz !== null && !['0', '+0', '-0', '+00:00', '-00:00', '00:00'].includes(tz))
    throw new ApiError(-1130, 'Invalid data sent for a parameter: timeZone (only UTC is served).')
  const limit = integer(p, 'limit') ?? 500
  if (limit < 1 || limit > 1000)
    throw new ApiError(-1130, 'Invalid data sent for a parameter: limit (1..1000).')
  const start = integer(p, 'startTime')
  const end = integer(p, 'endTime')
  if (start !== undefined && end !== undefined && start > end)
    throw new ApiError(-1128, 'Combination of optional parameters invalid. (startTime > endTime)')
  const open = c.feed.openKline(spec.symbol)
  const last = Math.min(end ?? Number.MAX_SAFE_INTEGER, open.minute)
  const lastBucket = last - (last % size)
  let first: number
  if (start !== undefined) first = Math.ceil(start / size) * size
  else first = lastBucket - (limit - 1) * size
  first = Math.max(first, DATA_START - (DATA_START % size))
  const out: unknown[] = []
  for (let b = first; b <= lastBucket && out.length < limit; b += size) {
    const r = c.market.candle(spec, b, size, open.minute, open.row)
    if (r) out.push(klineArray(r))
  }
  return out
}

function depth(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'limit', 'symbolStatus'])
  const spec = symbolOf(c, mandatory(p, 'symbol'))
  const limit = integer(p, 'limit') ?? 100
  if (limit < 1) throw new ApiError(-1130, 'Invalid data sent for a parameter: limit.')
  // Binance: "If limit > 5000, then the response will truncate to 5000."
  return c.feed.book(spec.symbol).snapshot(Math.min(limit, 5000))
}

function mul8(a: string, b: string): string {
  const x = parseDec(a)
  const y = parseDec(b)
  const units = x.units * y.units
  const scale = x.scale + y.scale
  return formatDec(scale > 8 ? { units: units / 10n ** BigInt(scale - 8), scale: 8 } : { units, scale })
}

function trades(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'limit'])
  const spec = symbolOf(c, mandatory(p, 'symbol'))
  const limit = integer(p, 'limit') ?? 500
  if (limit < 1) throw new ApiError(-1130, 'Invalid data sent for a parameter: limit.')
  return c.feed.recentTrades(spec.symbol, Math.min(limit, 1000)).map((t) => ({
    id: t.id,
    price: t.price,
    qty: t.qty,
    quoteQty: mul8(t.price, t.qty),
    time: t.time,
    isBuyerMaker: t.maker,
    isBestMatch: true,
  }))
}

/** Rolling 24 h window ending now, from the 1m klines (the open minute as of now). */
function ticker(c: RestContext, spec: SymbolSpec, mini: boolean): unknown {
  const now = c.now()
  const open = c.feed.openKline(spec.symbol)
  const rows: Row[] = []
  for (let m = open.minute - 1439 * MINUTE; m < open.minute; m += MINUTE) {
    const r = c.market.row(spec, m)
    if (r) rows.push(r)
  }
  rows.push(open.row)
  const w = aggregate(rows, now - 86_400_000, 86_400_000)
  const prev = c.market.row(spec, open.minute - 1440 * MINUTE)
  const lastId = c.feed.lastTradeId(spec.symbol)
  const last = c.feed.recentTrades(spec.symbol, 1)[0]
  const book = c.feed.book(spec.symbol)
  const base = {
    openPrice: w.o,
    highPrice: w.h,
    lowPrice: w.l,
    lastPrice: w.c,
    volume: w.v,
    quoteVolume: w.q,
    openTime: now - 86_400_000,
    closeTime: now,
    firstId: Math.max(0, lastId - w.n + 1),
    lastId,
    count: w.n,
  }
  if (mini) return { symbol: spec.symbol, ...base }
  const zero = '0.00000000'
  const bid = book.bestBid()
  const ask = book.bestAsk()
  return {
    symbol: spec.symbol,
    priceChange: sub(w.c, w.o),
    priceChangePercent: percentChange(w.c, w.o),
    weightedAvgPrice: div(w.q, w.v),
    prevClosePrice: prev?.c ?? w.o,
    lastQty: last?.qty ?? zero,
    bidPrice: bid?.[0] ?? zero,
    bidQty: bid?.[1] ?? zero,
    askPrice: ask?.[0] ?? zero,
    askQty: ask?.[1] ?? zero,
    ...base,
  }
}

function ticker24h(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'type'])
  const type = p.get('type') ?? 'FULL'
  if (type !== 'FULL' && type !== 'MINI') throw new ApiError(-1139, 'Invalid ticker type.')
  const list = symbolsOf(c, p)
  const one = (s: SymbolSpec) => ticker(c, s, type === 'MINI')
  return p.has('symbol') ? one(list![0]!) : (list ?? [...c.specs.values()]).map(one)
}
