import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry } from '../common/metrics.ts'
import { deadLetterTopic } from '../common/topics.ts'
import {
  Emitted,
  type Processor,
  type ProcessorContext,
  Stores,
  type StreamRecord,
  StreamsBuilder,
  TimeWindows,
  Topology,
  type Windowed,
} from './index.ts'
import { Serdes } from './serde.ts'
import { TestBed } from './testing.ts'

const MIN = 60_000
let bed: TestBed
beforeEach(() => {
  bed = new TestBed()
})
afterEach(async () => {
  await bed.close()
})

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
  const v = (m?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((x) =>
    Object.entries(labels).every(([k, val]) => x.labels[k] === val),
  )
  return v?.value ?? 0
}

interface Tick {
  sym: string
  price: number
  t: number
}
const tick = (sym: string, price: number, t: number) => ({ key: sym, value: { sym, price, t }, timestamp: t })

/** A windowed count whose output carries the window, so tests can read it. */
function windowedCount(app: string, windows: TimeWindows, emit = Emitted.onUpdate()) {
  const b = new StreamsBuilder()
  b.stream<Tick>('ticks', { timestamp: (v) => v.t })
    .groupByKey()
    .windowedBy(windows)
    .emitStrategy(emit)
    .count({ name: `${app}-counts` })
    .toStream()
    .map((wk: Windowed<string>, n: number) => [wk.key, { key: wk.key, start: wk.window.start, n }])
    .to('counts')
  return b.build()
}

