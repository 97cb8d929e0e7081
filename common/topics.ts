// Topic names are a public contract: apps subscribe to them. Keyed by symbol unless noted.
export const topics = {
  kline1m: 'crypto_kline_1m',
  trades: 'crypto_trades',
  orderbook: 'crypto_orderbook',
  kline5m: 'crypto_kline_5m',
  kline1h: 'crypto_kline_1h',
  kline4h: 'crypto_kline_4h',
  kline1d: 'crypto_kline_1d',
  ranking: 'crypto_ranking',
  indicators: 'crypto_indicators',
  predictions: 'crypto_predictions',
  predictionScores: 'crypto_prediction_scores',
  /** Compacted, key = symbol (or POOLED): the latest trained forecast model. */
  models: 'crypto_models',
} as const

/** Malformed records of `topic` go here, with the error, and the stream continues. */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`
