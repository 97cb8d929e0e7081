import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { Admin } from '@platformatic/kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { waitForKafka } from '../../common/connect.ts'
import { type ConsumedRecord, type Consumer, isTaskMigrated, type TopicPartition } from '../transport.ts'
import { KafkaTransportError } from './errors.ts'
import { KafkaTransport, sleep } from './transport.ts'

// The Kafka transport against the real broker (scripts/services). Topic and group names are unique per run.
const cfg = loadConfig()
const run = `${Date.now().toString(36)}-${process.pid}`
const SESSION_MS = 6000
const transports: KafkaTransport[] = []
const open = () => {
  const t = new KafkaTransport({
    brokers: cfg.kafkaBrokers,
    clientId: `kt-${run}`,
    sessionTimeoutMs: SESSION_MS,
  })
  transports.push(t)
  return t
}
afterAll(async () => {
  for (const t of transports) await t.close()
})

async function pollUntil(c: Consumer, n: number, ms = 20_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  const deadline = Date.now() + ms
  while (out.length < n && Date.now() < deadline) out.push(...(await c.poll(1000, 200)))
  return out
}

async function produce(t: KafkaTransport, topic: string, from: number, to: number, keys = 12): Promise<void> {
  const p = t.producer()
  const recs = []
  for (let i = from; i < to; i++)
    recs.push({ topic, key: `k${i % keys}`, value: String(i), timestamp: 1_700_000_000_000 + i })
  await p.send(recs)
  await p.close()
}

/** Commits what was read; a commit refused because the group moved on (ENGINE_TASK_MIGRATED) is dropped. */
const commitAll = (c: Consumer, topic: string, recs: ConsumedRecord[]) => {
  const next = new Map<number, number>()
  for (const r of recs) next.set(r.partition, r.offset + 1)
  return c.commit([...next].map(([partition, offset]) => ({ topic, partition, offset }))).catch((err) => {
    if (!isTaskMigrated(err)) throw err
  })
}

