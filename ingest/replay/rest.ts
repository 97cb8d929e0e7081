import { formatDec } from '../../common/decimal.ts'
import type { Faults } from './faults.ts'
import { notional } from './history.ts'
import { bucketStart, ceilStart, isInterval, nextStart, prevStart } from './intervals.ts'
import { DATA_START, MINUTE } from './market.ts'
import {
  ApiError,
  allowOnly,
  instant,
  integer,
  limitOf,
  mandatory,
  noDuplicates,
  type Params,
  symbolCount,
  symbolOf,
  symbolsOf,
} from './params.ts'
import type { Row } from './recorded.ts'
import type { TradeEvent } from './streams.ts'
import { type SymbolSpec, unitString } from './symbols.ts'
import {
  avgPrice,
  fullFields,
  type MarketView,
  miniFields,
  rolling,
  ticker24h,
  tradingDay,
} from './tickers.ts'
import type { WeightLimiter } from './weights.ts'

// Binance spot REST market data (/api/v3/...), every parameter validated with Binance's error
// codes and messages: HTTP 400 with {code, msg}. Every answer carries the request weight used
// this minute and a `Date` from the virtual clock; times are the virtual clock's, in ms or, with
// the header `X-MBX-TIME-UNIT: MICROSECOND`, in µs.

export interface RestContext extends MarketView {
  specs: ReadonlyMap<string, SymbolSpec>
  faults: Faults
  weights: WeightLimiter
}

export interface RestRequest {
  method: string
  url: string
  /** Lower-case header names, as node gives them. */
  headers: Record<string, string | string[] | undefined>
  ip: string
}

export interface RestResponse {
  status: number
  body: unknown
  headers: Record<string, string>
}

interface Route {
  weight(p: Params): number
  run(c: RestContext, p: Params): unknown
}

/** Binance's weights of the ticker family: by how many symbols are asked (all = undefined). */
const perSymbol = (each: number, max: number) => (p: Params) => Math.min(max, each * (symbolCount(p) ?? 100))
const oneOrAll = (one: number, all: number) => (p: Params) => (p.get('symbol') !== null ? one : all)

const ROUTES: Record<string, Route> = {
  '/api/v3/ping': {
    weight: () => 1,
    run: (_c, p) => {
      allowOnly(p, [])
      return {}
    },
  },
  '/api/v3/time': {
    weight: () => 1,
    run: (c, p) => {
      allowOnly(p, [])
      return { serverTime: c.now() }
    },
  },
  '/api/v3/exchangeInfo': { weight: () => 20, run: exchangeInfo },
  '/api/v3/klines': { weight: () => 2, run: klines },
  '/api/v3/uiKlines': { weight: () => 2, run: klines },
  '/api/v3/depth': { weight: depthWeight, run: depth },
  '/api/v3/trades': { weight: () => 25, run: trades },
  '/api/v3/historicalTrades': { weight: () => 25, run: historicalTrades },
  '/api/v3/aggTrades': { weight: () => 4, run: aggTrades },
  '/api/v3/avgPrice': { weight: () => 2, run: avg },
  '/api/v3/ticker/24hr': {
    weight: (p) => {
      const n = symbolCount(p)
      if (n === undefined) return 80
      return n <= 20 ? 2 : n <= 100 ? 40 : 80
    },
    run: ticker24hr,
  },
  '/api/v3/ticker/tradingDay': { weight: perSymbol(4, 200), run: tickerTradingDay },
  '/api/v3/ticker': { weight: perSymbol(4, 200), run: tickerWindow },
  '/api/v3/ticker/price': { weight: oneOrAll(2, 4), run: tickerPrice },
  '/api/v3/ticker/bookTicker': { weight: oneOrAll(2, 4), run: bookTicker },
}

const err = (
  status: number,
  code: number,
  msg: string,
  headers: Record<string, string> = {},
): RestResponse => ({
  status,
  body: { code, msg },
  headers,
})

export function handleRest(ctx: RestContext, req: RestRequest): RestResponse {
  const u = new URL(req.url, 'http://replay')
  const headers: Record<string, string> = { date: new Date(ctx.now()).toUTCString() }
  const r = answer(ctx, req, u, headers)
  return { ...r, headers: { ...headers, ...r.headers } }
}

