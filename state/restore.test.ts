import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry } from '../common/metrics.ts'
import { Emitted, StreamsBuilder, TimeWindows, type Windowed } from '../engine/index.ts'
import { TestBed } from '../engine/testing.ts'
import { LevelKeyValueStore } from './kv-store.ts'
import { restoreStore } from './restore.ts'
import { Stores } from './stores.ts'

const MIN = 60_000
let bed: TestBed
beforeEach(() => {
  bed = new TestBed('cs-restore-')
})
afterEach(async () => {
  await bed.close()
})

interface Tick {
  sym: string
  price: number
  t: number
}
const ticks = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => {
    const t = (from + i) * 7_000
    const sym = ['BTC', 'ETH', 'SOL', 'DOGE'][i % 4]!
    return { key: sym, value: { sym, price: from + i, t }, timestamp: t }
  })

// Last price per symbol (key-value store) and closed 1-minute counts (window store, final emission).
function topology() {
  const b = new StreamsBuilder()
  const s = b.stream<Tick>('ticks', { timestamp: (v) => v.t })
  s.groupByKey()
    .reduce((_a, v) => v, { name: 'last' })
    .toStream()
    .mapValues((v) => v.price)
    .to('last-prices')
  s.groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(MIN, 0))
    .emitStrategy(Emitted.onWindowClose({ idleCloseMs: 0 }))
    .count({ name: 'minute-counts' })
    .toStream()
    .map((wk: Windowed<string>, n: number) => [wk.key, { start: wk.window.start, n }])
    .to('minute-counts-out')
  return b.build()
}

async function snapshot(app: string) {
  const streams = await bed.start(topology(), { applicationId: app })
  await streams.flush()
  const kv = streams.keyValueStore<Tick>('last')
  const win = streams.windowStore<number>('minute-counts')
  const state = {
    last: await kv.all(),
    windows: await win.all(),
    outputs: await bed.records('minute-counts-out'),
  }
  return { streams, state }
}

async function restoredRecords(store: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'cs_state_restore_records_total')
  const vals = (m?.values ?? []) as { labels: Record<string, string>; value: number }[]
  return vals.filter((v) => v.labels.store === store).reduce((a, v) => a + v.value, 0)
}

