import { appendFileSync, fdatasync, statSync, truncateSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../test/tmpdirs.ts'
import type { ConsumedRecord, TopicPartition } from '../transport.ts'
import { encodeFrames } from './codec.ts'
import type { LogIO } from './io.ts'
import { EmbeddedTransport } from './transport.ts'

const tmp = tempDirs('cs-faults-')
const tp: TopicPartition = { topic: 'f', partition: 0 }

/** Records of equal size: `{"n":"<4 digits>"}`. */
const batch = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    topic: 'f',
    key: 'k',
    value: `{"n":"${String(from + i).padStart(4, '0')}"}`,
    timestamp: 1_700_000_000_000,
  }))
const FRAME = encodeFrames([{ key: 'k', value: '{"n":"0000"}', timestamp: 0 }], 0).buf.length

/** A disk that fills up: the armed write stores `allow` bytes of its buffer, then fails with ENOSPC. */
function fullDisk(): { io: Partial<LogIO>; failAfter(bytes: number): void } {
  let allow: number | undefined
  return {
    failAfter(bytes) {
      allow = bytes
    },
    io: {
      write(fd, buf, offset, length, position) {
        if (allow === undefined) return writeSync(fd, buf, offset, length, position)
        const n = Math.min(allow, length)
        allow = undefined
        if (n > 0) writeSync(fd, buf, offset, n, position)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      },
    },
  }
}

async function readAll(t: EmbeddedTransport): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for await (const b of t.read(tp, 0)) out.push(...b)
  return out
}
const ns = (rs: ConsumedRecord[]) => rs.map((r) => Number((JSON.parse(r.value) as { n: string }).n))
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

describe('embedded log under write faults', () => {
  // Half a frame, and exactly two whole frames (a tear on a frame boundary).
  for (const [name, torn] of [
    ['mid-frame', FRAME * 2 + 7],
    ['on a frame boundary', FRAME * 2],
  ] as const)
    it(`a write that fails ${name} (ENOSPC) fails its send; live reads and a reopen see exactly the acknowledged batches`, async () => {
      const dir = tmp()
      const disk = fullDisk()
      const t1 = new EmbeddedTransport({ dir, io: disk.io })
      await t1.createTopics([{ name: 'f', partitions: 1 }])
      const p = t1.producer()
      await p.send(batch(0, 10))
      disk.failAfter(torn)
      await expect(p.send(batch(100, 5))).rejects.toMatchObject({ code: 'ENOSPC' })
      await p.send(batch(10, 10)) // acknowledged after the failure
      const live = await readAll(t1)
      expect(live.map((r) => r.offset)).toEqual(range(0, 20))
      expect(ns(live)).toEqual(range(0, 20))
      expect(await t1.endOffset(tp)).toBe(20)
      await t1.close()

      const t2 = new EmbeddedTransport({ dir })
      const after = await readAll(t2)
      expect(after.map((r) => r.offset)).toEqual(range(0, 20))
      expect(ns(after)).toEqual(range(0, 20))
      await t2.producer().send(batch(20, 5))
      expect(ns(await readAll(t2))).toEqual(range(0, 25))
      await t2.close()
    })
})

