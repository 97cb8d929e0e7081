import { describe, expect, it } from 'vitest'
import { aggregate, type Candle, finals } from './candles.ts'
import { Rollup, rollup, rollupFinals } from './rollup.ts'
import { dates, minuteUpdate, outageDay, SYMBOLS_2024, spotDay, spotRange } from './testdata.ts'

// The one-pass rollup returns, for each interval, exactly what `aggregate` (the reference, itself
// golden-tested against Binance in candles.test.ts) returns: in order, with live updates and
// re-deliveries, out of order (its fallback), after an outage, and on odd decimals.

const IVS = ['5m', '15m', '30m', '1h', '4h', '1d']
const same = (input: Candle[], ivs = IVS, step = 60_000): void => {
  const got = rollup(input, ivs, step)
  expect(Object.keys(got)).toEqual(ivs)
  for (const iv of ivs) expect(got[iv], iv).toEqual(aggregate(input, iv, step))
}

/** 17 symbols × `days`, interleaved by open time as a live feed delivers them. */
const feed = (days: string[]): Candle[] =>
  SYMBOLS_2024.flatMap((s) => days.flatMap((d) => spotDay(s, '1m', d))).sort(
    (a, b) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1),
  )

describe('rollup: every interval in one pass, equal to aggregate', () => {
  const clean = feed(dates('2024-01-06', '2024-01-07')) // 2024-01-06 holds PEPEUSDT's zero-trade hour

  it('recorded 1m, 17 symbols × 2 days, in order', () => {
    expect(clean.length).toBe(17 * 2 * 1440)
    same(clean)
  })

  it('with open updates before each closed minute, re-deliveries and older open updates (replays)', () => {
    const live: Candle[] = []
    clean.forEach((k, i) => {
      const early = {
        ...k,
        closed: false,
        trades: Math.floor(k.trades / 2),
        close: k.open,
        volume: k.takerBuyBase,
      }
      live.push(early)
      if (i % 5 === 0) live.push({ ...k, closed: false, trades: k.trades + 1 }) // open, more trades
      live.push(k)
      if (i % 7 === 0) live.push(early) // a replayed older open update: ignored
      if (i % 11 === 0) live.push({ ...k }) // a re-delivery
      if (i % 13 === 0) live.push({ ...k, close: k.high }) // a closed correction: replaces
    })
    same(live)
    // the last minute of a window still open: candle not closed
    const open = clean.slice(0, 17 * 4)
    same([...open, ...clean.slice(17 * 4, 17 * 5).map((k) => ({ ...k, closed: false }))])
  })

  it('intervals that do not nest in the given order: each window folded directly, same candles', () => {
    expect(new Rollup(IVS).nested).toBe(true)
    expect(new Rollup(['1d', '5m', '15m']).nested).toBe(false)
    same(clean, ['1d', '5m', '15m'])
  })

  it('out of order (the symbol falls back to aggregate), other symbols unaffected', () => {
    const day = feed(['2024-01-06'])
    const late = day.filter((_, i) => i % 301 === 5)
    const shuffled = [...day.filter((_, i) => i % 301 !== 5), ...late]
    same(shuffled)
    const r = new Rollup(['1h'])
    for (const k of shuffled) r.add(k)
    expect([...r.bySymbol.values()].filter((s) => s.disordered).length).toBeGreaterThan(0)
  })

  it('a long out-of-order series (months of 1m candles from the fallback)', () => {
    const months = spotRange('BTCUSDT', '1m', '2025-03-01', '2025-05-31')
    const late = months.splice(1000, 1)
    const got = rollup([...months, ...late], ['1m'])['1m'] as Candle[]
    expect(got.length).toBe(months.length + 1)
    expect(got[1000]).toEqual({ ...late[0], interval: '1m' })
  })

  it('an outage (missing minutes), 1h inputs into 4h/1d, an empty input', () => {
    same(outageDay())
    const hours = aggregate(clean, '1h')
    same(hours, ['4h', '1d'], 3_600_000)
    expect(rollup([], IVS)).toEqual(Object.fromEntries(IVS.map((iv) => [iv, []])))
    expect(() => rollup(clean, ['2m'])).toThrow(RangeError)
  })

  it('odd decimals: prices past the exact-unit range, more than 8 decimals, equal values printed differently', () => {
    const t0 = Date.UTC(2024, 0, 1)
    const m = (i: number, o: Partial<Candle>): Candle => ({ ...minuteUpdate(t0, i, 1 + i, true), ...o })
    const input = [
      m(0, { high: '123456789.5', low: '99.00' }),
      m(1, { high: '123456789.50', low: '99.0' }), // equal to both: the first string stays
      m(2, { high: '123456789.500000001', low: '98.999999999', volume: '0.000000001' }),
      m(3, { high: '1234567890123456', volume: '9007199254740991', quoteVolume: '900719925474099.99999999' }),
      m(4, { trades: 0, high: '101.000000000', low: '100.5', quoteVolume: '900719925474099.99999999' }),
      m(5, { trades: 0, high: '101', low: '100.50000000' }),
    ]
    same(input, ['5m', '15m'])
    expect(rollup(input, ['15m'])['15m']?.[0]).toMatchObject({
      high: '1234567890123456',
      low: '98.999999999',
      volume: '9007199254741005.000000001',
    })
  })

  it('prices at the edge of exact units (2^53 / 1e8): ordered exactly', () => {
    const t0 = Date.UTC(2024, 0, 1)
    const m = (i: number, high: string, low: string): Candle => ({
      ...minuteUpdate(t0, i, 1, true),
      high,
      low,
    })
    // 9007199299999996 and 9007199299999997 are the same double
    const input = [
      m(0, '90071992.99999996', '90071991.99999997'),
      m(1, '90071992.99999997', '90071991.99999996'),
      m(2, '90071991.99999999', '90071992.99999996'),
    ]
    same(input, ['5m'])
    expect(rollup(input, ['5m'])['5m']?.[0]).toMatchObject({
      high: '90071992.99999997',
      low: '90071991.99999996',
    })
  })

  it('a larger window passes 2^53 while the windows folded into it do not: exact through BigInt', () => {
    const t0 = Date.UTC(2024, 0, 1)
    const huge = '900719925474099.99999999' // 12 of them: 1.08e16 > 2^53
    const input = Array.from({ length: 12 }, (_, i) => ({
      ...minuteUpdate(t0, i * 5, 1, true),
      volume: huge,
      takerBuyQuote: i === 3 ? '-1.5' : '0.25', // one that does not scan: its 5m sum is a string
    }))
    same(input, ['5m', '1h', '1d'])
    expect(rollup(input, ['1h'])['1h']?.[0]).toMatchObject({
      volume: '10808639105689199.99999988',
      takerBuyQuote: '1.25',
    })
  })

  it('rollupFinals equals finals per interval (complete windows and those closed by grace)', () => {
    const cut = clean.filter((k) => k.symbol !== 'BTCUSDT' || k.openTime % 86_400_000 < 50_000_000)
    const now = clean[clean.length - 1]!.openTime + 3_600_000
    const all = rollupFinals(cut, ['5m', '1h', '4h', '1d'], { now })
    for (const iv of ['5m', '1h', '4h', '1d']) expect(all[iv], iv).toEqual(finals(cut, iv, { now }))
  })
})
