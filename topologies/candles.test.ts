import { rmSync } from 'node:fs'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import { aggregate, type Candle } from '../processors/candles.ts'
import { minuteUpdate, outageDay, spotDay } from '../processors/testdata.ts'
import { supersedes, type Version } from '../sinks/version.ts'
import { candleStore, candlesTopology } from './index.ts'

// The candle chain under the faults of issue 13: backfills after a reconnect (defect 1), replays
// after a crash (defect 2), windows whose last minute never comes (defect 10), and topicPrefix
// on the outputs (issue 17).

const IVS = ['5m', '1h', '4h', '1d'] as const
const candleTopics = [topics.kline5m, topics.kline1h, topics.kline4h, topics.kline1d]
const msg = (k: Candle | Kline) => ({
  key: k.symbol,
  value: { ...k, interval: '1m' },
  timestamp: k.openTime,
})

/** Latest record per (symbol, interval, openTime): what a consumer that upserts holds. */
function upserted(all: Kline[]): Map<string, Kline> {
  const out = new Map<string, Kline>()
  for (const k of all) out.set(`${k.symbol}|${k.interval}|${k.openTime}`, k)
  return out
}

/** Binance 2018-01-04: no minutes 03:01–05:05 (processors/testdata.ts). */
const outage = outageDay()

let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-candles-')
})
afterEach(async () => {
  await bed.close()
})

/** One candle task on partition 0, opened on its own changelogs: driven by process/punctuate. */
async function candleTask(app: string, options: Parameters<typeof candlesTopology>[0]) {
  const topology = candlesTopology(options)
  await bed.transport.createTopics([
    { name: topics.kline1m, partitions: 1 },
    ...IVS.map((iv) => ({ name: `${app}-${candleStore(iv)}-changelog`, partitions: 1, compacted: true })),
  ])
  const task = await bed.openTask(topology, app)
  let offset = 0
  const feed = (ks: readonly (Candle | Kline)[]) => {
    for (const k of ks) {
      const m = msg(k)
      task.process({
        topic: topics.kline1m,
        partition: 0,
        offset: offset++,
        key: m.key,
        value: JSON.stringify(m.value),
        timestamp: m.timestamp,
      } satisfies ConsumedRecord)
    }
  }
  return { task, feed }
}

describe('backfill after a reconnect (issue 13, defect 1)', () => {
  it('minutes backfilled hours late, after another symbol went live, all land: every final equals the clean run', async () => {
    // Two symbols on one partition, 2024-01-03 00:00–06:59. Ingest was down 02:00–04:59; on
    // reconnect ETHUSDT's live open update of 05:00 came first, then both backfills, then live.
    const day = (s: string) => spotDay(s, '1m', '2024-01-03').slice(0, 420)
    const btc = day('BTCUSDT')
    const eth = day('ETHUSDT')
    const byTime = (a: Candle, b: Candle) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1)
    const before = [...btc.slice(0, 120), ...eth.slice(0, 120)].sort(byTime)
    const live = { ...eth[300]!, closed: false, close: eth[300]!.open, volume: '1.00000000', trades: 3 }
    const after = [...btc.slice(300), ...eth.slice(300)].sort(byTime)
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, [
      ...before.map(msg),
      msg(live),
      ...btc.slice(120, 300).map(msg),
      ...eth.slice(120, 300).map(msg),
      ...after.map(msg),
    ])
    const streams = await bed.start(candlesTopology(), { applicationId: 'candles-backfill' })
    await streams.flush()
    const got = upserted((await Promise.all(candleTopics.map((t) => bed.values<Kline>(t)))).flat())
    for (const iv of ['5m', '1h', '4h'] as const)
      for (const c of aggregate([...btc, ...eth], iv).filter((x) => x.closed))
        expect(got.get(`${c.symbol}|${iv}|${c.openTime}`), `${c.symbol} ${iv} ${c.openTime}`).toEqual(c)
    // the 1h finals of the outage hours exist, closed, for both symbols
    for (const s of ['BTCUSDT', 'ETHUSDT'])
      for (let h = 2; h < 5; h++)
        expect(got.get(`${s}|1h|${btc[0]!.openTime + h * 3_600_000}`)?.closed).toBe(true)
  })
})

describe('replay after a crash (issue 13, defect 2)', () => {
  it('re-delivered older open updates never emit a smaller closed candle', async () => {
    const t0 = Date.parse('2024-01-03T00:00:00Z')
    const k = (i: number, v: number, closed: boolean) => minuteUpdate(t0, i, v, closed)
    const live = []
    for (let i = 0; i < 5; i++) live.push(k(i, 10, false), k(i, 20, false), k(i, 30, false), k(i, 40, true))
    await bed.topic(topics.kline1m)
    // the input from minute 2's updates on, delivered again (uncommitted when the instance died)
    await bed.produce(topics.kline1m, [...live, ...live.slice(8)].map(msg))
    const streams = await bed.start(candlesTopology(), { applicationId: 'candles-replay' })
    await streams.flush()
    const closed5m = (await bed.values<Kline>(topics.kline5m)).filter((c) => c.closed)
    expect(closed5m.map((c) => c.volume)).toEqual(['200.00'])
  })
})

