// A consumer-group member in its own process (for takeover tests): polls, commits after each
// batch, and prints one JSON line per event on stdout: {assigned}, {revoked}, {polled, offsets}.
import { KafkaTransport } from './transport.ts'

const [brokers = '127.0.0.1:19092', groupId = '', topic = ''] = process.argv.slice(2)
const transport = new KafkaTransport({
  brokers: brokers.split(','),
  clientId: 'member',
  sessionTimeoutMs: 6000,
})
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
const consumer = await transport.consumer({
  groupId,
  topics: [topic],
  from: 'earliest',
  onAssign: async (tps) => void say({ assigned: tps.map((t) => t.partition) }),
  onRevoke: async (tps) => void say({ revoked: tps.map((t) => t.partition) }),
})
for (;;) {
  const records = await consumer.poll(500, 300)
  if (records.length === 0) continue
  const next = new Map<number, number>()
  for (const r of records) next.set(r.partition, r.offset + 1)
  await consumer.commit([...next].map(([partition, offset]) => ({ topic, partition, offset })))
  say({ polled: records.length, values: records.map((r) => r.value) })
}
