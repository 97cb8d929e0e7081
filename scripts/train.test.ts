import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { loadLatestModels } from '../processors/model-store.ts'
import { spotDay } from '../processors/testdata.ts'
import { KlineHistory, startModelScheduler, trainModels } from './train.ts'

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

describe('kline history (the scheduler keeps 30 days of every symbol for the whole run)', () => {
  const kline = (symbol: string, openTime: number, close = 1): Kline =>
    ({
      symbol,
      interval: '1m',
      openTime,
      closeTime: openTime + 59_999,
      open: '1',
      high: '2',
      low: '0.5',
      close: String(close),
      volume: '10',
      quoteVolume: '10',
      trades: 1,
      takerBuyBase: '4',
      takerBuyQuote: '4',
      closed: true,
    }) as Kline

  it('keeps bars in time order, replaces a repeated minute, inserts a late one, drops what is older than its days', () => {
    const h = new KlineHistory(1)
    const t0 = Date.UTC(2024, 0, 1)
    for (const m of [0, 1, 3, 2, 3]) h.add(kline('BTCUSDT', t0 + m * 60_000, m))
    h.add({ ...kline('BTCUSDT', t0 + 9 * 60_000), closed: false })
    expect(
      h
        .history()
        .get('BTCUSDT')!
        .map((b) => [(b.openTime - t0) / 60_000, b.close]),
    ).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ])
    h.add(kline('BTCUSDT', t0 + DAY + 60_000))
    h.trim()
    expect(
      h
        .history()
        .get('BTCUSDT')!
        .map((b) => (b.openTime - t0) / 60_000),
    ).toEqual([2, 3, 1441])
  })

  it('takes under 100 bytes a bar once full (Bar objects in a Map took ~220), and no more after many days', () => {
    const h = new KlineHistory(7)
    const t0 = Date.UTC(2024, 0, 1)
    const symbols = ['A', 'B', 'C', 'D', 'E']
    const addDays = (from: number, days: number) => {
      for (let d = from; d < from + days; d++) {
        for (let m = d * 1440; m < (d + 1) * 1440; m++)
          for (const s of symbols) h.add(kline(s, t0 + m * 60_000, m))
        h.trim() // the scheduler trims after each read of the topic
      }
    }
    const gc = runInNewContext('gc') as () => void
    gc()
    const before = process.memoryUsage().heapUsed
    addDays(0, 7)
    gc()
    const full = h.stats
    // the JS heap it grew by plus the bytes of its typed arrays (array buffers are counted process-wide)
    const perBar = (process.memoryUsage().heapUsed - before + full.bytes) / full.bars
    expect(full.bars).toBe(5 * 7 * 1440)
    expect(perBar).toBeLessThan(100)
    addDays(7, 7)
    const settled = h.stats.bytes
    addDays(14, 14) // two more weeks: the bars kept stay 7 days', the bytes do not grow
    expect(h.stats.bars).toBe(full.bars)
    expect(h.stats.bytes).toBe(settled)
    expect(settled / full.bars).toBeLessThan(100)
  })
})

setFlagsFromString('--expose-gc')
