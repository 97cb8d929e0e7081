import type { Kline } from '../common/records.ts'
import type { Serde } from '../engine/serde.ts'
import {
  type CandleState,
  candleOf,
  type FixedFold,
  initCandle,
  lastArrived,
  type Minute,
  mergeMinute,
  refold,
  toMinute,
} from '../processors/candles.ts'

// What a `candles-<interval>` window store holds per (symbol, window): the merge state
// (processors/candles.ts) and, derived from it, the candle it stands for.
//
// The candle processor mutates the window it holds in place, and the store's staged value is
// that same object, so `.candle` is a getter: printed from the state when read (at most once per
// change), it is correct for any reader at any time (the record cache forwarding it, an
// interactive query) without printing a candle on every input.
//
// Stored layout (changelog and LevelDB), version 2: a JSON array
//   [2, symbol, interval, openTime, sizeMs, stepMs, graceClosed 0|1, [minute, …]]
// without the candle or the fold (both follow from the minutes; the fold is refolded when a value
// is read back, which the processor does only for a window it does not hold). The minutes before
// the latest are serialized once each and kept as text, so re-writing a window at every commit
// costs the minutes that changed, not the window (a 1d window's 24 entries are ~4 KB). Values
// written by earlier versions — an object `{ symbol, …, minutes, prefix, candle, graceClosed? }`
// with a fixed-point or a string-decimal `prefix` — are still read.

/** A window's stored value. */
export interface StoredCandle extends CandleState {
  /** The candle the state stands for (the latest version; `closed` also once closed by grace). */
  readonly candle: Kline
  /**
   * Closed by grace: the window's end passed by `graceMs` (on the symbol's own event time, or on
   * the wall clock while the symbol is quiet) without its last input. It stays closed: a minute
   * arriving later updates it and re-emits it, `closed: true` again (a correction).
   */
  graceClosed?: boolean
}

const LAYOUT = 2

export class CandleWindow implements StoredCandle {
  symbol: string
  interval: string
  openTime: number
  sizeMs: number
  stepMs: number
  minutes: Minute[]
  prefix: FixedFold
  graceClosed?: boolean
  /** The record cache's key for this window (built once). */
  readonly cacheKey: string
  /** The store's stagedGeneration when this object was last put in it (-1: never). */
  staged = -1
  /** The printed candle of the current state (undefined: changed since). */
  private printed: Kline | undefined
  /** minutes[0, jsonCount) as JSON array items, comma-joined: they change only on a refold. */
  private json = ''
  private jsonCount = 0

  constructor(s: CandleState, graceClosed = false) {
    this.symbol = s.symbol
    this.interval = s.interval
    this.openTime = s.openTime
    this.sizeMs = s.sizeMs
    this.stepMs = s.stepMs
    this.minutes = s.minutes
    this.prefix = s.prefix
    if (graceClosed) this.graceClosed = true
    this.cacheKey = `${s.symbol}\u0000${s.openTime}`
  }

  static empty(
    symbol: string,
    interval: string,
    sizeMs: number,
    openTime: number,
    stepMs: number,
  ): CandleWindow {
    return new CandleWindow(initCandle(symbol, interval, sizeMs, openTime, stepMs))
  }

  get candle(): Kline {
    let c = this.printed
    if (c === undefined) {
      c = candleOf(this) as Kline
      if (this.graceClosed) c.closed = true
      this.printed = c
    }
    return c
  }

  /** `candle.closed` without printing the candle. */
  get closed(): boolean {
    return this.graceClosed === true || lastArrived(this)
  }

  /** mergeMinute on this window; false when nothing changed (a duplicate, an older update). */
  merge(k: Kline, guard = true): boolean {
    const ms = this.minutes
    const last = ms[ms.length - 1]
    const older = last !== undefined && k.openTime < last[0]
    if (!mergeMinute(this, k, minuteOf(k), guard)) return false
    if (older) this.jsonCount = 0 // an earlier minute replaced or inserted: its text is stale
    this.printed = undefined
    return true
  }

  closeByGrace(): void {
    this.graceClosed = true
    this.printed = undefined
  }

  serialize(): string {
    const ms = this.minutes
    const settled = ms.length - 1
    if (this.jsonCount > settled) this.jsonCount = 0
    if (this.jsonCount === 0) this.json = ''
    for (let i = this.jsonCount; i < settled; i++) {
      const m = textOf(ms[i] as Minute)
      this.json = i === 0 ? m : `${this.json},${m}`
    }
    if (settled > this.jsonCount) this.jsonCount = settled
    const last = ms[settled]
    const items = last === undefined ? '' : settled > 0 ? `${this.json},${textOf(last)}` : textOf(last)
    return `[${LAYOUT},${JSON.stringify(this.symbol)},${JSON.stringify(this.interval)},${this.openTime},${this.sizeMs},${this.stepMs},${this.graceClosed ? 1 : 0},[${items}]]`
  }
}

// The 4h and the 1d window of a 1h candle get the same record object one after the other: they
// share one Minute, so it is built once, scanned once (processors/candles.ts foldInto) and
// serialized once. Minutes are never changed in place.
let lastKline: Kline | null = null
let lastMinute: Minute | null = null

function minuteOf(k: Kline): Minute {
  if (k !== lastKline) {
    lastMinute = toMinute(k)
    lastKline = k
  }
  return lastMinute as Minute
}

const TEXT = Symbol('json')
type Texted = Minute & { [TEXT]?: string }

/** JSON of a minute, kept on it. */
function textOf(m: Minute): string {
  const t = m as Texted
  let text = t[TEXT]
  if (text === undefined) {
    text = JSON.stringify(m)
    t[TEXT] = text
  }
  return text
}

interface EarlierLayout extends CandleState {
  graceClosed?: boolean
}

/** A stored value of any layout as a CandleWindow. */
export function parseStoredCandle(text: string): CandleWindow {
  const x = JSON.parse(text) as unknown
  if (Array.isArray(x)) {
    if (x[0] !== LAYOUT) throw new RangeError(`candle store value: unknown layout ${String(x[0])}`)
    const minutes = x[7] as Minute[]
    const state: CandleState = {
      symbol: x[1],
      interval: x[2],
      openTime: x[3],
      sizeMs: x[4],
      stepMs: x[5],
      minutes,
      prefix: refold(minutes),
    }
    return new CandleWindow(state, x[6] === 1)
  }
  const o = x as EarlierLayout
  // a string-decimal fold (an earlier version still) is refolded; a fixed-point one is kept
  const prefix = typeof o.prefix.volume === 'string' ? refold(o.minutes) : o.prefix
  return new CandleWindow({ ...o, prefix }, o.graceClosed === true)
}

/** The window stores' serde: layout 2 written, every layout read. */
export const candleSerde: Serde<StoredCandle> = {
  serialize: (v) => (v instanceof CandleWindow ? v : new CandleWindow(v, v.graceClosed)).serialize(),
  deserialize: parseStoredCandle,
}
