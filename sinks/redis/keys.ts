// The Redis key layout (sinks/README.md): one function per key family, all under an optional
// prefix (tests, shared servers).

export interface RedisKeys {
  kline1mLatest(symbol: string): string
  kline1m(symbol: string, openTime: number): string
  /** Prefix of the per-minute keys: `<prefix><openTime>`, used by the trim script. */
  kline1mPrefix(symbol: string): string
  kline1mIndex(symbol: string): string
  orderbookLatest(symbol: string): string
  trades(symbol: string): string
  rankingGainers(): string
  rankingLosers(): string
  rankingLatest(): string
  indicatorsLatest(symbol: string, interval: string): string
  prediction(symbol: string): string
}

export function redisKeys(prefix = ''): RedisKeys {
  const p = prefix
  return {
    kline1mLatest: (s) => `${p}crypto:${s}:1m:latest`,
    kline1m: (s, t) => `${p}crypto:${s}:1m:${t}`,
    kline1mPrefix: (s) => `${p}crypto:${s}:1m:`,
    kline1mIndex: (s) => `${p}crypto:${s}:1m:index`,
    orderbookLatest: (s) => `${p}orderbook:${s}:latest`,
    trades: (s) => `${p}trades:${s}:list`,
    rankingGainers: () => `${p}ranking:top_gainers`,
    rankingLosers: () => `${p}ranking:top_losers`,
    rankingLatest: () => `${p}ranking:latest`,
    indicatorsLatest: (s, i) => `${p}indicators:${s}:${i}:latest`,
    prediction: (s) => `${p}crypto:prediction:${s}`,
  }
}
