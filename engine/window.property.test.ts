import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry } from '../common/metrics.ts'
import { Emitted, StreamsBuilder, TimeWindows, type Windowed } from './index.ts'
import { partitionFor } from './partitioner.ts'
import { TestBed } from './testing.ts'

// Windowed counts on random out-of-order input, checked against a direct model of the rules:
// per partition in offset order, stream time = max timestamp seen; a record joins each of its
// windows unless window end + grace ≤ stream time; on close, each window is emitted once.

let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-prop-')
})
afterEach(async () => {
  await bed.close()
})

function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface Rec {
  key: string
  t: number
}

function model(records: Rec[], partitions: number, windows: TimeWindows) {
  const counts = new Map<string, number>()
  const observed = new Map<number, number>()
  let late = 0
  for (const r of records) {
    const p = partitionFor(r.key, partitions)
    const st = Math.max(observed.get(p) ?? Number.NEGATIVE_INFINITY, r.t)
    observed.set(p, st)
    let dropped = 0
    for (const w of windows.windowsFor(r.t)) {
      if (w.end + windows.graceMs <= st) dropped++
      else counts.set(`${r.key}@${w.start}`, (counts.get(`${r.key}@${w.start}`) ?? 0) + 1)
    }
    if (dropped > 0) late++
  }
  const closed = [...counts]
    .filter(([k]) => {
      const [key, start] = k.split('@') as [string, string]
      const end = Number(start) + windows.sizeMs
      return end + windows.graceMs <= observed.get(partitionFor(key, partitions))!
    })
    .sort()
  return { counts: [...counts].sort(), closed, late }
}

describe.each([
  ['tumbling', TimeWindows.ofSizeAndGrace(60_000, 20_000)],
  ['hopping', TimeWindows.ofSizeAndGrace(60_000, 10_000).advanceBy(20_000)],
])('%s windows on random out-of-order input', (name, windows) => {
  it.each([1, 2, 3])('seed %i: store, final outputs and late count match the model', async (seed) => {
    const random = rng(seed)
    const partitions = 3
    const records: Rec[] = []
    let clock = 1_000_000
    for (let i = 0; i < 1500; i++) {
      clock += Math.floor(random() * 4_000)
      const jitter = random() < 0.2 ? Math.floor(random() * 90_000) : 0 // some very late
      records.push({ key: `S${Math.floor(random() * 7)}`, t: clock - jitter })
    }
    await bed.topic('in', partitions)
    await bed.produce(
      'in',
      records.map((r) => ({ key: r.key, value: { t: r.t }, timestamp: r.t })),
    )
    const app = `${name}-${seed}`
    const b = new StreamsBuilder()
    const counted = b
      .stream<{ t: number }>('in')
      .groupByKey()
      .windowedBy(windows)
      .emitStrategy(Emitted.onWindowClose({ idleCloseMs: 0 }))
      .count({ name: 'c' })
    counted
      .toStream()
      .map((wk: Windowed<string>, n: number) => [wk.key, `${wk.key}@${wk.window.start}=${n}`])
      .to('closed')
    const streams = await bed.start(b.build(), { applicationId: app })
    await streams.flush()

    const expected = model(records, partitions, windows)
    const store = (await streams.windowStore<number>('c').all()).map(
      (e) => [`${e.key}@${e.window.start}`, e.value] as [string, number],
    )
    // The store keeps every window still within retention (1 day here: all of them).
    expect(store.sort()).toEqual(expected.counts)
    const emitted = (await bed.values<string>('closed')).sort()
    expect(emitted).toEqual(expected.closed.map(([k, n]) => `${k}=${n}`).sort())
    expect(expected.late).toBeGreaterThan(0)
    const late = (await registry.getMetricsAsJSON())
      .find((m) => m.name === 'cs_engine_late_records_dropped_total')
      ?.values.filter((v) => v.labels.app === app)
      .reduce((a, v) => a + v.value, 0)
    expect(late).toBe(expected.late)
  })
})
