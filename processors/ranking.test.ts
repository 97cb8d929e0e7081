import { describe, expect, it } from 'vitest'
import { percentChange, sub } from '../common/decimal.ts'
import type { Kline } from '../common/records.ts'
import { initTicker, mergeTick, rank, type Ticker24h, tickerOf } from './ranking.ts'
import { SYMBOLS_2024, spotDay, spotRange } from './testdata.ts'

// SOURCES.md section 5: UTC day change (first 1m open → last 1m close), rounded to 2 decimals.
const GAINERS_2024_01_10 =
  'ARBUSDT +20.87,DOTUSDT +12.11,NEARUSDT +11.82,MATICUSDT +11.49,AVAXUSDT +11.23,PEPEUSDT +10.83,ETHUSDT +10.24,WLDUSDT +9.87,SEIUSDT +9.67,UNIUSDT +9.25,TIAUSDT +9.22,OPUSDT +7.99,ATOMUSDT +7.45,XRPUSDT +5.96,SUIUSDT +5.49,SOLUSDT +2.66,BTCUSDT +1.18'
const LOSERS_2024_01_03 =
  'WLDUSDT -13.87,MATICUSDT -11.88,PEPEUSDT -11.28,UNIUSDT -10.35,ATOMUSDT -9.47,AVAXUSDT -9.38,DOTUSDT -9.30,SOLUSDT -7.68,SUIUSDT -6.89,XRPUSDT -6.76,OPUSDT -6.38,ETHUSDT -6.18,BTCUSDT -4.68,TIAUSDT -4.63,NEARUSDT -3.90,ARBUSDT +8.11,SEIUSDT +10.00'

/** Replays the previous day and `date` through the rolling tickers; returns the ranking at its end. */
function replay(date: string, prev: string) {
  const tickers: Ticker24h[] = []
  for (const sym of SYMBOLS_2024) {
    const s = initTicker(sym)
    for (const k of spotRange(sym, '1m', prev, date)) mergeTick(s, k as Kline)
    tickers.push(tickerOf(s) as Ticker24h)
  }
  return rank(tickers)
}

const fmt = (e: { symbol: string; priceChangePercent: string }): string => {
  const p = Number(e.priceChangePercent).toFixed(2)
  return `${e.symbol} ${p.startsWith('-') ? p : `+${p}`}`
}

describe('24 h ranking', () => {
  it('2024-01-10 gainers equal SOURCES.md and the direct 1m computation', () => {
    const r = replay('2024-01-10', '2024-01-09')
    expect(r.gainers.map(fmt).join(',')).toBe(GAINERS_2024_01_10)
    for (const e of r.gainers) {
      const day = spotDay(e.symbol, '1m', '2024-01-10')
      const open = day[0]!.open
      const last = day[day.length - 1]!.close
      expect(e.openPrice).toBe(open)
      expect(e.lastPrice).toBe(last)
      expect(e.priceChange).toBe(sub(last, open))
      expect(e.priceChangePercent).toBe(percentChange(last, open))
      expect(e.count).toBe(day.reduce((n, k) => n + k.trades, 0))
      expect(e.partial).toBe(false)
      expect(e.stale).toBe(false)
    }
    expect(r.asOf).toBe(Date.parse('2024-01-11') - 1)
  })

  it('2024-01-03 losers equal SOURCES.md', () => {
    expect(replay('2024-01-03', '2024-01-02').losers.map(fmt).join(',')).toBe(LOSERS_2024_01_03)
  })

  it('rolling sums after eviction equal a fresh sum; duplicates and out-of-order minutes change nothing', () => {
    const two = spotRange('SEIUSDT', '1m', '2024-01-05', '2024-01-06') as Kline[]
    const rolled = initTicker('SEIUSDT')
    for (const k of two) mergeTick(rolled, k)
    const fresh = initTicker('SEIUSDT')
    const lastDay = two.slice(1440)
    for (const k of [...lastDay].reverse()) mergeTick(fresh, k)
    expect(mergeTick(fresh, lastDay[5]!)).toBe(false)
    expect(mergeTick(fresh, two[3]!)).toBe(false) // older than the window
    expect(tickerOf(rolled)).toEqual(tickerOf(fresh))
  })

  it('ties break by symbol; a quiet symbol is flagged stale; a young one partial', () => {
    const t = (symbol: string, pct: string, closeTime: number): Ticker24h => ({
      symbol,
      openTime: 0,
      closeTime,
      openPrice: '1',
      lastPrice: '1',
      priceChange: '0',
      priceChangePercent: pct,
      volume: '0',
      quoteVolume: '0',
      count: 0,
      partial: false,
    })
    const r = rank([t('BBB', '1.000', 10), t('AAA', '1.000', 10), t('CCC', '-2.000', 5)], 2)
    expect(r.gainers.map((e) => e.symbol)).toEqual(['AAA', 'BBB'])
    expect(r.losers.map((e) => [e.symbol, e.stale])).toEqual([
      ['CCC', true],
      ['AAA', false],
    ])
    const s = initTicker('X')
    mergeTick(s, spotDay('SEIUSDT', '1m', '2024-01-05')[0] as Kline)
    expect(tickerOf(s)?.partial).toBe(true)
    expect(tickerOf(initTicker('Y'))).toBeUndefined()
  })
})
