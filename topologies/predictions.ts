import { Counter, Gauge } from 'prom-client'
import { registry } from '../common/metrics.ts'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import {
  JoinWindows,
  type KeyValueStore,
  type KStream,
  type Processor,
  type ProcessorContext,
  Stores,
  type StreamRecord,
  type StreamsBuilder,
  type WindowStore,
} from '../engine/index.ts'
import { type Bar, barOf, features, LOOKBACK, MINUTE } from '../processors/features.ts'
import { forecast, HORIZON_MS, type Model, POOLED } from '../processors/model.ts'
import type { ModelRegistry } from '../processors/model-store.ts'
import {
  emptyBoard,
  type Prediction,
  type Score,
  type ScoreBoard,
  score,
  updateBoard,
} from '../processors/scoring.ts'
import type { LevelWindowStore } from '../state/window-store.ts'

// Closed 1m candles → 5-minute forecasts → crypto_predictions; each forecast joined with the
// candle 5 minutes later (a windowed stream-stream join) → crypto_prediction_scores, with rolling
// hit rate, MAE and Brier per symbol and model version beside two baselines in `prediction-scores`.
// Models come from the compacted crypto_models topic through a ModelRegistry that the caller
// refreshes (every instance reads the same topic, so all use the same version).

export const PREDICTIONS_STORE = 'predictions-latest'
export const PREDICTION_CANDLES_STORE = 'prediction-candles'
export const PREDICTION_SCORES_STORE = 'prediction-scores'
export const PREDICTION_JOIN = 'prediction-outcomes'

export type SkipReason = 'no-model' | 'stale-model' | 'future-model' | 'missing-features' | 'duplicate'

const metrics = {
  skipped: new Counter({
    name: 'cs_prediction_skipped_total',
    help: 'Closed 1m candles with no prediction, by reason (no-model, stale-model, future-model, missing-features, duplicate)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  made: new Counter({
    name: 'cs_predictions_total',
    help: 'Predictions written to crypto_predictions',
    labelNames: ['symbol'],
    registers: [registry],
  }),
  scored: new Counter({
    name: 'cs_prediction_scores_total',
    help: 'Predictions scored against the candle at their horizon',
    labelNames: ['symbol'],
    registers: [registry],
  }),
  hitRate: new Gauge({
    name: 'cs_prediction_hit_rate',
    help: 'Share of scored predictions with the right direction (current model version; model = ridge | last_5m_sign)',
    labelNames: ['symbol', 'model'],
    registers: [registry],
  }),
  mae: new Gauge({
    name: 'cs_prediction_mae',
    help: 'Mean absolute error of the predicted price (quote currency; model = ridge | no_change | last_5m_sign)',
    labelNames: ['symbol', 'model'],
    registers: [registry],
  }),
  brier: new Gauge({
    name: 'cs_prediction_brier',
    help: 'Brier score of the direction confidence (lower is better; 0.25 = coin flip)',
    labelNames: ['symbol', 'model'],
    registers: [registry],
  }),
}

export interface PredictionOptions {
  /** Where the models come from (refresh it, e.g. `registry.watch(transport)`). */
  models: ModelRegistry
  topicPrefix?: string
  /** A model whose training window ended longer ago than this (event time) is stale: 3 days. */
  maxModelAgeMs?: number
  /**
   * Out-of-order slack for the scoring join (default 1 h). Stream time is per task, across the
   * symbols of its partition: a prediction or outcome more than this behind the newest candle
   * of the task (a symbol backfilled after a gap, symbols replayed one after another) is late
   * and the prediction stays unscored. The buffers hold window + grace per symbol.
   */
  joinGraceMs?: number
}

class PredictProcessor implements Processor<string, Kline, string, Prediction> {
  private readonly o: PredictionOptions
  private ctx!: ProcessorContext<string, Prediction>
  private candles!: WindowStore<Bar>
  private latest!: KeyValueStore<Prediction>

  constructor(o: PredictionOptions) {
    this.o = o
  }

  init(ctx: ProcessorContext<string, Prediction>): void {
    this.ctx = ctx
    this.candles = ctx.getWindowStore<Bar>(PREDICTION_CANDLES_STORE)
    this.latest = ctx.getStateStore<Prediction>(PREDICTIONS_STORE)
  }

  process(r: StreamRecord<string, Kline>): void {
    const k = r.value
    if (!k.closed || k.interval !== '1m') return
    this.candles.put(k.symbol, k.openTime, barOf(k))
    ;(this.candles as LevelWindowStore<Bar>).expire(this.ctx.streamTime()) // minutes older than the retention
    const p = this.predict(k)
    if (typeof p === 'string') {
      metrics.skipped.inc({ reason: p })
      return
    }
    this.latest.put(k.symbol, p)
    metrics.made.inc({ symbol: k.symbol })
    this.ctx.forward({ key: k.symbol, value: p, timestamp: r.timestamp })
  }