describe('KafkaTransport (real broker)', () => {
  it('creates topics idempotently; partitions(), endOffset() and read() of a compacted partition', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    const t = open()
    const topic = `kt-basic-${run}`
    const log = `kt-changelog-${run}`
    expect(await t.partitions(topic)).toBeUndefined()
    await t.createTopics([
      { name: topic, partitions: 3 },
      { name: log, partitions: 2, compacted: true },
    ])
    await t.createTopics([{ name: topic, partitions: 3 }]) // again: no error
    expect(await t.partitions(topic)).toBe(3)
    expect(await t.partitions(log)).toBe(2)
    const admin = new Admin({ clientId: `kt-admin-${run}`, bootstrapBrokers: cfg.kafkaBrokers })
    const [desc] = await admin.describeConfigs({
      resources: [{ resourceType: 2, resourceName: log, configurationKeys: ['cleanup.policy'] }],
    })
    await admin.close()
    expect(desc!.configs.find((c) => c.name === 'cleanup.policy')?.value).toBe('compact')

    const p = t.producer()
    await p.send([
      { topic: log, key: 'a', value: '1', partition: 1 },
      { topic: log, key: 'b', value: '2', partition: 1, headers: { h: 'x' } },
      { topic: log, key: 'a', value: null, partition: 1 },
    ])
    expect(await t.endOffset({ topic: log, partition: 1 })).toBe(3)
    expect(await t.endOffset({ topic: log, partition: 0 })).toBe(0)
    const read: ConsumedRecord[] = []
    for await (const batch of t.read({ topic: log, partition: 1 }, 0)) read.push(...batch)
    expect(read.map((r) => [r.offset, r.key, r.value, r.tombstone ?? false])).toEqual([
      [0, 'a', '1', false],
      [1, 'b', '2', false],
      [2, 'a', '', true],
    ])
    expect(read[1]!.headers).toEqual({ h: 'x' })
    const tail: ConsumedRecord[] = []
    for await (const batch of t.read({ topic: log, partition: 1 }, 2)) tail.push(...batch)
    expect(tail.map((r) => r.offset)).toEqual([2])
    for await (const batch of t.read({ topic: log, partition: 0 }, 0)) expect(batch).toEqual([]) // empty: ends at once
    // Keys land where Kafka's default partitioner puts them (murmur2).
    await p.send([{ topic, key: 'BTCUSDT', value: 'x' }])
    await p.close()
    const ends = await Promise.all([0, 1, 2].map((partition) => t.endOffset({ topic, partition })))
    expect(ends.reduce((a, b) => a + b, 0)).toBe(1)
  })

  it('end offsets and committed offsets asked in the same turn go in one request; a bad partition fails alone', async () => {
    const t = open()
    const a = `kt-ends-a-${run}`
    const b = `kt-ends-b-${run}`
    const groupId = `kt-ends-g-${run}`
    await t.createTopics([
      { name: a, partitions: 3 },
      { name: b, partitions: 2 },
    ])
    const p = t.producer()
    await p.send([
      { topic: a, key: 'x', value: '1', partition: 0 },
      { topic: a, key: 'x', value: '2', partition: 2 },
      { topic: a, key: 'x', value: '3', partition: 2 },
      { topic: b, key: 'x', value: '4', partition: 1 },
    ])
    await p.close()
    const tps = [
      ...[0, 1, 2].map((partition) => ({ topic: a, partition })),
      ...[0, 1].map((partition) => ({ topic: b, partition })),
    ]
    const calls = () => t.trace.phases.get('listOffsets')?.calls ?? 0
    const before = calls()
    expect(await Promise.all(tps.map((tp) => t.endOffset(tp)))).toEqual([1, 0, 2, 0, 1])
    expect(calls() - before).toBe(1)
    // The same partition twice in one turn: one answer for both.
    expect(await Promise.all([t.endOffset(tps[2]!), t.endOffset(tps[2]!)])).toEqual([2, 2])
    // A partition that does not exist fails; the others in its turn still get their offsets.
    const mixed = await Promise.allSettled([
      t.endOffset({ topic: a, partition: 2 }),
      t.endOffset({ topic: `kt-ends-missing-${run}`, partition: 0 }),
      t.endOffset({ topic: b, partition: 1 }),
    ])
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(mixed.map((r) => (r.status === 'fulfilled' ? r.value : undefined))).toEqual([2, undefined, 1])

    const c = await t.consumer({ groupId, topics: [a, b], from: 'earliest' })
    await pollUntil(c, 4)
    await c.commit([
      { topic: a, partition: 2, offset: 2 },
      { topic: b, partition: 1, offset: 1 },
    ])
    const fetches = () => t.trace.phases.get('offsetFetch')?.calls ?? 0
    const f0 = fetches()
    const each = await Promise.all(tps.map((tp) => c.committed([tp])))
    expect(fetches() - f0).toBe(1)
    // Each caller gets its own partitions only.
    expect(each.map((m) => [...m])).toEqual([[], [], [[`${a}-2`, 2]], [], [[`${b}-1`, 1]]])
    await c.close()
  })

  it('wakeup() ends a poll waiting for records, empty; the next polls get the records in order', async () => {
    const t = open()
    const topic = `kt-wake-${run}`
    await t.createTopics([{ name: topic, partitions: 1 }])
    const c = await t.consumer({ groupId: `kt-wake-g-${run}`, topics: [topic], from: 'earliest' })
    await c.poll(10, 500) // assignment applied; nothing to read
    const waiting = c.poll(10, 120_000)
    setTimeout(() => c.wakeup?.(), 100)
    const woke = await Promise.race([waiting, sleep(20_000).then(() => 'still waiting')])
    expect(woke).toEqual([])
    await produce(t, topic, 0, 5, 1)
    const got = await pollUntil(c, 5)
    expect(got.map((r) => r.value)).toEqual(['0', '1', '2', '3', '4'])
    await c.close()
  })

  it('consumes, commits, and a new member of the group resumes from the committed offsets', async () => {
    const t = open()
    const topic = `kt-resume-${run}`
    const groupId = `kt-resume-g-${run}`
    await t.createTopics([{ name: topic, partitions: 3 }])
    await produce(t, topic, 0, 300)

    const assigned: TopicPartition[] = []
    const c1 = await t.consumer({
      groupId,
      topics: [topic],
      from: 'earliest',
      onAssign: async (tps) => void assigned.push(...tps),
    })
    const first = await pollUntil(c1, 300)
    expect(first.length).toBe(300)
    expect(assigned.map((a) => a.partition).sort()).toEqual([0, 1, 2])
    // Per partition: offsets in order, each once.
    for (const p of [0, 1, 2]) {
      const offs = first.filter((r) => r.partition === p).map((r) => r.offset)
      expect(offs).toEqual(offs.map((_, i) => i))
    }
    // Commit only the first half of each partition.
    const half = first.filter((r) => r.offset < 50)
    await commitAll(c1, topic, half)
    const committed = await c1.committed([0, 1, 2].map((partition) => ({ topic, partition })))
    expect([...committed.values()].every((o) => o <= 50)).toBe(true)
    await c1.close()

    await produce(t, topic, 300, 330)
    const c2 = await t.consumer({ groupId, topics: [topic], from: 'earliest' })
    const rest = await pollUntil(c2, 330 - half.length)
    const expected = new Set([...first.filter((r) => r.offset >= 50).map((r) => r.value)])
    for (let i = 300; i < 330; i++) expected.add(String(i))
    expect(new Set(rest.map((r) => r.value))).toEqual(expected)
    expect(rest.length).toBe(expected.size)
    await c2.close()
  })

  it('two members split a 6-partition topic; when one closes, the other takes its partitions from the committed offsets', async () => {
    const t = open()
    const topic = `kt-split-${run}`
    const groupId = `kt-split-g-${run}`
    await t.createTopics([{ name: topic, partitions: 6 }])
    await produce(t, topic, 0, 600, 60)

    const events: string[] = []
    const member = (name: string) =>
      t.consumer({
        groupId,
        topics: [topic],
        from: 'earliest',
        onAssign: async (tps) => void events.push(`${name}+${tps.map((x) => x.partition).join(',')}`),
        onRevoke: async (tps) => void events.push(`${name}-${tps.map((x) => x.partition).join(',')}`),
      })
    const a = await member('a')
    const b = await member('b')
    const seen = new Map<string, number>()
    const take = async (c: Consumer) => {
      const recs = await c.poll(1000, 200)
      for (const r of recs) seen.set(r.value, (seen.get(r.value) ?? 0) + 1)
      await commitAll(c, topic, recs)
      return recs
    }
    // Until both hold partitions and everything is read.
    const deadline = Date.now() + 40_000
    while (
      Date.now() < deadline &&
      (seen.size < 600 || a.assignment().length === 0 || b.assignment().length === 0)
    ) {
      await Promise.all([take(a), take(b)])
    }
    expect(a.assignment().length + b.assignment().length).toBe(6)
    expect(a.assignment().length).toBeGreaterThan(0)
    expect(b.assignment().length).toBeGreaterThan(0)
    expect(events.some((e) => e.startsWith('b+'))).toBe(true)
    expect(seen.size).toBe(600)

    // b leaves; a gets all six partitions and reads only the new records.
    await b.close()
    await produce(t, topic, 600, 700, 60)
    const until = Date.now() + 30_000
    while (Date.now() < until && (seen.size < 700 || a.assignment().length < 6)) await take(a)
    expect(a.assignment().length).toBe(6)
    expect(seen.size).toBe(700)
    for (let i = 600; i < 700; i++) expect(seen.get(String(i))).toBe(1)
    await a.close()
  })

  it('a member killed with SIGKILL: after the session timeout the survivor takes over from committed offsets', async () => {
    const t = open()
    const topic = `kt-kill-${run}`
    const groupId = `kt-kill-g-${run}`
    await t.createTopics([{ name: topic, partitions: 6 }])
    const child: ChildProcess = spawn(
      process.execPath,
      [new URL('./member.fixture.ts', import.meta.url).pathname, cfg.kafkaBrokers.join(','), groupId, topic],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const childSeen = new Set<string>()
    let childAssigned = false
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as { assigned?: number[]; values?: string[] }
      if (e.assigned?.length) childAssigned = true
      for (const v of e.values ?? []) childSeen.add(v)
    })
    try {
      const deadline = Date.now() + 30_000
      while (!childAssigned && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(childAssigned).toBe(true)

      const assigned: number[] = []
      const a = await t.consumer({
        groupId,
        topics: [topic],
        from: 'earliest',
        onAssign: async (tps) => void assigned.push(...tps.map((x) => x.partition)),
      })
      const seen = new Set<string>()
      const take = async () => {
        const recs = await a.poll(1000, 200)
        for (const r of recs) seen.add(r.value)
        await commitAll(a, topic, recs)
      }
      while (Date.now() < deadline + 20_000 && (a.assignment().length === 0 || a.assignment().length === 6))
        await take()
      const mine = a.assignment().length
      expect(mine).toBeGreaterThan(0)
      expect(mine).toBeLessThan(6)

      await produce(t, topic, 0, 300, 60)
      while (Date.now() < deadline + 40_000 && seen.size + childSeen.size < 300) await take()
      expect(new Set([...seen, ...childSeen]).size).toBe(300)

      child.kill('SIGKILL')
      await produce(t, topic, 300, 400, 60)
      const takeover = Date.now() + SESSION_MS * 4
      while (
        Date.now() < takeover &&
        (a.assignment().length < 6 || ![...Array(100)].every((_, i) => seen.has(String(300 + i))))
      )
        await take()
      expect(a.assignment().length).toBe(6)
      // A new generation reports every partition lost and assigns it again (from committed offsets).
      expect(new Set(assigned).size).toBe(6)
      for (let i = 300; i < 400; i++) expect(seen.has(String(i))).toBe(true)
      // What the child committed is not read again by the survivor.
      const reread = [...childSeen].filter((v) => seen.has(v))
      expect(reread).toEqual([])
      await a.close()
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('a missing broker gives a clear error in bounded time, not a hang', async () => {
    const t = new KafkaTransport({
      brokers: ['127.0.0.1:1'],
      clientId: `kt-none-${run}`,
      requestTimeoutMs: 3000,
    })
    const started = Date.now()
    const err = await t.createTopics([{ name: `kt-none-${run}`, partitions: 1 }]).then(
      () => undefined,
      (e: unknown) => e,
    )
    await t.close()
    expect(err).toBeInstanceOf(KafkaTransportError)
    expect((err as KafkaTransportError).code).toMatch(/^ENGINE_KAFKA_/)
    expect((err as Error).message).toContain('createTopics')
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
