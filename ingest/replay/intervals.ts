// Binance kline intervals and where their candles start. Fixed sizes up to 1d are epoch aligned;
// 3d too (every third day counted from 1970-01-01); 1w starts on Monday 00:00 UTC (the epoch was
// a Thursday, so weeks are offset by 4 days); 1M is the calendar month in UTC.

export const SECOND = 1000
const MIN = 60_000
const DAY = 86_400_000
const WEEK_OFFSET = 4 * DAY

const FIXED: Record<string, number> = {
  '1s': SECOND,
  '1m': MIN,
  '3m': 3 * MIN,
  '5m': 5 * MIN,
  '15m': 15 * MIN,
  '30m': 30 * MIN,
  '1h': 60 * MIN,
  '2h': 120 * MIN,
  '4h': 240 * MIN,
  '6h': 360 * MIN,
  '8h': 480 * MIN,
  '12h': 720 * MIN,
  '1d': DAY,
  '3d': 3 * DAY,
  '1w': 7 * DAY,
}

export const INTERVAL_NAMES: readonly string[] = [...Object.keys(FIXED), '1M']

export function isInterval(name: string): boolean {
  return name === '1M' || name in FIXED
}

/** Start of the candle of `interval` containing instant `t`. */
export function bucketStart(interval: string, t: number): number {
  if (interval === '1M') {
    const d = new Date(t)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  }
  const size = FIXED[interval]!
  const off = interval === '1w' ? WEEK_OFFSET : 0
  return Math.floor((t - off) / size) * size + off
}

/** Start of the candle after the one starting at `start`. */
export function nextStart(interval: string, start: number): number {
  if (interval === '1M') {
    const d = new Date(start)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  }
  return start + FIXED[interval]!
}

/** Start of the candle before the one starting at `start`. */
export function prevStart(interval: string, start: number): number {
  if (interval === '1M') {
    const d = new Date(start)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)
  }
  return start - FIXED[interval]!
}

/** First candle start at or after `t` (Binance rounds a startTime up to the next boundary). */
export function ceilStart(interval: string, t: number): number {
  const b = bucketStart(interval, t)
  return b === t ? b : nextStart(interval, b)
}
