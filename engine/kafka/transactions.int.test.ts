import { Producer, stringSerializers } from '@platformatic/kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { waitForKafka } from '../../common/connect.ts'
import { until } from '../../test/until.ts'
import { type ConsumedRecord, type Consumer, isTaskMigrated } from '../transport.ts'
import { KafkaTransport } from './transport.ts'

// Exactly-once building blocks against the real broker, including the two client defects worked
// around (transactions.ts, records.ts).

const cfg = loadConfig()
const run = `${Date.now().toString(36)}-${process.pid}`
const transports: KafkaTransport[] = []
const open = (name: string) => {
  const t = new KafkaTransport({
    brokers: cfg.kafkaBrokers,
    clientId: `${name}-${run}`,
    sessionTimeoutMs: 6000,
  })
  transports.push(t)
  return t
}
afterAll(async () => {
  for (const t of transports) await t.close()
})

async function readAll(t: KafkaTransport, topic: string): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for await (const b of t.read({ topic, partition: 0 }, 0)) out.push(...b)
  return out
}

async function joined(t: KafkaTransport, groupId: string, topic: string): Promise<Consumer> {
  const c = await t.consumer({ groupId, topics: [topic], from: 'earliest' })
  const deadline = Date.now() + 20_000
  while (c.assignment().length === 0 && Date.now() < deadline) await c.poll(100, 100)
  return c
}

describe('Kafka transactions (real broker)', () => {
  it('read_committed skips every aborted transaction of a producer, not only its last one', async () => {
    await waitForKafka(cfg.kafkaBrokers)
    const t = open('txn-read')
    const topic = `txn-read-${run}`
    await t.createTopics([{ name: topic, partitions: 1 }])
    const p = new Producer({
      clientId: `txn-read-${run}`,
      bootstrapBrokers: cfg.kafkaBrokers,
      serializers: stringSerializers,
      idempotent: true,
      transactionalId: `txn-read-${run}`,
    })
    try {
      for (const [value, commit] of [
        ['aborted-1', false],
        ['aborted-2', false],
        ['committed-3', true],
      ] as const) {
        const tx = await p.beginTransaction({ producerId: -1n, producerEpoch: -1 })
        await tx.send({ messages: [{ topic, key: 'k', value, partition: 0 }] })
        await (commit ? tx.commit() : tx.abort())
      }
    } finally {
      await p.close()
    }
    // EndTxn returns before the coordinator has written the markers: until the last one is in,
    // the last stable offset (where a read_committed read ends) stays before the committed record.
    await until(
      'the commit marker (3 records + 3 markers)',
      async () => (await t.endOffset({ topic, partition: 0 })) >= 6,
    )
    expect((await readAll(t, topic)).map((r) => r.value)).toEqual(['committed-3'])
  })

  it('a restarted instance with the same transactional id commits (InitProducerId -1/-1), and its zombie is fenced', async () => {
    const t = open('txn-restart')
    const [input, out] = [`txn-in-${run}`, `txn-out-${run}`]
    const groupId = `txn-g-${run}`
    await t.createTopics([
      { name: input, partitions: 1 },
      { name: out, partitions: 1 },
    ])
    const c = await joined(t, groupId, input)
    const first = t.transactionalProducer(`txn-app-${run}`)
    await first.commit([{ topic: out, key: 'k', value: '1' }], c, [{ topic: input, partition: 0, offset: 1 }])
    // The same transactional id again (a restart): it must not be fenced by its own previous run.
    const second = t.transactionalProducer(`txn-app-${run}`)
    await second.commit([{ topic: out, key: 'k', value: '2' }], c, [
      { topic: input, partition: 0, offset: 2 },
    ])
    // The first one is now a zombie: its commit fails and nothing of it is visible.
    const err = await first
      .commit([{ topic: out, key: 'k', value: 'zombie' }], c, [{ topic: input, partition: 0, offset: 3 }])
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(err).toBeDefined()
    expect((await readAll(t, out)).map((r) => r.value)).toEqual(['1', '2'])
    expect((await c.committed([{ topic: input, partition: 0 }])).get(`${input}-0`)).toBe(2)
    await first.close()
    await second.close()
    await c.close()
  })

  it('a member the group moved past cannot commit a transaction: ENGINE_TASK_MIGRATED, outputs and offsets invisible', async () => {
    const t = open('txn-fence')
    const [input, out] = [`txn-fin-${run}`, `txn-fout-${run}`]
    const groupId = `txn-fg-${run}`
    await t.createTopics([
      { name: input, partitions: 2 },
      { name: out, partitions: 1 },
    ])
    const a = await joined(t, groupId, input)
    // b joins: a new generation; a has not polled since, so its positions belong to the old one.
    const t2 = open('txn-fence-b')
    const b = await t2.consumer({ groupId, topics: [input], from: 'earliest' })
    const deadline = Date.now() + 20_000
    while (b.assignment().length === 0 && Date.now() < deadline) await b.poll(100, 100)
    const producer = t.transactionalProducer(`txn-fence-${run}`)
    const err = await producer
      .commit([{ topic: out, key: 'k', value: 'stale' }], a, [{ topic: input, partition: 0, offset: 5 }])
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(isTaskMigrated(err)).toBe(true)
    expect(await readAll(t, out)).toEqual([])
    expect((await b.committed([{ topic: input, partition: 0 }])).get(`${input}-0`)).toBeUndefined()
    await producer.close()
    await b.close()
    await a.close()
  })

  it('a commit right after its output topic was created lands every record once (partitions whose leader is not ready yet are sent again in the transaction)', async () => {
    const t = open('txn-fresh')
    const [input, out] = [`txn-frin-${run}`, `txn-frout-${run}`]
    await t.createTopics([{ name: input, partitions: 1 }])
    const c = await joined(t, `txn-frg-${run}`, input)
    const producer = t.transactionalProducer(`txn-fresh-${run}`)
    // A just-created topic answers NOT_LEADER_OR_FOLLOWER on some partitions for a moment.
    await t.createTopics([{ name: out, partitions: 6 }])
    const records = Array.from({ length: 600 }, (_, i) => ({ topic: out, key: `k${i}`, value: String(i) }))
    await producer.commit(records, c, [{ topic: input, partition: 0, offset: 1 }])
    // Read until the commit markers are in (EndTxn returns before they are written).
    const read = await until('the committed records', async () => {
      const values: string[] = []
      for (let partition = 0; partition < 6; partition++)
        for await (const b of t.read({ topic: out, partition }, 0)) for (const r of b) values.push(r.value)
      return values.length >= records.length && values
    })
    expect(read.sort()).toEqual(records.map((r) => r.value).sort())
    await producer.close()
    await c.close()
  })
})
