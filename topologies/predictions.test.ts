import { rmSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry as metricsRegistry } from '../common/metrics.ts'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { StreamsBuilder } from '../engine/index.ts'
import { TestBed } from '../engine/testing.ts'
import { barOf, featureRows, LOOKBACK } from '../processors/features.ts'
import { forecast, HORIZON_MS, type Model } from '../processors/model.ts'
import { loadLatestModels, ModelRegistry, publishModels } from '../processors/model-store.ts'
import type { Prediction, Score, ScoreBoard } from '../processors/scoring.ts'
import { spotDay } from '../processors/testdata.ts'
import { startModelScheduler, trainModels } from '../scripts/train.ts'
import { klines1m } from './candles.ts'
import { addPredictions, PREDICTION_SCORES_STORE, PREDICTIONS_STORE } from './predictions.ts'

// Replayed recorded klines through the prediction topology on the embedded log: one prediction
// per closed 1m candle per symbol (once 100 minutes of history exist), carrying the model
// version; then one score per prediction once the candle 5 minutes later has closed.

const SYMBOLS = ['BTCUSDT', 'ETHUSDT']
const MINUTES = 130
const MIN = 60_000

async function skipped(reason: string): Promise<number> {
  const m = (await metricsRegistry.getMetricsAsJSON()).find((x) => x.name === 'cs_prediction_skipped_total')
  return ((m?.values ?? []) as { labels: { reason?: string }; value: number }[])
    .filter((v) => v.labels.reason === reason)
    .reduce((a, v) => a + v.value, 0)
}

/** A recorded day as the ingest writes it: open updates, then the closed kline, per minute. */
function replay(day: string, minutes: number) {
  const out: { key: string; value: Kline; timestamp: number }[] = []
  const days = SYMBOLS.map((s) => spotDay(s, '1m', day).slice(0, minutes) as Kline[])
  for (let i = 0; i < minutes; i++)
    for (const d of days) {
      const k = d[i]!
      out.push({ key: k.symbol, value: { ...k, closed: false }, timestamp: k.openTime })
      out.push({ key: k.symbol, value: k, timestamp: k.openTime })
      if (i === 120) out.push({ key: k.symbol, value: k, timestamp: k.openTime }) // a duplicate closed kline
    }
  return out
}

let bed: TestBed
let models: Model[]
beforeEach(async () => {
  bed = new TestBed('cs-pred-')
  await bed.topic(topics.kline1m, 2)
  // Trained on the day before the replayed one (never on what it will predict).
  const history = new Map(SYMBOLS.map((s) => [s, spotDay(s, '1m', '2024-01-01').map(barOf)]))
  models = (await trainModels({ symbols: SYMBOLS, history, createdAt: new Date('2024-01-02T00:00:00Z') }))
    .models
})
afterEach(async () => {
  await bed.close()
})

function topology(registry: ModelRegistry) {
  const b = new StreamsBuilder()
  addPredictions(b, klines1m(b), { models: registry })
  return b.build()
}

