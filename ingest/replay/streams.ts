import { INTERVAL_NAMES } from './intervals.ts'
import type { Row } from './recorded.ts'

// Stream names and payloads as Binance spot prints them (web-socket-streams.md): lowercase
// symbols, numbers as JSON numbers for ids and times, decimals as strings.

export const STREAM_TYPES = [
  'trade',
  'aggTrade',
  ...INTERVAL_NAMES.map((i) => `kline_${i}`),
  'depth',
  'depth@100ms',
  'depth@1000ms',
  'bookTicker',
  'depth5',
  'depth10',
  'depth20',
  'depth5@100ms',
  'depth10@100ms',
  'depth20@100ms',
  'ticker',
  'miniTicker',
  'ticker_1h',
  'ticker_4h',
  'ticker_1d',
  'avgPrice',
]

/** Streams of all symbols at once. */
export const GLOBAL_STREAMS = [
  '!ticker@arr',
  '!miniTicker@arr',
  '!ticker_1h@arr',
  '!ticker_4h@arr',
  '!ticker_1d@arr',
]

const TYPES = new Set<string>(STREAM_TYPES)

/** `btcusdt@trade` → {symbol: 'BTCUSDT', type: 'trade'} if we serve it, else undefined. */
export function parseStream(
  name: string,
  symbols: ReadonlySet<string>,
): { symbol: string; type: string } | undefined {
  if (GLOBAL_STREAMS.includes(name)) return { symbol: '', type: name }
  const at = name.indexOf('@')
  if (at <= 0) return undefined
  const sym = name.slice(0, at)
  const type = name.slice(at + 1)
  if (sym !== sym.toLowerCase() || !TYPES.has(type)) return undefined
  const symbol = sym.toUpperCase()
  return symbols.has(symbol) ? { symbol, type } : undefined
}

export function klinePayload(
  symbol: string,
  r: Row,
  E: number,
  f: number,
  L: number,
  closed: boolean,
  interval = '1m',
): string {
  return JSON.stringify({
    e: 'kline',
    E,
    s: symbol,
    k: {
      t: r.t,
      T: r.T,
      s: symbol,
      i: interval,
      f,
      L,
      o: r.o,
      c: r.c,
      h: r.h,
      l: r.l,
      v: r.v,
      n: r.n,
      x: closed,
      q: r.q,
      V: r.V,
      Q: r.Q,
      B: '0',
    },
  })
}

export interface TradeEvent {
  id: number
  price: string
  qty: string
  time: number
  maker: boolean
}

export function tradePayload(symbol: string, t: TradeEvent): string {
  return `{"e":"trade","E":${t.time},"s":"${symbol}","t":${t.id},"p":"${t.price}","q":"${t.qty}","T":${t.time},"m":${t.maker},"M":true}`
}

/** One aggregate per trade: a valid aggTrade (an aggregate of one fill), ids equal trade ids. */
export function aggTradePayload(symbol: string, t: TradeEvent): string {
  return `{"e":"aggTrade","E":${t.time},"s":"${symbol}","a":${t.id},"p":"${t.price}","q":"${t.qty}","f":${t.id},"l":${t.id},"T":${t.time},"m":${t.maker},"M":true}`
}

export function envelope(stream: string, payload: string): string {
  return `{"stream":"${stream}","data":${payload}}`
}

/** A stream event with its times in microseconds (`timeUnit=MICROSECOND`). */
export function microFrame(payload: string): string {
  const us = (x: unknown) => (typeof x === 'number' ? x * 1000 : x)
  const one = (ev: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...ev }
    for (const k of ['E', 'T', 'O', 'C'])
      if (k in out && (k !== 'T' || ev.e !== undefined)) out[k] = us(out[k])
    if (ev.e === 'kline') {
      const k = ev.k as Record<string, unknown>
      out.k = { ...k, t: us(k.t), T: ((k.T as number) + 1) * 1000 - 1 }
    }
    return out
  }
  const v = JSON.parse(payload) as unknown
  if (Array.isArray(v)) return JSON.stringify(v.map((x) => one(x as Record<string, unknown>)))
  return JSON.stringify(one(v as Record<string, unknown>))
}
