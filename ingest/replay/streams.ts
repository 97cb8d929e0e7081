import type { Row } from './recorded.ts'

// Stream names and payloads as Binance spot prints them (web-socket-streams.md): lowercase
// symbols, numbers as JSON numbers for ids and times, decimals as strings.

export const STREAM_TYPES = [
  'trade',
  'aggTrade',
  'kline_1m',
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
] as const

const TYPES = new Set<string>(STREAM_TYPES)

/** `btcusdt@trade` → {symbol: 'BTCUSDT', type: 'trade'} if we serve it, else undefined. */
export function parseStream(
  name: string,
  symbols: ReadonlySet<string>,
): { symbol: string; type: string } | undefined {
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
): string {
  return JSON.stringify({
    e: 'kline',
    E,
    s: symbol,
    k: {
      t: r.t,
      T: r.T,
      s: symbol,
      i: '1m',
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
