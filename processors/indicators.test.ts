import { EMA, MACD, RSI, SMA } from 'technicalindicators'
import { describe, expect, it } from 'vitest'
import { aggregate } from './candles.ts'
import { IndicatorBook, type Indicators, initIndicators, round8 } from './indicators.ts'
import { spotRange } from './testdata.ts'

const r8 = (v: number | undefined): number | null => (v === undefined ? null : Number(v.toFixed(8)))
/** Batch output aligned to the input: index i holds the value at close i (null before warm-up). */
const align = <T>(out: T[], n: number): (T | null)[] => [...Array(n - out.length).fill(null), ...out]

describe('indicators equal technicalindicators batch functions', () => {
  // 1h candles of 10 days: 240 closes, enough for every period
  const candles = aggregate(spotRange('ETHUSDT', '1m', '2024-01-01', '2024-01-10'), '1h')
  const closes = candles.map((c) => Number(c.close))
  const n = closes.length
  const rsi = align(RSI.calculate({ period: 14, values: closes }), n)
  const macd = align(
    MACD.calculate({
      values: closes,
      fastPeriod: 12,
      slowPeriod: 26,
      signalPeriod: 9,
      SimpleMAOscillator: false,
      SimpleMASignal: false,
    }),
    n,
  )
  const sma20 = align(SMA.calculate({ period: 20, values: closes }), n)
  const sma50 = align(SMA.calculate({ period: 50, values: closes }), n)
  const ema20 = align(EMA.calculate({ period: 20, values: closes }), n)
  const ema50 = align(EMA.calculate({ period: 50, values: closes }), n)
  const expected = (i: number) => ({
    rsi14: rsi[i] ?? null,
    macd: r8(macd[i]?.MACD),
    macdSignal: r8(macd[i]?.signal),
    macdHistogram: r8(macd[i]?.histogram),
    sma20: r8(sma20[i] ?? undefined),
    sma50: r8(sma50[i] ?? undefined),
    ema20: r8(ema20[i] ?? undefined),
    ema50: r8(ema50[i] ?? undefined),
  })
  const pick = (x: Indicators) => {
    const { symbol: _s, interval: _i, openTime: _o, close: _c, ...rest } = x
    return rest
  }

  it('streaming, every candle', () => {
    const book = new IndicatorBook()
    const st = initIndicators('ETHUSDT', '1h')
    candles.forEach((c, i) => {
      expect(pick(book.update(st, c.openTime, Number(c.close))), `candle ${i}`).toEqual(expected(i))
    })
    expect(expected(n - 1).macdSignal).not.toBeNull()
  })

  it('after a restart (state from the store, fresh producers) and with a re-emitted candle', () => {
    const st = initIndicators('ETHUSDT', '1h')
    const first = new IndicatorBook()
    for (const c of candles.slice(0, 100)) first.update(st, c.openTime, Number(c.close))
    const restored = JSON.parse(JSON.stringify(st))
    const second = new IndicatorBook()
    for (let i = 100; i < n; i++) {
      const c = candles[i]!
      expect(pick(second.update(restored, c.openTime, Number(c.close)))).toEqual(expected(i))
    }
    const c = candles[150]!
    expect(pick(second.update(restored, c.openTime, Number(c.close)))).toEqual(expected(150))
    const last = candles[n - 1]!
    expect(pick(second.update(restored, last.openTime, Number(last.close)))).toEqual(expected(n - 1))
  })
})

describe('round8', () => {
  it('equals Number(v.toFixed(8)) (random magnitudes, halves of 1e-8 and their neighbours, signs)', () => {
    const xs: number[] = [
      0,
      -0,
      5e-9,
      -5e-9,
      1.5e-8,
      2 ** 52 / 1e8,
      2 ** 53 / 1e8,
      1e21,
      -1e21,
      123456789.12345679,
    ]
    let seed = 15
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 100_000; i++) {
      xs.push((rnd() - 0.5) * 10 ** (Math.floor(rnd() * 30) - 14))
      const half = (Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 14))) + 0.5) / 1e8
      xs.push(half, -half, half * (1 - Number.EPSILON), half * (1 + Number.EPSILON))
      xs.push(Math.round(rnd() * 10_000) / 100, Math.floor(rnd() * 1e6) / 1024, rnd() * 70_000)
    }
    const wrong = xs.filter((v) => !Object.is(round8(v), Number(v.toFixed(8))))
    expect(wrong).toEqual([])
  })
})
