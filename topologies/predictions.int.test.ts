import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { waitForKafka } from '../common/connect.ts'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams, StreamsBuilder } from '../engine/index.ts'
import { KafkaTransport } from '../engine/kafka/index.ts'
import { barOf, LOOKBACK } from '../processors/features.ts'
import { ModelRegistry, publishModels } from '../processors/model-store.ts'
import type { Prediction, Score } from '../processors/scoring.ts'
import { spotDay } from '../processors/testdata.ts'
import { trainModels } from '../scripts/train.ts'
import { klines1m } from './candles.ts'
import { addPredictions } from './predictions.ts'

// The prediction topology on a real broker (topics prefixed per run, 3 partitions): models from
// the compacted model topic, one prediction per closed minute and symbol after the warm-up, one
// score per prediction whose outcome candle has closed.

const cfg = loadConfig()
const run = `${Date.now().toString(36)}${process.pid}`
const prefix = `pk${run}-`
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']
const MINUTES = 120
const dir = mkdtempSync(join(tmpdir(), 'cs-pred-kafka-'))
const transport = new KafkaTransport({
  brokers: cfg.kafkaBrokers,
  clientId: `pk-${run}`,
  sessionTimeoutMs: 6000,
})
afterAll(async () => {
  await transport.close()
  rmSync(dir, { recursive: true, force: true })
})

async function readAll<T>(topic: string): Promise<T[]> {
  const out: T[] = []
  for (let p = 0; p < ((await transport.partitions(topic)) ?? 0); p++)
    for await (const batch of transport.read({ topic, partition: p }, 0))
      for (const r of batch) out.push(JSON.parse(r.value) as T)
  return out
}

describe('prediction topology on Kafka', () => {
  it('predictions and scores as on the embedded log', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    const history = new Map(SYMBOLS.map((s) => [s, spotDay(s, '1m', '2024-01-01').map(barOf)]))
    const { models } = await trainModels({
      symbols: SYMBOLS,
      history,
      createdAt: new Date('2024-01-02T00:00:00Z'),
    })
    await publishModels(transport, models, prefix + topics.models)
    const registry = new ModelRegistry(prefix + topics.models)
    await registry.refresh(transport)

    await transport.createTopics([{ name: prefix + topics.kline1m, partitions: 3 }])
    // One symbol's two hours after another's (not interleaved by time): symbols sharing a
    // partition see each other's stream time, so the join's grace must cover the lag.
    const klines = SYMBOLS.flatMap((s) => spotDay(s, '1m', '2024-01-02').slice(0, MINUTES) as Kline[])
    const producer = transport.producer()
    await producer.send(
      klines.map((k) => ({
        topic: prefix + topics.kline1m,
        key: k.symbol,
        value: JSON.stringify(k),
        timestamp: k.openTime,
      })),
    )
    await producer.close()

    const b = new StreamsBuilder()
    addPredictions(b, klines1m(b, prefix), { models: registry, topicPrefix: prefix })
    const streams = new KafkaStreams(b.build(), { applicationId: `pk${run}`, transport, stateDir: dir })
    await streams.start()
    try {
      await streams.flush(120_000)
    } finally {
      await streams.close()
    }
    const preds = await readAll<Prediction>(prefix + topics.predictions)
    const scores = await readAll<Score>(prefix + topics.predictionScores)
    for (const s of SYMBOLS) {
      const mine = preds.filter((p) => p.symbol === s).map((p) => p.openTime)
      expect(mine).toHaveLength(MINUTES - LOOKBACK + 1)
      expect(new Set(mine).size).toBe(mine.length)
      expect(scores.filter((x) => x.symbol === s).map((x) => x.openTime)).toEqual(mine.slice(0, -5))
    }
    expect(new Set(preds.map((p) => p.modelVersion))).toEqual(new Set([registry.latestVersion()]))
  })
})