describe('a window whose last minute never comes (issue 13, defect 10)', () => {
  it('Binance 2018-01-04 (no minutes 03:01–05:05): every window closes with the minutes it has; a late minute is a correction', async () => {
    expect(outage).toHaveLength(1315)
    const held = outage[90]! // 01:30, delivered after the rest (a backfill)
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, outage.filter((k) => k !== held).map(msg))
    const streams = await bed.start(candlesTopology(), { applicationId: 'candles-outage' })
    await streams.flush()
    await bed.produce(topics.kline1m, [msg(held)])
    await streams.flush()
    const all = (await Promise.all(candleTopics.map((t) => bed.values<Kline>(t)))).flat()
    const got = upserted(all)
    for (const iv of IVS) {
      const expected = aggregate(outage, iv).map((c) => ({ ...c, closed: true }))
      const ours = [...got.values()].filter((c) => c.interval === iv).sort((a, b) => a.openTime - b.openTime)
      const have = new Set(ours.map((c) => c.openTime))
      expect(
        expected.filter((c) => !have.has(c.openTime)).map((c) => new Date(c.openTime).toISOString()),
        iv,
      ).toEqual([])
      expect(ours, iv).toEqual(expected)
    }
    // Binance's own 1d candle of that day (unix 1515024000000 in CryptoDataDownload's
    // Binance_BTCUSDT_d.csv, as copied in andrewsiah/crypto-historical-data): equal in every field
    // it has, trade count included
    const d1 = got.get(`BTCUSDT|1d|${Date.parse('2018-01-04T00:00:00Z')}`)!
    expect([d1.open, d1.high, d1.low, d1.close, d1.volume, d1.quoteVolume, d1.trades, d1.closed]).toEqual([
      '14919.51000000',
      '15280.00000000',
      '13918.04000000',
      '15059.54000000',
      '21329.64957400',
      '312781583.79830782',
      170310,
      true,
    ])
    const h4 = got.get(`BTCUSDT|4h|${Date.parse('2018-01-04T00:00:00Z')}`)!
    expect(h4.trades).toBe(outage.slice(0, 181).reduce((n, k) => n + k.trades, 0))
    // 1h 01:00 closed first without 01:30, then was corrected (closed again)
    const h1 = all.filter(
      (c) => c.interval === '1h' && c.openTime === Date.parse('2018-01-04T01:00:00Z') && c.closed,
    )
    expect(h1).toHaveLength(2)
    expect(h1[0]!.trades).toBe(h1[1]!.trades - held.trades)
  })

  it('a window left open across a restart (state restored from the changelog) still closes by grace', async () => {
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, outage.slice(0, 181).map(msg)) // up to 03:00
    let streams = await bed.start(candlesTopology(), { applicationId: 'candles-restart' })
    await streams.flush()
    await bed.stop(streams)
    rmSync(bed.stateDir, { recursive: true, force: true })
    await bed.produce(topics.kline1m, outage.slice(181).map(msg)) // from 05:06
    streams = await bed.start(candlesTopology(), { applicationId: 'candles-restart' })
    await streams.flush()
    const h4 = upserted(await bed.values<Kline>(topics.kline4h))
    expect(h4.get(`BTCUSDT|4h|${Date.parse('2018-01-04T00:00:00Z')}`)).toEqual({
      ...aggregate(outage.slice(0, 181), '4h')[0]!,
      closed: true,
    })
  })

  it('with no input at all (the exchange is down), the wall clock closes the window once its end passed by the grace', async () => {
    const { task, feed } = await candleTask('candles-quiet', { idleCloseMs: 1_000 })
    const first4h = outage.slice(0, 181) // up to 03:00, then nothing
    feed(first4h)
    const closed4h = () =>
      task.out
        .map((r) => JSON.parse(r.value as string) as Kline)
        .filter((c) => c.interval === '4h' && c.closed)
    // 03:00 + idle: the 4h window [00:00, 04:00) closes when event time would be 04:10 (grace 10 min)
    const t0 = Date.now()
    let t = t0
    for (; t < t0 + 69 * 60_000; t += 1_000) task.punctuate('wall-clock', t)
    expect(closed4h()).toEqual([])
    for (; t < t0 + 72 * 60_000; t += 1_000) task.punctuate('wall-clock', t)
    expect(closed4h()).toEqual([{ ...aggregate(first4h, '4h')[0]!, closed: true }])
    await task.close()
  })
})

