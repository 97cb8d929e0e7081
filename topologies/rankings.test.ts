import { rmSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { messyStream } from '../processors/ranking.fixture.ts'
import {
  type DecimalTickerState,
  memoryTickerStores,
  mergeTick,
  type Ranking,
  rank,
  type Ticker24h,
  type TickerState,
  type TickMinute,
  tickerFor,
} from '../processors/ranking.ts'
import { spotDay, spotRange } from '../processors/testdata.ts'
import { windowDbKey } from '../state/window-store.ts'
import { rankingsTopology } from './index.ts'
import { BUCKETS_STORE, MINUTES_STORE, TICKER_STORE } from './rankings.ts'

// The same klines through the ranking topology twice: on every change, and thinned to one
// ranking per wall-clock tick. The thinned topic ends on exactly the same ranking.

/** The pure rolling window's rankings over `klines` (top 10), one per kline that changed something. */
function pureRankings(klines: Kline[]) {
  const st = memoryTickerStores()
  const latest: Record<string, Ticker24h> = {}
  const expected: Ranking[] = []
  for (const k of klines) {
    if (!mergeTick(st, k)) continue
    latest[k.symbol] = tickerFor(st, k.symbol)!
    expected.push(rank(Object.values(latest), 10))
  }
  return { st, expected }
}

describe('rankingEveryMs', () => {
  const bed = new TestBed('cs-rank-')
  afterAll(() => bed.close())

  it('emits fewer rankings and its last one equals the last of the unthinned run', async () => {
    const klines = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']
      .flatMap((s) => spotDay(s, '1m', '2024-01-03').slice(0, 400))
      .sort((a, b) => a.openTime - b.openTime)
    const runs = { all: undefined as Ranking[] | undefined, thin: undefined as Ranking[] | undefined }
    for (const [name, every] of [
      ['all', undefined],
      ['thin', 40],
    ] as const) {
      const prefix = `${name}.`
      await bed.topic(prefix + topics.kline1m)
      await bed.produce(
        prefix + topics.kline1m,
        klines.map((k) => ({ key: k.symbol, value: { ...k, interval: '1m' }, timestamp: k.openTime })),
      )
      const streams = await bed.start(rankingsTopology({ topicPrefix: prefix, rankingEveryMs: every }), {
        applicationId: `rank-${name}`,
      })
      await streams.flush()
      await new Promise((r) => setTimeout(r, 200)) // at least one tick after the last input
      await bed.stop(streams)
      runs[name] = await bed.values<Ranking>(prefix + topics.ranking)
    }
    const all = runs.all!
    const thin = runs.thin!
    expect(all.length).toBeGreaterThan(1000)
    expect(thin.length).toBeGreaterThan(0)
    expect(thin.length).toBeLessThan(all.length / 10)
    expect(thin.at(-1)).toEqual(all.at(-1))
    expect(thin.at(-1)!.symbols).toBe(3)
  })
})

// Issue 13, defect 6: the thinned ranking was held in memory until the next wall-clock tick; a
// ranking processed and committed before a clean close never reached the topic.
describe('rankingEveryMs: nothing processed and committed is held back', () => {
  const bed = new TestBed('cs-rank-flush-')
  afterAll(() => bed.close())

  it('the latest ranking is in crypto_ranking after flush() and after a clean close, however long the tick', async () => {
    const klines = ['BTCUSDT', 'ETHUSDT']
      .flatMap((s) => spotDay(s, '1m', '2024-01-03').slice(0, 30))
      .sort((a, b) => a.openTime - b.openTime)
      .map((k) => ({ ...k, interval: '1m' as const }))
    const st = memoryTickerStores()
    for (const k of klines) mergeTick(st, k as Kline)
    const expected = rank(
      ['BTCUSDT', 'ETHUSDT'].map((s) => tickerFor(st, s)!),
      10,
    )
    await bed.topic(topics.kline1m)
    await bed.produce(
      topics.kline1m,
      klines.map((k) => ({ key: k.symbol, value: k, timestamp: k.openTime })),
    )
    const streams = await bed.start(rankingsTopology({ rankingEveryMs: 3_600_000 }), {
      applicationId: 'rank-flush',
    })
    await streams.flush()
    expect((await bed.values<Ranking>(topics.ranking)).at(-1)).toEqual(expected)
    await bed.stop(streams)
    const out = await bed.values<Ranking>(topics.ranking)
    expect(out.at(-1)).toEqual(expected)
    expect(out.length).toBeLessThanOrEqual(2)
  })
})

// Three days of two symbols, stopped after ~35 h and restarted with the local state deleted: the
// window's minute entries and summaries come back from their changelogs, every ranking equals
// the pure computation of an uninterrupted run.
describe('ticker-24h restore', () => {
  const bed = new TestBed('cs-rank-restore-')
  afterAll(() => bed.close())

  it('rankings across a restart from changelogs equal the pure rolling window', async () => {
    const klines = ['BTCUSDT', 'SEIUSDT']
      .flatMap((s) => spotRange(s, '1m', '2024-01-04', '2024-01-06') as Kline[])
      .sort((a, b) => a.openTime - b.openTime)
    const { expected } = pureRankings(klines)
    const msg = (k: Kline) => ({ key: k.symbol, value: k, timestamp: k.openTime })
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, klines.slice(0, 4200).map(msg))
    let s = await bed.start(rankingsTopology(), { applicationId: 'rank-restore' })
    await s.flush()
    await bed.stop(s)
    rmSync(bed.stateDir, { recursive: true, force: true })
    await bed.produce(topics.kline1m, klines.slice(4200).map(msg))
    s = await bed.start(rankingsTopology(), { applicationId: 'rank-restore' })
    await s.flush()
    const got = await bed.values<Ranking>(topics.ranking)
    expect(got.length).toBe(klines.length)
    expect(got).toEqual(expected)
    const last = got.at(-1)!
    expect(last.gainers.map((e) => e.partial)).toEqual([false, false])
    // the window's 1440 minutes in 15-minute buckets; the summary stays small
    const btc = last.gainers.find((e) => e.symbol === 'BTCUSDT')!
    const buckets = await s
      .windowStore<(TickMinute | null)[]>(BUCKETS_STORE)
      .range('BTCUSDT', 0, Number.MAX_SAFE_INTEGER)
    const minutes = buckets.flatMap((b) => b.value.filter((m) => m !== null))
    expect(minutes).toHaveLength(1440)
    expect(buckets.length).toBeLessThanOrEqual(97)
    expect(minutes[0]![0]).toBe(btc.openTime)
    expect(await s.windowStore(MINUTES_STORE).approximateCount()).toBe(0)
    const summary = await s.keyValueStore<TickerState>(TICKER_STORE).get('BTCUSDT')
    expect(JSON.stringify(summary).length).toBeLessThan(400)
  }, 60_000)
})

