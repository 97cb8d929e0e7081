import { describe, expect, it } from 'vitest'
import { eq } from '../common/decimal.ts'
import { aggregate, type Candle, candleOf, initCandle, mergeMinute, regroup } from './candles.ts'
import { minuteUpdate, restKlines, rocketalerts, SYMBOLS_2024, spotDay, spotRange } from './testdata.ts'

// Golden tests: candles built from recorded 1m klines equal Binance's own candles, field by field.

const FIELDS = [
  'openTime',
  'closeTime',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'quoteVolume',
  'trades',
  'takerBuyBase',
  'takerBuyQuote',
] as const

/** Compares ours with Binance's; returns the mismatches as readable lines. */
function diff(ours: Candle[], theirs: Candle[], label: string): string[] {
  const byOpen = new Map(ours.map((c) => [c.openTime, c]))
  const bad: string[] = []
  for (const t of theirs) {
    const o = byOpen.get(t.openTime)
    if (!o) {
      bad.push(`${label} ${t.openTime}: missing`)
      continue
    }
    for (const f of FIELDS)
      if (o[f] !== t[f]) bad.push(`${label} ${t.openTime} ${f}: ours ${o[f]} binance ${t[f]}`)
    if (!o.closed) bad.push(`${label} ${t.openTime}: not closed`)
  }
  return bad
}

const matched = { n: 0 }

describe('golden: 1m → larger candles equal Binance', () => {
  it('REST 1h (2024-01-15) and 1d (2024-01-04..15) for BTCUSDT, all 11 fields', () => {
    const m1 = spotRange('BTCUSDT', '1m', '2024-01-04', '2024-01-15')
    const h = restKlines('BTCUSDT-1h-2024-01-15.klines.json', 'BTCUSDT', '1h')
    const d = restKlines('BTCUSDT-1d-2024-01-04_2024-01-15.klines.json', 'BTCUSDT', '1d')
    const hours = aggregate(m1, '1h')
    const bad = [
      ...diff(hours, h, '1h'),
      ...diff(aggregate(m1, '1d'), d, '1d'),
      ...diff(aggregate(hours, '1d', 3_600_000), d, '1d from 1h'), // the topology's chain
    ]
    expect(bad).toEqual([])
    expect(h.length + d.length).toBe(36)
    matched.n += 36
  })

  it('spot 15m/30m/4h of 17 symbols 2024-01-01..10 (zero-trade rule), all 11 fields', () => {
    let count = 0
    const bad: string[] = []
    for (const sym of SYMBOLS_2024) {
      const m1 = spotRange(sym, '1m', '2024-01-01', '2024-01-10')
      for (const iv of ['15m', '30m', '4h']) {
        const theirs = spotRange(sym, iv, '2024-01-01', '2024-01-10')
        bad.push(...diff(aggregate(m1, iv), theirs, `${sym} ${iv}`))
        count += theirs.length
      }
    }
    expect(bad.slice(0, 10)).toEqual([])
    expect(count).toBe(17 * 10 * (96 + 48 + 6))
    matched.n += count
  })

  it('rocketalerts BTCUSDT 5m/1h/4h/1d OHLCV (2024-01-01..2025-08-06 1m)', () => {
    const m1 = spotRange('BTCUSDT', '1m', '2024-01-01', '2025-08-06')
    let count = 0
    let skipped = 0
    const bad: string[] = []
    for (const iv of ['5m', '1h', '4h', '1d']) {
      const ours = new Map(aggregate(m1, iv).map((c) => [c.openTime, c]))
      for (const t of rocketalerts(`BTCUSDT_${iv}.csv`)) {
        const o = ours.get(t.openTime)
        if (!o?.closed) {
          skipped++ // before 2024-01-01: no 1m recorded here
          continue
        }
        for (const f of ['open', 'high', 'low', 'close', 'volume'] as const)
          if (!eq(o[f], t[f])) bad.push(`${iv} ${t.openTime} ${f}: ours ${o[f]} rocketalerts ${t[f]}`)
        count++
      }
    }
    expect(bad.slice(0, 10)).toEqual([])
    // 5m, 1h, 4h: 999 closed rows each; 1d: the days from 2024-01-01 on
    expect(count).toBe(999 * 3 + (999 - skipped))
    matched.n += count
    console.log(`golden candles matched: ${matched.n} (rocketalerts 1d rows before 2024 skipped: ${skipped})`)
  })
})

// A seeded PRNG so the shuffle is the same on every run.
function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('regroup', () => {
  // PEPEUSDT 2024-01-06 20:00 holds zero-trade minutes: skipped for open/high/low in either grouping
  const hour = spotDay('PEPEUSDT', '1m', '2024-01-06').filter((k) => k.openTime % 86_400_000 >= 72_000_000)
  const fiveMin = aggregate(hour.slice(0, 60), '5m')

  it('a window of 1m minutes, regrouped into 5m candles, is the same candle and takes 5m candles on', () => {
    for (const n of [1, 37, 41, 60]) {
      const s = initCandle('PEPEUSDT', '1h', 3_600_000, hour[0]!.openTime)
      for (const k of hour.slice(0, n)) mergeMinute(s, k)
      const r = regroup(s, 300_000)
      expect(r.stepMs).toBe(300_000)
      expect(r.minutes.length).toBe(Math.ceil(n / 5))
      expect(candleOf(r)).toEqual(candleOf(s))
      // the 5m candles from the cut on (the partial one again, complete): no minute counted twice
      for (const c of fiveMin.slice(Math.floor(n / 5))) mergeMinute(r, c)
      expect(candleOf(r)).toEqual(aggregate(hour.slice(0, 60), '1h')[0])
    }
  })
})

