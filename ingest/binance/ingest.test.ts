import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import type { Book, Kline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import { EmbeddedTransport } from '../../engine/embedded/index.ts'
import type { ConsumedRecord, Transport } from '../../engine/transport.ts'
import { tempDirs } from '../../test/tmpdirs.ts'
import { startReplayServer } from '../replay/index.ts'
import { parseRow } from '../replay/recorded.ts'
import { DLQ_TOPIC, startIngest } from './ingest.ts'
import { backfilledKlines, bookResyncs, reconnects } from './metrics.ts'

const tmp = tempDirs('cs-ingest-')

async function readAll(t: Transport, topic: string): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  const n = (await t.partitions(topic)) ?? 0
  for (let p = 0; p < n; p++) for await (const b of t.read({ topic, partition: p }, 0)) out.push(...b)
  return out
}
const recorded = (s: string) =>
  gunzipSync(readFileSync(join(binanceDataDir(), 'klines', 'spot', s, '1m', `${s}-1m-2024-01-01.csv.gz`)))
    .toString()
    .trim()
    .split('\n')
    .map(parseRow)
const FROM = Date.UTC(2024, 0, 1)
const until = async (f: () => boolean) => {
  while (!f()) await new Promise((r) => setTimeout(r, 20))
}

describe('startIngest against a Binance-protocol server playing a recorded day', () => {
  it('every closed 1m kline arrives exactly once through random drops and a restart; junk goes to the DLQ', async () => {
    const symbols = ['BTCUSDT', 'ETHUSDT']
    // 50 virtual minutes per second (faster, a loaded machine reconnects so late in virtual time that
    // few minutes see a fault); one book diff per virtual second keeps the history small
    const server = await startReplayServer({
      symbols,
      from: FROM,
      speed: 3000,
      tradesPerMinute: 10,
      depthMs: 1000,
      bookHistory: 100_000,
      faults: { dropRate: 0.03, junkRate: 0.05, gapRate: 0.01 },
      seed: 7,
    })
    const urls = { wsUrl: server.wsUrl, restUrl: server.restUrl }
    const dir = tmp()
    const transport = new EmbeddedTransport({ dir })
    const config = { symbols, binanceWsUrl: urls.wsUrl, binanceRestUrl: urls.restUrl }
    const options = { backoffBaseMs: 5, backoffMaxMs: 40, initialMinutes: 1000, bookPublishMs: 20 }

    const first = await startIngest({ transport, config, options })
    await first.ready
    await until(() => server.now() >= FROM + 200 * 60_000)
    await first.close()
    // restart: the last closed openTime per symbol comes back from the topic's tail
    const second = await startIngest({ transport, config, options })
    await second.ready
    await until(() => server.now() >= FROM + 400 * 60_000)
    await second.close()
    await server.close()

    expect(server.stats.drops).toBeGreaterThan(3)
    // the holes left by the drops were filled from REST
    expect((await backfilledKlines.get()).values[0]!.value).toBeGreaterThan(0) // how many depends on how long each reconnect took
    expect((await reconnects.get()).values.reduce((a, v) => a + v.value, 0)).toBeGreaterThan(3)
    const records = await readAll(transport, topics.kline1m)
    for (const s of symbols) {
      const closed = records
        .filter((r) => r.key === s)
        .map((r) => JSON.parse(r.value) as Kline)
        .filter((k) => k.closed)
      const times = closed.map((k) => k.openTime)
      const rows = recorded(s)
      expect(closed.length).toBeGreaterThanOrEqual(390)
      // exactly once, in order, from the day's first minute, no hole
      expect(times).toEqual(rows.slice(0, times.length).map((r) => r.t))
      for (const k of closed) {
        const r = rows[(k.openTime - rows[0]!.t) / 60_000]!
        expect([k.open, k.high, k.low, k.close, k.volume, k.trades]).toEqual([r.o, r.h, r.l, r.c, r.v, r.n])
      }
      // record timestamp = event time (openTime)
      for (const r of records.filter((x) => x.key === s))
        expect(r.timestamp).toBe((JSON.parse(r.value) as Kline).openTime)
    }
    // every published book equals the server's exact book at that update id: never a broken state
    const books = await readAll(transport, topics.orderbook)
    expect(server.stats.gaps).toBeGreaterThan(0)
    expect(books.length).toBeGreaterThan(50)
    for (const r of books) {
      const b = JSON.parse(r.value) as Book
      expect(r.key).toBe(b.symbol)
      const truth = server.bookAt(b.symbol, b.lastUpdateId)!
      expect({ bids: b.bids, asks: b.asks }).toEqual(truth)
    }
    const resyncs = (await bookResyncs.get()).values
    expect(resyncs.find((v) => v.labels.reason === 'gap')?.value).toBeGreaterThan(0)
    const trades = await readAll(transport, topics.trades)
    expect(trades.length).toBeGreaterThan(100)
    const dlq = await readAll(transport, DLQ_TOPIC)
    expect(server.stats.junk).toBeGreaterThan(0)
    expect(dlq.length).toBeGreaterThan(0)
    for (const d of dlq) {
      const v = JSON.parse(d.value) as { raw: string; error: string; reason: string }
      expect(v.raw.length).toBeGreaterThan(0)
      expect(['too_large', 'not_json', 'bad_envelope', 'unknown_stream', 'invalid']).toContain(v.reason)
    }
    await transport.close()
  })

  it('rejects unknown symbols at start with a clear error', async () => {
    const server = await startReplayServer({ symbols: ['BTCUSDT'] })
    const urls = { wsUrl: server.wsUrl, restUrl: server.restUrl }
    const dir = tmp()
    const transport = new EmbeddedTransport({ dir })
    await expect(
      startIngest({
        transport,
        config: { symbols: ['BTCUSDT', 'NOPEUSDT'], binanceWsUrl: urls.wsUrl, binanceRestUrl: urls.restUrl },
      }),
    ).rejects.toMatchObject({ code: 'INGEST_UNKNOWN_SYMBOL', message: expect.stringContaining('NOPEUSDT') })
    await server.close()
    await transport.close()
  })
})
