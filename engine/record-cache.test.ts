import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Emitted, StreamsBuilder, TimeWindows, type Windowed } from './index.ts'
import type { ProcessorContext } from './processor.ts'
import { RecordCache } from './record-cache.ts'
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

describe('record cache: what goes out, in which order', () => {
  // Only forward and schedule are used by the cache.
  function cache(maxEntries?: number) {
    const out: string[] = []
    const ctx = {
      forward: (r: { key: string; value: string }) => out.push(`${r.key}${r.value}`),
      schedule: () => ({ cancel() {} }),
    } as unknown as ProcessorContext<string, string>
    const c = new RecordCache<string, string>(ctx, { maxEmitIntervalMs: 100, maxEntries })
    const put = (key: string, value: string) => c.put(key, { key, value, timestamp: 0 })
    return { c, out, put }
  }

  it('the latest of each key, in the order of their last updates', () => {
    const { c, out, put } = cache()
    put('A', '1')
    put('B', '1')
    put('A', '2')
    put('C', '1')
    put('B', '2')
    c.flush()
    expect(out).toEqual(['A2', 'C1', 'B2'])
    put('A', '3')
    put('A', '4')
    put('D', '1')
    c.flush()
    expect(out.slice(3)).toEqual(['A4', 'D1'])
  })

  it('over its bound the least recently updated go out first, the rest at the flush', () => {
    const { c, out, put } = cache(10)
    for (let i = 0; i < 10; i++) put(`K${i}`, '')
    put('K0', '!') // K0 is now the most recently updated
    put('K10', '')
    expect(out).toEqual(['K1'])
    c.flush()
    expect(out).toEqual(['K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'K7', 'K8', 'K9', 'K0!', 'K10'])
  })
})
