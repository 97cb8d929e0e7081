import type { Kline } from '../common/records.ts'
import { spotRange } from './testdata.ts'

// Input shared by the ticker's unit tests and its topology tests.

/**
 * 1m klines of 2024-01-02..04 for three symbols in arrival order, as a live feed delivers them:
 * some minutes first as a live update, duplicates, minutes held back 5 minutes, re-sends older
 * than the window, a 5 h gap (SOLUSDT: the window start walks over it), ETHUSDT quiet for 26 h
 * (its whole window drops out), then a corrected first minute (a new openPrice).
 */
export function messyStream(): Kline[] {
  const out: { at: number; k: Kline }[] = []
  for (const sym of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
    const ks = spotRange(sym, '1m', '2024-01-02', '2024-01-04') as Kline[]
    ks.forEach((k, i) => {
      if (sym === 'SOLUSDT' && i >= 1800 && i < 2100) return
      if (sym === 'ETHUSDT' && i >= 1500 && i < 3060) return
      if (i % 60 === 7)
        out.push({
          at: k.openTime,
          k: { ...k, close: k.open, volume: '0.00000000', quoteVolume: '0.00000000', trades: 0 },
        })
      out.push({ at: k.openTime + (i % 97 === 5 ? 300_000 : 59_999), k })
      if (i % 50 === 49) out.push({ at: k.openTime + 60_000, k: ks[i - 30]! })
      if (i % 333 === 0 && i >= 2000)
        out.push({ at: k.openTime + 60_000, k: { ...ks[i - 1800]!, trades: 1 } })
      if (sym === 'ETHUSDT' && i === 3065)
        out.push({ at: k.openTime + 60_000, k: { ...ks[3060]!, open: k.close } })
    })
  }
  return out.sort((a, b) => a.at - b.at).map((x) => x.k)
}
