// What the replay server lists in exchangeInfo. Tick and step sizes are the precision seen in
// the January 2024 recordings (the finest decimals any price / volume uses), so synthesized
// trades and book levels fall on the same grid as the recorded candles. Symbols without a
// recording get a seeded simulation around a realistic January 2024 price level.

export interface SymbolSpec {
  symbol: string
  /** Recording to play (POLUSDT plays MATICUSDT: the token was renamed in September 2024). */
  source: string
  baseAsset: string
  quoteAsset: string
  /** Decimals of the price tick (2 → tickSize 0.01) and of the quantity step. */
  tickDec: number
  stepDec: number
  /** Simulator anchors: price at 2024-01-01 00:00 UTC, typical base volume and trades per minute. */
  price: number
  volume: number
  trades: number
}

const row = (
  symbol: string,
  tickDec: number,
  stepDec: number,
  price: number,
  volume: number,
  trades: number,
  source = symbol,
): SymbolSpec => ({
  symbol,
  source,
  baseAsset: symbol.slice(0, -4),
  quoteAsset: 'USDT',
  tickDec,
  stepDec,
  price,
  volume,
  trades,
})

export const SYMBOLS: readonly SymbolSpec[] = [
  row('BTCUSDT', 2, 5, 42283.58, 25, 1000),
  row('ETHUSDT', 2, 4, 2281.87, 150, 370),
  row('BNBUSDT', 1, 3, 312.5, 60, 120),
  row('SOLUSDT', 2, 2, 101.76, 3000, 390),
  row('ADAUSDT', 4, 1, 0.5911, 150_000, 90),
  row('XRPUSDT', 4, 0, 0.6159, 115_000, 80),
  row('DOGEUSDT', 5, 0, 0.08978, 1_500_000, 110),
  row('DOTUSDT', 3, 2, 8.279, 5000, 60),
  row('MATICUSDT', 4, 1, 0.9756, 40_000, 60),
  row('POLUSDT', 4, 1, 0.9756, 40_000, 60, 'MATICUSDT'),
  row('AVAXUSDT', 2, 2, 38.3, 2000, 90),
  row('LINKUSDT', 2, 2, 15.05, 4000, 70),
  row('UNIUSDT', 3, 2, 6.121, 2000, 30),
  row('LTCUSDT', 2, 3, 72.96, 600, 60),
  row('ATOMUSDT', 3, 2, 10.72, 3000, 50),
  row('ETCUSDT', 2, 2, 21.4, 1500, 40),
  row('ARBUSDT', 4, 1, 1.6, 60_000, 70),
  row('NEARUSDT', 3, 1, 3.5, 20_000, 50),
  row('OPUSDT', 3, 2, 3.6, 10_000, 50),
  row('PEPEUSDT', 8, 0, 0.0000013, 7_500_000_000, 25),
  row('SEIUSDT', 4, 1, 0.7, 50_000, 40),
  row('SUIUSDT', 4, 1, 0.8, 40_000, 40),
  row('TIAUSDT', 4, 1, 14, 3000, 40),
  row('WLDUSDT', 3, 1, 3.7, 10_000, 40),
]

const bySymbol = new Map(SYMBOLS.map((s) => [s.symbol, s]))

export function specOf(symbol: string): SymbolSpec | undefined {
  return bySymbol.get(symbol)
}

/** "0.01" for 2 decimals, printed with 8 decimals like Binance's filters. */
export function unitString(dec: number): string {
  if (dec === 0) return '1.00000000'
  return `0.${'0'.repeat(dec - 1)}1${'0'.repeat(8 - dec)}`
}
