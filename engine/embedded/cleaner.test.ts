import { copyFileSync, fdatasync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../test/tmpdirs.ts'
import type { ConsumedRecord, TopicPartition } from '../transport.ts'
import { type EmbeddedOptions, EmbeddedTransport } from './transport.ts'

const tmp = tempDirs('cs-cleaner-')

const tp: TopicPartition = { topic: 'cl', partition: 0 }
const T0 = Date.UTC(2024, 0, 1)
const SEG = 4096
const open = (dir: string, more: Partial<EmbeddedOptions> = {}) =>
  new EmbeddedTransport({ dir, compactedSegmentBytes: SEG, deleteRetentionMs: -1, ...more })

/** Last value per key (null: deleted), as the log must keep it. */
type Model = Map<string, string | null>

/** Seeded updates of `keys` keys (every 13th a delete), in batches of 10, one second apart. */
async function write(t: EmbeddedTransport, model: Model, n: number, keys: number, from = 0): Promise<void> {
  const p = t.producer()
  let seed = 7 + from
  const rnd = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed
  }
  for (let i = from; i < from + n; i += 10) {
    const batch = Array.from({ length: Math.min(10, from + n - i) }, (_, j) => {
      const key = `k${rnd() % keys}`
      const value = rnd() % 13 === 0 ? null : `{"i":${i + j},"pad":"${'x'.repeat(40)}"}`
      model.set(key, value)
      return { topic: 'cl', key, value, timestamp: T0 + (i + j) * 1000 }
    })
    await p.send(batch)
  }
}

async function readAll(t: EmbeddedTransport, from = 0): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for await (const b of t.read(tp, from)) out.push(...b)
  return out
}

/** Replays records in order into last value per key, like a restore does. */
function replay(records: ConsumedRecord[], into: Model = new Map()): Model {
  for (const r of records) into.set(r.key, r.tombstone ? null : r.value)
  return into
}

