import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { waitForKafka } from '../common/connect.ts'
import { topics } from '../common/topics.ts'
import { KafkaTransport } from '../engine/kafka/index.ts'
import { barOf } from './features.ts'
import { type Model, samplesOf, trainModel } from './model.ts'
import { loadLatestModels, ModelRegistry, publishModels } from './model-store.ts'
import { spotDay } from './testdata.ts'

// The model store on a real broker: the compacted crypto_models topic (prefixed per run) gives
// every reader the latest version per symbol, and a registry picks up a newer one on refresh.

const cfg = loadConfig()
const run = `${process.pid}_${Date.now()}`
const TOPIC = `ms${run}-${topics.models}`

describe('model store on Kafka', () => {
  let kafka: KafkaTransport
  let v1: Model
  let v2: Model
  beforeAll(async () => {
    await waitForKafka(cfg.kafkaBrokers)
    kafka = new KafkaTransport({
      brokers: cfg.kafkaBrokers,
      clientId: `models-${run}`,
      sessionTimeoutMs: 6000,
    })
    const rows = samplesOf(spotDay('BTCUSDT', '1m', '2024-01-01').map(barOf))
    v1 = trainModel(rows, { version: 'v1', symbol: 'BTCUSDT', createdAt: '2024-01-02T00:00:00.000Z' })
    v2 = { ...v1, version: 'v2', createdAt: '2024-01-03T00:00:00.000Z' }
  })
  afterAll(async () => {
    await kafka?.close()
  })

  it('publishes, loads the latest per symbol, and a registry sees a newer version on refresh', async () => {
    await publishModels(kafka, [v1, { ...v1, symbol: 'POOLED' }], TOPIC)
    const registry = new ModelRegistry(TOPIC)
    await registry.refresh(kafka)
    expect(registry.get('BTCUSDT')).toEqual(v1)
    expect(registry.get('ETHUSDT')!.symbol).toBe('POOLED') // the fallback
    await publishModels(kafka, [v2], TOPIC)
    await registry.refresh(kafka)
    expect(registry.get('BTCUSDT')!.version).toBe('v2')
    const latest = await loadLatestModels(kafka, TOPIC)
    expect([...latest.keys()].sort()).toEqual(['BTCUSDT', 'POOLED'])
    expect(latest.get('BTCUSDT')).toEqual(v2)
  })
})