describe('embedded log partition offline', () => {
  it('an fdatasync that fails (EIO) fails its send and takes the partition offline until a reopen', async () => {
    const dir = tmp()
    let failSync = false
    const io: Partial<LogIO> = {
      fdatasync: (fd) =>
        failSync
          ? Promise.reject(
              Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fsync' }),
            )
          : new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    }
    const t1 = new EmbeddedTransport({ dir, io })
    await t1.createTopics([{ name: 'f', partitions: 1 }])
    const p = t1.producer()
    await p.send(batch(0, 10))
    failSync = true
    await expect(p.send(batch(10, 5))).rejects.toMatchObject({ code: 'EIO' })
    failSync = false
    await expect(p.send(batch(15, 5))).rejects.toMatchObject({ code: 'ENGINE_EMBEDDED_OFFLINE' })
    expect(ns(await readAll(t1))).toEqual(range(0, 10)) // durable records stay readable
    expect(await t1.endOffset(tp)).toBe(10)
    await t1.close()

    // The reopen verifies the tail: what the failed sync left is either whole or cut off.
    const t2 = new EmbeddedTransport({ dir })
    const after = ns(await readAll(t2))
    expect([range(0, 10), range(0, 15)]).toContainEqual(after)
    await t2.producer().send(batch(after.length, 5))
    expect(ns(await readAll(t2))).toEqual(range(0, after.length + 5))
    await t2.close()
  })

  it('a failed write whose cut also fails takes the partition offline; a reopen drops the torn frame', async () => {
    const dir = tmp()
    const disk = fullDisk()
    const t1 = new EmbeddedTransport({
      dir,
      io: {
        ...disk.io,
        truncate() {
          throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' })
        },
      },
    })
    await t1.createTopics([{ name: 'f', partitions: 1 }])
    const p = t1.producer()
    await p.send(batch(0, 10))
    disk.failAfter(FRAME + 5)
    await expect(p.send(batch(10, 5))).rejects.toMatchObject({ name: 'SegmentTornError' })
    await expect(p.send(batch(10, 5))).rejects.toMatchObject({ code: 'ENGINE_EMBEDDED_OFFLINE' })
    expect(ns(await readAll(t1))).toEqual(range(0, 10))
    await t1.close()
    const t2 = new EmbeddedTransport({ dir })
    await t2.producer().send(batch(10, 5))
    // The failed send's one whole frame may survive (never acknowledged), then the next send's.
    const after = ns(await readAll(t2))
    expect(after.slice(0, 10)).toEqual(range(0, 10))
    expect(after.slice(-5)).toEqual(range(10, 15))
    expect((await readAll(t2)).map((r) => r.offset)).toEqual(range(0, after.length))
    await t2.close()
  })
})

describe('embedded log open after a crash', () => {
  it("a crash that loses an aborted transaction's unsynced records does not hide the records that later take its offsets", async () => {
    const dir = tmp()
    let writes = 0
    let failAt = -1
    const io: Partial<LogIO> = {
      write(fd, buf, offset, length, position) {
        if (++writes === failAt)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        return writeSync(fd, buf, offset, length, position)
      },
    }
    const t1 = new EmbeddedTransport({ dir, io })
    await t1.createTopics([
      { name: 'f', partitions: 1 },
      { name: 'g', partitions: 1 },
    ])
    const c = await t1.consumer({ groupId: 'app', topics: [] })
    const txn = t1.transactionalProducer('app-0')
    await txn.commit(batch(0, 10), c, [])
    const file = join(dir, 'topics', 'f', '0.log')
    const synced = statSync(file).size
    failAt = writes + 2 // its append to 'f' works, the one to 'g' fails: the transaction aborts
    await expect(
      txn.commit([...batch(10, 5), { topic: 'g', key: 'x', value: 'y' }], c, []),
    ).rejects.toMatchObject({
      code: 'ENOSPC',
    })
    await t1.close()
    // A power loss: the aborted records never reached the disk (they were never fsynced).
    truncateSync(file, synced)
    const t2 = new EmbeddedTransport({ dir })
    expect(await t2.endOffset(tp)).toBe(10)
    await t2.producer().send(batch(10, 5)) // takes offsets 10..14 again
    expect(ns(await readAll(t2))).toEqual(range(0, 15))
    await t2.close()
  })

  it('truncates a tail frame whose checksum does not match (complete length, torn payload)', async () => {
    const dir = tmp()
    const t1 = new EmbeddedTransport({ dir })
    await t1.createTopics([{ name: 'f', partitions: 1 }])
    await t1.producer().send(batch(0, 10))
    await t1.close()
    const file = join(dir, 'topics', 'f', '0.log')
    const good = statSync(file).size
    const bad = encodeFrames(batch(10, 1), 10).buf
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0xff // a sector that never reached the disk
    appendFileSync(file, bad)
    const t2 = new EmbeddedTransport({ dir })
    expect(statSync(file).size).toBe(good)
    expect(await t2.endOffset(tp)).toBe(10)
    await t2.producer().send(batch(10, 5))
    expect(ns(await readAll(t2))).toEqual(range(0, 15))
    await t2.close()
  })
})
