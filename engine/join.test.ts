import { rmSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry } from '../common/metrics.ts'
import { JoinWindows, StreamsBuilder } from './index.ts'
import { joinStoreNames } from './join.ts'
import { TestBed } from './testing.ts'

// Windowed stream-stream inner join on the embedded log: the semantics of Kafka Streams'
// KStream.join(other, joiner, JoinWindows.ofTimeDifferenceAndGrace(diff, grace)).

interface Ev {
  id: string
  t: number
}
const ev = (topic: 'left' | 'right', key: string, id: string, t: number) => ({
  topic,
  rec: { key, value: { id, t }, timestamp: t },
})

async function lateDropped(app: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'cs_engine_late_records_dropped_total')
  const vs = (m?.values ?? []) as { labels: Record<string, string>; value: number }[]
  return vs.filter((v) => v.labels.app === app).reduce((a, v) => a + v.value, 0)
}

let apps = 0
let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-join-')
})
afterEach(async () => {
  await bed.close()
})

function joinTopology(windows: JoinWindows, rekeyRight = false) {
  const b = new StreamsBuilder()
  const left = b.stream<Ev>('left', { timestamp: (v) => v.t })
  let right = b.stream<Ev>('right', { timestamp: (v) => v.t })
  if (rekeyRight) right = right.selectKey((k) => k.toLowerCase()).selectKey((k) => k.toUpperCase())
  left
    .join(right, (l, r, key) => ({ key, pair: `${l.id}+${r.id}` }), windows, { name: 'pairs' })
    .mapValues((v, _k) => v)
    .to('joined')
  return b.build()
}

/** Produces events one by one, in this order, to their topics (one partition each). */
async function run(events: ReturnType<typeof ev>[], windows: JoinWindows, rekeyRight = false) {
  await bed.topic('left')
  await bed.topic('right')
  // Both topics are read by one task; interleaving is by poll order, so produce in small steps
  // and let the engine catch up between them to fix the processing order.
  const app = `join-${apps++}`
  const streams = await bed.start(joinTopology(windows, rekeyRight), { applicationId: app })
  for (const e of events) {
    await bed.produce(e.topic, [e.rec])
    await streams.flush()
  }
  const out = await bed.values<{ key: string; pair: string }>('joined')
  const ts = (await bed.records('joined')).map((r) => r.timestamp)
  return { streams, app, out: out.map((o) => `${o.key}:${o.pair}`), ts }
}

