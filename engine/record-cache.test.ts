import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Emitted, StreamsBuilder, TimeWindows, type Windowed } from './index.ts'
import { TestBed } from './testing.ts'

// Emitted.onUpdate({ maxEmitIntervalMs }): a burst of updates to few windows comes out as the
// latest per window (before the commit), in the order of their last updates; the plain onUpdate
// run emits every change. The latest value per window is the same.

let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-cache-')
})
afterEach(async () => {
  await bed.close()
})

interface Out {
  key: string
  start: number
  n: number
}

async function count(app: string, emit: ReturnType<typeof Emitted.onUpdate>): Promise<Out[]> {
  const b = new StreamsBuilder()
  b.stream<{ t: number }>('ticks', { timestamp: (v) => v.t })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 60_000))
    .emitStrategy(emit)
    .count({ name: `${app}-counts` })
    .toStream()
    .map((wk: Windowed<string>, n: number) => [wk.key, { key: wk.key, start: wk.window.start, n }])
    .to(`${app}-out`)
  const streams = await bed.start(b.build(), { applicationId: app })
  await streams.flush()
  await streams.close()
  return bed.values<Out>(`${app}-out`)
}

describe('record cache: onUpdate with a maximum emit interval', () => {
  it('emits the latest count per window once per burst; the same final counts as every update', async () => {
    await bed.topic('ticks')
    // 3 keys × 3 minutes × 100 records, in time order
    const ticks = Array.from({ length: 900 }, (_, i) => {
      const t = Math.floor(i / 300) * 60_000 + (i % 300) * 100
      return { key: `K${i % 3}`, value: { t }, timestamp: t }
    })
    await bed.produce('ticks', ticks)
    const every = await count('every', Emitted.onUpdate())
    const cached = await count('cached', Emitted.onUpdate({ maxEmitIntervalMs: 60_000 }))
    expect(every).toHaveLength(900)
    const latest = (xs: Out[]) => new Map(xs.map((x) => [`${x.key}|${x.start}`, x.n]))
    expect(latest(cached)).toEqual(latest(every))
    expect(cached.length).toBeLessThan(100)
    // one record per window unless a commit fell inside the burst; last updates in order
    const lastOrder = (xs: Out[]) => [...new Set(xs.map((x) => `${x.key}|${x.start}`).reverse())].reverse()
    expect(lastOrder(cached)).toEqual(lastOrder(every))
  })
})