describe('windows on event time', () => {
  it('onUpdate: counts out-of-order records within grace, drops records later than end + grace', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [
      tick('BTC', 1, 10_000), // [0, 60s)
      tick('BTC', 2, 70_000), // [60s, 120s): stream time 70s
      tick('BTC', 3, 50_000), // out of order, window [0,60s) still open: end + grace = 75s > 70s
      tick('BTC', 4, 80_000), // stream time 80s: [0,60s) is closed now
      tick('BTC', 5, 59_999), // late: 60s + 15s ≤ 80s → dropped, never merged
      tick('ETH', 6, 30_000), // same task, same stream time: also late
    ])
    const streams = await bed.start(windowedCount('upd', TimeWindows.ofSizeAndGrace(MIN, 15_000)), {
      applicationId: 'upd',
    })
    await streams.flush()
    const out = await bed.values<{ key: string; start: number; n: number }>('counts')
    expect(out).toEqual([
      { key: 'BTC', start: 0, n: 1 },
      { key: 'BTC', start: 60_000, n: 1 },
      { key: 'BTC', start: 0, n: 2 },
      { key: 'BTC', start: 60_000, n: 2 },
    ])
    const store = streams.windowStore<number>('upd-counts')
    expect(await store.fetch('BTC', 0)).toBe(2)
    expect(await store.fetch('ETH', 0)).toBeUndefined()
    expect(await metric('cs_engine_late_records_dropped_total', { app: 'upd' })).toBe(2)
  })

  it('onWindowClose: one final result per window, once stream time passes end + grace', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [
      tick('BTC', 1, 1_000),
      tick('BTC', 1, 30_000),
      tick('ETH', 1, 59_000),
      tick('BTC', 1, 65_000), // stream time 65s: [0,60s) not closed yet (grace 10s)
      tick('BTC', 1, 55_000), // in grace: counts
      tick('BTC', 1, 70_000), // closes [0, 60s)
      tick('BTC', 1, 20_000), // late: dropped, no re-emission
      tick('BTC', 1, 200_000), // closes [60s, 120s)
    ])
    const streams = await bed.start(
      windowedCount(
        'close',
        TimeWindows.ofSizeAndGrace(MIN, 10_000),
        Emitted.onWindowClose({ idleCloseMs: 0 }),
      ),
      { applicationId: 'close' },
    )
    await streams.flush()
    const out = await bed.values<{ key: string; start: number; n: number }>('counts')
    expect(out).toEqual([
      { key: 'BTC', start: 0, n: 3 },
      { key: 'ETH', start: 0, n: 1 },
      { key: 'BTC', start: 60_000, n: 2 },
    ])
    // The open window [180s, 240s) is queryable but not emitted.
    expect(await streams.windowStore<number>('close-counts').get('BTC')).toEqual({
      key: 'BTC',
      window: { start: 180_000, end: 240_000 },
      value: 1,
    })
    expect(await metric('cs_engine_late_records_dropped_total', { app: 'close' })).toBe(1)
  })

  it('onWindowClose: the wall clock closes windows in quiet periods', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [tick('BTC', 1, 1_000), tick('BTC', 1, 2_000)])
    const streams = await bed.start(
      windowedCount(
        'idle',
        TimeWindows.ofSizeAndGrace(1_000, 100),
        Emitted.onWindowClose({ idleCloseMs: 50 }),
      ),
      { applicationId: 'idle' },
    )
    await streams.flush()
    // [1s, 2s) closed by stream time; [2s, 3s) needs 1.1 s of idle wall clock.
    for (let i = 0; i < 100 && (await bed.records('counts')).length < 2; i++) await sleep(50)
    expect(await bed.values('counts')).toEqual([
      { key: 'BTC', start: 1_000, n: 1 },
      { key: 'BTC', start: 2_000, n: 1 },
    ])
  })

  it('onWindowClose with finalWhen: emits as soon as the window is complete, once', async () => {
    await bed.topic('klines')
    const k = (open: number) => ({ key: 'BTC', value: { open }, timestamp: open })
    // 1m klines; a 5m candle is complete when its last minute (openTime = end - 1m) is in.
    await bed.produce('klines', [k(0), k(MIN), k(2 * MIN), k(3 * MIN), k(4 * MIN), k(2 * MIN), k(5 * MIN)])
    const b = new StreamsBuilder()
    b.stream<{ open: number }>('klines')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(5 * MIN, 30_000))
      .emitStrategy(
        Emitted.onWindowClose<{ n: number; last: number }>({
          idleCloseMs: 0,
          finalWhen: (agg, w) => agg.last === w.end - MIN,
        }),
      )
      .aggregate(
        () => ({ n: 0, last: -1 }),
        (_k, v, agg) => ({ n: agg.n + 1, last: Math.max(agg.last, v.open) }),
        { name: 'candles' },
      )
      .toStream()
      .mapValues((agg, wk) => ({ start: wk.window.start, ...agg }))
      .to('candles-out')
    const streams = await bed.start(b.build(), { applicationId: 'final' })
    await streams.flush()
    // The duplicate 2m kline came after the candle closed early: dropped, not merged.
    expect(await bed.values('candles-out')).toEqual([{ start: 0, n: 5, last: 4 * MIN }])
    expect(await metric('cs_engine_late_records_dropped_total', { app: 'final' })).toBe(1)
    // Stream time 5m + 30s passing the window end + grace does not emit it a second time.
    await bed.produce('klines', [k(6 * MIN)])
    await streams.flush()
    expect(await bed.values('candles-out')).toHaveLength(1)
  })

  it('hopping windows: a record counts in every window that contains it', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [tick('BTC', 1, 65_000), tick('BTC', 1, 95_000)])
    const streams = await bed.start(
      windowedCount('hop', TimeWindows.ofSizeAndGrace(MIN, 0).advanceBy(30_000)),
      {
        applicationId: 'hop',
      },
    )
    await streams.flush()
    const rows = await streams.windowStore<number>('hop-counts').range('BTC', 0, 1e9)
    expect(rows.map((r) => [r.window.start, r.window.end, r.value])).toEqual([
      [30_000, 90_000, 1],
      [60_000, 120_000, 2],
      [90_000, 150_000, 1],
    ])
  })

  it('TimeWindows are epoch-aligned [start, end) and validated', () => {
    expect(TimeWindows.ofSizeAndGrace(MIN, 0).windowsFor(MIN)).toEqual([{ start: MIN, end: 2 * MIN }])
    expect(TimeWindows.ofSizeAndGrace(MIN, 0).windowsFor(MIN - 1)).toEqual([{ start: 0, end: MIN }])
    // Hopping starts are multiples of advance, even when size is not a multiple of it.
    expect(TimeWindows.ofSizeAndGrace(60, 0).advanceBy(25).windowsFor(70)).toEqual([
      { start: 25, end: 85 },
      { start: 50, end: 110 },
    ])
    expect(TimeWindows.ofSizeAndGrace(60, 0).advanceBy(20).windowsFor(20)).toEqual([
      { start: 0, end: 60 },
      { start: 20, end: 80 },
    ])
    expect(() => TimeWindows.ofSizeAndGrace(0, 0)).toThrow(/positive/)
    expect(() => TimeWindows.ofSizeAndGrace(MIN, 0).advanceBy(2 * MIN)).toThrow(/advance/)
    expect(Object.isFrozen(Emitted.onWindowClose())).toBe(true)
  })
})

