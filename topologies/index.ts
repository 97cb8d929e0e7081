import { StreamsBuilder, type Topology } from '../engine/index.ts'
import { addCandles, type CandlesOptions, klines1m } from './candles.ts'
import { addIndicators } from './indicators.ts'
import { addPredictions, type PredictionOptions } from './predictions.ts'
import { addRankings, type RankingsOptions } from './rankings.ts'
import { addServing, type ServingOptions } from './serving.ts'

// One function per topology, plus the platform's combined one (one 1m source feeding candles,
// rankings, indicators, serving stores and predictions). `topology.describe()` prints sources, processors, stores and sinks.

export function candlesTopology(options: CandlesOptions = {}): Topology {
  const b = new StreamsBuilder()
  addCandles(b, options)
  return b.build()
}

export function rankingsTopology(options: RankingsOptions = {}): Topology {
  const b = new StreamsBuilder()
  addRankings(b, klines1m(b, options.topicPrefix), options)
  return b.build()
}

/** Indicators from the candle topics (run beside candlesTopology). */
export function indicatorsTopology(options: { topicPrefix?: string } = {}): Topology {
  const b = new StreamsBuilder()
  addIndicators(b, undefined, options.topicPrefix)
  return b.build()
}

export interface PlatformOptions extends CandlesOptions, RankingsOptions {
  /** Also keep 1m klines, order books and trades for the gateway (reads crypto_trades, crypto_orderbook). */
  serving?: boolean | ServingOptions
  /** 5-minute forecasts and their live scores from the models in `predictions.models`. */
  predictions?: Omit<PredictionOptions, 'topicPrefix'>
}

export function platformTopology(options: PlatformOptions = {}): Topology {
  const b = new StreamsBuilder()
  const source = klines1m(b, options.topicPrefix)
  const candles = addCandles(b, options, source)
  addRankings(b, source, options)
  addIndicators(b, [candles['5m'], candles['1h'], candles['4h'], candles['1d']], options.topicPrefix)
  if (options.serving)
    addServing(
      b,
      source,
      { topicPrefix: options.topicPrefix, ...(options.serving === true ? {} : options.serving) },
      candles,
    )
  if (options.predictions)
    addPredictions(b, source, { topicPrefix: options.topicPrefix, ...options.predictions })
  return b.build()
}

export { candleStore, candleTopic } from './candles.ts'
export { INDICATOR_STORE } from './indicators.ts'
export {
  addPredictions,
  PREDICTION_SCORES_STORE,
  PREDICTIONS_STORE,
  type PredictionOptions,
} from './predictions.ts'
export { RANKING_KEY, RANKING_STORE, TICKER_STORE } from './rankings.ts'
export { KLINES_1M_STORE, ORDERBOOK_STORE, ohlcStore, type ServingOptions, TRADES_STORE } from './serving.ts'
