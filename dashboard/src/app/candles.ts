// The chart's candle list rules, kept free of Angular and of imports so they are tested alone
// (test/dashboard.test.ts).

export interface Candle {
  openTime: number
  closed: boolean
}

/**
 * Applies a live candle to a list sorted by open time (in place). Returns the open time from
 * which candles must be read again when the live candle is beyond the next one: the snapshot
 * was older than the live feed, and the candles between (and the final of the last one) were
 * never received. null otherwise.
 */
export function applyLive<C extends Candle>(list: C[], k: C, stepMs: number): number | null {
  const last = list[list.length - 1]
  if (!last || k.openTime > last.openTime) {
    list.push(k)
    return last && k.openTime - last.openTime > stepMs ? last.openTime : null
  }
  if (k.openTime === last.openTime) list[list.length - 1] = k
  else {
    // a late final of an earlier candle
    const i = list.findIndex((x) => x.openTime === k.openTime)
    if (i >= 0) list[i] = k
  }
  return null
}

/** Candles read again fill holes and replace still-open versions; a closed candle is never replaced. */
export function merge<C extends Candle>(list: C[], got: C[]): C[] {
  if (got.length === 0) return list
  const byTime = new Map(list.map((k) => [k.openTime, k]))
  for (const k of got) {
    const have = byTime.get(k.openTime)
    if (!have || (!have.closed && k.closed)) byTime.set(k.openTime, k)
  }
  return [...byTime.values()].sort((a, b) => a.openTime - b.openTime)
}

/** After `from`: a missing candle, or an open one that is not the newest. */
export function hasHole(list: Candle[], from: number, stepMs: number): boolean {
  for (let i = 1; i < list.length; i++) {
    const k = list[i]!
    const prev = list[i - 1]!
    if (k.openTime <= from) continue
    if (k.openTime - prev.openTime > stepMs || !prev.closed) return true
  }
  return false
}
