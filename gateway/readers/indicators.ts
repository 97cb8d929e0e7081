import { IndicatorBook, type Indicators, initIndicators, MAX_CLOSES } from '../../processors/indicators.ts'

// Indicator series from the closes of closed candles, through the topology's own IndicatorBook:
// the values equal what crypto_indicators emitted for those candles while the history is at
// most MAX_CLOSES long (the engine keeps that many closes; the Mongo reader reads that many).

export function indicatorSeries(
  symbol: string,
  interval: string,
  closes: [number, number][],
  limit: number,
): Indicators[] {
  const book = new IndicatorBook()
  const state = initIndicators(symbol, interval)
  const out: Indicators[] = []
  for (const [t, c] of closes.slice(-MAX_CLOSES)) out.push(book.update(state, t, c))
  return out.slice(Math.max(0, out.length - limit))
}
