import { describe, expect, it } from 'vitest'
import { add, addDec, formatDec, parseDec, percentChange, sub, subDec } from '../common/decimal.ts'
import type { Kline } from '../common/records.ts'
import { messyStream } from './ranking.fixture.ts'
import {
  type DecimalTickerState,
  type LegacyTickerState,
  memoryTickerStores,
  mergeTick,
  rank,
  type Ticker24h,
  type TickerState,
  type TickMinute,
  tickerFor,
} from './ranking.ts'
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
    const st = memoryTickerStores()
    for (const k of spotRange(sym, '1m', prev, date)) mergeTick(st, k as Kline)
    tickers.push(tickerFor(st, sym) as Ticker24h)
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
    const rolled = memoryTickerStores()
    for (const k of two) mergeTick(rolled, k)
    const fresh = memoryTickerStores()
    const lastDay = two.slice(1440)
    for (const k of [...lastDay].reverse()) mergeTick(fresh, k)
    expect(mergeTick(fresh, lastDay[5]!)).toBe(false)
    expect(mergeTick(fresh, two[3]!)).toBe(false) // older than the window
    expect(tickerFor(rolled, 'SEIUSDT')).toEqual(tickerFor(fresh, 'SEIUSDT'))
    // only the window's minutes are kept
    expect([...rolled.minutes.values()].map((m) => m[0])).toEqual(lastDay.map((k) => k.openTime))
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
    const st = memoryTickerStores()
    mergeTick(st, spotDay('SEIUSDT', '1m', '2024-01-05')[0] as Kline)
    expect(tickerFor(st, 'SEIUSDT')?.partial).toBe(true)
    expect(tickerFor(st, 'Y')).toBeUndefined()
  })

  it('3 days of 3 symbols with live updates, duplicates, late, out-of-order minutes and gaps: every ticker and hourly ranking equals the one-value window', () => {
    const st = memoryTickerStores()
    const legacy = new Map<string, LegacyTickerState>()
    const diffs: unknown[] = []
    let changes = 0
    let hour = 0
    let rankings = 0
    for (const k of messyStream()) {
      const old =
        legacy.get(k.symbol) ??
        legacy
          .set(k.symbol, { symbol: k.symbol, minutes: [], volume: '0', quoteVolume: '0', count: 0 })
          .get(k.symbol)!
      const changed = legacyMerge(old, k)
      if (mergeTick(st, k) !== changed) diffs.push(['changed', k])
      if (changed) changes++
      const want = legacyTicker(old)
      const got = tickerFor(st, k.symbol)
      if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push([k, got, want])
      if (Math.floor(k.openTime / 3_600_000) !== hour) {
        hour = Math.floor(k.openTime / 3_600_000)
        const syms = [...legacy.keys()]
        expect(rank(syms.map((x) => tickerFor(st, x)!))).toEqual(
          rank(syms.map((x) => legacyTicker(legacy.get(x)!)!)),
        )
        rankings++
      }
      if (diffs.length > 3) break
    }
    expect(diffs).toEqual([])
    expect(changes).toBeGreaterThan(11_000)
    expect(rankings).toBeGreaterThan(70)
    // the store holds exactly the window's minutes, nothing that dropped out
    for (const [sym, old] of legacy) {
      const kept = [...st.minutes].filter(([key]) => key.startsWith(`${sym}|`)).map(([, m]) => m[0])
      expect(kept.sort((a, b) => a - b)).toEqual(old.minutes.map((m) => m[0]))
    }
    // and BTCUSDT (no gaps) equals a plain sum over its last 1440 minutes
    const btc = spotRange('BTCUSDT', '1m', '2024-01-02', '2024-01-04').slice(-1440)
    const t = tickerFor(st, 'BTCUSDT')!
    expect(t.volume).toBe(btc.reduce((v, k) => add(v, k.volume), '0'))
    expect(t.count).toBe(btc.reduce((n, k) => n + k.trades, 0))
    expect([t.openPrice, t.lastPrice, t.partial]).toEqual([btc[0]!.open, btc.at(-1)!.close, false])
  })

  it('a window stored as one value (before minute entries) is split on its next update', () => {
    const day = spotRange('SOLUSDT', '1m', '2024-01-05', '2024-01-06') as Kline[]
    const old: LegacyTickerState = { symbol: 'SOLUSDT', minutes: [], volume: '0', quoteVolume: '0', count: 0 }
    for (const k of day.slice(0, 2000)) legacyMerge(old, k)
    const st = memoryTickerStores()
    st.putState(old as never)
    expect(tickerFor(st, 'SOLUSDT')).toEqual(legacyTicker(old))
    expect(mergeTick(st, day[1999]!)).toBe(false)
    for (const k of day.slice(2000)) {
      legacyMerge(old, k)
      mergeTick(st, k)
    }
    expect(tickerFor(st, 'SOLUSDT')).toEqual(legacyTicker(old))
    expect(st.minutes.size).toBe(1440)
  })
})

