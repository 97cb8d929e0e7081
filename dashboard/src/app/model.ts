// Shapes the gateway sends (gateway/README.md). Prices and sizes are Binance's decimal strings.

export type Interval = '1m' | '5m' | '1h' | '4h' | '1d'
export const intervals: Interval[] = ['1m', '5m', '1h', '4h', '1d']
export const intervalMs: Record<Interval, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
}

export interface Kline {
  symbol: string
  interval: Interval
  openTime: number
  closeTime: number
  open: string
  high: string
  low: string
  close: string
  volume: string
  quoteVolume: string
  trades: number
  closed: boolean
}

export interface Trade {
  symbol: string
  id: number
  price: string
  qty: string
  time: number
  /** The buyer was the maker: the taker sold (a red print). */
  buyerIsMaker: boolean
}

export type Level = [string, string]

export interface Book {
  symbol: string
  lastUpdateId: number
  time: number
  bids: Level[]
  asks: Level[]
}

export interface RankEntry {
  symbol: string
  rank: number
  openPrice: string
  lastPrice: string
  priceChange: string
  priceChangePercent: string
  volume: string
  quoteVolume: string
  count: number
  partial: boolean
  stale: boolean
}

export interface Ranking {
  asOf: number
  window: string
  symbols: number
  gainers: RankEntry[]
  losers: RankEntry[]
}

export interface SymbolInfo {
  symbol: string
  baseAsset: string
  quoteAsset: string
  tickSize: string | null
  stepSize: string | null
  pricePrecision: number | null
  quantityPrecision: number | null
}

/** A prediction as the dashboard shows it; read leniently from the `crypto_predictions` record. */
export interface Prediction {
  symbol: string
  time: number | null
  horizonMs: number | null
  lastClose: number | null
  predictedPrice: number | null
  predictedReturn: number | null
  direction: number
  confidence: number | null
  modelVersion: string | null
  hitRate: number | null
  baselineHitRate: number | null
  samples: number | null
}
