import { appendFileSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { registry } from '../../common/metrics.ts'
import { tempDirs } from '../../test/tmpdirs.ts'
import type { ConsumedRecord, Consumer, TopicPartition } from '../transport.ts'
import { type EmbeddedOptions, EmbeddedTransport } from './transport.ts'

const tmp = tempDirs('cs-segments-')

const tp: TopicPartition = { topic: 't', partition: 0 }
const T2024 = Date.UTC(2024, 0, 1)
const T2022 = Date.UTC(2022, 0, 1)
/** Small segments, no retention unless a test sets it. */
const small = (dir: string, more: Partial<EmbeddedOptions> = {}) =>
  new EmbeddedTransport({ dir, segmentBytes: 4096, retentionMs: -1, retentionBytes: -1, ...more })

/** `n` records of ~100 bytes in batches of 25, one second of event time apart from 2024-01-01. */
async function produce(t: EmbeddedTransport, n: number, from = 0): Promise<void> {
  const p = t.producer()
  for (let i = from; i < from + n; i += 25)
    await p.send(
      Array.from({ length: Math.min(25, from + n - i) }, (_, j) => ({
        topic: 't',
        key: `k${(i + j) % 5}`,
        value: `{"n":${i + j},"pad":"${'x'.repeat(60)}"}`,
        timestamp: T2024 + (i + j) * 1000,
      })),
    )
}

async function readAll(t: EmbeddedTransport, from = 0): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for await (const b of t.read(tp, from)) out.push(...b)
  return out
}

async function drain(c: Consumer, n: number): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for (let i = 0; i < 50 && out.length < n; i++) out.push(...(await c.poll(1000, 20)))
  return out
}

const segmentFiles = (dir: string) =>
  readdirSync(join(dir, 'topics', 't'))
    .filter((f) => /^0\..*log$/.test(f))
    .sort()
async function deletedBytes(reason: string): Promise<number> {
  const m = await registry.getSingleMetric('cs_embedded_retention_deleted_bytes_total')?.get()
  return m?.values.find((v) => v.labels.topic === 't' && v.labels.reason === reason)?.value ?? 0
}
const n = (r: ConsumedRecord) => (JSON.parse(r.value) as { n: number }).n
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