  private predict(k: Kline): Prediction | SkipReason {
    const sym = k.symbol
    const prev = this.latest.get(sym)
    if (prev && prev.openTime >= k.openTime) return 'duplicate'
    const model = this.o.models.get(sym)
    if (!model) return 'no-model'
    if (k.openTime < model.trainedTo) return 'future-model' // it saw this candle's future
    if (k.openTime - model.trainedTo > (this.o.maxModelAgeMs ?? 3 * 86_400_000)) return 'stale-model'
    const window: Bar[] = []
    for (let i = LOOKBACK - 1; i >= 0; i--) {
      const b = this.candles.fetch(sym, k.openTime - i * MINUTE)
      if (!b) return 'missing-features'
      window.push(b)
    }
    const f = features(window)
    if (!f.ok) return f.reason
    return predictionOf(k, window, model, f.x)
  }
}

function predictionOf(k: Kline, window: Bar[], model: Model, x: number[]): Prediction {
  const fc = forecast(model, x)
  const lastClose = window[window.length - 1]!.close
  return {
    symbol: k.symbol,
    time: k.closeTime + 1,
    openTime: k.openTime,
    horizonMs: model.horizonMs,
    targetOpenTime: k.openTime + model.horizonMs,
    lastClose,
    predictedPrice: lastClose * Math.exp(fc.predictedReturn),
    predictedReturn: fc.predictedReturn,
    direction: fc.direction,
    confidence: fc.confidence,
    modelVersion: model.version,
    model: model.symbol === POOLED ? 'pooled' : 'symbol',
    lastReturn5m: Math.log(lastClose / window[window.length - 1 - 5]!.close),
    momentumConfidence: model.metrics.momentumHitRate,
  }
}

class ScoreProcessor implements Processor<string, Score, string, Score> {
  private ctx!: ProcessorContext<string, Score>
  private boards!: KeyValueStore<ScoreBoard>

  init(ctx: ProcessorContext<string, Score>): void {
    this.ctx = ctx
    this.boards = ctx.getStateStore<ScoreBoard>(PREDICTION_SCORES_STORE)
  }

  process(r: StreamRecord<string, Score>): void {
    const s = r.value
    const board = this.boards.get(s.symbol) ?? emptyBoard(s.symbol)
    if (!updateBoard(board, s)) return // a duplicate outcome candle: scored already
    this.boards.put(s.symbol, board)
    const v = board.versions[s.modelVersion]!
    metrics.scored.inc({ symbol: s.symbol })
    for (const [name, st] of [
      ['ridge', v.model],
      ['no_change', v.noChange],
      ['last_5m_sign', v.momentum],
    ] as const) {
      const labels = { symbol: s.symbol, model: name }
      if (name !== 'no_change' && st.directional > 0) metrics.hitRate.set(labels, st.hits / st.directional)
      if (st.directional > 0) metrics.brier.set(labels, st.brier / st.directional)
      if (st.n > 0) metrics.mae.set(labels, st.absError / st.n)
    }
    this.ctx.forward({ key: s.symbol, value: s, timestamp: r.timestamp })
  }
}

/**
 * Adds predictions and their live scoring on `source1m` (crypto_kline_1m). Returns the
 * prediction stream (already written to crypto_predictions) and the score stream.
 */
export function addPredictions(
  builder: StreamsBuilder,
  source1m: KStream<string, Kline>,
  options: PredictionOptions,
): { predictions: KStream<string, Prediction>; scores: KStream<string, Score> } {
  const prefix = options.topicPrefix ?? ''
  builder.addStateStore(
    Stores.window<Bar>(PREDICTION_CANDLES_STORE, {
      windowSizeMs: MINUTE,
      retentionMs: (LOOKBACK + 60) * MINUTE,
    }),
  )
  builder.addStateStore(Stores.keyValue<Prediction>(PREDICTIONS_STORE))
  builder.addStateStore(Stores.keyValue<ScoreBoard>(PREDICTION_SCORES_STORE))
  const predictions = source1m.process<string, Prediction>(() => new PredictProcessor(options), {
    stores: [PREDICTION_CANDLES_STORE, PREDICTIONS_STORE],
    name: 'predictions',
  })
  predictions.to(prefix + topics.predictions, { name: 'predictions-sink' })

  // Outcome: the closed candle `horizon` after the prediction's candle. The join window is
  // [prediction, prediction + horizon] (before = 0), then the exact target minute is kept.
  const outcomes = source1m
    .filter((_s, k) => k.closed && k.interval === '1m', 'prediction-outcomes-closed')
    .mapValues((k) => ({ openTime: k.openTime, close: Number(k.close) }), 'prediction-outcomes-slim')
  const scores = predictions
    .join(
      outcomes,
      (p, c) => (c.openTime === p.targetOpenTime ? score(p, c.close) : null),
      JoinWindows.ofTimeDifferenceAndGrace(HORIZON_MS, options.joinGraceMs ?? 60 * MINUTE).before(0),
      { name: PREDICTION_JOIN, repartition: false }, // both keyed by symbol from one source
    )
    .filter((_s, v) => v !== null, 'prediction-outcomes-target')
    .mapValues((v) => v as Score)
    .process<string, Score>(() => new ScoreProcessor(), {
      stores: [PREDICTION_SCORES_STORE],
      name: 'prediction-scores',
    })
  scores.to(prefix + topics.predictionScores, { name: 'prediction-scores-sink' })
  return { predictions, scores }
}
