import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import { encodeRecordBatches } from '../engine/kafka/produce.ts'
import { figure, openBench } from './setup.ts'

// The engine's Kafka transport (on @platformatic/kafka) against kafkajs, the other client the
// design considered: the same records (1m-kline-sized JSON), the same broker, the same batch
// sizes, acks=all both; then each reads the topic back from offset 0. Prints both rates and the
// ratio (transport / kafkajs), wall and per CPU-second of this process (the machine is shared:
// wall swings with the load, printed beside).
//   node bench/kafka-clients.ts [--records 200000] [--batch 5000] [--partitions 1]

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '5000' },
    partitions: { type: 'string', default: '1' },
  },
})
const N = Number(args.records)
const B = Number(args.batch)
const P = Number(args.partitions)
const bench = await openBench('kafka', 'cs-bench-clients-')
const { run, config, transport, out } = bench
const value = (i: number) =>
  JSON.stringify({
    symbol: `SYM${i % 17}`,
    interval: '1m',
    openTime: 1_704_067_200_000 + i * 60_000,
    open: '42283.58000000',
    high: '42298.62000000',
    low: '42261.02000000',
    close: '42298.61000000',
    volume: '35.92724000',
    closed: true,
  })
const batches: { key: string; value: string; timestamp: number }[][] = []
for (let i = 0; i < N; i += B)
  batches.push(
    Array.from({ length: Math.min(B, N - i) }, (_, j) => ({
      key: `SYM${(i + j) % 17}`,
      value: value(i + j),
      timestamp: 1_704_067_200_000 + i + j,
    })),
  )
const rate = (ms: number) => Math.round((N / ms) * 1000)
{
  // Our record batch encoder alone (no broker): CPU per record of the produce path's own work.
  const records = batches.flat().map((r) => ({ topic: 't', ...r }))
  const owner = { producerId: 1n, producerEpoch: 0, baseSequence: 0 }
  const runs: number[] = []
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now()
    encodeRecordBatches(records, owner, 512 * 1024)
    runs.push(((performance.now() - t0) * 1e6) / records.length)
  }
  runs.sort((a, b) => a - b)
  out(
    `record batch encoding (engine/kafka/produce.ts): ${Math.round(runs[4]!)} ns/record (median of 9 runs, min ${Math.round(runs[0]!)})`,
  )
  figure('Kafka record batch encoding', Math.round(runs[4]!), 'ns/record')
}
/** Wall and CPU ms of `op`. */
async function timed(op: () => Promise<void>): Promise<{ ms: number; cpu: number }> {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  await op()
  const c = process.cpuUsage(c0)
  return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000 }
}
const fmt = (n: number) => n.toLocaleString('en-US')

const kafka = new Kafka({ clientId: run, brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING })
try {
  const ours = `${run}-ours`
  const theirs = `${run}-kafkajs`
  await transport.createTopics([
    { name: ours, partitions: P },
    { name: theirs, partitions: P },
  ])

  // produce, one batch awaited at a time (as the engine's commit does)
  const producer = transport.producer()
  const oursProduce = await timed(async () => {
    for (const b of batches) await producer.send(b.map((r) => ({ topic: ours, ...r })))
  })
  await producer.close()

  const kp = kafka.producer({ allowAutoTopicCreation: false })
  await kp.connect()
  const jsProduce = await timed(async () => {
    for (const b of batches)
      await kp.send({
        topic: theirs,
        acks: -1,
        messages: b.map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestamp) })),
      })
  })
  await kp.disconnect()

  // read back from offset 0
  let n = 0
  const oursConsume = await timed(async () => {
    for (let p = 0; p < P; p++)
      for await (const batch of transport.read({ topic: ours, partition: p }, 0)) n += batch.length
  })
  if (n !== N) throw new Error(`transport read ${n} of ${N}`)

  const kc = kafka.consumer({ groupId: `${run}-kafkajs` })
  await kc.connect()
  await kc.subscribe({ topic: theirs, fromBeginning: true })
  let m = 0
  const jsConsume = await timed(
    () =>
      new Promise<void>((resolve) => {
        void kc.run({
          eachBatch: async ({ batch }) => {
            m += batch.messages.length
            if (m >= N) resolve()
          },
        })
      }),
  )
  await kc.disconnect()

  const line = (what: string, a: { ms: number; cpu: number }, b: { ms: number; cpu: number }) => {
    out(
      `${what}: transport ${fmt(rate(a.ms))} records/s (${fmt(rate(a.cpu))} per CPU-second), kafkajs ${fmt(rate(b.ms))} records/s (${fmt(rate(b.cpu))} per CPU-second), ratio ${(b.ms / a.ms).toFixed(2)} wall, ${(b.cpu / a.cpu).toFixed(2)} CPU (${fmt(N)} records, batches of ${B}, ${P} partition(s))`,
    )
    figure(`Kafka ${what}: transport / kafkajs`, Math.round((b.ms / a.ms) * 100) / 100, 'ratio')
    figure(`Kafka ${what}: transport`, rate(a.ms), 'records/s')
    figure(`Kafka ${what}: transport, per CPU-second`, rate(a.cpu), 'records/s')
  }
  line('produce (acks=all)', oursProduce, jsProduce)
  line('consume from offset 0', oursConsume, jsConsume)
  out('  (kafkajs consume includes its group join; ours reads the partition directly)')
  out(
    `  load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
} finally {
  await bench.done()
}
