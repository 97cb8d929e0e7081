import { StreamsError } from './errors.ts'

// The one record schema module. Prices and sizes stay decimal strings exactly as Binance prints
// them ("42283.58000000", "0.00000116"): floats would change printed values. Times are epoch ms.

export type Interval = '1m' | '5m' | '1h' | '4h' | '1d'
export const intervalMs: Record<Interval, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
}

export interface Kline {
  symbol: string
  interval: Interval
  openTime: number
  closeTime: number
  open: string
  high: string
  low: string
  close: string
  volume: string
  quoteVolume: string
  trades: number
  takerBuyBase: string
  takerBuyQuote: string
  /** true once the candle's interval has ended (Binance's `x`). */
  closed: boolean
}

export interface Trade {
  symbol: string
  id: number
  price: string
  qty: string
  time: number
  /** Binance's `m`: the buyer was the maker, so the taker sold. */
  buyerIsMaker: boolean
}

/** [price, quantity], best first. */
export type BookLevel = [string, string]

export interface Book {
  symbol: string
  lastUpdateId: number
  bids: BookLevel[]
  asks: BookLevel[]
  time: number
}

export class SchemaError extends StreamsError {
  constructor(message: string) {
    super('SCHEMA', 'INVALID', message)
    this.name = 'SchemaError'
  }
}

/**
 * A decimal as Binance prints it: /^-?\d{1,30}(\.\d{1,18})?$/, checked by char codes (the regex
 * for every price and size was a tenth of decoding a kline).
 */
export function isDecimal(v: string): boolean {
  const n = v.length
  let i = v.charCodeAt(0) === 45 ? 1 : 0
  const from = i
  while (i < n && isDigit(v.charCodeAt(i))) i++
  if (i === from || i - from > 30) return false
  if (i === n) return true
  if (v.charCodeAt(i) !== 46) return false
  const dot = ++i
  while (i < n && isDigit(v.charCodeAt(i))) i++
  return i === n && i > dot && i - dot <= 18
}
const isDigit = (c: number) => c >= 48 && c <= 57
/** /^[A-Z0-9]{2,20}$/ */
function isSymbol(v: string): boolean {
  const n = v.length
  if (n < 2 || n > 20) return false
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    if (!isDigit(c) && (c < 65 || c > 90)) return false
  }
  return true
}

type Obj = Record<string, unknown>
function obj(x: unknown, what: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new SchemaError(`${what}: expected an object`)
  return x as Obj
}
function str(o: Obj, k: string, what: string, valid?: (v: string) => boolean): string {
  const v = o[k]
  if (typeof v !== 'string' || (valid && !valid(v)))
    throw new SchemaError(`${what}.${k}: invalid value ${short(v)}`)
  return v
}
function dec(o: Obj, k: string, what: string): string {
  return str(o, k, what, isDecimal)
}
function int(o: Obj, k: string, what: string): number {
  const v = o[k]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new SchemaError(`${what}.${k}: expected a non-negative integer, got ${short(v)}`)
  return v
}
function bool(o: Obj, k: string, what: string): boolean {
  const v = o[k]
  if (typeof v !== 'boolean') throw new SchemaError(`${what}.${k}: expected a boolean, got ${short(v)}`)
  return v
}
function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

export function parseKline(x: unknown): Kline {
  const o = obj(x, 'kline')
  const interval = str(o, 'interval', 'kline') as Interval
  if (!(interval in intervalMs)) throw new SchemaError(`kline.interval: unknown interval ${short(interval)}`)
  const k: Kline = {
    symbol: str(o, 'symbol', 'kline', isSymbol),
    interval,
    openTime: int(o, 'openTime', 'kline'),
    closeTime: int(o, 'closeTime', 'kline'),
    open: dec(o, 'open', 'kline'),
    high: dec(o, 'high', 'kline'),
    low: dec(o, 'low', 'kline'),
    close: dec(o, 'close', 'kline'),
    volume: dec(o, 'volume', 'kline'),
    quoteVolume: dec(o, 'quoteVolume', 'kline'),
    trades: int(o, 'trades', 'kline'),
    takerBuyBase: dec(o, 'takerBuyBase', 'kline'),
    takerBuyQuote: dec(o, 'takerBuyQuote', 'kline'),
    closed: bool(o, 'closed', 'kline'),
  }
  if (k.openTime % intervalMs[interval] !== 0)
    throw new SchemaError(`kline.openTime ${k.openTime} is not aligned to ${interval}`)
  // Normally openTime + size - 1; Binance cuts the last kline before an outage short (BTCUSDT
  // 2018-01-04 03:00 closes at 03:00:14.838), so any closeTime inside the interval is valid.
  if (k.closeTime < k.openTime || k.closeTime > k.openTime + intervalMs[interval] - 1)
    throw new SchemaError(`kline.closeTime ${k.closeTime} is outside the ${interval} interval`)
  return k
}

export function parseTrade(x: unknown): Trade {
  const o = obj(x, 'trade')
  return {
    symbol: str(o, 'symbol', 'trade', isSymbol),
    id: int(o, 'id', 'trade'),
    price: dec(o, 'price', 'trade'),
    qty: dec(o, 'qty', 'trade'),
    time: int(o, 'time', 'trade'),
    buyerIsMaker: bool(o, 'buyerIsMaker', 'trade'),
  }
}

function levels(v: unknown, what: string): BookLevel[] {
  if (!Array.isArray(v) || v.length > 5000)
    throw new SchemaError(`${what}: expected an array of [price, qty]`)
  return v.map((l, i) => {
    if (
      !Array.isArray(l) ||
      l.length !== 2 ||
      typeof l[0] !== 'string' ||
      typeof l[1] !== 'string' ||
      !isDecimal(l[0]) ||
      !isDecimal(l[1])
    ) {
      throw new SchemaError(`${what}[${i}]: invalid level ${short(l)}`)
    }
    return [l[0], l[1]]
  })
}

export function parseBook(x: unknown): Book {
  const o = obj(x, 'book')
  return {
    symbol: str(o, 'symbol', 'book', isSymbol),
    lastUpdateId: int(o, 'lastUpdateId', 'book'),
    bids: levels(o.bids, 'book.bids'),
    asks: levels(o.asks, 'book.asks'),
    time: int(o, 'time', 'book'),
  }
}