describe('repartition, DLQ, tables, processors', () => {
  it('groupBy a new key repartitions through <app>-<name>-repartition and counts per new key', async () => {
    await bed.topic('trades', 3)
    const rows = Array.from({ length: 60 }, (_, i) => ({
      key: `S${i % 6}`,
      value: { side: i % 3 === 0 ? 'sell' : 'buy', q: 1 },
      timestamp: i,
    }))
    await bed.produce('trades', rows)
    const b = new StreamsBuilder()
    b.stream<{ side: string }>('trades')
      .groupBy((_k, v) => v.side, { name: 'by-side' })
      .count({ name: 'side-counts' })
      .toStream()
      .to('side-counts-out')
    const topology = b.build()
    expect(topology.describe('rp').repartitionTopics).toEqual(['rp-by-side-repartition'])
    const streams = await bed.start(topology, { applicationId: 'rp' })
    await streams.flush()
    expect(await bed.transport.partitions('rp-by-side-repartition')).toBe(3)
    const kv = streams.keyValueStore<number>('side-counts')
    expect(await kv.get('sell')).toBe(20)
    expect(await kv.get('buy')).toBe(40)
    expect(await kv.all()).toEqual([
      { key: 'buy', value: 40 },
      { key: 'sell', value: 20 },
    ])
    // Every repartitioned record sits on murmur2(newKey) % 3.
    for (const r of await bed.records('rp-by-side-repartition'))
      expect(r.partition).toBe((await import('./partitioner.ts')).partitionFor(r.key, 3))
  })

  it('groupByKey after a key change repartitions too', async () => {
    await bed.topic('in')
    await bed.produce('in', [
      { key: 'a', value: { g: 'x' } },
      { key: 'b', value: { g: 'x' } },
    ])
    const b = new StreamsBuilder()
    b.stream<{ g: string }>('in')
      .selectKey((_k, v) => v.g)
      .groupByKey()
      .count({ name: 'g-counts' })
    const t = b.build()
    expect(t.describe('app').repartitionTopics).toEqual(['app-g-counts-repartition'])
    const streams = await bed.start(t, { applicationId: 'app' })
    await streams.flush()
    expect(await streams.keyValueStore('g-counts').get('x')).toBe(2)
  })

  it('malformed records go to <topic>.dlq with the error, and the stream continues', async () => {
    await bed.topic('klines')
    const parse = (x: unknown) => {
      const o = x as { price?: unknown }
      if (typeof o?.price !== 'number') throw new Error('price must be a number')
      return o as { price: number }
    }
    await bed.produce('klines', [
      { key: 'BTC', value: { price: 1 } },
      { key: 'BTC', value: '{not json' },
      { key: 'BTC', value: { price: 'x' } },
      { key: 'BTC', value: { price: 2 } },
    ])
    const b = new StreamsBuilder()
    b.stream('klines', { parse })
      .mapValues((v) => v.price * 10)
      .to('prices')
    const streams = await bed.start(b.build(), { applicationId: 'dlq' })
    await streams.flush()
    expect(await bed.values('prices')).toEqual([10, 20])
    const dead = await bed.records(deadLetterTopic('klines'))
    expect(dead.map((r) => r.value)).toEqual(['{not json', '{"price":"x"}'])
    expect(dead[1]!.headers).toMatchObject({
      'dlq.reason': 'malformed',
      'dlq.error': 'price must be a number',
      'dlq.topic': 'klines',
      'dlq.offset': '2',
    })
    expect(await metric('cs_engine_dlq_records_total', { app: 'dlq', topic: 'klines.dlq' })).toBe(2)
  })

  it('late records can go to the DLQ instead of only being counted', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [tick('BTC', 1, 100_000), tick('BTC', 1, 1_000)])
    const b = new StreamsBuilder()
    b.stream<Tick>('ticks', { timestamp: (v) => v.t })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(MIN))
      .count({ name: 'late-counts', lateRecords: 'dead-letter' })
    const streams = await bed.start(b.build(), { applicationId: 'late' })
    await streams.flush()
    const dead = await bed.records('ticks.dlq')
    expect(dead.map((r) => r.headers?.['dlq.reason'])).toEqual(['late'])
  })

  it('table(): latest value per key, tombstones delete, queryable from outside', async () => {
    await bed.topic('symbols', 2)
    await bed.produce('symbols', [
      { key: 'BTCUSDT', value: { base: 'BTC' } },
      { key: 'ETHUSDT', value: { base: 'ETH' } },
      { key: 'BTCUSDT', value: { base: 'XBT' } },
      { key: 'DOGEUSDT', value: { base: 'DOGE' } },
      { key: 'DOGEUSDT', value: null },
    ])
    const b = new StreamsBuilder()
    b.table<{ base: string }>('symbols', { store: 'symbols' })
    const streams = await bed.start(b.build(), { applicationId: 'tbl' })
    await streams.flush()
    const store = streams.keyValueStore<{ base: string }>('symbols')
    expect(await store.get('BTCUSDT')).toEqual({ base: 'XBT' })
    expect(await store.get('DOGEUSDT')).toBeUndefined()
    expect((await store.all({ prefix: 'ETH' })).map((e) => e.key)).toEqual(['ETHUSDT'])
    expect(await store.approximateCount()).toBe(2)
  })

  it('process(): custom processor with a named store and stream-time + wall-clock punctuation', async () => {
    await bed.topic('ticks')
    await bed.produce('ticks', [tick('BTC', 10, 1_000), tick('BTC', 30, 2_000), tick('ETH', 5, 3_500)])
    class LastPrice implements Processor<string, Tick, string, string> {
      private ctx!: ProcessorContext<string, string>
      init(ctx: ProcessorContext<string, string>) {
        this.ctx = ctx
        const store = ctx.getStateStore<number>('last')
        ctx.schedule(1_000, 'stream-time', (t) =>
          ctx.forward({ key: 'tick', value: `stream@${t}`, timestamp: t }),
        )
        ctx.schedule(10, 'wall-clock', () => store.put('wall', 1))
      }
      process(r: StreamRecord<string, Tick>) {
        this.ctx.getStateStore<number>('last').put(r.key, r.value.price)
      }
    }
    const b = new StreamsBuilder()
    b.addStateStore(Stores.keyValue<number>('last'))
    b.stream<Tick>('ticks', { timestamp: (v) => v.t })
      .process(() => new LastPrice(), { stores: ['last'] })
      .to('ticks-out', { serde: Serdes.string() })
    const streams = await bed.start(b.build(), { applicationId: 'proc' })
    await streams.flush()
    expect((await bed.records('ticks-out')).map((r) => r.value)).toEqual([
      'stream@1000',
      'stream@2000',
      'stream@3500',
    ])
    const store = streams.keyValueStore<number>('last')
    expect(await store.get('BTC')).toBe(30)
    for (let i = 0; i < 50 && (await store.get('wall')) === undefined; i++) await sleep(20)
    expect(await store.get('wall')).toBe(1)
  })
})

