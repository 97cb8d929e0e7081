import { addDec, cmpDec, formatDec, parseDec } from '../common/decimal.ts'
import type { Interval, Kline } from '../common/records.ts'
import { addScanned, addTo, formatSum, greater, type Sum, scanInto, zeroSum } from './fixed.ts'

// Pure aggregation of 1m klines into larger, UTC epoch-aligned candles, exactly as Binance does:
// open = first open, high = max, low = min, close = last close, the five volumes/counts summed,
// except that minutes with trades = 0 (Binance fills them with the previous close) are skipped
// for open/high/low unless every minute of the window is empty (SOURCES.md, zero-trade rule).
//
// Idempotent: the state keeps every 1m kline of the window keyed by its openTime, so a
// re-delivered minute is a no-op, a corrected minute replaces its earlier version and minutes
// in any order give the same candle; an older open update never replaces a closed minute (or a
// later open one), so a replay after a crash cannot move a candle backwards. In-order input costs O(1) per record: the state holds the
// fold of all minutes but the last (`prefix`), and the latest minute is (re)applied on top of it,
// so Binance's live updates of the open minute do not refold the day. Anything else (a correction
// of an older minute, an out-of-order minute) refolds the window once.
// The prefix fold is fixed-point (processors/fixed.ts): each minute's decimals are parsed once,
// when it joins the prefix, and the sums are printed once per candle (`candleOf`).

/** One 1m kline, compact: [openTime, o, h, l, c, v, q, trades, takerBase, takerQuote, closed 0|1]. */
export type Minute = [number, string, string, string, string, string, string, number, string, string, 0 | 1]

/** Running fold; open/high/low are over minutes with trades, e* over empty minutes (fallback). */
export interface Fold {
  open: string | null
  high: string | null
  low: string | null
  eOpen: string | null
  eHigh: string | null
  eLow: string | null
  close: string | null
  volume: string
  quoteVolume: string
  trades: number
  takerBuyBase: string
  takerBuyQuote: string
}

export interface CandleState {
  symbol: string
  interval: string
  openTime: number
  sizeMs: number
  /** Interval of the inputs (1m by default; 1h candles can feed 4h/1d the same way). */
  stepMs: number
  /** Minutes sorted by openTime. */
  minutes: Minute[]
  /** Fold of minutes[0 .. length-2] (a string `Fold` in states stored by earlier versions: refolded on use). */
  prefix: FixedFold
}

/** The fold the state keeps: prices as Binance's strings beside their Numbers (for ordering), exact sums. */
export interface FixedFold {
  open: string | null
  high: string | null
  highN: number
  low: string | null
  lowN: number
  eOpen: string | null
  eHigh: string | null
  eHighN: number
  eLow: string | null
  eLowN: number
  close: string | null
  volume: Sum
  quoteVolume: Sum
  trades: number
  takerBuyBase: Sum
  takerBuyQuote: Sum
}

/** Candle with any interval name ('15m' too); `Kline` when the interval is one of ours. */
export type Candle = Omit<Kline, 'interval'> & { interval: string }

export const emptyFold = (): Fold => ({
  open: null,
  high: null,
  low: null,
  eOpen: null,
  eHigh: null,
  eLow: null,
  close: null,
  volume: '0',
  quoteVolume: '0',
  trades: 0,
  takerBuyBase: '0',
  takerBuyQuote: '0',
})

const sum = (a: string, b: string): string => formatDec(addDec(parseDec(a), parseDec(b)))
const hi = (a: string | null, b: string): string =>
  a === null || cmpDec(parseDec(b), parseDec(a)) > 0 ? b : a
const lo = (a: string | null, b: string): string =>
  a === null || cmpDec(parseDec(b), parseDec(a)) < 0 ? b : a

/** String fold of one minute (the reference the fixed-point fold equals; the replay simulator uses it). */
export function foldMinute(f: Fold, m: Minute): Fold {
  const traded = m[7] > 0
  return {
    open: traded ? (f.open ?? m[1]) : f.open,
    high: traded ? hi(f.high, m[2]) : f.high,
    low: traded ? lo(f.low, m[3]) : f.low,
    eOpen: traded ? f.eOpen : (f.eOpen ?? m[1]),
    eHigh: traded ? f.eHigh : hi(f.eHigh, m[2]),
    eLow: traded ? f.eLow : lo(f.eLow, m[3]),
    close: m[4],
    volume: sum(f.volume, m[5]),
    quoteVolume: sum(f.quoteVolume, m[6]),
    trades: f.trades + m[7],
    takerBuyBase: sum(f.takerBuyBase, m[8]),
    takerBuyQuote: sum(f.takerBuyQuote, m[9]),
  }
}