const files = (dir: string) => readdirSync(join(dir, 'topics', 'cl')).filter((f) => f.startsWith('0.'))
const logBytes = (dir: string) =>
  files(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((s, f) => s + statSync(join(dir, 'topics', 'cl', f)).size, 0)
const increasing = (rs: ConsumedRecord[]) => rs.every((r, i) => i === 0 || r.offset > rs[i - 1]!.offset)

describe('embedded log cleaner (compacted topics)', () => {
  it('keeps a compacted topic bounded while running, with the last record per key', async () => {
    const dir = tmp()
    const t = open(dir)
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const model: Model = new Map()
    let maxBytes = 0
    for (let round = 0; round < 40; round++) {
      await write(t, model, 500, 20, round * 500)
      await t.cleaned() // the cleaner runs beside the sends; the bound holds once it caught up
      maxBytes = Math.max(maxBytes, logBytes(dir))
    }
    // 20 000 records (~1.4 MB) of 20 keys (~1.4 KB live): cleaned part + dirty part + active segment.
    expect(maxBytes).toBeLessThan(4 * SEG)
    expect(files(dir).filter((f) => f.endsWith('.log')).length).toBeLessThanOrEqual(4)
    expect(await t.endOffset(tp)).toBe(20_000)
    const all = await readAll(t)
    expect(increasing(all)).toBe(true)
    expect(all.length).toBeLessThan(200)
    const got = replay(all)
    expect(got).toEqual(model) // deletes included: tombstones are kept (no delete retention here)
    // Every key once in the cleaned part, at most a few times in the dirty part and active segment.
    const start = await t.startOffset(tp)
    expect(all[0]!.offset).toBe(start)
    await t.close()
  })

  it('lets a consumer reading during cleans miss no latest value and never go back', async () => {
    const t = open(tmp())
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const model: Model = new Map()
    await write(t, model, 2000, 30)
    const c = await t.consumer({ groupId: 'slow', topics: ['cl'] })
    const seen: ConsumedRecord[] = []
    for (let round = 0; round < 30; round++) {
      seen.push(...(await c.poll(37, 0))) // a few records per round, cleans in between
      await write(t, model, 200, 30, 2000 + round * 200)
    }
    for (let i = 0; i < 200; i++) {
      const b = await c.poll(1000, 0)
      if (b.length === 0) break
      seen.push(...b)
    }
    expect(increasing(seen)).toBe(true)
    expect(seen.at(-1)!.offset).toBe(7999)
    expect(replay(seen)).toEqual(model)
    await t.close()
  })

  it('lets read() (a restore) continue across cleans; catching up from where it stopped gives every latest value', async () => {
    const t = open(tmp())
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const p = t.producer()
    const model: Model = new Map()
    const send = async (from: number, to: number, round: number) => {
      for (let i = from; i < to; i += 100) {
        const batch = Array.from({ length: 100 }, (_, j) => ({ key: `k${i + j}`, value: `${round}` }))
        for (const r of batch) model.set(r.key, r.value)
        await p.send(batch.map((r) => ({ topic: 'cl', ...r, timestamp: T0 })))
      }
    }
    await send(0, 15_000, 0)
    const reader = t.read(tp, 0)[Symbol.asyncIterator]()
    const first = (await reader.next()).value as ConsumedRecord[] // read() yields 10 000 at a time
    expect(first).toHaveLength(10_000)
    const seen = [...first]
    await send(0, 15_000, 1) // supersedes everything: cleans remove what the reader has not read yet
    await send(0, 15_000, 2)
    for (let r = await reader.next(); !r.done; r = await reader.next()) seen.push(...r.value)
    expect(increasing(seen)).toBe(true)
    expect(seen.length).toBeLessThan(15_000) // the rest of its range was cleaned away meanwhile
    const stop = seen.at(-1)!.offset + 1
    seen.push(...(await readAll(t, stop)))
    expect(increasing(seen)).toBe(true)
    expect(replay(seen)).toEqual(model)
    await t.close()
  })

  it('keeps content and end offset over a reopen, also when the last records were superseded', async () => {
    const dir = tmp()
    const t1 = open(dir)
    await t1.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const model: Model = new Map()
    await write(t1, model, 3000, 10)
    const before = await readAll(t1)
    await t1.close()
    const t2 = open(dir)
    expect(await t2.endOffset(tp)).toBe(3000)
    expect(replay(await readAll(t2))).toEqual(model)
    // Reopen cleans what is dirty (rolling the active segment): an empty active segment, then
    // appends continue after the end offset.
    const after = await readAll(t2)
    expect(after.length).toBeLessThanOrEqual(before.length)
    await t2.producer().send([{ topic: 'cl', key: 'k1', value: 'new', timestamp: T0 }])
    model.set('k1', 'new')
    expect(await t2.endOffset(tp)).toBe(3001)
    await t2.close()
    const t3 = open(dir)
    expect(await t3.endOffset(tp)).toBe(3001)
    expect(replay(await readAll(t3))).toEqual(model)
    await t3.close()
  })

  it('opens logs left by a crash during a clean: before its rename, and before the old segments went', async () => {
    const dir = tmp()
    const tdir = join(dir, 'topics', 'cl')
    const t1 = open(dir, { compactedSegmentBytes: 1 << 20 }) // no clean while writing
    await t1.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const model: Model = new Map()
    await write(t1, model, 1000, 10)
    await t1.close()
    // Crash before the rename: a half-written temp file.
    writeFileSync(join(tdir, '0.log.cleaning'), 'torn')
    const t2 = open(dir)
    expect(files(dir)).not.toContain('0.log.cleaning')
    expect(await t2.endOffset(tp)).toBe(1000)
    expect(replay(await readAll(t2))).toEqual(model)
    await write(t2, model, 1000, 10, 1000) // rolls: several closed segments
    await t2.close()

    // Crash after the rename, before the old segments were deleted (and before the hint was
    // written): the segments the clean replaced are still there.
    const segs = files(dir).filter((f) => f.endsWith('.log'))
    for (const f of segs) copyFileSync(join(tdir, f), join(dir, `saved-${f}`))
    const t3 = open(dir) // cleans on open
    await t3.cleaned()
    const cleaned = await readAll(t3)
    await t3.close()
    const gone = segs.filter((f) => !files(dir).includes(f))
    expect(gone.length).toBeGreaterThan(0)
    for (const f of gone) copyFileSync(join(dir, `saved-${f}`), join(tdir, f))
    rmSync(join(tdir, '0.log.compaction.json'), { force: true })
    const t4 = open(dir)
    expect(await t4.endOffset(tp)).toBe(2000)
    const all = await readAll(t4)
    expect(increasing(all)).toBe(true)
    expect(all.length).toBeLessThanOrEqual(cleaned.length)
    expect(replay(all)).toEqual(model)
    for (const f of gone) expect(files(dir)).not.toContain(f)
    await write(t4, model, 100, 10, 2000)
    expect(replay(await readAll(t4))).toEqual(model)
    await t4.close()
  })

  it('drops a tombstone once cleaned and older than the delete retention (record time)', async () => {
    const dir = tmp()
    const t = open(dir, { deleteRetentionMs: 60_000 })
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const p = t.producer()
    await p.send([
      { topic: 'cl', key: 'gone', value: 'v', timestamp: T0 },
      { topic: 'cl', key: 'gone', value: null, timestamp: T0 + 1000 },
    ])
    const model: Model = new Map()
    await write(t, model, 50, 5, 2) // within a minute: the tombstone stays
    await p.send([{ topic: 'cl', key: 'fill', value: 'x'.repeat(SEG), timestamp: T0 + 20_000 }]) // roll, clean
    await p.send([{ topic: 'cl', key: 'fill', value: 'x'.repeat(SEG), timestamp: T0 + 21_000 }])
    await t.cleaned()
    expect((await readAll(t)).filter((r) => r.key === 'gone')).toMatchObject([{ tombstone: true }])
    // Two minutes of record time later, the next cleans drop it (its key had nothing older left).
    for (let i = 0; i < 4; i++)
      await p.send([{ topic: 'cl', key: 'fill', value: 'x'.repeat(SEG), timestamp: T0 + 180_000 + i }])
    await t.cleaned()
    const all = await readAll(t)
    expect(all.filter((r) => r.key === 'gone')).toEqual([])
    // Other keys' deletes younger than the retention stay readable.
    await p.send([{ topic: 'cl', key: 'k1', value: null, timestamp: T0 + 180_010 }])
    for (let i = 0; i < 3; i++)
      await p.send([{ topic: 'cl', key: 'fill', value: 'x'.repeat(SEG), timestamp: T0 + 180_020 + i }])
    await t.cleaned()
    expect((await readAll(t)).filter((r) => r.key === 'k1')).toMatchObject([{ tombstone: true }])
    await t.close()
  })

  it('cleans in the background: sends that roll return while a clean runs, the log stays readable and writable, the swap keeps every latest value', async () => {
    // The cleaner's output writes wait at a gate the test opens: a clean in progress, held.
    let entered!: () => void
    const cleaning = new Promise<void>((resolve) => {
      entered = resolve
    })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const io = {
      async writeAsync(fd: number, buf: Buffer, offset: number, length: number, position: number) {
        entered()
        await gate
        return writeSync(fd, buf, offset, length, position)
      },
    }
    const t = open(tmp(), { io })
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const model: Model = new Map()
    // Rolls start a clean; the sends do not wait for it.
    const first = await Promise.race([
      cleaning.then(() => 'a clean is running'),
      write(t, model, 300, 20).then(() => 'sends done, no clean running'),
    ])
    expect(first).toBe('a clean is running')
    await write(t, model, 600, 20, 300) // more rolls while the clean is held
    expect(await t.endOffset(tp)).toBe(900)
    const during = await readAll(t)
    expect(increasing(during)).toBe(true)
    expect(replay(during)).toEqual(model)
    const c = await t.consumer({ groupId: 'g', topics: ['cl'] })
    expect((await c.poll(2000, 0)).length).toBe(during.length)
    release()
    await t.cleaned()
    const after = await readAll(t)
    expect(increasing(after)).toBe(true)
    expect(replay(after)).toEqual(model)
    expect(after.length).toBeLessThan(during.length)
    await write(t, model, 100, 20, 900)
    // The consumer goes on after the swaps from where it was.
    const more = await c.poll(2000, 0)
    expect(more[0]!.offset).toBeGreaterThanOrEqual(900)
    expect(increasing(more)).toBe(true)
    expect(replay(more, replay(during))).toEqual(model)
    expect(replay(await readAll(t))).toEqual(model)
    await t.close()
  })

  it('transactions: a write of an aborted transaction never hides the committed value of its key', async () => {
    let writes = 0
    let failAt = -1
    const io = {
      write(fd: number, buf: Buffer, offset: number, length: number, position: number) {
        if (++writes === failAt)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        return writeSync(fd, buf, offset, length, position)
      },
    }
    const t = open(tmp(), { io })
    await t.createTopics([
      { name: 'cl', partitions: 1, compacted: true },
      { name: 'out', partitions: 1 },
    ])
    const c = await t.consumer({ groupId: 'app', topics: [] })
    const txn = t.transactionalProducer('app-0')
    await txn.commit([{ topic: 'cl', key: 'k', value: 'committed' }], c, [])
    failAt = writes + 2 // the transaction's second append (to 'out') fails: it aborts
    await expect(
      txn.commit(
        [
          { topic: 'cl', key: 'k', value: 'aborted' },
          { topic: 'out', key: 'x', value: 'y' },
        ],
        c,
        [],
      ),
    ).rejects.toMatchObject({ code: 'ENOSPC' })
    // Rolls and cleans over both records of k.
    const p = t.producer()
    for (let i = 0; i < 60; i++)
      await p.send([{ topic: 'cl', key: `f${i % 5}`, value: 'x'.repeat(400), timestamp: T0 }])
    await t.cleaned()
    const all = await readAll(t)
    expect(all.length).toBeLessThan(30) // cleaned
    expect(all.filter((r) => r.key === 'k').map((r) => r.value)).toEqual(['committed'])
  })

  it('transactions: nothing at or above an open transaction is cleaned, so its abort leaves the committed value', async () => {
    // fdatasync of the transaction waits at a gate; then it fails (the transaction aborts).
    let hold: Promise<void> | undefined
    let fail!: () => void
    const io = {
      fdatasync(fd: number): Promise<void> {
        if (hold) {
          const held = hold
          hold = undefined
          return held.then(() => {
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fsync' })
          })
        }
        return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))
      },
    }
    const dir = tmp()
    const t = open(dir, { io })
    await t.createTopics([{ name: 'cl', partitions: 1, compacted: true }])
    const c = await t.consumer({ groupId: 'app', topics: [] })
    const txn = t.transactionalProducer('app-0')
    await txn.commit([{ topic: 'cl', key: 'k', value: 'committed' }], c, [])
    const p = t.producer()
    for (let i = 0; i < 20; i++)
      await p.send([{ topic: 'cl', key: `f${i % 5}`, value: 'x'.repeat(400), timestamp: T0 }])
    hold = new Promise<void>((resolve) => {
      fail = resolve
    })
    const open1 = txn.commit([{ topic: 'cl', key: 'k', value: 'aborted' }], c, []).then(
      () => 'committed',
      () => 'aborted',
    )
    // Appends (and rolls, and cleans) go on while the transaction is open; their syncs wait for it.
    const fills = Array.from({ length: 40 }, (_, i) =>
      p.send([{ topic: 'cl', key: `f${i % 5}`, value: 'x'.repeat(400), timestamp: T0 }]).catch(() => {}),
    )
    await t.cleaned()
    fail()
    expect(await open1).toBe('aborted')
    await Promise.all(fills)
    await t.close()
    const t2 = open(dir)
    await t2.cleaned()
    expect((await readAll(t2)).filter((r) => r.key === 'k').map((r) => r.value)).toEqual(['committed'])
    await t2.close()
  })
})