describe('prediction topology', () => {
  it('one prediction per closed candle and symbol with the model version; one score per prediction after the horizon', async () => {
    await publishModels(bed.transport, models)
    const latest = await loadLatestModels(bed.transport)
    expect([...latest.keys()].sort()).toEqual(['BTCUSDT', 'ETHUSDT', 'POOLED'])
    const registry = new ModelRegistry()
    await registry.refresh(bed.transport)
    const version = registry.latestVersion()!
    expect(version).toBe('v20240102T000000000Z')

    const missing0 = await skipped('missing-features')
    const dup0 = await skipped('duplicate')
    await bed.produce(topics.kline1m, replay('2024-01-02', MINUTES))
    const streams = await bed.start(topology(registry), { applicationId: 'pred' })
    await streams.flush()

    const preds = await bed.values<Prediction>(topics.predictions)
    const t0 = Date.parse('2024-01-02T00:00:00Z')
    for (const s of SYMBOLS) {
      const mine = preds.filter((p) => p.symbol === s)
      // the first LOOKBACK - 1 minutes lack history; every later closed minute: exactly one
      const expected = Array.from({ length: MINUTES - LOOKBACK + 1 }, (_, i) => t0 + (LOOKBACK - 1 + i) * MIN)
      expect(mine.map((p) => p.openTime)).toEqual(expected)
      for (const p of mine) {
        expect(p.modelVersion).toBe(version)
        expect(p.model).toBe('symbol')
        expect(p.horizonMs).toBe(HORIZON_MS)
        expect(p.time).toBe(p.openTime + MIN)
        expect(p.confidence).toBeGreaterThan(0)
        expect(p.confidence).toBeLessThan(1)
        expect(p.predictedPrice).toBeCloseTo(p.lastClose * Math.exp(p.predictedReturn), 6)
        expect(p.direction).toBe(p.predictedReturn >= 0 ? 'up' : 'down')
      }
    }
    // no train/serve skew: the stream's forecast equals the offline one from the training rows
    for (const s of SYMBOLS) {
      const bars = spotDay(s, '1m', '2024-01-02').map(barOf)
      const rows = featureRows(bars.slice(0, MINUTES))
      const model = models.find((m) => m.symbol === s)!
      for (const p of preds.filter((x) => x.symbol === s)) {
        const i = (p.openTime - t0) / MIN
        const f = forecast(model, rows[i]!)
        expect(p.predictedReturn).toBe(f.predictedReturn)
        expect(p.confidence).toBe(f.confidence)
      }
    }
    expect((await skipped('missing-features')) - missing0).toBe(SYMBOLS.length * (LOOKBACK - 1))
    expect((await skipped('duplicate')) - dup0).toBe(SYMBOLS.length)

    const scores = await bed.values<Score>(topics.predictionScores)
    for (const s of SYMBOLS) {
      const closes = new Map(spotDay(s, '1m', '2024-01-02').map((k) => [k.openTime, Number(k.close)]))
      const mine = scores.filter((x) => x.symbol === s)
      const scorable = preds.filter((p) => p.symbol === s && p.targetOpenTime <= t0 + (MINUTES - 1) * MIN)
      expect(mine.map((x) => x.openTime)).toEqual(scorable.map((p) => p.openTime))
      for (const x of mine) {
        expect(x.actualPrice).toBe(closes.get(x.openTime + HORIZON_MS))
        expect(x.modelVersion).toBe(version)
      }
      const board = await streams.keyValueStore<ScoreBoard>(PREDICTION_SCORES_STORE).get(s)
      const v = board!.versions[version]!
      expect(v.model.n).toBe(mine.length)
      expect(v.model.hits).toBe(mine.filter((x) => x.hit === 1).length)
      expect(v.noChange.absError).toBeCloseTo(
        mine.reduce((a, x) => a + x.baselines.noChange.absError, 0),
        6,
      )
      const last = await streams.keyValueStore<Prediction>(PREDICTIONS_STORE).get(s)
      expect(last!.openTime).toBe(t0 + (MINUTES - 1) * MIN)
    }
  })

  it('after a restart with local state deleted: no new warm-up, and forecasts made before it are still scored', async () => {
    await publishModels(bed.transport, models)
    const registry = new ModelRegistry()
    await registry.refresh(bed.transport)
    const all = replay('2024-01-02', MINUTES)
    const cut = all.findIndex((r) => r.value.openTime === Date.parse('2024-01-02T01:50:00Z')) // minute 110
    await bed.produce(topics.kline1m, all.slice(0, cut))
    let streams = await bed.start(topology(registry), { applicationId: 'pred-restart' })
    await streams.flush()
    await bed.stop(streams)
    rmSync(bed.stateDir, { recursive: true, force: true })
    const missing0 = await skipped('missing-features')
    await bed.produce(topics.kline1m, all.slice(cut))
    streams = await bed.start(topology(registry), { applicationId: 'pred-restart' })
    await streams.flush()
    expect((await skipped('missing-features')) - missing0).toBe(0)
    const preds = await bed.values<Prediction>(topics.predictions)
    const scores = await bed.values<Score>(topics.predictionScores)
    for (const s of SYMBOLS) {
      const mine = preds.filter((p) => p.symbol === s).map((p) => p.openTime)
      expect(mine).toHaveLength(MINUTES - LOOKBACK + 1)
      expect(new Set(mine).size).toBe(mine.length)
      const scored = scores.filter((x) => x.symbol === s).map((x) => x.openTime)
      expect(scored).toEqual(mine.slice(0, mine.length - 5))
    }
  })

  it('with the scheduler: the first model is trained at start (recorded files up to the day before) and used', async () => {
    await bed.produce(topics.kline1m, replay('2024-01-02', MINUTES))
    const scheduler = startModelScheduler({
      transport: bed.transport,
      symbols: SYMBOLS,
      days: 1,
      checkMs: 3_600_000,
      csvFallbackTo: '2024-01-01',
    })
    try {
      await scheduler.checkNow()
      const version = scheduler.registry.latestVersion()!
      const streams = await bed.start(topology(scheduler.registry), { applicationId: 'pred-sched' })
      await streams.flush()
      const preds = await bed.values<Prediction>(topics.predictions)
      expect(preds).toHaveLength(SYMBOLS.length * (MINUTES - LOOKBACK + 1))
      expect(new Set(preds.map((p) => p.modelVersion))).toEqual(new Set([version]))
    } finally {
      await scheduler.stop()
    }
  })

  it('no model, or a stale one: no prediction, and the metric says why', async () => {
    const registry = new ModelRegistry()
    const none0 = await skipped('no-model')
    await bed.produce(topics.kline1m, replay('2024-01-02', 20))
    const streams = await bed.start(topology(registry), { applicationId: 'pred-none' })
    await streams.flush()
    expect(await bed.values(topics.predictions)).toEqual([])
    expect((await skipped('no-model')) - none0).toBe(SYMBOLS.length * 20)

    const stale0 = await skipped('stale-model')
    const old = models.map((m) => ({ ...m, trainedTo: m.trainedTo - 10 * 86_400_000 }))
    registry.put(old)
    const next = replay('2024-01-02', 21).slice(-SYMBOLS.length * 2) // minute 21
    await bed.produce(topics.kline1m, next)
    await streams.flush()
    expect(await bed.values(topics.predictions)).toEqual([])
    expect((await skipped('stale-model')) - stale0).toBe(SYMBOLS.length)
  })
})
