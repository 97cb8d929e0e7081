import { EMA, MACD, RSI, SMA } from 'technicalindicators'
import { describe, expect, it } from 'vitest'
import {
  type Bar,
  barOf,
  emaSeries,
  FEATURE_NAMES,
  featureRows,
  features,
  LOOKBACK,
  MINUTE,
  macdHistogramLast,
  rsiLast,
} from './features.ts'
import { spotDay } from './testdata.ts'

const btc = spotDay('BTCUSDT', '1m', '2024-01-03').map(barOf)
const closesOf = (bars: Bar[]) => bars.map((b) => b.close)

describe('indicators in the feature function equal technicalindicators on the same closes', () => {
  it('RSI(14), MACD(12,26,9) histogram, SMA(20), EMA(50) over 200 windows of a real day', () => {
    expect(btc).toHaveLength(1440)
    for (let end = LOOKBACK; end <= 1440; end += 7) {
      const v = closesOf(btc.slice(end - LOOKBACK, end))
      // technicalindicators prints RSI with 2 decimals
      expect(rsiLast(v)).toBeCloseTo(RSI.calculate({ period: 14, values: v }).at(-1)!, 1)
      const m = MACD.calculate({
        values: v,
        fastPeriod: 12,
        slowPeriod: 26,
        signalPeriod: 9,
        SimpleMAOscillator: false,
        SimpleMASignal: false,
      }).at(-1)!
      expect(macdHistogramLast(v)).toBeCloseTo(m.histogram!, 8)
      expect(emaSeries(v, 50).at(-1)!).toBeCloseTo(EMA.calculate({ period: 50, values: v }).at(-1)!, 8)
      const sma = v.slice(-20).reduce((a, b) => a + b, 0) / 20
      expect(sma).toBeCloseTo(SMA.calculate({ period: 20, values: v }).at(-1)!, 8)
    }
  })
})

describe('no look-ahead', () => {
  it('a feature vector at t is unchanged when candles after t are added or changed', () => {
    const t = 600
    const upToT = featureRows(btc.slice(0, t + 1))
    const withFuture = featureRows(btc)
    const wildFuture = featureRows([
      ...btc.slice(0, t + 1),
      ...btc.slice(t + 1).map((b) => ({ ...b, close: b.close * 3, volume: b.volume * 10 })),
    ])
    for (let i = LOOKBACK - 1; i <= t; i++) {
      expect(withFuture[i]).toEqual(upToT[i])
      expect(wildFuture[i]).toEqual(upToT[i])
    }
    expect(upToT[t]).toHaveLength(FEATURE_NAMES.length)
    // and the stream's call (the window ending at t) gives the same vector
    const s = features(btc.slice(t + 1 - LOOKBACK, t + 1))
    expect(s.ok && s.x).toEqual(upToT[t])
  })

  it('does not depend on how much earlier history the caller holds', () => {
    const a = features(btc.slice(500 - LOOKBACK, 500))
    const b = features(btc.slice(0, 500))
    expect(a).toEqual(b)
  })
})

describe('missing features', () => {
  it('too short a history, a missing minute or a zero price give no vector', () => {
    expect(features(btc.slice(0, LOOKBACK - 1))).toEqual({ ok: false, reason: 'missing-features' })
    const gap = [...btc.slice(0, 50), ...btc.slice(51, LOOKBACK + 1)]
    expect(features(gap).ok).toBe(false)
    const zero = btc.slice(0, LOOKBACK).map((b, i) => (i === 10 ? { ...b, close: 0 } : b))
    expect(features(zero).ok).toBe(false)
    const ok = features(btc.slice(0, LOOKBACK))
    expect(ok.ok).toBe(true)
    if (ok.ok) for (const v of ok.x) expect(Number.isFinite(v)).toBe(true)
    expect(btc[1]!.openTime - btc[0]!.openTime).toBe(MINUTE)
  })
})
