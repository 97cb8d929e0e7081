import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { loadLatestModels } from '../processors/model-store.ts'
import { spotDay } from '../processors/testdata.ts'
import { startModelScheduler, trainModels } from './train.ts'

// The training job and its scheduler on the embedded log: models land in the compacted
// crypto_models topic; the scheduler trains at start when none exists and again once event
// time has moved a day past the newest model's window.

const SYMBOLS = ['BTCUSDT', 'ETHUSDT']
const DAY = 86_400_000

let bed: TestBed
beforeEach(async () => {
  bed = new TestBed('cs-train-')
  await bed.topic(topics.kline1m, 2)
})
afterEach(async () => {
  await bed.close()
})

async function produceDay(day: string): Promise<void> {
  const recs = SYMBOLS.flatMap((s) =>
    (spotDay(s, '1m', day) as Kline[]).flatMap((k) => [
      { key: s, value: { ...k, closed: false }, timestamp: k.openTime },
      { key: s, value: k, timestamp: k.openTime },
    ]),
  )
  await bed.produce(topics.kline1m, recs)
}

describe('train job', () => {
  it('csv source: one model per symbol and a pooled one, with window, features and metrics, in crypto_models', async () => {
    const r = await trainModels({ symbols: SYMBOLS, days: 2, to: '2024-01-02', transport: bed.transport })
    expect(r.models.map((m) => m.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'POOLED'])
    const m = r.models[0]!
    expect(new Date(m.trainedTo).toISOString()).toBe('2024-01-02T23:59:00.000Z')
    expect(m.trainedFrom).toBe(Date.parse('2024-01-01T01:39:00Z')) // the first minute with 100 minutes of history
    expect(m.features).toHaveLength(m.ridge.coefficients.length)
    expect(m.metrics.outOfSampleRows).toBe(m.metrics.trainRows)
    const stored = await loadLatestModels(bed.transport)
    expect(stored.get('ETHUSDT')).toEqual(r.models[1])
  })

  it('a symbol without enough history gets no model of its own (the pooled one serves it)', async () => {
    const r = await trainModels({ symbols: [...SYMBOLS, 'NOSUCHUSDT'], days: 1, to: '2024-01-01' })
    expect(r.skipped).toEqual([{ symbol: 'NOSUCHUSDT', reason: '0 samples < 1000' }])
    expect(r.models.map((m) => m.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'POOLED'])
  })
})

describe('model scheduler', () => {
  it('trains at start from the topic, not again without new data, again a day of event time later', async () => {
    await produceDay('2024-01-01')
    const s = startModelScheduler({ transport: bed.transport, symbols: SYMBOLS, checkMs: 3_600_000 })
    try {
      await s.checkNow()
      const first = s.registry.latestVersion()
      expect(first).toBeDefined()
      expect(
        s.registry
          .all()
          .map((m) => m.symbol)
          .sort(),
      ).toEqual(['BTCUSDT', 'ETHUSDT', 'POOLED'])
      expect(s.registry.get('BTCUSDT')!.trainedTo).toBe(Date.parse('2024-01-01T23:59:00Z'))

      await s.checkNow()
      expect(s.registry.latestVersion()).toBe(first)

      await produceDay('2024-01-02')
      await s.checkNow()
      const second = s.registry.latestVersion()!
      expect(second > first!).toBe(true)
      expect(s.registry.get('ETHUSDT')!.trainedTo).toBe(Date.parse('2024-01-02T23:59:00Z'))
      expect(s.registry.get('ETHUSDT')!.trainedTo - s.registry.get('ETHUSDT')!.trainedFrom).toBeLessThan(
        2 * DAY,
      )
      expect((await loadLatestModels(bed.transport)).get('POOLED')!.version).toBe(second)
    } finally {
      await s.stop()
    }
  })

  it('a model trained on days after the stream (a replay of older data) is replaced by one from the topic', async () => {
    await trainModels({ symbols: SYMBOLS, days: 1, to: '2024-01-05', transport: bed.transport })
    await produceDay('2024-01-01')
    const s = startModelScheduler({ transport: bed.transport, symbols: SYMBOLS, checkMs: 3_600_000 })
    try {
      await s.checkNow()
      expect(s.registry.get('BTCUSDT')!.trainedTo).toBe(Date.parse('2024-01-01T23:59:00Z'))
    } finally {
      await s.stop()
    }
  })

  it('an empty topic at start: the first model comes from the recorded files up to the given day', async () => {
    const s = startModelScheduler({
      transport: bed.transport,
      symbols: SYMBOLS,
      checkMs: 3_600_000,
      days: 1,
      csvFallbackTo: '2024-01-01',
    })
    try {
      await s.checkNow()
      expect(s.registry.get('BTCUSDT')!.trainedTo).toBe(Date.parse('2024-01-01T23:59:00Z'))
    } finally {
      await s.stop()
    }
  })
})