describe('topology as data', () => {
  it('describe() lists sources, processors, stores, sinks and repartition topics', () => {
    const b = new StreamsBuilder()
    b.stream<Tick>('ticks', { name: 'ticks-source' })
      .filter((_k, v) => v.price > 0, 'positive')
      .groupBy((_k, v) => v.sym.slice(0, 1), { name: 'by-letter' })
      .windowedBy(TimeWindows.ofSizeAndGrace(MIN, 0))
      .count({ name: 'letter-counts' })
      .toStream()
      .to('letters', { name: 'letters-sink' })
    const d = b.build().describe('app')
    expect(d.sources).toEqual(['ticks'])
    expect(d.sinks).toEqual(['letters'])
    expect(d.repartitionTopics).toEqual(['app-by-letter-repartition'])
    expect(d.changelogTopics).toEqual(['app-letter-counts-changelog'])
    expect(d.subtopologies).toHaveLength(2)
    const text = d.toString()
    expect(text).toContain('Source: ticks-source (topics: [ticks])')
    expect(text).toContain('Processor: positive (stores: [])')
    expect(text).toMatch(/Processor: KSTREAM-WINDOW-AGGREGATE-\d+ \(stores: \[letter-counts\]\)/)
    expect(text).toContain('Sink: letters-sink (topic: letters)')
    expect(text).toContain('(topics: [app-by-letter-repartition])')
    expect(text).toContain('letter-counts (window, changelog: app-letter-counts-changelog)')
  })

  it('validate() reports unknown stores, cycles and missing serdes in one error', () => {
    const t = new Topology()
    const noop = () => ({ process() {} })
    t.addSource('src', ['in'], { serde: Serdes.json() })
    t.addProcessor('a', noop, ['src', 'b'], ['nope'])
    t.addProcessor('b', noop, ['a'])
    t.addSink('out', 'x', ['b'], { serde: undefined as never })
    let message = ''
    try {
      t.validate()
    } catch (e) {
      message = (e as Error).message
      expect((e as { code: string }).code).toBe('ENGINE_INVALID_TOPOLOGY')
    }
    expect(message).toContain('processor "a" uses unknown store "nope"')
    expect(message).toMatch(/cycle: a -> b -> a|cycle: b -> a -> b/)
    expect(message).toContain('sink "out" has no serde')
  })

  it('a process() store that was never added is a build error', () => {
    const b = new StreamsBuilder()
    b.stream('in').process(() => ({ process() {} }), { stores: ['missing'] })
    expect(() => b.build()).toThrow(/unknown store "missing"/)
  })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
