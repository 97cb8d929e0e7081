// Commits exactly-once transactions on an embedded log in a loop until killed (for
// transactions.test.ts): transaction n writes `n` 40 times to each of 2 partitions of `out` and moves
// group `g`'s offset of `in-0` to n. stdout: {"ready"} once it commits.
import { EmbeddedTransport } from './transport.ts'

const dir = process.argv[2]!
const t = new EmbeddedTransport({ dir })
await t.createTopics([
  { name: 'in', partitions: 1 },
  { name: 'out', partitions: 2 },
])
const consumer = await t.consumer({ groupId: 'g', topics: ['in'] })
await consumer.poll(1, 0)
const producer = t.transactionalProducer('writer')
let n = (await consumer.committed([{ topic: 'in', partition: 0 }])).get('in-0') ?? 0
process.stdout.write('{"ready":true}\n')
for (;;) {
  n++
  const records = []
  for (let i = 0; i < 40; i++)
    for (const partition of [0, 1]) records.push({ topic: 'out', key: `k${i}`, value: String(n), partition })
  await producer.commit(records, consumer, [{ topic: 'in', partition: 0, offset: n }])
}