export const emptyFixedFold = (): FixedFold => ({
  open: null,
  high: null,
  highN: 0,
  low: null,
  lowN: 0,
  eOpen: null,
  eHigh: null,
  eHighN: 0,
  eLow: null,
  eLowN: 0,
  close: null,
  volume: zeroSum(),
  quoteVolume: zeroSum(),
  trades: 0,
  takerBuyBase: zeroSum(),
  takerBuyQuote: zeroSum(),
})

const copySum = (to: Sum, from: Sum): void => {
  to[0] = from[0]
  to[1] = from[1]
  to[2] = from[2]
}

/** Copies `from` into `to` (candleOf's scratch fold: no allocation per emitted candle). */
function copyFold(to: FixedFold, from: FixedFold): FixedFold {
  to.open = from.open
  to.high = from.high
  to.highN = from.highN
  to.low = from.low
  to.lowN = from.lowN
  to.eOpen = from.eOpen
  to.eHigh = from.eHigh
  to.eHighN = from.eHighN
  to.eLow = from.eLow
  to.eLowN = from.eLowN
  to.close = from.close
  copySum(to.volume, from.volume)
  copySum(to.quoteVolume, from.quoteVolume)
  to.trades = from.trades
  copySum(to.takerBuyBase, from.takerBuyBase)
  copySum(to.takerBuyQuote, from.takerBuyQuote)
  return to
}
const scratch = emptyFixedFold()

/**
 * The last minute folded, scanned: Number(high), Number(low) and its four sums as fixed.ts
 * scanInto reads them (bit i of `scannedOk`: sum i scanned). The topology folds the same Minute
 * (a 1h candle) into its 4h and its 1d window one after the other, so the second fold reads no
 * decimal again.
 * Minutes are never changed in place (a new version is a new array), so identity is enough.
 */
let scannedMinute: Minute | null = null
const scanned = new Float64Array(14)
let scannedOk = 0

function scanMinute(m: Minute): void {
  if (m === scannedMinute) return
  scanned[0] = Number(m[2])
  scanned[1] = Number(m[3])
  let ok = 0
  if (scanInto(m[5], scanned, 2)) ok |= 1
  if (scanInto(m[6], scanned, 5)) ok |= 2
  if (scanInto(m[8], scanned, 8)) ok |= 4
  if (scanInto(m[9], scanned, 11)) ok |= 8
  scannedOk = ok
  scannedMinute = m
}

/** Adds sum `i` of the scanned minute (its string `x` when it did not scan). */
const addScannedSum = (to: Sum, x: string, i: number): void =>
  scannedOk & (1 << i) ? addScanned(to, scanned, 2 + 3 * i, x) : addTo(to, x)

/** Folds one minute into `f`, in place (same rule as foldMinute). */
export function foldInto(f: FixedFold, m: Minute): void {
  scanMinute(m)
  const h = m[2]
  const l = m[3]
  const hn = scanned[0] as number
  const ln = scanned[1] as number
  if (m[7] > 0) {
    if (f.open === null) f.open = m[1]
    if (f.high === null || greater(h, hn, f.high, f.highN)) {
      f.high = h
      f.highN = hn
    }
    if (f.low === null || greater(f.low, f.lowN, l, ln)) {
      f.low = l
      f.lowN = ln
    }
  } else {
    if (f.eOpen === null) f.eOpen = m[1]
    if (f.eHigh === null || greater(h, hn, f.eHigh, f.eHighN)) {
      f.eHigh = h
      f.eHighN = hn
    }
    if (f.eLow === null || greater(f.eLow, f.eLowN, l, ln)) {
      f.eLow = l
      f.eLowN = ln
    }
  }
  f.close = m[4]
  addScannedSum(f.volume, m[5], 0)
  addScannedSum(f.quoteVolume, m[6], 1)
  f.trades += m[7]
  addScannedSum(f.takerBuyBase, m[8], 2)
  addScannedSum(f.takerBuyQuote, m[9], 3)
}

