import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import { TestBed } from '../../engine/testing.ts'
import { aggregate } from '../../processors/candles.ts'
import { spotDay } from '../../processors/testdata.ts'
import { supersedes, type Version } from '../../sinks/version.ts'
import { candlesTopology } from '../../topologies/index.ts'
import { type ReplayServer, startReplayServer } from '../replay/server.ts'
import { startIngest } from './ingest.ts'

// A first start mid-hour: ingest (nothing in its topic yet) against the replay server, its clock
// all but stopped at 2024-01-02 01:30, then the candle topology on 2 partitions. The 00:00 hour
// closed before the start, so only the start-up backfill can bring its minutes: its final must be
// Binance's own candle, not one built from the minutes a "latest 60" backfill reaches (00:31–00:59),
// which would be published as a final and never corrected.

const symbols = ['BTCUSDT', 'ETHUSDT', 'AVAXUSDT']
const HOUR = 3_600_000
const hour0 = Date.parse('2024-01-02T00:00:00Z')
let server: ReplayServer
const bed = new TestBed('cs-ingest-startup-')
beforeAll(async () => {
  server = await startReplayServer({ symbols, from: hour0 + 90 * 60_000, speed: 1e-6 })
})
afterAll(async () => {
  await server.close()
  await bed.close()
})

/** Binance's own 1h candles of the day (its 15m file aggregated: the sample has no 1h files). */
const binance1h = (s: string) =>
  aggregate(spotDay(s, '15m', '2024-01-02'), '1h', 900_000).map((k) => ({
    ...k,
    interval: '1h',
    closed: true,
  }))

describe('a first start of ingest mid-hour', () => {
  it('backfills the started hour from its first minute: the final 1h candle (topic and sink) is Binance’s', async () => {
    const ingest = await startIngest({
      transport: bed.transport,
      config: { symbols, binanceWsUrl: server.wsUrl, binanceRestUrl: server.restUrl },
      options: { partitions: 2 },
    })
    await ingest.ready
    await ingest.close()
    const streams = await bed.start(candlesTopology({ emitEveryMs: 100 }), { applicationId: 'startup' })
    await streams.flush()

    // what a consumer that upserts holds (the last record per window), and what a sink keeps
    // (sinks/version.ts: offset order, an open update never replaces a final)
    const upserted = new Map<string, Kline>()
    const kept = new Map<string, Kline & Version>()
    for (const r of await bed.records(topics.kline1h)) {
      const k = JSON.parse(r.value) as Kline
      const id = `${k.symbol}:${k.openTime}`
      upserted.set(id, k)
      const v = { ...k, _v: r.offset }
      if (supersedes(v, kept.get(id))) kept.set(id, v)
    }
    for (const s of symbols) {
      const expected = binance1h(s)[0]!
      expect(expected.openTime).toBe(hour0)
      expect(upserted.get(`${s}:${hour0}`), `${s} 1h 00:00 on the topic`).toEqual(expected)
      const { _v, ...sunk } = kept.get(`${s}:${hour0}`)!
      expect(sunk, `${s} 1h 00:00 in a sink`).toEqual(expected)
      // the hour still running (01:00) is open, not closed by anything
      expect(upserted.get(`${s}:${hour0 + HOUR}`)?.closed, `${s} 1h 01:00`).toBe(false)
    }
  }, 60_000)
})