describe('a quiet symbol’s open window that left the store (retention)', () => {
  it('is not closed by the idle wall clock afterwards: like any window past retention, it is gone', async () => {
    // ETHUSDT has 00:00 and goes quiet; BTCUSDT runs to 00:59, so the 5m store (retention 10 min
    // here) drops ETHUSDT's open window [00:00, 00:05) before the idle wall clock closes it.
    const { task, feed } = await candleTask('candles-expired', {
      idleCloseMs: 1_000,
      retentionMs: { '5m': 600_000 },
    })
    const eth = spotDay('ETHUSDT', '1m', '2024-01-02')
    feed([{ ...eth[0]!, closed: false }])
    feed(spotDay('BTCUSDT', '1m', '2024-01-02').slice(0, 60))
    const t = Date.now() + 5_000
    task.punctuate('wall-clock', t)
    const eth5m = task.out
      .filter((r) => r.topic === topics.kline5m)
      .map((r) => JSON.parse(r.value as string) as Kline)
      .filter((k) => k.symbol === 'ETHUSDT')
    expect(eth5m.map((k) => k.closed)).toEqual([false])
    await task.close()
  })
})

describe('a symbol’s first minutes after another passed the hour by the grace (the e2e start-up hour)', () => {
  it('the hour closed by grace on the task’s time is corrected by the late minutes: last record and sink = Binance', async () => {
    // One task, two symbols, the platform's options (coalesced emits). BTCUSDT is live up to
    // 01:29 (past 01:00 + grace); ETHUSDT had 00:00–00:09, went quiet (its backfill on the way),
    // so the idle wall clock closes its 00:00 hour with 10 minutes; then 00:10–01:29 arrive.
    const { task, feed } = await candleTask('candles-startup-hour', { idleCloseMs: 1_000, emitEveryMs: 100 })
    const btc = spotDay('BTCUSDT', '1m', '2024-01-02').slice(0, 90)
    const eth = spotDay('ETHUSDT', '1m', '2024-01-02').slice(0, 90)
    feed(eth.slice(0, 10))
    feed(btc)
    const t = Date.now() + 5_000
    task.punctuate('wall-clock', t) // idle-closes ETHUSDT 00:00 (into the record cache)
    task.punctuate('wall-clock', t + 200) // the cache forwards it
    feed(eth.slice(10))
    task.punctuate('wall-clock', t + 1_000)
    task.flushProcessors()
    const h1 = task.out
      .filter((r) => r.topic === topics.kline1h)
      .map((r) => JSON.parse(r.value as string) as Kline)
    const hour0 = eth[0]!.openTime
    const eth0 = h1.filter((k) => k.symbol === 'ETHUSDT' && k.openTime === hour0)
    // closed by grace first, with its 10 minutes
    expect(eth0.find((k) => k.closed)?.trades).toBe(eth.slice(0, 10).reduce((n, k) => n + k.trades, 0))
    // what a consumer that upserts holds, and what a sink keeps (offset order; finals only by finals)
    const kept = new Map<string, Kline & Version>()
    h1.forEach((k, i) => {
      const id = `${k.symbol}:${k.openTime}`
      if (supersedes({ ...k, _v: i }, kept.get(id))) kept.set(id, { ...k, _v: i })
    })
    for (const [s, minutes] of [
      ['BTCUSDT', btc],
      ['ETHUSDT', eth],
    ] as const) {
      const binance = aggregate(spotDay(s, '15m', '2024-01-02'), '1h', 900_000)[0]!
      const expected = { ...binance, interval: '1h', closed: true }
      expect(aggregate(minutes.slice(0, 60), '1h')[0]).toEqual(expected)
      expect(upserted(h1).get(`${s}|1h|${hour0}`), `${s} last record`).toEqual(expected)
      const { _v, ...sunk } = kept.get(`${s}:${hour0}`)!
      expect(sunk, `${s} sink`).toEqual(expected)
    }
    await task.close()
  })
})

describe('topicPrefix (issue 17)', () => {
  const prefixed = new TestBed('cs-candles-prefix-')
  afterAll(() => prefixed.close())

  it('a prefixed candle topology reads and writes only prefixed topics', async () => {
    const p = 'bench7.'
    const topology = candlesTopology({ topicPrefix: p })
    for (const sub of topology.subtopologies())
      for (const t of [...sub.sourceTopics, ...sub.sinkTopics])
        if (!t.internal) expect(t.name.startsWith(p), t.name).toBe(true)
    await prefixed.topic(p + topics.kline1m)
    await prefixed.produce(p + topics.kline1m, outage.slice(0, 10).map(msg))
    const streams = await prefixed.start(topology, { applicationId: 'candles-prefix' })
    await streams.flush()
    expect((await prefixed.values<Kline>(p + topics.kline5m)).length).toBeGreaterThan(0)
    for (const t of candleTopics) expect(await prefixed.transport.partitions(t)).toBeUndefined()
  })
})