// The summary keeps exact fixed-point sums and prints them only for a ticker; every ticker must
// print as the decimal-string sums did, including the inputs that leave the fast path.
describe('fixed-point sums', () => {
  const base = spotDay('BTCUSDT', '1m', '2024-01-03')[0] as Kline
  /** 1600 minutes of `symbol` (the window start passes 160 of them), volumes from `vol(i)`. */
  const series = (symbol: string, vol: (i: number) => [string, string]): Kline[] =>
    Array.from({ length: 1600 }, (_, i) => {
      const [volume, quoteVolume] = vol(i)
      return {
        ...base,
        symbol,
        interval: '1m',
        openTime: base.openTime + i * 60_000,
        volume,
        quoteVolume,
        trades: i,
      }
    })
  const cases: Record<string, (i: number) => [string, string]> = {
    // scales 0, 1, 2 and 8 mixed: a sum prints at the largest scale it ever saw, also after that input left
    SCALES: (i) => [i % 5 === 0 ? '1.5' : i % 7 === 0 ? '3' : '0.25', i === 3 ? '0.00000001' : `${i}.12`],
    // 9 decimals and a sign do not scan: decimal strings from there on
    DIGITS: (i) => [i === 40 ? '0.123456789' : '2.00000000', i === 1550 ? '-1.5' : '7.10000000'],
    // 9e14 per minute: the whole part passes 2^53 after 11 minutes; 16 integer digits do not scan
    HUGE: (i) => ['900000000000000.5', i === 20 ? '1000000000000000' : '1.00'],
  }

  it('every ticker prints as the decimal-string sums did, also from a summary stored with decimal strings', () => {
    for (const [symbol, vol] of Object.entries(cases)) {
      const ks = series(symbol, vol)
      const st = memoryTickerStores()
      const ref: LegacyTickerState = { symbol, minutes: [], volume: '0', quoteVolume: '0', count: 0 }
      const diffs: unknown[] = []
      ks.forEach((k, i) => {
        if (i === 1000) {
          // the summary as the version before fixed-point sums stored it
          const s = st.getState(symbol) as TickerState
          const t = tickerFor(st, symbol)!
          const old: DecimalTickerState = { ...s, volume: t.volume, quoteVolume: t.quoteVolume }
          st.putState(old as never)
          expect(tickerFor(st, symbol)).toEqual(t)
        }
        legacyMerge(ref, k)
        mergeTick(st, k)
        const [got, want] = [tickerFor(st, symbol), legacyTicker(ref)]
        if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push([symbol, i, got, want])
      })
      expect(diffs.slice(0, 3)).toEqual([])
    }
    expect(tickerFor(memoryTickerStores(), 'X')).toBeUndefined()
  })

  it('the summary stores sums as numbers while they fit, as a decimal string after', () => {
    const st = memoryTickerStores()
    const ks = series('HUGE', cases.HUGE!)
    for (const k of ks.slice(0, 15)) mergeTick(st, k)
    const s = st.getState('HUGE') as TickerState
    expect(s.quoteVolume).toEqual([15, 0, 2])
    expect(s.volume).toEqual(['13500000000000007.5', 0, 1]) // 15 × 9e14 passed 2^53
    for (const k of ks.slice(15, 21)) mergeTick(st, k)
    expect((st.getState('HUGE') as TickerState).quoteVolume).toEqual(['1000000000000020.00', 0, 2])
    expect(tickerFor(st, 'HUGE')!.quoteVolume).toBe('1000000000000020.00')
  })
})

// The one-value window that minute entries replaced (verbatim but for names), kept as the
// reference the results must equal.
const plus = (a: string, b: string): string => formatDec(addDec(parseDec(a), parseDec(b)))
const minus = (a: string, b: string): string => formatDec(subDec(parseDec(a), parseDec(b)))

