import { EMA, MACD, RSI, SMA } from 'technicalindicators'

// RSI(14), MACD(12,26,9), SMA/EMA(20, 50) per symbol and timeframe, on closed candles, through
// technicalindicators' streaming nextValue() API. Their producers are closures (not
// serializable), so the durable state is the list of the last MAX_CLOSES closes: after a restart
// (or a corrected candle) the producers are rebuilt by replaying it. While the history is shorter
// than MAX_CLOSES, every value equals the batch functions on the full series exactly; beyond it
// the EMA-based values differ from a full-history batch by (1 − 2/27)^1000 relative, far below
// the printed 8 decimals.

export const MAX_CLOSES = 1000

export interface IndicatorState {
  symbol: string
  interval: string
  /** [openTime, close] of the closed candles seen, sorted, at most MAX_CLOSES. */
  closes: [number, number][]
}

export interface Indicators {
  symbol: string
  interval: string
  openTime: number
  close: number
  rsi14: number | null
  macd: number | null
  macdSignal: number | null
  macdHistogram: number | null
  sma20: number | null
  sma50: number | null
  ema20: number | null
  ema50: number | null
}

interface Producers {
  rsi: RSI
  macd: MACD
  sma20: SMA
  sma50: SMA
  ema20: EMA
  ema50: EMA
  /** openTime of the last close fed. */
  last: number
}

const makeProducers = (): Producers => ({
  rsi: new RSI({ period: 14, values: [] }),
  macd: new MACD({
    values: [],
    fastPeriod: 12,
    slowPeriod: 26,
    signalPeriod: 9,
    SimpleMAOscillator: false,
    SimpleMASignal: false,
  }),
  sma20: new SMA({ period: 20, values: [] }),
  sma50: new SMA({ period: 50, values: [] }),
  ema20: new EMA({ period: 20, values: [] }),
  ema50: new EMA({ period: 50, values: [] }),
  last: Number.NEGATIVE_INFINITY,
})

/** 8 decimals: the printed precision of the values (RSI comes with 2 from technicalindicators). */
const round = (v: number | undefined): number | null =>
  v === undefined || Number.isNaN(v) ? null : round8(v)

/**
 * Number(v.toFixed(8)), without printing: toFixed takes the integer n nearest to |v| × 1e8 exactly
 * (ties up) and n / 1e8 is the double nearest to that decimal, as parsing it gives. The product
 * |v| × 1e8 in doubles is off by at most 2^-53 of itself, which changes n only when it lies that
 * close to a half: those, and anything past 2^52, go through toFixed.
 */
export function round8(v: number): number {
  const a = Math.abs(v) * 1e8
  if (a < 4_503_599_627_370_496) {
    const whole = Math.floor(a)
    const frac = a - whole // exact
    if (Math.abs(frac - 0.5) > a * 2.3e-16) {
      const n = frac > 0.5 ? whole + 1 : whole
      return (v < 0 ? -n : n) / 1e8
    }
  }
  return Number(v.toFixed(8))
}

function feed(p: Producers, symbol: string, interval: string, openTime: number, close: number): Indicators {
  p.last = openTime
  const m = p.macd.nextValue(close)
  return {
    symbol,
    interval,
    openTime,
    close,
    rsi14: round(p.rsi.nextValue(close)),
    macd: round(m?.MACD),
    macdSignal: round(m?.signal),
    macdHistogram: round(m?.histogram),
    sma20: round(p.sma20.nextValue(close)),
    sma50: round(p.sma50.nextValue(close)),
    ema20: round(p.ema20.nextValue(close)),
    ema50: round(p.ema50.nextValue(close)),
  }
}

/**
 * Keeps the indicators of many series. `state` is what goes to the store; the producers are a
 * cache rebuilt from it when missing (restart) or when a candle is not the next one in order.
 */
export class IndicatorBook {
  private readonly cache = new Map<string, Producers>()

  /** Adds a closed candle's close; returns the indicator values at that candle. */
  update(state: IndicatorState, openTime: number, close: number): Indicators {
    const id = `${state.symbol}|${state.interval}`
    const cs = state.closes
    const last = cs[cs.length - 1]
    let p = this.cache.get(id)
    if (last === undefined || openTime > last[0]) {
      cs.push([openTime, close])
      while (cs.length > MAX_CLOSES) cs.shift() // O(1) in V8 (splice(0, 1) moved the 1000)
      if (p === undefined || (last !== undefined && p.last !== last[0])) p = this.rebuild(id, cs.slice(0, -1))
      return feed(p, state.symbol, state.interval, openTime, close)
    }
    // a re-emitted or corrected candle: put it in place and replay (values at that candle)
    const i = cs.findIndex((c) => c[0] >= openTime)
    if (cs[i]?.[0] === openTime) cs[i] = [openTime, close]
    else cs.splice(i, 0, [openTime, close])
    p = this.rebuild(id, cs.slice(0, i))
    const out = feed(p, state.symbol, state.interval, openTime, close)
    for (const [t, c] of cs.slice(i + 1)) feed(p, state.symbol, state.interval, t, c)
    return out
  }

  private rebuild(id: string, closes: [number, number][]): Producers {
    const p = makeProducers()
    for (const [t, c] of closes) feed(p, '', '', t, c)
    this.cache.set(id, p)
    return p
  }
}

export const initIndicators = (symbol: string, interval: string): IndicatorState => ({
  symbol,
  interval,
  closes: [],
})
