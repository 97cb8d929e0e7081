// The one feature function of the 5-minute forecast, used by training (scripts/train.ts, the
// walk-forward bench) and by the prediction topology alike, so there is no train/serve skew.
// A feature vector at minute t reads only the LOOKBACK closed 1m candles ending with t's candle
// (all closed at or before t's close): nothing later exists for it, which the no-look-ahead test
// checks. The indicators are computed over that window (a fixed window, so the value at t never
// depends on how much earlier history the caller happens to hold). They are written out here
// rather than called from technicalindicators because training evaluates ~40k windows per symbol
// and day of history (~280 µs each through the library, ~3 µs here); features.test.ts checks them
// against technicalindicators' RSI, MACD, SMA and EMA on the same closes.

/** One closed 1m candle, as numbers. */
export interface Bar {
  openTime: number
  close: number
  high: number
  low: number
  volume: number
  takerBuyBase: number
}

export const MINUTE = 60_000
/** Candles a feature vector reads (the newest is the candle at t). */
export const LOOKBACK = 100

export const FEATURE_NAMES = [
  'ret_1',
  'ret_3',
  'ret_5',
  'ret_15',
  'ret_30',
  'ret_60',
  'rsi_14',
  'macd_hist',
  'dist_sma_20',
  'dist_ema_50',
  'volume_z_60',
  'realized_vol_30',
  'taker_buy_share_5',
  'hl_range_5',
] as const
export type FeatureName = (typeof FEATURE_NAMES)[number]

export type FeatureResult = { ok: true; x: number[] } | { ok: false; reason: 'missing-features' }

/** Numbers from a kline with decimal-string fields (Kline / Candle). */
export function barOf(k: {
  openTime: number
  close: string
  high: string
  low: string
  volume: string
  takerBuyBase: string
}): Bar {
  return {
    openTime: k.openTime,
    close: Number(k.close),
    high: Number(k.high),
    low: Number(k.low),
    volume: Number(k.volume),
    takerBuyBase: Number(k.takerBuyBase),
  }
}

/** EMA seeded with the SMA of the first `period` values (technicalindicators' EMA); [] if too short. */
export function emaSeries(values: readonly number[], period: number): number[] {
  if (values.length < period) return []
  const k = 2 / (period + 1)
  let e = 0
  for (let i = 0; i < period; i++) e += values[i]!
  e /= period
  const out = [e]
  for (let i = period; i < values.length; i++) {
    e = (values[i]! - e) * k + e
    out.push(e)
  }
  return out
}

/** Wilder's RSI at the last value (first averages are plain means of `period` changes). */
export function rsiLast(values: readonly number[], period = 14): number {
  let gain = 0
  let loss = 0
  for (let i = 1; i <= period; i++) {
    const d = values[i]! - values[i - 1]!
    if (d > 0) gain += d
    else loss -= d
  }
  gain /= period
  loss /= period
  for (let i = period + 1; i < values.length; i++) {
    const d = values[i]! - values[i - 1]!
    gain = (gain * (period - 1) + Math.max(d, 0)) / period
    loss = (loss * (period - 1) + Math.max(-d, 0)) / period
  }
  if (loss === 0) return gain === 0 ? 50 : 100
  return 100 - 100 / (1 + gain / loss)
}

/** MACD(12, 26, 9) histogram at the last value: EMA oscillator and EMA signal. */
export function macdHistogramLast(values: readonly number[], fast = 12, slow = 26, signal = 9): number {
  const f = emaSeries(values, fast)
  const s = emaSeries(values, slow)
  const macd = s.map((v, i) => f[i + slow - fast]! - v)
  const sig = emaSeries(macd, signal)
  return macd[macd.length - 1]! - sig[sig.length - 1]!
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Feature vector (FEATURE_NAMES order) at the newest candle of `window`. Missing features when
 * the window is shorter than LOOKBACK, is not LOOKBACK consecutive minutes, or holds a price ≤ 0.
 */
export function features(window: readonly Bar[]): FeatureResult {
  const n = window.length
  if (n < LOOKBACK) return { ok: false, reason: 'missing-features' }
  const w = n === LOOKBACK ? window : window.slice(n - LOOKBACK)
  const t0 = w[0]!.openTime
  for (let i = 0; i < LOOKBACK; i++) {
    const b = w[i]!
    if (b.openTime !== t0 + i * MINUTE || !(b.close > 0) || !(b.low > 0))
      return { ok: false, reason: 'missing-features' }
  }
  const closes = w.map((b) => b.close)
  const last = LOOKBACK - 1
  const c = closes[last]!
  const ret = (lag: number) => Math.log(c / closes[last - lag]!)
  const r1: number[] = []
  for (let i = LOOKBACK - 30; i < LOOKBACK; i++) r1.push(Math.log(closes[i]! / closes[i - 1]!))
  const logVol = w.slice(LOOKBACK - 60).map((b) => Math.log1p(b.volume))
  const mv = mean(logVol)
  const sd = Math.sqrt(mean(logVol.map((v) => (v - mv) ** 2)))
  const recent = w.slice(LOOKBACK - 5)
  const vol5 = recent.reduce((a, b) => a + b.volume, 0)
  const buy5 = recent.reduce((a, b) => a + b.takerBuyBase, 0)
  const hi5 = Math.max(...recent.map((b) => b.high))
  const lo5 = Math.min(...recent.map((b) => b.low))
  const ema50 = emaSeries(closes, 50)
  const x = [
    ret(1),
    ret(3),
    ret(5),
    ret(15),
    ret(30),
    ret(60),
    (rsiLast(closes, 14) - 50) / 100,
    macdHistogramLast(closes) / c,
    Math.log(c / mean(closes.slice(LOOKBACK - 20))),
    Math.log(c / ema50[ema50.length - 1]!),
    sd > 0 ? (logVol[logVol.length - 1]! - mv) / sd : 0,
    Math.sqrt(mean(r1.map((r) => r * r))),
    vol5 > 0 ? buy5 / vol5 - 0.5 : 0,
    Math.log(hi5 / lo5),
  ]
  return { ok: true, x }
}

/** Target at bar i: log return from its close to the close `horizon` minutes later (null if absent). */
export function forwardReturn(bars: readonly Bar[], i: number, horizonMin: number): number | null {
  const b = bars[i]!
  const f = bars[i + horizonMin]
  if (!f || f.openTime !== b.openTime + horizonMin * MINUTE) return null
  return Math.log(f.close / b.close)
}

/**
 * Feature rows over a contiguous or gappy series (oldest first): row i uses bars[..i] only.
 * Same function as the stream: `features(bars.slice(i - LOOKBACK + 1, i + 1))`.
 */
export function featureRows(bars: readonly Bar[]): (number[] | null)[] {
  const out: (number[] | null)[] = []
  for (let i = 0; i < bars.length; i++) {
    if (i + 1 < LOOKBACK) {
      out.push(null)
      continue
    }
    const f = features(bars.slice(i + 1 - LOOKBACK, i + 1))
    out.push(f.ok ? f.x : null)
  }
  return out
}