function answer(ctx: RestContext, req: RestRequest, u: URL, headers: Record<string, string>): RestResponse {
  const route = ROUTES[u.pathname]
  if (!route) return err(404, -1000, `Unknown path ${u.pathname}.`)
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return err(405, -1000, `Method ${req.method} not allowed.`)
  const p = u.searchParams
  let weight = 1
  try {
    weight = route.weight(p)
  } catch {}
  const w = ctx.weights.take(req.ip, weight)
  headers['x-mbx-used-weight'] = String(w.used)
  headers['x-mbx-used-weight-1m'] = String(w.used)
  if (w.retryAfter !== undefined)
    return err(
      429,
      -1003,
      `Too much request weight used; current limit is ${ctx.weights.limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
      { 'retry-after': String(w.retryAfter) },
    )
  const fail = ctx.faults.restFailure()
  if (fail === 429)
    return err(
      429,
      -1003,
      `Too much request weight used; current limit is ${ctx.weights.limit} request weight per 1 MINUTE.`,
      {
        'retry-after': '1',
      },
    )
  if (fail !== undefined) return err(fail, -1008, 'Server is currently overloaded with other requests.')
  try {
    const unit = timeUnit(req.headers['x-mbx-time-unit'])
    noDuplicates(p)
    const body = route.run(ctx, p)
    return { status: 200, body: unit === 'MICROSECOND' ? micros(body) : body, headers: {} }
  } catch (e) {
    if (e instanceof ApiError) return err(e.status, e.code, e.message)
    return err(500, -1000, `An unknown error occurred: ${(e as Error).message}`)
  }
}

function timeUnit(raw: string | string[] | undefined): 'MILLISECOND' | 'MICROSECOND' {
  if (raw === undefined) return 'MILLISECOND'
  const v = String(raw).toUpperCase()
  if (v === 'MILLISECOND' || v === 'MICROSECOND') return v
  throw new ApiError(
    -1100,
    `Invalid value for X-MBX-TIME-UNIT: '${String(raw).slice(0, 20)}' (MILLISECOND or MICROSECOND).`,
  )
}

const TIME_KEYS = new Set(['serverTime', 'time', 'T', 'openTime', 'closeTime'])

/** The same answer in microseconds: time fields × 1000, kline close times end in …999999. */
function micros(body: unknown): unknown {
  if (Array.isArray(body)) {
    if (body.length === 12 && typeof body[0] === 'number' && typeof body[6] === 'number')
      return [body[0] * 1000, ...body.slice(1, 6), (body[6] + 1) * 1000 - 1, ...body.slice(7)]
    return body.map(micros)
  }
  if (typeof body === 'object' && body !== null)
    return Object.fromEntries(
      Object.entries(body).map(([k, v]) => [
        k,
        TIME_KEYS.has(k) && typeof v === 'number' ? v * 1000 : micros(v),
      ]),
    )
  return body
}

function exchangeInfo(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'permissions', 'showPermissionSets', 'symbolStatus'])
  const status = p.get('symbolStatus')
  if (status !== null && !['TRADING', 'HALT', 'BREAK'].includes(status))
    throw new ApiError(-1122, 'Invalid symbolStatus.')
  let list = symbolsOf(c.specs, p) ?? [...c.specs.values()]
  if (status !== null && status !== 'TRADING') list = []
  return {
    timezone: 'UTC',
    serverTime: c.now(),
    rateLimits: [
      {
        rateLimitType: 'REQUEST_WEIGHT',
        interval: 'MINUTE',
        intervalNum: 1,
        limit: Number.isFinite(c.weights.limit) ? c.weights.limit : 6000,
      },
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
  const spec = symbolOf(c.specs, mandatory(p, 'symbol'))
  const iv = mandatory(p, 'interval')
  if (!isInterval(iv)) throw new ApiError(-1120, 'Invalid interval.')
  const tz = p.get('timeZone')
  if (tz !== null && !['0', '+0', '-0', '+00:00', '-00:00', '00:00'].includes(tz))
    throw new ApiError(-1130, 'Invalid data sent for a parameter: timeZone (only UTC is served).')
  const limit = limitOf(p, 500, 1000)
  const start = instant(p, 'startTime')
  const end = instant(p, 'endTime')
  if (start !== undefined && end !== undefined && start > end)
    throw new ApiError(-1128, 'Combination of optional parameters invalid. (startTime > endTime)')
  const open = c.feed.openKline(spec.symbol)
  const lastBucket = bucketStart(iv, Math.min(end ?? Number.MAX_SAFE_INTEGER, c.now()))
  let first: number
  if (start !== undefined) first = ceilStart(iv, start)
  else {
    first = lastBucket
    for (let i = 1; i < limit && first > DATA_START; i++) first = prevStart(iv, first)
  }
  first = Math.max(first, bucketStart(iv, DATA_START))
  const out: unknown[] = []
  if (iv === '1s') {
    for (let m = first - (first % MINUTE); m <= lastBucket && out.length < limit; m += MINUTE) {
      const isOpen = m === open.minute
      const secs = c.history.seconds(
        spec,
        m,
        isOpen ? open.sent : undefined,
        isOpen ? lastBucket + 1000 : undefined,
      )
      for (const r of secs)
        if (r.t >= first && r.t <= lastBucket && out.length < limit) out.push(klineArray(r))
    }
    return out
  }
  for (let b = first; b <= lastBucket && out.length < limit; b = nextStart(iv, b)) {
    const r =
      iv === '1m'
        ? b === open.minute
          ? open.row
          : c.market.row(spec, b)
        : c.market.candle(spec, b, nextStart(iv, b), open.minute, open.row)
    if (r) out.push(klineArray(r))
  }
  return out
}

function depthWeight(p: Params): number {
  let limit = 100
  try {
    limit = integer(p, 'limit') ?? 100
  } catch {}
  return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250
}

function depth(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'limit', 'symbolStatus'])
  const spec = symbolOf(c.specs, mandatory(p, 'symbol'))
  // Binance: "If limit > 5000, then the response will truncate to 5000."
  return c.feed.book(spec.symbol).snapshot(limitOf(p, 100, 5000))
}

// --- trades: every id is the stream's (history.ts) ---

const tradeJson = (t: TradeEvent) => ({
  id: t.id,
  price: t.price,
  qty: t.qty,
  quoteQty: formatDec({ units: notional(t.price, t.qty), scale: 8 }),
  time: t.time,
  isBuyerMaker: t.maker,
  isBestMatch: true,
})

/** Trades of `minute` already sent by now. */
function minuteTrades(c: RestContext, spec: SymbolSpec, minute: number): TradeEvent[] {
  const open = c.feed.openKline(spec.symbol)
  if (minute > open.minute) return []
  return c.history.trades(spec, minute, minute === open.minute ? open.sent : undefined)
}

/** The last `limit` trades at or before `end` (all sent so far when undefined). */
function latest(c: RestContext, spec: SymbolSpec, limit: number, end?: number): TradeEvent[] {
  const open = c.feed.openKline(spec.symbol)
  let out: TradeEvent[] = []
  const startMinute = end === undefined ? open.minute : Math.min(open.minute, end - (end % MINUTE))
  for (
    let m = startMinute;
    m >= DATA_START && out.length < limit && m > startMinute - 1440 * MINUTE;
    m -= MINUTE
  ) {
    const ts = minuteTrades(c, spec, m).filter((t) => end === undefined || t.time <= end)
    out = [...ts, ...out]
  }
  return out.slice(-limit)
}

/** Up to `limit` trades from id `fromId` on (in time order). */
function fromIdOn(
  c: RestContext,
  spec: SymbolSpec,
  fromId: number,
  limit: number,
  end = Infinity,
): TradeEvent[] {
  const open = c.feed.openKline(spec.symbol)
  const m0 = c.history.minuteOfId(spec, Math.max(fromId, 0), open.minute)
  const out: TradeEvent[] = []
  if (m0 === undefined) return out
  for (let m = m0; m <= open.minute && out.length < limit; m += MINUTE)
    for (const t of minuteTrades(c, spec, m))
      if (t.id >= fromId && t.time <= end && out.length < limit) out.push(t)
  return out
}

/** Up to `limit` trades with time in [start, end]. */
function between(c: RestContext, spec: SymbolSpec, start: number, end: number, limit: number): TradeEvent[] {
  const open = c.feed.openKline(spec.symbol)
  const out: TradeEvent[] = []
  for (
    let m = Math.max(start - (start % MINUTE), DATA_START);
    m <= open.minute && m <= end && out.length < limit;
    m += MINUTE
  )
    for (const t of minuteTrades(c, spec, m))
      if (t.time >= start && t.time <= end && out.length < limit) out.push(t)
  return out
}

function trades(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'limit'])
  const spec = symbolOf(c.specs, mandatory(p, 'symbol'))
  return latest(c, spec, limitOf(p, 500, 1000)).map(tradeJson)
}

function historicalTrades(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'limit', 'fromId'])
  const spec = symbolOf(c.specs, mandatory(p, 'symbol'))
  const limit = limitOf(p, 500, 1000)
  const fromId = integer(p, 'fromId')
  return (fromId === undefined ? latest(c, spec, limit) : fromIdOn(c, spec, fromId, limit)).map(tradeJson)
}

/** One aggregate per trade (our trades never share a taker order): a = f = l = the trade id. */
function aggTrades(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'fromId', 'startTime', 'endTime', 'limit'])
  const spec = symbolOf(c.specs, mandatory(p, 'symbol'))
  const limit = limitOf(p, 500, 1000)
  const fromId = integer(p, 'fromId')
  const start = instant(p, 'startTime')
  const end = instant(p, 'endTime')
  if (start !== undefined && end !== undefined) {
    if (start > end)
      throw new ApiError(-1128, 'Combination of optional parameters invalid. (startTime > endTime)')
    if (end - start > 3_600_000) throw new ApiError(-1127, 'More than 1 hours between startTime and endTime.')
  }
  let list: TradeEvent[]
  if (fromId !== undefined) list = fromIdOn(c, spec, fromId, limit, end)
  else if (start !== undefined) list = between(c, spec, start, end ?? start + 3_600_000, limit)
  else list = latest(c, spec, limit, end)
  return list.map((t) => ({
    a: t.id,
    p: t.price,
    q: t.qty,
    f: t.id,
    l: t.id,
    T: t.time,
    m: t.maker,
    M: true,
  }))
}

function avg(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol'])
  return avgPrice(c, symbolOf(c.specs, mandatory(p, 'symbol')))
}

// --- tickers ---

/** symbol / symbols / all: one object for `symbol`, else a list. */
function each(c: RestContext, p: Params, one: (s: SymbolSpec) => unknown, required = false): unknown {
  const list = symbolsOf(c.specs, p)
  if (list === undefined && required)
    throw new ApiError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
  return p.has('symbol') ? one(list![0]!) : (list ?? [...c.specs.values()]).map(one)
}

function tickerType(p: Params): boolean {
  const type = p.get('type') ?? 'FULL'
  if (type !== 'FULL' && type !== 'MINI') throw new ApiError(-1139, 'Invalid ticker type.')
  return type === 'MINI'
}

function ticker24hr(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'type'])
  const mini = tickerType(p)
  return each(c, p, (s) => ticker24h(c, s, mini))
}

const WINDOW = /^([1-9][0-9]?)([mhd])$/
const UNIT_MS: Record<string, number> = { m: MINUTE, h: 60 * MINUTE, d: 1440 * MINUTE }

/** windowSize 1m..59m, 1h..23h, 1d..7d (default 1d). */
function windowMs(raw: string | null): number {
  const m = WINDOW.exec(raw ?? '1d')
  const n = Number(m?.[1])
  const ok = m && ((m[2] === 'm' && n <= 59) || (m[2] === 'h' && n <= 23) || (m[2] === 'd' && n <= 7))
  if (!ok)
    throw new ApiError(
      -1100,
      "Illegal characters found in parameter 'windowSize'; legal range is '1m..59m, 1h..23h, 1d..7d'.",
    )
  return n * UNIT_MS[m[2]!]!
}

function tickerWindow(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'windowSize', 'type'])
  const ms = windowMs(p.get('windowSize'))
  const mini = tickerType(p)
  return each(c, p, (s) => (mini ? miniFields : fullFields)(rolling(c, s, ms)), true)
}

function tickerTradingDay(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols', 'timeZone', 'type'])
  const tz = p.get('timeZone')
  if (tz !== null && !['0', '+0', '-0', '+00:00', '-00:00', '00:00'].includes(tz))
    throw new ApiError(-1130, 'Invalid data sent for a parameter: timeZone (only UTC is served).')
  const mini = tickerType(p)
  return each(c, p, (s) => (mini ? miniFields : fullFields)(tradingDay(c, s)), true)
}

function tickerPrice(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols'])
  return each(c, p, (s) => ({ symbol: s.symbol, price: c.feed.openKline(s.symbol).row.c }))
}

function bookTicker(c: RestContext, p: Params): unknown {
  allowOnly(p, ['symbol', 'symbols'])
  return each(c, p, (s) => {
    const b = c.feed.book(s.symbol)
    const bid = b.bestBid() ?? ['0.00000000', '0.00000000']
    const ask = b.bestAsk() ?? ['0.00000000', '0.00000000']
    return { symbol: s.symbol, bidPrice: bid[0], bidQty: bid[1], askPrice: ask[0], askQty: ask[1] }
  })
}