describe('KStream.join with JoinWindows', () => {
  it('inner join within the window, both arrival orders, result time = max of the two', async () => {
    const { out, ts } = await run(
      [
        ev('left', 'A', 'a1', 10_000),
        ev('right', 'A', 'x1', 12_000), // 2 s after a1 → joins
        ev('right', 'B', 'y1', 12_500), // other key: never joins A
        ev('left', 'A', 'a2', 13_000), // joins x1 (1 s before)
        ev('right', 'A', 'x2', 14_000), // joins a1 (4 s) and a2 (1 s), oldest first
      ],
      JoinWindows.ofTimeDifferenceAndGrace(5_000, 1_000),
    )
    expect(out).toEqual(['A:a1+x1', 'A:a2+x1', 'A:a1+x2', 'A:a2+x2'])
    expect(ts).toEqual([12_000, 13_000, 14_000, 14_000])
  })

  it('records further apart than the window are not joined (window edges inclusive)', async () => {
    const { out } = await run(
      [
        ev('left', 'A', 'a1', 10_000),
        ev('right', 'A', 'x1', 15_000), // exactly 5 s after: joins
        ev('right', 'A', 'x2', 15_001), // 5.001 s after: no
        ev('right', 'A', 'x0', 4_999), // 5.001 s before: no (and in grace, not late)
        ev('right', 'A', 'x3', 5_000), // exactly 5 s before: joins
      ],
      JoinWindows.ofTimeDifferenceAndGrace(5_000, 60_000),
    )
    expect(out).toEqual(['A:a1+x1', 'A:a1+x3'])
  })

  it('asymmetric windows: before(0) joins only later records of the other side', async () => {
    const { out } = await run(
      [
        ev('left', 'A', 'a1', 10_000),
        ev('right', 'A', 'x0', 9_000), // before a1: outside [t, t + 5 s]
        ev('right', 'A', 'x1', 14_000),
      ],
      JoinWindows.ofTimeDifferenceAndGrace(5_000, 60_000).before(0),
    )
    expect(out).toEqual(['A:a1+x1'])
  })

  it('out-of-order records within grace are joined; later than window + grace are not', async () => {
    const w = JoinWindows.ofTimeDifferenceAndGrace(5_000, 10_000)
    const { out, app, streams } = await run(
      [
        ev('left', 'A', 'a1', 10_000),
        ev('right', 'A', 'z', 28_000), // stream time 28 s
        ev('right', 'A', 'x1', 14_000), // out of order: 14 + 5 + 10 = 29 ≥ 28 → in grace, joins a1
        ev('left', 'A', 'b', 40_000), // stream time 40 s
        ev('right', 'A', 'x2', 12_000), // 12 + 5 + 10 = 27 < 40 → late, not joined although a1 is 2 s away
        ev('left', 'A', 'a0', 11_000), // late as well (this side)
      ],
      w,
    )
    expect(out).toEqual(['A:a1+x1'])
    await streams.close() // late counts reach the registry at commit
    expect(await lateDropped(app)).toBe(2)
  })

  it('buffered state expires after window + grace (stores and changelogs stay bounded)', async () => {
    const w = JoinWindows.ofTimeDifferenceAndGrace(5_000, 10_000) // retention 20 s
    const { streams } = await run(
      [
        ev('left', 'A', 'a1', 10_000),
        ev('right', 'A', 'x1', 12_000),
        ev('left', 'A', 'a2', 29_000), // a1/x1 still needed: 29 - 20 = 9 < 10
      ],
      w,
    )
    const [thisStore, otherStore] = joinStoreNames('pairs')
    const stamps = async (name: string) =>
      (await streams.windowStore<[number, unknown][]>(name).all()).flatMap((e) => e.value.map((x) => x[0]))
    expect(await stamps(thisStore)).toEqual([10_000, 29_000])
    expect(await stamps(otherStore)).toEqual([12_000])
    await bed.produce('right', [ev('right', 'B', 'y', 60_000).rec]) // stream time 60 s: all of A expired
    await streams.flush()
    expect(await stamps(thisStore)).toEqual([])
    expect(await stamps(otherStore)).toEqual([60_000])
  })

  it('the buffers survive a restart with local state deleted (restored from their changelogs)', async () => {
    const w = JoinWindows.ofTimeDifferenceAndGrace(5_000, 1_000)
    const first = await run([ev('left', 'A', 'a1', 10_000)], w)
    await bed.stop(first.streams)
    rmSync(bed.stateDir, { recursive: true, force: true })
    const streams = await bed.start(joinTopology(w), { applicationId: first.app })
    await bed.produce('right', [ev('right', 'A', 'x1', 11_000).rec])
    await streams.flush()
    expect((await bed.values<{ pair: string }>('joined')).map((v) => v.pair)).toEqual(['a1+x1'])
  })

  it('repartitions a side whose key changed, then joins on the new key', async () => {
    const { out } = await run(
      [ev('left', 'A', 'a1', 10_000), ev('right', 'a', 'x1', 11_000)],
      JoinWindows.ofTimeDifferenceAndGrace(5_000, 0),
      true,
    )
    expect(out).toEqual(['A:a1+x1'])
    expect(
      joinTopology(JoinWindows.ofTimeDifferenceAndGrace(1, 0), true).describe('app').repartitionTopics,
    ).toEqual(['app-pairs-other-repartition'])
  })

  it('repartition: false keeps both sides in place (the caller vouches for the partitioning)', () => {
    const b = new StreamsBuilder()
    const left = b.stream<Ev>('left').selectKey((k) => k)
    const right = b.stream<Ev>('right')
    left
      .join(right, (l) => l, JoinWindows.ofTimeDifferenceWithNoGrace(1), { name: 'p', repartition: false })
      .to('out')
    const d = b.build().describe('app')
    expect(d.repartitionTopics).toEqual([])
    expect(d.changelogTopics).toEqual(['app-p-this-changelog', 'app-p-other-changelog'])
  })

  it('rejects negative or fractional windows', () => {
    expect(() => JoinWindows.ofTimeDifferenceAndGrace(-1, 0)).toThrow(/before must be an integer/)
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(5).after(0.5)).toThrow(/after must be an integer/)
  })
})