// The processor holds each symbol's summary and its newest and oldest bucket between klines,
// changes them in place and puts each at most once per commit: through many commits and a restart
// from changelogs (a new processor on restored stores), with duplicates, corrections, late
// minutes, gaps and a whole window dropping out, every ranking equals the pure rolling window's.
describe('ticker-24h: held buckets and summaries across commits and a restart', () => {
  const bed = new TestBed('cs-rank-messy-')
  afterAll(() => bed.close())

  it('rankings of a messy feed equal the pure rolling window', async () => {
    const klines = messyStream()
    const { st, expected } = pureRankings(klines)
    const app = 'rank-messy'
    const msg = (k: Kline) => ({ key: k.symbol, value: k, timestamp: k.openTime })
    await bed.topic(topics.kline1m)
    // a commit after every 500 klines; the state directory lost after half of them
    const run = async (from: number, to: number) => {
      const s = await bed.start(rankingsTopology(), { applicationId: app })
      for (let i = from; i < to; i += 500) {
        await bed.produce(topics.kline1m, klines.slice(i, Math.min(i + 500, to)).map(msg))
        await s.flush()
      }
      await s.flush() // restored and caught up
      return s
    }
    const half = 6500
    await bed.stop(await run(0, half))
    rmSync(bed.stateDir, { recursive: true, force: true })
    await bed.stop(await run(half, klines.length))
    const got = await bed.values<Ranking>(topics.ranking)
    expect(got.length).toBe(expected.length)
    expect(got).toEqual(expected)
    // restored from the changelogs alone, the buckets hold exactly the pure window's minutes
    rmSync(bed.stateDir, { recursive: true, force: true })
    const s = await run(0, 0)
    for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
      const buckets = await s
        .windowStore<(TickMinute | null)[]>(BUCKETS_STORE)
        .range(symbol, 0, Number.MAX_SAFE_INTEGER)
      const kept = buckets.flatMap((b) => b.value.filter((m) => m !== null))
      const want = [...st.minutes].filter(([key]) => key.startsWith(`${symbol}|`)).map(([, m]) => m)
      expect(kept).toEqual(want.sort((a, b) => a[0] - b[0]))
      expect(buckets.every((b) => b.value.some((m) => m !== null))).toBe(true)
      expect(await s.keyValueStore(TICKER_STORE).get(symbol)).toEqual(st.getState(symbol))
    }
    await bed.stop(s)
  }, 60_000)
})

