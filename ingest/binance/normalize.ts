import { type Kline, parseKline, parseTrade, type Trade } from '../../common/records.ts'
import type { DepthEvent } from './book/sync.ts'

// Binance combined-stream frames → normalized records (common/records.ts). Pure: the connector
// feeds raw text in, gets a record or a reason to dead-letter it. Prices and sizes stay the
// decimal strings Binance sent (exact, and what downstream code compares and prints).

export const MAX_FRAME_BYTES = 1 << 20

export type Normalized =
  | { kind: 'kline'; stream: string; record: Kline }
  | { kind: 'trade'; stream: string; record: Trade }
  | { kind: 'depth'; stream: string; symbol: string; event: DepthEvent }
  | { kind: 'error'; stream: string; reason: DeadLetterReason; error: string }

export type DeadLetterReason = 'too_large' | 'not_json' | 'bad_envelope' | 'unknown_stream' | 'invalid'

type Obj = Record<string, unknown>

/** `known` holds the subscribed stream names; anything else is dead-lettered. */
export function normalize(raw: string, known: ReadonlySet<string>): Normalized {
  if (raw.length > MAX_FRAME_BYTES) return err('', 'too_large', `frame of ${raw.length} bytes`)
  let frame: unknown
  try {
    frame = JSON.parse(raw)
  } catch (e) {
    return err('', 'not_json', (e as Error).message)
  }
  if (typeof frame !== 'object' || frame === null) return err('', 'bad_envelope', 'not an object')
  const { stream, data } = frame as Obj
  if (typeof stream !== 'string' || typeof data !== 'object' || data === null)
    return err('', 'bad_envelope', 'expected {stream, data}')
  if (!known.has(stream)) return err(stream, 'unknown_stream', `not subscribed: ${stream.slice(0, 100)}`)
  const d = data as Obj
  try {
    const at = stream.indexOf('@')
    const type = stream.slice(at + 1)
    if (type.startsWith('kline_')) return { kind: 'kline', stream, record: kline(d) }
    if (type === 'trade' || type === 'aggTrade') return { kind: 'trade', stream, record: trade(d) }
    if (type.startsWith('depth')) return depth(stream, d)
    return err(stream, 'unknown_stream', `unsupported stream type ${type}`)
  } catch (e) {
    return err(stream, 'invalid', (e as Error).message)
  }
}

function err(stream: string, reason: DeadLetterReason, error: string): Normalized {
  return { kind: 'error', stream, reason, error }
}

function kline(d: Obj): Kline {
  const k = d.k as Obj | undefined
  if (typeof k !== 'object' || k === null) throw new Error('kline: missing k')
  return parseKline({
    symbol: k.s,
    interval: k.i,
    openTime: k.t,
    closeTime: k.T,
    open: k.o,
    high: k.h,
    low: k.l,
    close: k.c,
    volume: k.v,
    quoteVolume: k.q,
    trades: k.n,
    takerBuyBase: k.V,
    takerBuyQuote: k.Q,
    closed: k.x,
  })
}

function trade(d: Obj): Trade {
  // @trade carries the trade id in `t`; @aggTrade its aggregate id in `a` (accepted for recordings).
  return parseTrade({
    symbol: d.s,
    id: d.e === 'aggTrade' ? d.a : d.t,
    price: d.p,
    qty: d.q,
    time: d.T,
    buyerIsMaker: d.m,
  })
}

function depth(stream: string, d: Obj): Normalized {
  const { s, U, u, E, b, a } = d
  const ok =
    typeof s === 'string' &&
    Number.isSafeInteger(U) &&
    Number.isSafeInteger(u) &&
    (U as number) <= (u as number) &&
    Number.isSafeInteger(E) &&
    levels(b) &&
    levels(a)
  if (!ok) return err(stream, 'invalid', 'depthUpdate: bad s/U/u/E/b/a')
  return {
    kind: 'depth',
    stream,
    symbol: s,
    event: {
      U: U as number,
      u: u as number,
      E: E as number,
      b: b as [string, string][],
      a: a as [string, string][],
    },
  }
}

const DECIMAL = /^\d{1,30}(\.\d{1,18})?$/
function levels(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > 5000) return false
  for (const l of v) {
    if (!Array.isArray(l) || l.length !== 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string')
      return false
    if (!DECIMAL.test(l[0]) || !DECIMAL.test(l[1])) return false
  }
  return true
}