export function toMinute(k: Kline | Candle): Minute {
  return [
    k.openTime,
    k.open,
    k.high,
    k.low,
    k.close,
    k.volume,
    k.quoteVolume,
    k.trades,
    k.takerBuyBase,
    k.takerBuyQuote,
    k.closed ? 1 : 0,
  ]
}

/** Start of the epoch-aligned window of `sizeMs` holding `time` (UTC: epoch ms has no leap seconds). */
export const windowStart = (time: number, sizeMs: number): number => time - (time % sizeMs)

export function initCandle(
  symbol: string,
  interval: string,
  sizeMs: number,
  openTime: number,
  stepMs = 60_000,
): CandleState {
  return { symbol, interval, openTime, sizeMs, stepMs, minutes: [], prefix: emptyFixedFold() }
}

/**
 * True when `next` would move a minute backwards: an open update never replaces a closed minute,
 * and an open update with fewer trades never replaces a later one (a trade count only grows while
 * a minute is open). Replays after a crash re-apply such older updates on state that already holds
 * the later data. A closed minute replaces anything (a correction).
 */
export const regresses = (prev: Minute, next: Minute): boolean =>
  next[10] === 0 && (prev[10] === 1 || next[7] < prev[7])

const sameMinute = (a: Minute, b: Minute): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The fold of all minutes but the last (the state's `prefix`). */
export function refold(minutes: Minute[]): FixedFold {
  const f = emptyFixedFold()
  for (let i = 0; i < minutes.length - 1; i++) foldInto(f, minutes[i] as Minute)
  return f
}

/** States stored by earlier versions hold a string fold: refold their minutes once. */
function fixedPrefix(s: CandleState): FixedFold {
  if (typeof (s.prefix as FixedFold | Fold).volume === 'string') s.prefix = refold(s.minutes)
  return s.prefix
}

/**
 * Adds (or replaces) one 1m kline in the window's state, in place (an append is O(1)). Returns
 * false when nothing changed (a duplicate), so callers can skip emitting. Throws if the minute is
 * outside the window. `m` is `k` as a Minute (windows of several intervals can share one).
 * `guard` (default) refuses an input that `regresses`: right for inputs a replay can repeat in an
 * older version; off for candles of the stage below in the same task, which only come newer (a
 * correction below can lower an open candle's trade count).
 */
export function mergeMinute(
  s: CandleState,
  k: Kline | Candle,
  m: Minute = toMinute(k),
  guard = true,
): boolean {
  if (k.openTime < s.openTime || k.openTime >= s.openTime + s.sizeMs)
    throw new RangeError(`1m kline ${k.openTime} is outside window ${s.openTime}+${s.sizeMs}`)
  const ms = s.minutes
  const last = ms[ms.length - 1]
  if (last === undefined) {
    ms.push(m)
    return true
  }
  if (m[0] > last[0]) {
    foldInto(fixedPrefix(s), last) // in order: the old last minute joins the prefix
    ms.push(m)
    return true
  }
  if (m[0] === last[0]) {
    if (sameMinute(m, last) || (guard && regresses(last, m))) return false
    ms[ms.length - 1] = m // live update or correction of the latest minute
    return true
  }
  // an older minute: binary search, replace or insert, refold once
  let a = 0
  let b = ms.length
  while (a < b) {
    const mid = (a + b) >> 1
    if ((ms[mid] as Minute)[0] < m[0]) a = mid + 1
    else b = mid
  }
  const at = ms[a] as Minute
  if (at[0] === m[0]) {
    if (sameMinute(at, m) || (guard && regresses(at, m))) return false
    ms[a] = m
  } else ms.splice(a, 0, m)
  s.prefix = refold(ms)
  return true
}

/**
 * `s` with its inputs regrouped into candles of `stepMs` (a multiple of its step), as the stage
 * below would send them: a window stored when its inputs were finer (a 1h window of 1m minutes,
 * from before 1h came from 5m candles) then takes the coarser ones without counting a minute twice.
 */
export function regroup(s: CandleState, stepMs: number): CandleState {
  const out = initCandle(s.symbol, s.interval, s.sizeMs, s.openTime, stepMs)
  const ms = s.minutes
  for (let i = 0; i < ms.length; ) {
    const start = windowStart((ms[i] as Minute)[0], stepMs)
    let j = i
    while (j < ms.length && (ms[j] as Minute)[0] < start + stepMs) j++
    const group = initCandle(s.symbol, s.interval, stepMs, start, s.stepMs)
    group.minutes = ms.slice(i, j)
    group.prefix = refold(group.minutes)
    mergeMinute(out, candleOf(group))
    i = j
  }
  return out
}

/** True once the window's last input has arrived closed (candleOf's `closed`, without printing it). */
export function lastArrived(s: CandleState): boolean {
  const last = s.minutes[s.minutes.length - 1]
  return last !== undefined && last[0] === s.openTime + s.sizeMs - s.stepMs && last[10] === 1
}

/** The candle the state stands for. `closed` once the window's last input has arrived closed. */
export function candleOf(s: CandleState): Candle {
  const last = s.minutes[s.minutes.length - 1]
  const f = copyFold(scratch, fixedPrefix(s))
  if (last) foldInto(f, last)
  return {
    symbol: s.symbol,
    interval: s.interval,
    openTime: s.openTime,
    closeTime: s.openTime + s.sizeMs - 1,
    open: f.open ?? f.eOpen ?? '0',
    high: f.high ?? f.eHigh ?? '0',
    low: f.low ?? f.eLow ?? '0',
    close: f.close ?? '0',
    volume: formatSum(f.volume),
    quoteVolume: formatSum(f.quoteVolume),
    trades: f.trades,
    takerBuyBase: formatSum(f.takerBuyBase),
    takerBuyQuote: formatSum(f.takerBuyQuote),
    closed: lastArrived(s),
  }
}

export const intervalSizes: Record<string, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
}