describe('embedded log segments and retention', () => {
  it('reads across many small segments in order, before and after a reopen', async () => {
    const dir = tmp()
    const t1 = small(dir)
    await t1.createTopics([{ name: 't', partitions: 1 }])
    await produce(t1, 2000)
    const files = segmentFiles(dir)
    expect(files.length).toBeGreaterThan(20)
    expect(files.at(-1)).toBe('0.log') // the first segment; later ones are named by base offset
    expect(files[0]).toMatch(/^0\.\d{20}\.log$/)
    for (const f of files) expect(statSync(join(dir, 'topics', 't', f)).size).toBeLessThanOrEqual(4096)
    const all = await readAll(t1)
    expect(all.map((r) => r.offset)).toEqual(range(0, 2000))
    expect(all.map(n)).toEqual(range(0, 2000))
    // One poll spans segments.
    const c = await t1.consumer({ groupId: 'g', topics: ['t'] })
    expect((await c.poll(500, 0)).map((r) => r.offset)).toEqual(range(0, 500))
    await c.commit([{ ...tp, offset: 500 }])
    await t1.close()

    const t2 = small(dir)
    expect(await t2.endOffset(tp)).toBe(2000)
    expect(await t2.startOffset(tp)).toBe(0)
    const again = await readAll(t2, 777)
    expect(again.map((r) => r.offset)).toEqual(range(777, 2000))
    expect(again.map(n)).toEqual(range(777, 2000))
    await produce(t2, 100, 2000)
    expect((await readAll(t2)).map((r) => r.offset)).toEqual(range(0, 2100))
    const c2 = await t2.consumer({ groupId: 'g', topics: ['t'] })
    expect((await drain(c2, 1600)).map((r) => r.offset)).toEqual(range(500, 2100))
    await t2.close()
  })

  it('deletes the oldest closed segments by size; reads below the log start continue at it', async () => {
    const dir = tmp()
    const t1 = small(dir, { retentionBytes: 16_384 })
    await t1.createTopics([{ name: 't', partitions: 1 }])
    const c1 = await t1.consumer({ groupId: 'slow', topics: ['t'] })
    expect(await c1.poll(10, 0)).toEqual([]) // assigned at 0 before anything is deleted
    const fresh0 = await deletedBytes('size-fresh')
    await produce(t1, 2000)
    // Written moments ago and deleted by size: reported (warning + metric).
    expect(await deletedBytes('size-fresh')).toBeGreaterThan(fresh0)
    const tdir = join(dir, 'topics', 't')
    const bytes = segmentFiles(dir).reduce((s, f) => s + statSync(join(tdir, f)).size, 0)
    expect(bytes).toBeGreaterThanOrEqual(16_384)
    expect(bytes).toBeLessThanOrEqual(16_384 + 2 * 4096)
    expect(segmentFiles(dir)).not.toContain('0.log')
    const start = await t1.startOffset(tp)
    expect(start).toBeGreaterThan(1500)
    expect(await t1.endOffset(tp)).toBe(2000)
    const all = await readAll(t1, 0)
    expect(all.map((r) => r.offset)).toEqual(range(start, 2000))
    const got = await drain(c1, 2000 - start)
    expect(got.map((r) => r.offset)).toEqual(range(start, 2000))
    await t1.close()

    // Reopening keeps the log start; a group committed below it resumes there.
    writeFileSync(join(dir, 'groups', 'old.json'), JSON.stringify({ 't-0': 3 }))
    const t2 = small(dir, { retentionBytes: 16_384 })
    expect(await t2.startOffset(tp)).toBe(start)
    const c2 = await t2.consumer({ groupId: 'old', topics: ['t'] })
    expect((await drain(c2, 2000 - start)).map((r) => r.offset)).toEqual(range(start, 2000))
    await t2.close()
  })

  it('keeps a backfill of 2022–2023 records: time retention counts from when they were written', async () => {
    const dir = tmp()
    const t1 = small(dir, { retentionMs: 7 * 86_400_000 })
    await t1.createTopics([{ name: 't', partitions: 1 }])
    // 2000 records 6 h of event time apart: 2022-01-01 … 2023-05-16, all written now.
    const p = t1.producer()
    for (let i = 0; i < 2000; i += 25)
      await p.send(
        Array.from({ length: 25 }, (_, j) => ({
          topic: 't',
          key: `k${j % 5}`,
          value: `{"n":${i + j},"pad":"${'x'.repeat(60)}"}`,
          timestamp: T2022 + (i + j) * 6 * 3600_000,
        })),
      )
    expect(segmentFiles(dir).length).toBeGreaterThan(20)
    expect(await t1.startOffset(tp)).toBe(0)
    expect((await readAll(t1)).map(n)).toEqual(range(0, 2000))
    await t1.close()
    const t2 = small(dir, { retentionMs: 7 * 86_400_000 }) // and on open
    expect(await t2.startOffset(tp)).toBe(0)
    expect((await readAll(t2)).map(n)).toEqual(range(0, 2000))
    await t2.close()
  })

  it('deletes closed segments written more than retentionMs ago (the topic keeps its own retention)', async () => {
    const dir = tmp()
    const t1 = small(dir, { retentionMs: 24 * 3600_000 }) // transport default, overridden below
    await t1.createTopics([{ name: 't', partitions: 1, retentionMs: 300_000 }])
    expect(JSON.parse(readFileSync(join(dir, 'topics', 't', 'meta.json'), 'utf8'))).toMatchObject({
      retentionMs: 300_000,
    })
    await produce(t1, 2000) // 2024 event times, years before the clock: kept, they were just written
    expect(await t1.startOffset(tp)).toBe(0)
    await t1.close()
    // All closed segments but the last 5 were written 10 minutes ago.
    const files = segmentFiles(dir)
    const ordered = [files.at(-1)!, ...files.slice(0, -1)] // '0.log' is the first segment
    const closed = ordered.slice(0, -1)
    const tenMinutesAgo = new Date(Date.now() - 600_000)
    for (const f of closed.slice(0, -5)) utimesSync(join(dir, 'topics', 't', f), tenMinutesAgo, tenMinutesAgo)
    const t2 = small(dir, { retentionMs: -1 })
    const start = await t2.startOffset(tp)
    expect(start).toBe(Number(closed.at(-5)!.slice(2, 22)))
    expect((await readAll(t2)).map(n)).toEqual(range(start, 2000))
    await t2.close()
  })

  it('LogAppendTime topics: records carry the time they were written', async () => {
    const dir = tmp()
    const t = small(dir)
    await t.createTopics([{ name: 't', partitions: 1, timestampType: 'LogAppendTime' }])
    const before = Date.now()
    await produce(t, 50)
    const after = Date.now()
    for (const r of await readAll(t)) {
      expect(r.timestamp).toBeGreaterThanOrEqual(before)
      expect(r.timestamp).toBeLessThanOrEqual(after)
    }
    await t.close()
    expect(JSON.parse(readFileSync(join(dir, 'topics', 't', 'meta.json'), 'utf8'))).toMatchObject({
      timestampType: 'LogAppendTime',
    })
  })

  it('applies retention when opened with tighter limits, never deleting the active segment', async () => {
    const dir = tmp()
    const t1 = small(dir)
    await t1.createTopics([{ name: 't', partitions: 1 }])
    await produce(t1, 1000)
    await t1.close()
    const t2 = small(dir, { retentionBytes: 0, retentionMs: 0 })
    const files = segmentFiles(dir)
    expect(files).toHaveLength(1)
    const start = await t2.startOffset(tp)
    expect(files[0]).toBe(`0.${String(start).padStart(20, '0')}.log`)
    expect((await readAll(t2, 0)).map((r) => r.offset)).toEqual(range(start, 1000))
    await t2.close()
  })

  it('keeps group commit working when every closed segment expires at once', async () => {
    const t = small(tmp(), { retentionBytes: 0 })
    await t.createTopics([{ name: 't', partitions: 1 }])
    // Concurrent senders: rolls (and deletions of the segment just closed) while an fdatasync runs.
    await Promise.all(Array.from({ length: 8 }, (_, i) => produce(t, 200, i * 200)))
    expect(await t.endOffset(tp)).toBe(1600)
    const kept = await readAll(t, 0)
    expect(kept[0]!.offset).toBe(await t.startOffset(tp))
    expect(kept.at(-1)!.offset).toBe(1599)
    await t.close()
  })

  it('truncates a torn tail of the active (non-first) segment and appends after it', async () => {
    const dir = tmp()
    const t1 = small(dir)
    await t1.createTopics([{ name: 't', partitions: 1 }])
    await produce(t1, 500)
    await t1.close()
    const last = join(dir, 'topics', 't', segmentFiles(dir).at(-2)!) // '0.log' sorts last
    const good = statSync(last).size
    appendFileSync(last, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5])) // half a frame
    const t2 = small(dir)
    expect(await t2.endOffset(tp)).toBe(500)
    expect(statSync(last).size).toBe(good)
    await produce(t2, 50, 500)
    expect((await readAll(t2)).map(n)).toEqual(range(0, 550))
    await t2.close()
  })

  it('opens a log left by a crash during a roll (new segment file still empty)', async () => {
    const dir = tmp()
    const t1 = small(dir)
    await t1.createTopics([{ name: 't', partitions: 1 }])
    await produce(t1, 300)
    await t1.close()
    writeFileSync(join(dir, 'topics', 't', `0.${String(300).padStart(20, '0')}.log`), '')
    const t2 = small(dir)
    expect(await t2.endOffset(tp)).toBe(300)
    expect((await readAll(t2)).map(n)).toEqual(range(0, 300))
    await produce(t2, 50, 300)
    expect((await readAll(t2)).map((r) => r.offset)).toEqual(range(0, 350))
    await t2.close()
  })

  it('rolls compacted topics but never expires them (the cleaner keeps every key)', async () => {
    const dir = tmp()
    const t = small(dir, { retentionBytes: 0, retentionMs: 0, compactedSegmentBytes: 4096 })
    await t.createTopics([{ name: 't', partitions: 1, compacted: true }])
    await produce(t, 500)
    await t.cleaned()
    expect(segmentFiles(dir).length).toBeGreaterThan(1)
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(4)
    const all = await readAll(t)
    // Last record of each of the 5 keys, plus at most the records after the last clean.
    for (let k = 0; k < 5; k++)
      expect(
        all
          .filter((r) => r.key === `k${k}`)
          .map(n)
          .at(-1),
      ).toBe(495 + k)
    expect(all.length).toBeLessThan(100)
    await t.close()
  })
})
