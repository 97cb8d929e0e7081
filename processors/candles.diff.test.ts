import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  aggregate,
  type Candle,
  type CandleState,
  candleOf,
  initCandle,
  mergeMinute,
  windowStart,
} from './candles.ts'
import { rollup } from './rollup.ts'
import { dates, SYMBOLS_2024, spotDay } from './testdata.ts'

// Differential test: the candle merge emits exactly what it emitted before it kept fixed-point
// numbers in its state (the hashes below were taken from the string-decimal version), on the 10
// recorded days × 17 symbols, fed as the topology feeds it: an open update before each closed
// minute, re-deliveries, minutes arriving late (corrections), 1h candles feeding 4h and 1d.

const DAYS = dates('2024-01-01', '2024-01-10')
const SIZES = { '5m': 300_000, '1h': 3_600_000, '4h': 14_400_000, '1d': 86_400_000 } as const
type Iv = keyof typeof SIZES

/** The input stream of one symbol: open update, closed minute; some repeated, some held back. */
function feed(symbol: string): Candle[] {
  const out: Candle[] = []
  const held: Candle[] = []
  const minutes = DAYS.flatMap((d) => spotDay(symbol, '1m', d))
  minutes.forEach((k, i) => {
    // an open update: part of the minute (fewer trades, the taker volume as the volume so far)
    out.push({
      ...k,
      closed: false,
      trades: Math.floor(k.trades / 2),
      close: k.open,
      volume: k.takerBuyBase,
      quoteVolume: k.takerBuyQuote,
    })
    if (i % 211 === 7)
      held.push(k) // arrives 3 minutes late (its window refolds)
    else out.push(k)
    if (i % 97 === 3) out.push(k) // a re-delivery
    if (i % 211 === 10) out.push(...held.splice(0))
  })
  return out.concat(held)
}

function run(input: Candle[]): { hash: string; emitted: number } {
  const h = createHash('sha256')
  let emitted = 0
  const states = new Map<string, CandleState>()
  const merge = (k: Candle, iv: Iv, step: number): Candle | undefined => {
    const start = windowStart(k.openTime, SIZES[iv])
    const id = `${k.symbol}|${iv}|${start}`
    let s = states.get(id)
    if (!s) {
      s = initCandle(k.symbol, iv, SIZES[iv], start, step)
      states.set(id, s)
    }
    if (!mergeMinute(s, k)) return undefined
    const c = candleOf(s)
    h.update(`${JSON.stringify(c)}\n`)
    emitted++
    return c
  }
  for (const k of input) {
    merge(k, '5m', 60_000)
    const hour = merge(k, '1h', 60_000)
    if (hour) {
      merge(hour, '4h', 3_600_000)
      merge(hour, '1d', 3_600_000)
    }
  }
  return { hash: h.digest('hex').slice(0, 16), emitted }
}

describe('candle merge: output unchanged (10 days × 17 symbols)', () => {
  const input = SYMBOLS_2024.flatMap(feed).sort((a, b) => a.openTime - b.openTime)

  it('every emitted candle equals the string-decimal version (hash of all emissions)', () => {
    expect(input.length).toBeGreaterThan(17 * 14_400)
    expect(run(input)).toEqual({ hash: 'b5f52130429a35a9', emitted: 1_958_126 })
  }, 120_000) // ≈ 6 CPU-seconds; a shared machine's wall clock is longer

  it('batch aggregation equals the string-decimal version', () => {
    const h = createHash('sha256')
    for (const iv of ['5m', '15m', '1h', '4h', '1d']) h.update(JSON.stringify(aggregate(input, iv)))
    expect(h.digest('hex').slice(0, 16)).toBe('1b3a1d19fd1a9086')
  }, 60_000)

  // Every minute's last version above is the recorded closed one, so the clean recording in order
  // gives the same candles: the one-pass rollup's fast path (scanned integers, one window per
  // interval) on 10 days × 17 symbols, and its fallback on the noisy input.
  it('the one-pass rollup equals it too (recorded minutes in order, and the noisy input)', () => {
    const clean = SYMBOLS_2024.flatMap((s) => DAYS.flatMap((d) => spotDay(s, '1m', d))).sort(
      (a, b) => a.openTime - b.openTime,
    )
    const ivs = ['5m', '15m', '1h', '4h', '1d']
    for (const xs of [clean, input]) {
      const all = rollup(xs, ivs)
      const h = createHash('sha256')
      for (const iv of ivs) h.update(JSON.stringify(all[iv]))
      expect(h.digest('hex').slice(0, 16)).toBe('1b3a1d19fd1a9086')
    }
  }, 60_000)
})
