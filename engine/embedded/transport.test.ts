import { appendFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../test/tmpdirs.ts'
import { partitionFor } from '../partitioner.ts'
import type { ConsumedRecord, Consumer } from '../transport.ts'
import { EmbeddedTransport } from './transport.ts'

const tmp = tempDirs('cs-embedded-')

async function drain(c: Consumer, n: number): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for (let i = 0; i < 50 && out.length < n; i++) out.push(...(await c.poll(1000, 20)))
  return out
}

describe('embedded log', () => {
  it('partitions by murmur2 like Kafka and keeps per-partition order', async () => {
    const t = new EmbeddedTransport({ dir: tmp() })
    await t.createTopics([{ name: 'prices', partitions: 4 }])
    const p = t.producer()
    await p.send(
      Array.from({ length: 40 }, (_, i) => ({
        topic: 'prices',
        key: `k${i % 7}`,
        value: String(i),
        timestamp: i,
      })),
    )
    const c = await t.consumer({ groupId: 'g', topics: ['prices'] })
    const recs = await drain(c, 40)
    expect(recs).toHaveLength(40)
    for (const r of recs) expect(r.partition).toBe(partitionFor(r.key, 4))
    for (let k = 0; k < 7; k++) {
      const values = recs.filter((r) => r.key === `k${k}`).map((r) => Number(r.value))
      expect(values).toEqual([...values].sort((a, b) => a - b))
    }
    await t.close()
  })

  it('survives a reopen: records, offsets, headers, tombstones and committed positions', async () => {
    const dir = tmp()
    const t1 = new EmbeddedTransport({ dir })
    await t1.createTopics([{ name: 'a', partitions: 2 }])
    await t1.producer().send([
      { topic: 'a', key: 'x', value: '{"n":1}', timestamp: 10, partition: 1, headers: { h: 'é' } },
      { topic: 'a', key: 'x', value: null, timestamp: 11, partition: 1 },
      { topic: 'a', key: 'y', value: 'ü', timestamp: 12, partition: 0 },
    ])
    const c1 = await t1.consumer({ groupId: 'g1', topics: ['a'] })
    const got = await drain(c1, 3)
    expect(got).toHaveLength(3)
    await c1.commit([{ topic: 'a', partition: 1, offset: 1 }])
    await c1.close()
    await t1.close()

    const t2 = new EmbeddedTransport({ dir })
    expect(await t2.partitions('a')).toBe(2)
    expect(await t2.endOffset({ topic: 'a', partition: 1 })).toBe(2)
    const all: ConsumedRecord[] = []
    for await (const b of t2.read({ topic: 'a', partition: 1 }, 0)) all.push(...b)
    expect(all.map((r) => [r.offset, r.key, r.value, r.tombstone ?? false, r.timestamp])).toEqual([
      [0, 'x', '{"n":1}', false, 10],
      [1, 'x', '', true, 11],
    ])
    expect(all[0]!.headers).toEqual({ h: 'é' })
    const c2 = await t2.consumer({ groupId: 'g1', topics: ['a'] })
    expect(await c2.committed([{ topic: 'a', partition: 1 }])).toEqual(new Map([['a-1', 1]]))
    // Resumes after the committed position on partition 1, from the start on partition 0.
    const rest = await drain(c2, 2)
    expect(rest.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(['0:0', '1:1'])
    await t2.close()
  })

  it('truncates a torn tail left by a crash and appends after it', async () => {
    const dir = tmp()
    const t1 = new EmbeddedTransport({ dir })
    await t1.createTopics([{ name: 't', partitions: 1 }])
    await t1.producer().send([{ topic: 't', key: 'k', value: 'v1' }])
    await t1.close()
    const file = join(dir, 'topics', 't', '0.log')
    const good = statSync(file).size
    appendFileSync(file, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5])) // half a frame
    const t2 = new EmbeddedTransport({ dir })
    expect(await t2.endOffset({ topic: 't', partition: 0 })).toBe(1)
    expect(statSync(file).size).toBe(good)
    await t2.producer().send([{ topic: 't', key: 'k', value: 'v2' }])
    const all: ConsumedRecord[] = []
    for await (const b of t2.read({ topic: 't', partition: 0 }, 0)) all.push(...b)
    expect(all.map((r) => r.value)).toEqual(['v1', 'v2'])
    await t2.close()
  })

  it('serves two consumer groups independently and wakes a waiting poll', async () => {
    const t = new EmbeddedTransport({ dir: tmp() })
    await t.createTopics([{ name: 'x', partitions: 1 }])
    const a = await t.consumer({ groupId: 'a', topics: ['x'] })
    const b = await t.consumer({ groupId: 'b', topics: ['x'] })
    await expect(t.consumer({ groupId: 'a', topics: ['x'] })).rejects.toThrow(/already has a member/)
    const waiting = a.poll(10, 5000)
    await t.producer().send([{ topic: 'x', key: 'k', value: '1' }])
    expect((await waiting).map((r) => r.value)).toEqual(['1'])
    expect((await drain(b, 1)).map((r) => r.value)).toEqual(['1'])
    await a.commit([{ topic: 'x', partition: 0, offset: 1 }])
    expect((await b.committed([{ topic: 'x', partition: 0 }])).size).toBe(0)
    await t.close()
  })

  it('wakeup() ends a waiting poll at once, empty; records still come after it', async () => {
    const t = new EmbeddedTransport({ dir: tmp() })
    await t.createTopics([{ name: 'quiet', partitions: 1 }])
    const c = await t.consumer({ groupId: 'g', topics: ['quiet'] })
    const waiting = c.poll(100, 30_000) // without the wakeup, past the test's timeout
    setTimeout(() => c.wakeup?.(), 20)
    expect(await waiting).toEqual([])
    c.wakeup?.() // nobody waiting: the next poll that would wait returns at once
    expect(await c.poll(100, 30_000)).toEqual([])
    await t.producer().send([{ topic: 'quiet', key: 'k', value: 'v', timestamp: 1 }])
    expect((await drain(c, 1)).map((r) => r.value)).toEqual(['v'])
    await t.close()
  })

  it('assigns topics created after subscribing, calling onAssign first', async () => {
    const t = new EmbeddedTransport({ dir: tmp() })
    const assigned: string[] = []
    const c = await t.consumer({
      groupId: 'late',
      topics: ['later'],
      onAssign: async (tps) => {
        assigned.push(...tps.map((tp) => `${tp.topic}-${tp.partition}`))
      },
    })
    expect(await c.poll(10, 10)).toEqual([])
    await t.createTopics([{ name: 'later', partitions: 2 }])
    await t.producer().send([{ topic: 'later', key: 'k', value: 'v' }])
    const recs = await drain(c, 1)
    expect(assigned.sort()).toEqual(['later-0', 'later-1'])
    expect(recs).toHaveLength(1)
    await t.close()
  })

  it('compacts compacted topics on reopen: last record per key, offsets and positions unchanged', async () => {
    const dir = tmp()
    const t1 = new EmbeddedTransport({ dir })
    await t1.createTopics([
      { name: 'cl', partitions: 1, compacted: true },
      { name: 'plain', partitions: 1 },
    ])
    const p = t1.producer()
    const rounds = 30
    for (let r = 0; r < rounds; r++) {
      const batch = Array.from({ length: 1000 }, (_, k) => ({
        key: `k${k}`,
        value: k % 10 === 0 && r === rounds - 1 ? null : `${r}`,
      }))
      await p.send(batch.map((b) => ({ topic: 'cl', ...b })))
      if (r < 2) await p.send(batch.map((b) => ({ topic: 'plain', ...b })))
    }
    const c1 = await t1.consumer({ groupId: 'g', topics: ['cl'] })
    await c1.commit([{ topic: 'cl', partition: 0, offset: 29_500 }])
    await c1.close()
    await t1.close()

    const t2 = new EmbeddedTransport({ dir })
    await t2.cleaned() // the compaction on open runs in the background
    const tp = { topic: 'cl', partition: 0 }
    expect(await t2.endOffset(tp)).toBe(30_000)
    const all: ConsumedRecord[] = []
    for await (const b of t2.read(tp, 0)) all.push(...b)
    expect(all).toHaveLength(1000) // one per key, the last round (tombstones kept)
    expect(all.every((r) => r.offset >= 29_000)).toBe(true)
    expect(all.filter((r) => r.tombstone)).toHaveLength(100)
    expect(all.find((r) => r.key === 'k1')).toMatchObject({ offset: 29_001, value: '29' })
    // A committed position inside the compacted range still resumes at the right record.
    const c2 = await t2.consumer({ groupId: 'g', topics: ['cl'] })
    const rest = await drain(c2, 500)
    expect(rest[0]!.offset).toBe(29_500)
    expect(rest).toHaveLength(500)
    // Appends continue after the end offset; plain topics are never compacted.
    await t2.producer().send([{ topic: 'cl', key: 'k1', value: 'new' }])
    expect(await t2.endOffset(tp)).toBe(30_001)
    expect(await t2.endOffset({ topic: 'plain', partition: 0 })).toBe(2000)
    let plain = 0
    for await (const b of t2.read({ topic: 'plain', partition: 0 }, 0)) plain += b.length
    expect(plain).toBe(2000)
    await t2.close()
  })

  it('refuses a log directory another live process holds', async () => {
    const dir = tmp()
    const t = new EmbeddedTransport({ dir })
    await t.close()
    writeFileSync(join(dir, 'LOCK'), '1') // pid 1 is alive
    expect(() => new EmbeddedTransport({ dir })).toThrow(/open in process 1/)
    writeFileSync(join(dir, 'LOCK'), '999999999') // gone: taken over
    const again = new EmbeddedTransport({ dir })
    await again.close()
  })

  it('reads from any offset (sparse index), in bounded batches', async () => {
    const t = new EmbeddedTransport({ dir: tmp() })
    await t.createTopics([{ name: 's', partitions: 1 }])
    const p = t.producer()
    for (let b = 0; b < 10; b++)
      await p.send(Array.from({ length: 100 }, (_, i) => ({ topic: 's', key: 'k', value: `${b * 100 + i}` })))
    const tp = { topic: 's', partition: 0 }
    for (const from of [0, 31, 32, 33, 500, 999]) {
      const first = (await t.read(tp, from)[Symbol.asyncIterator]().next()).value as ConsumedRecord[]
      expect(first[0]).toMatchObject({ offset: from, value: String(from) })
      expect(first.at(-1)!.offset).toBe(999)
    }
    const c = await t.consumer({ groupId: 'g', topics: ['s'] })
    const batch = await c.poll(64, 0)
    expect(batch.map((r) => r.offset)).toEqual(Array.from({ length: 64 }, (_, i) => i))
    await t.close()
  })
})