function resum(s: LegacyTickerState): void {
  let v = '0'
  let q = '0'
  let n = 0
  for (const m of s.minutes) {
    v = plus(v, m[3])
    q = plus(q, m[4])
    n += m[5]
  }
  s.volume = v
  s.quoteVolume = q
  s.count = n
}

function legacyMerge(s: LegacyTickerState, k: Kline): boolean {
  const m: TickMinute = [k.openTime, k.open, k.close, k.volume, k.quoteVolume, k.trades]
  const ms = s.minutes
  const last = ms[ms.length - 1]
  if (last !== undefined && m[0] <= last[0]) {
    if (m[0] < last[0] - DAY + 60_000) return false
    const i = ms.findIndex((x) => x[0] >= m[0])
    const at = ms[i] as TickMinute
    if (at[0] === m[0]) {
      if (at.every((v, j) => v === m[j])) return false
      ms[i] = m
    } else ms.splice(i, 0, m)
    resum(s)
    return true
  }
  ms.push(m)
  s.volume = plus(s.volume, m[3])
  s.quoteVolume = plus(s.quoteVolume, m[4])
  s.count += m[5]
  const from = m[0] - DAY + 60_000
  while ((ms[0] as TickMinute)[0] < from) {
    const old = ms.shift() as TickMinute
    s.volume = minus(s.volume, old[3])
    s.quoteVolume = minus(s.quoteVolume, old[4])
    s.count -= old[5]
  }
  return true
}

function legacyTicker(s: LegacyTickerState): Ticker24h | undefined {
  const first = s.minutes[0]
  const last = s.minutes[s.minutes.length - 1]
  if (!first || !last) return undefined
  return {
    symbol: s.symbol,
    openTime: first[0],
    closeTime: last[0] + 59_999,
    openPrice: first[1],
    lastPrice: last[2],
    priceChange: sub(last[2], first[1]),
    priceChangePercent: percentChange(last[2], first[1]),
    volume: s.volume,
    quoteVolume: s.quoteVolume,
    count: s.count,
    partial: last[0] - first[0] < DAY - 60_000,
  }
}

const DAY = 86_400_000

describe('replays', () => {
  it('a minute off the 1-minute grid changes nothing', () => {
    const k = { ...(spotDay('BTCUSDT', '1m', '2024-01-03')[0] as Kline), interval: '1m' as const }
    const st = memoryTickerStores()
    for (const t of [
      k.openTime + 1,
      k.openTime - 30_000,
      k.openTime + 59_999,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ])
      expect(mergeTick(st, { ...k, openTime: t })).toBe(false)
    expect(tickerFor(st, 'BTCUSDT')).toBeUndefined()
    expect(mergeTick(st, k)).toBe(true)
    expect(mergeTick(st, { ...k, openTime: k.openTime + 60_001 })).toBe(false)
    expect(tickerFor(st, 'BTCUSDT')?.closeTime).toBe(k.openTime + 59_999)
  })
  it('a replay of older open updates never regresses a ticker (issue 13, defect 2)', () => {
    const day = spotDay('BTCUSDT', '1m', '2024-01-03').slice(0, 30) as Kline[]
    const st = memoryTickerStores()
    for (const k of day) mergeTick(st, { ...k, interval: '1m' })
    const before = tickerFor(st, 'BTCUSDT')
    // open versions of minutes already stored closed (with fewer trades, as they were live)
    for (const k of day.slice(20))
      expect(
        mergeTick(st, {
          ...k,
          interval: '1m',
          closed: false,
          volume: '0.00100000',
          quoteVolume: '1.00000000',
          trades: 1,
          close: k.open,
        }),
      ).toBe(false)
    expect(tickerFor(st, 'BTCUSDT')).toEqual(before)
    // the open minute: an update with fewer trades than the stored one is older
    const next = { ...day[29]!, interval: '1m' as const, openTime: day[29]!.openTime + 60_000, closed: false }
    expect(mergeTick(st, { ...next, trades: 50 })).toBe(true)
    expect(mergeTick(st, { ...next, trades: 40, volume: '0.1' })).toBe(false)
    expect(mergeTick(st, { ...next, trades: 60 })).toBe(true)
  })
})