// State written by the earlier layout (one `ticker-24h-minutes` entry per minute) is restored and
// read: the window goes on from it, and its entries are deleted as the window passes them.
describe('ticker-24h: minutes of the earlier layout', () => {
  const bed = new TestBed('cs-rank-legacy-')
  afterAll(() => bed.close())

  it('rankings after an upgrade equal the pure rolling window; the old entries empty out', async () => {
    const klines = ['BTCUSDT', 'SEIUSDT']
      .flatMap((s) => spotRange(s, '1m', '2024-01-04', '2024-01-05') as Kline[])
      .sort((a, b) => a.openTime - b.openTime)
    const cut = 2000
    const st = memoryTickerStores()
    for (const k of klines.slice(0, cut)) mergeTick(st, k)
    // what the earlier version left: its changelogs and the committed input offset
    const app = 'rank-legacy'
    const changelog = (store: string) => `${app}-${store}-changelog`
    await bed.transport.createTopics([
      { name: changelog(MINUTES_STORE), partitions: 1, compacted: true },
      { name: changelog(TICKER_STORE), partitions: 1, compacted: true },
    ])
    await bed.produce(
      changelog(MINUTES_STORE),
      [...st.minutes].map(([k, m]) => ({ key: windowDbKey(k.split('|')[0]!, m[0]), value: m })),
    )
    await bed.produce(
      changelog(TICKER_STORE),
      ['BTCUSDT', 'SEIUSDT'].map((symbol) => ({ key: symbol, value: st.getState(symbol) })),
    )
    const msg = (k: Kline) => ({ key: k.symbol, value: k, timestamp: k.openTime })
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, klines.map(msg))
    const consumer = await bed.transport.consumer({ groupId: app, topics: [topics.kline1m] })
    await consumer.commit([{ topic: topics.kline1m, partition: 0, offset: cut }])
    await consumer.close()

    const latest: Record<string, Ticker24h> = {}
    const expected: Ranking[] = []
    for (const k of klines.slice(cut)) {
      if (!mergeTick(st, k)) continue
      latest[k.symbol] = tickerFor(st, k.symbol)!
      expected.push(rank(Object.values(latest), 10))
    }
    const s = await bed.start(rankingsTopology(), { applicationId: app })
    await s.flush()
    expect(await bed.values<Ranking>(topics.ranking)).toEqual(expected)
    // a day after the cut, every minute of the old layout has left the window
    expect(await s.windowStore(MINUTES_STORE).approximateCount()).toBe(0)
  }, 60_000)
})

// Summaries written before the fixed-point sums (volume and quote volume as decimal strings) are
// restored from the changelog and read: the window goes on from them, rankings unchanged.
describe('ticker-24h: summaries with decimal-string sums', () => {
  const bed = new TestBed('cs-rank-decimal-')
  afterAll(() => bed.close())

  it('rankings after an upgrade equal the pure rolling window', async () => {
    const symbols = ['BTCUSDT', 'PEPEUSDT']
    const klines = symbols
      .flatMap((s) => spotRange(s, '1m', '2024-01-04', '2024-01-05') as Kline[])
      .sort((a, b) => a.openTime - b.openTime)
    const cut = 2500
    const st = memoryTickerStores()
    const latest: Record<string, Ticker24h> = {}
    const expected: Ranking[] = []
    klines.forEach((k, i) => {
      if (!mergeTick(st, k)) return
      latest[k.symbol] = tickerFor(st, k.symbol)!
      if (i >= cut) expected.push(rank(Object.values(latest), 10))
    })
    const app = 'rank-decimal'
    const msg = (k: Kline) => ({ key: k.symbol, value: k, timestamp: k.openTime })
    await bed.topic(topics.kline1m)
    await bed.produce(topics.kline1m, klines.slice(0, cut).map(msg))
    let s = await bed.start(rankingsTopology(), { applicationId: app })
    await s.flush()
    await bed.stop(s)
    // the summaries as the earlier version wrote them, restored with the minute buckets
    const pure = memoryTickerStores()
    for (const k of klines.slice(0, cut)) mergeTick(pure, k)
    await bed.produce(
      `${app}-${TICKER_STORE}-changelog`,
      symbols.map((symbol) => {
        const t = tickerFor(pure, symbol)!
        const old: DecimalTickerState = {
          ...(pure.getState(symbol) as TickerState),
          volume: t.volume,
          quoteVolume: t.quoteVolume,
        }
        return { key: symbol, value: old }
      }),
    )
    rmSync(bed.stateDir, { recursive: true, force: true })
    const before = (await bed.values<Ranking>(topics.ranking)).length
    await bed.produce(topics.kline1m, klines.slice(cut).map(msg))
    s = await bed.start(rankingsTopology(), { applicationId: app })
    await s.flush()
    expect((await bed.values<Ranking>(topics.ranking)).slice(before)).toEqual(expected)
    const summary = await s.keyValueStore<TickerState>(TICKER_STORE).get('BTCUSDT')
    expect(typeof summary!.volume[0]).toBe('number')
    await bed.stop(s)
  }, 60_000)
})
