// A consumer-group member in its own process (for takeover tests). Prints one JSON line per event
// on stdout: {assigned}, {revoked}, {lost}, {polled, values}.
//   auto (default): polls and commits after each batch.
//   manual: reads commands on stdin — `poll <n>` polls up to n records of partition 0 (answers
//   {polled, next}), `active` checks membership as the engine does before writing (answers
//   {active} or {error, code}), `commit` commits the position reached ({committed} or {error, code}).
import { createInterface } from 'node:readline'
import { KafkaTransport } from './transport.ts'

const [brokers = '127.0.0.1:19092', groupId = '', topic = '', mode = 'auto'] = process.argv.slice(2)
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
  onLost: async (tps) => void say({ lost: tps.map((t) => t.partition) }),
})
if (mode === 'manual') {
  say({ ready: true })
  let next = -1
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(' ')
    if (cmd === 'poll') {
      const want = Number(arg)
      let got = 0
      const deadline = Date.now() + 20_000
      while (got < want && Date.now() < deadline)
        for (const r of await consumer.poll(want - got, 300)) {
          got++
          next = r.offset + 1
        }
      say({ polled: got, next })
    } else if (cmd === 'active') {
      // The check the engine makes before writing outputs and changelog records.
      try {
        await consumer.ensureActive()
        say({ active: true })
      } catch (err) {
        say({ error: (err as Error).message, code: (err as { code?: string }).code })
      }
    } else if (cmd === 'commit') {
      try {
        await consumer.commit([{ topic, partition: 0, offset: next }])
        say({ committed: next })
      } catch (err) {
        say({ error: (err as Error).message, code: (err as { code?: string }).code })
      }
    }
  }
} else
  for (;;) {
    const records = await consumer.poll(500, 300)
    if (records.length === 0) continue
    const next = new Map<number, number>()
    for (const r of records) next.set(r.partition, r.offset + 1)
    await consumer.commit([...next].map(([partition, offset]) => ({ topic, partition, offset })))
    say({ polled: records.length, values: records.map((r) => r.value) })
  }