describe('idempotent merge', () => {
  // 2024-01-06 20:00 is the PEPEUSDT zero-trade bucket; 8 h keep the refolds of the shuffle cheap
  const clean = [
    ...spotDay('PEPEUSDT', '1m', '2024-01-06'),
    ...spotDay('ETHUSDT', '1m', '2024-01-06'),
  ].filter((k) => k.openTime % 86_400_000 >= 57_600_000)

  it('shuffled, duplicated, corrected and live-updated minutes give the clean candles', () => {
    const rnd = mulberry32(42)
    const noisy: Candle[] = []
    for (const k of clean) {
      // a live (unclosed) earlier version with wrong values, later corrected by the real one
      if (rnd() < 0.2)
        noisy.push({ ...k, closed: false, close: k.open, volume: '1.00', trades: k.trades + 7 })
      noisy.push(k)
      if (rnd() < 0.2) noisy.push({ ...k }) // re-delivery
    }
    // shuffle while keeping each minute's last version last (a correction arrives after the wrong one)
    const order = noisy.map((k, i) => ({ k, i, r: rnd() }))
    order.sort((a, b) => a.r - b.r)
    const lastIdx = new Map<string, number>()
    noisy.forEach((k, i) => {
      lastIdx.set(`${k.symbol}${k.openTime}`, i)
    })
    const shuffled = order.filter((o) => lastIdx.get(`${o.k.symbol}${o.k.openTime}`) !== o.i).map((o) => o.k)
    const finals = order.filter((o) => lastIdx.get(`${o.k.symbol}${o.k.openTime}`) === o.i).map((o) => o.k)
    const stream = [...shuffled, ...finals.sort(() => rnd() - 0.5)]
    for (const iv of ['5m', '1h', '4h', '1d']) expect(aggregate(stream, iv)).toEqual(aggregate(clean, iv))
  })

  it('a late minute completes a candle; a duplicate reports no change; closed needs the last minute closed', () => {
    const day = clean.filter((k) => k.symbol === 'ETHUSDT').slice(0, 60)
    const s = initCandle('ETHUSDT', '1h', 3_600_000, day[0]!.openTime)
    const late = day[10]!
    for (const k of day) if (k !== late) mergeMinute(s, k)
    expect(candleOf(s).closed).toBe(true) // the last minute arrived closed
    expect(candleOf(s).trades).toBeLessThan(aggregate(day, '1h')[0]!.trades)
    expect(mergeMinute(s, late)).toBe(true)
    expect(mergeMinute(s, late)).toBe(false)
    expect(candleOf(s)).toEqual(aggregate(day, '1h')[0])
    const open = initCandle('ETHUSDT', '1h', 3_600_000, day[0]!.openTime)
    for (const k of day) mergeMinute(open, { ...k, closed: k !== day[59] })
    expect(candleOf(open).closed).toBe(false)
  })

  it('a replay of older open updates on state holding the closed minutes never regresses a candle (issue 13, defect 2)', () => {
    // 5 minutes; each gets open updates with volumes 10, 20, 30, then its close at 40: final 200.
    const t0 = 1_704_067_200_000
    const k = (i: number, v: number, closed: boolean) => minuteUpdate(t0, i, v, closed)
    const live: Candle[] = []
    for (let i = 0; i < 5; i++) live.push(k(i, 10, false), k(i, 20, false), k(i, 30, false), k(i, 40, true))
    const s = initCandle('BTCUSDT', '5m', 300_000, t0)
    for (const x of live) mergeMinute(s, x)
    expect(candleOf(s)).toMatchObject({ volume: '200.00', closed: true })
    // The crash came after the changelog send, before the offset commit: the input from minute 2's
    // open updates on is processed again, on the restored state.
    const seen: string[] = []
    for (const x of live.slice(8)) {
      const changed = mergeMinute(s, x)
      if (changed) seen.push(`${candleOf(s).volume}/${candleOf(s).closed}`)
    }
    expect(seen).toEqual([])
    expect(candleOf(s)).toMatchObject({ volume: '200.00', closed: true })
    // An open update of the current minute never goes back to fewer trades either.
    const o = initCandle('BTCUSDT', '5m', 300_000, t0)
    mergeMinute(o, k(0, 30, false))
    expect(mergeMinute(o, k(0, 20, false))).toBe(false)
    expect(candleOf(o).volume).toBe('30.00')
    // A closed version still corrects a closed minute.
    expect(mergeMinute(s, { ...k(4, 40, true), close: '100.60' })).toBe(true)
    expect(candleOf(s).close).toBe('100.60')
  })
})