/** Batch helper: aggregates a 1m series (any order, duplicates allowed) into `interval` candles. */
export function aggregate(klines: Iterable<Kline | Candle>, interval: string, stepMs = 60_000): Candle[] {
  const size = intervalSizes[interval]
  if (size === undefined) throw new RangeError(`unknown interval ${interval}`)
  const bySymbol = new Map<string, Map<number, CandleState>>()
  for (const k of klines) {
    const start = windowStart(k.openTime, size)
    let states = bySymbol.get(k.symbol)
    if (!states) {
      states = new Map()
      bySymbol.set(k.symbol, states)
    }
    let s = states.get(start)
    if (!s) {
      s = initCandle(k.symbol, interval, size, start, stepMs)
      states.set(start, s)
    }
    mergeMinute(s, k)
  }
  return [...bySymbol.values()]
    .flatMap((states) => [...states.values()])
    .map(candleOf)
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.openTime - b.openTime))
}

export interface FinalsOptions {
  /** A window whose end has passed by this much is closed with the minutes it has; default 10 min. */
  graceMs?: number
  now?: number
  stepMs?: number
}

/**
 * The finals a batch (backfill) emits, as the live topology would: complete candles, and those
 * whose end has passed by `graceMs` before `now` or before the symbol's latest input, closed with
 * the minutes they have (Binance publishes such candles after an outage).
 */
export function finals(klines: (Kline | Candle)[], interval: string, options: FinalsOptions = {}): Candle[] {
  return finalsOf(aggregate(klines, interval, options.stepMs), klines, interval, options)
}

/** The finals among `candles`, aggregated from `klines` (processors/rollup.ts rollupFinals: all intervals at once). */
export function finalsOf(
  candles: Candle[],
  klines: readonly (Kline | Candle)[],
  interval: string,
  { graceMs = 600_000, now = Date.now() }: FinalsOptions = {},
): Candle[] {
  const size = intervalSizes[interval] as number
  const latest = new Map<string, number>()
  for (const k of klines) latest.set(k.symbol, Math.max(latest.get(k.symbol) ?? k.openTime, k.openTime))
  return candles
    .map((c) =>
      c.closed || c.openTime + size + graceMs > Math.max(now, latest.get(c.symbol) as number)
        ? c
        : { ...c, closed: true },
    )
    .filter((c) => c.closed)
}

export type CandleInterval = Extract<Interval, '5m' | '1h' | '4h' | '1d'>
export const candleIntervals: CandleInterval[] = ['5m', '1h', '4h', '1d']