describe('state restore', () => {
  it('rebuilds stores from the changelog when the local state dir is gone; queries and outputs unchanged', async () => {
    await bed.topic('ticks', 2)
    await bed.produce('ticks', ticks(0, 200))
    const first = await snapshot('r1')
    expect(first.state.last).toHaveLength(4)
    expect(first.state.windows.length).toBeGreaterThan(20)
    await bed.stop(first.streams)

    rmSync(bed.stateDir, { recursive: true, force: true })
    await bed.reopen() // the log itself comes back from disk too
    const before = await restoredRecords('minute-counts')
    const second = await snapshot('r1')
    expect(second.state).toEqual(first.state) // no re-emission of closed windows either
    expect(await restoredRecords('minute-counts')).toBeGreaterThan(before)

    // Processing continues from the restored state.
    await bed.produce('ticks', ticks(200, 40))
    await second.streams.flush()
    const btc = await second.streams.keyValueStore<Tick>('last').get('BTC')
    expect(btc?.price).toBe(236)
    const counts = await second.streams.windowStore<number>('minute-counts').range('BTC', 0, 1e12)
    const total = counts.reduce((a, e) => a + e.value, 0)
    expect(total).toBe(60) // 240 ticks / 4 symbols, none lost or double counted
  })

  it('restores from the local checkpoint plus the changelog tail', async () => {
    await bed.topic('ticks', 1)
    await bed.produce('ticks', ticks(0, 100))
    const first = await snapshot('r2')
    await bed.stop(first.streams)
    const snap = join(bed.dir, 'snap')
    cpSync(bed.stateDir, snap, { recursive: true }) // local state as of run 1
    const checkpointFile = join(bed.stateDir, 'r2', '0_0', '.checkpoint')
    const cp1 = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Record<string, number>

    await bed.produce('ticks', ticks(100, 100))
    const second = await snapshot('r2')
    await bed.stop(second.streams)
    const cp2 = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Record<string, number>
    expect(cp2.last!).toBeGreaterThan(cp1.last!)

    // Put run 1's local state back: the restore must replay only the changelog tail.
    rmSync(bed.stateDir, { recursive: true, force: true })
    cpSync(snap, bed.stateDir, { recursive: true })
    const before = await restoredRecords('last')
    const third = await snapshot('r2')
    expect(await restoredRecords('last')).toBe(before + (cp2.last! - cp1.last!))
    expect(third.state).toEqual(second.state)
  })

  it('restores a store in full when its directory is lost but the task checkpoint survives', async () => {
    await bed.topic('ticks', 1)
    const prices = Array.from({ length: 50 }, (_, i) => ({
      key: `S${i}`,
      value: { sym: `S${i}`, price: i, t: i * 1000 },
      timestamp: i * 1000,
    }))
    await bed.produce('ticks', prices)
    const first = await snapshot('r5')
    expect(first.state.last).toHaveLength(50)
    await bed.stop(first.streams)
    // The store directory goes (a disk swap, an operator, a bad volume); the task's `.checkpoint` stays.
    rmSync(join(bed.stateDir, 'r5', '0_0', 'last'), { recursive: true, force: true })
    const before = await restoredRecords('last')
    const second = await snapshot('r5')
    expect(second.state.last).toEqual(first.state.last)
    expect(await restoredRecords('last')).toBe(before + 50)
  })

  it('treats a checkpoint beyond the changelog end as stale and restores in full', async () => {
    await bed.topic('ticks', 1)
    await bed.produce('ticks', ticks(0, 40))
    const first = await snapshot('r3')
    await bed.stop(first.streams)
    const checkpointFile = join(bed.stateDir, 'r3', '0_0', '.checkpoint')
    const cp = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Record<string, number>
    // The store's own checkpoint (in its LevelDB) claims more than the changelog holds.
    const db = new ClassicLevel(join(bed.stateDir, 'r3', '0_0', 'last'))
    expect(await db.get('\u0001checkpoint')).toBe(String(cp.last))
    await db.put('\u0001checkpoint', String(cp.last! + 1000))
    await db.close()
    const before = await restoredRecords('last')
    const second = await snapshot('r3')
    expect(await restoredRecords('last')).toBe(before + cp.last!)
    expect(second.state).toEqual(first.state)
  })

  it('after a crash before commit, uncommitted input is processed again: nothing lost, nothing counted twice', async () => {
    await bed.topic('ticks', 1)
    await bed.produce('ticks', ticks(0, 40))
    let seen = 0
    const build = () => {
      const b = new StreamsBuilder()
      b.stream<Tick>('ticks', { timestamp: (v) => v.t })
        .peek(() => {
          seen++
        })
        .groupByKey()
        .count({ name: 'n' })
        .toStream()
        .to('n-out')
      return b.build()
    }
    const first = await bed.start(build(), { applicationId: 'crash', commitIntervalMs: 3_600_000 })
    await first.flush() // commits the first 40
    await bed.produce('ticks', ticks(40, 40))
    for (let i = 0; i < 200 && seen < 80; i++) await new Promise((r) => setTimeout(r, 10))
    expect(seen).toBe(80)
    expect(await first.keyValueStore<number>('n').get('BTC')).toBe(20) // staged, not committed
    await first.abandon()

    const second = await bed.start(build(), { applicationId: 'crash' })
    await second.flush()
    expect(seen).toBe(120) // the 40 uncommitted records were processed again
    const n = second.keyValueStore<number>('n')
    for (const sym of ['BTC', 'ETH', 'SOL', 'DOGE']) expect(await n.get(sym)).toBe(20)
    // Outputs: every record's update once (the lost buffer was never written).
    const out = await bed.records('n-out')
    expect(out).toHaveLength(80)
  })

  it('a store created now with an empty changelog is used as created (no wipe: no delete, recreate and fsyncs)', async () => {
    await bed.topic('cs-restore-fresh-changelog', 1)
    const dir = join(bed.dir, 'fresh-store')
    const store = new LevelKeyValueStore(Stores.keyValue<number>('fresh'), dir)
    await store.open()
    writeFileSync(join(dir, 'marker'), '') // gone if the directory is deleted and recreated
    const r = await restoreStore(
      store,
      bed.transport,
      { topic: 'cs-restore-fresh-changelog', partition: 0 },
      undefined,
      {
        timeoutMs: 10_000,
      },
    )
    expect(r).toMatchObject({ offset: 0, records: 0, mode: 'full' })
    expect(existsSync(join(dir, 'marker'))).toBe(true)
    expect(store.storedCheckpoint()).toBe(0)
    await store.close()
  })
})
