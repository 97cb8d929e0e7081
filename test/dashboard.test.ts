import { EMA, MACD, RSI, SMA } from 'technicalindicators'
import { describe, expect, it } from 'vitest'
import { applyLive, hasHole, merge } from '../dashboard/src/app/candles.ts'
import { decimalsOf, fmt, inferDecimals, pct, signed } from '../dashboard/src/app/format.ts'
import { ema, macd, rsi, sma } from '../dashboard/src/app/indicators.ts'
import { spotDay } from '../processors/testdata.ts'

// The dashboard's pure parts: number formatting at exchange precision and the chart overlays.

describe('dashboard number formatting', () => {
  it('takes decimals from tick and step sizes', () => {
    expect(decimalsOf('0.01000000')).toBe(2)
    expect(decimalsOf('1.00000000')).toBe(0)
    expect(decimalsOf('0.00001000')).toBe(5)
    expect(decimalsOf(1e-8)).toBe(8)
    expect(decimalsOf(null)).toBeUndefined()
    expect(decimalsOf('0')).toBeUndefined()
    expect(inferDecimals(['42283.58000000', '42283.50000000'])).toBe(2)
  })

  it('prints at the precision with separators, never float noise', () => {
    expect(fmt(0.1 + 0.2, 2)).toBe('0.30')
    expect(fmt('42283.58000000', 2)).toBe('42,283.58')
    expect(fmt('0.00012000', 5)).toBe('0.00012')
    expect(fmt(1.005 * 1000, 1)).toBe('1,005.0')
    expect(fmt('x', 2)).toBe('—')
    expect(pct('1.92')).toBe('+1.92%')
    expect(pct(-0.4)).toBe('−0.40%')
    expect(pct(0)).toBe('0.00%')
    expect(signed('-3.1', 2)).toBe('−3.10')
  })
})

describe('dashboard chart overlays equal technicalindicators on a real day', () => {
  const closes = spotDay('BTCUSDT', '1m', '2024-01-03').map((k) => Number(k.close))
  const tail = <T>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null)

  it('SMA 20, EMA 50, RSI 14, MACD 12 26 9', () => {
    expect(closes).toHaveLength(1440)
    const close = (a: number[], b: number[], digits: number) => {
      expect(a).toHaveLength(b.length)
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, digits)
    }
    close(tail(sma(closes, 20)), SMA.calculate({ period: 20, values: closes }), 8)
    close(tail(ema(closes, 50)), EMA.calculate({ period: 50, values: closes }), 8)
    // technicalindicators prints RSI with 2 decimals
    close(tail(rsi(closes, 14)), RSI.calculate({ period: 14, values: closes }), 1)
    const theirs = MACD.calculate({
      values: closes,
      fastPeriod: 12,
      slowPeriod: 26,
      signalPeriod: 9,
      SimpleMAOscillator: false,
      SimpleMASignal: false,
    })
    const ours = macd(closes)
    close(
      tail(ours.macd),
      theirs.map((m) => m.MACD!),
      8,
    )
    close(tail(ours.signal), tail(theirs.map((m) => m.signal ?? null)), 8)
    close(tail(ours.histogram), tail(theirs.map((m) => m.histogram ?? null)), 8)
  })
})

describe('dashboard chart candles: a snapshot older than the live feed', () => {
  const M = 60_000
  const c = (i: number, closed: boolean, close = i) => ({ openTime: i * M, closed, close })

  it('a live candle beyond the next one names where to read again; the re-read fills the hole', () => {
    // snapshot up to minute 3 (still open there); the feed is already at minute 6
    const list = [c(0, true), c(1, true), c(2, true), c(3, false)]
    expect(applyLive(list, c(6, false, 60), M)).toBe(3 * M)
    expect(list.map((k) => k.openTime / M)).toEqual([0, 1, 2, 3, 6])
    expect(hasHole(list, 3 * M, M)).toBe(true)
    // the store has caught up to minute 5; its minute 6 is older than the live one
    const rest = [c(3, true, 30), c(4, true), c(5, true), c(6, false, 59)]
    const filled = merge(list, rest)
    expect(filled.map((k) => [k.openTime / M, k.closed, k.close])).toEqual([
      [0, true, 0],
      [1, true, 1],
      [2, true, 2],
      [3, true, 30],
      [4, true, 4],
      [5, true, 5],
      [6, false, 60],
    ])
    expect(hasHole(filled, 3 * M, M)).toBe(false)
  })

  it('the next candle, updates in place and late finals need no re-read', () => {
    const list = [c(0, true), c(1, false)]
    expect(applyLive(list, c(1, false, 11), M)).toBeNull()
    expect(applyLive(list, c(2, false), M)).toBeNull()
    expect(applyLive(list, c(1, true, 12), M)).toBeNull()
    expect(list.map((k) => [k.openTime / M, k.closed, k.close])).toEqual([
      [0, true, 0],
      [1, true, 12],
      [2, false, 2],
    ])
    expect(hasHole(list, 0, M)).toBe(false)
    // a re-read never replaces a closed candle
    expect(merge(list, [c(1, false, 99)])[1]).toEqual(c(1, true, 12))
  })
})
