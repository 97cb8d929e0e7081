import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { registry } from '../common/metrics.ts'
import { Emitted, KafkaStreams, StreamsBuilder, TimeWindows } from '../engine/index.ts'
import { changelogTopic } from '../state/stores.ts'
import { figure, openBench, perSecond, runToEnd } from './setup.ts'

const { values: args } = parseArgs({
  options: {
    transport: { type: 'string', default: 'embedded' },
    records: { type: 'string', default: '1000000' },
    keys: { type: 'string', default: '1000' },
    'restore-keys': { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '1' },
    guarantee: { type: 'string', default: 'at_least_once' },
  },
})
const guarantee = args.guarantee === 'exactly_once' ? 'exactly_once' : 'at_least_once'
const N = Number(args.records)
const K = Number(args.keys)
const M = Number(args['restore-keys'])
const P = Number(args.partitions)
const { run, dir, config, transport, out, done } = await openBench(args.transport, 'cs-bench-')
const kind = config.transport

async function produce(
  topic: string,
  n: number,
  make: (i: number) => { key: string; value: string; timestamp: number },
) {
  const producer = transport.producer()
  const batch = 20_000
  for (let i = 0; i < n; i += batch) {
    const records = []
    for (let j = i; j < Math.min(n, i + batch); j++) records.push({ topic, ...make(j) })
    await producer.send(records)
  }
  await producer.close()
}

let input = ''
async function produceTicks(): Promise<void> {
  input = `${run}-ticks`
  await transport.createTopics([{ name: input, partitions: P }])
  const t0 = performance.now()
  // One record per key per second of event time, keys round-robin: windows close steadily.
  await produce(input, N, (i) => ({
    key: `SYM${i % K}`,
    value: `{"p":${i % 1000},"q":1}`,
    timestamp: 1_700_000_000_000 + Math.floor(i / K) * 1000,
  }))
  const produceMs = performance.now() - t0
  out(
    `produce: ${N.toLocaleString('en-US')} records in ${Math.round(produceMs)} ms = ${perSecond(N, produceMs)} records/s (${kind}, batches of 20k, durable)`,
  )
}

/** 'cached': emit on update through the record cache (Emitted.onUpdate({ maxEmitIntervalMs: 100 })). */
async function windowedCount(emit: 'close' | 'update' | 'cached'): Promise<void> {
  const how = emit === 'cached' ? 'update through the record cache (100 ms)' : emit
  const b = new StreamsBuilder()
  b.stream<{ p: number }>(input)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
    .emitStrategy(
      emit === 'close'
        ? Emitted.onWindowClose({ idleCloseMs: 0 })
        : Emitted.onUpdate(emit === 'cached' ? { maxEmitIntervalMs: 100 } : {}),
    )
    .count({ name: 'counts' })
    .toStream()
    .to(`${run}-counts-${emit}`)
  const streams = new KafkaStreams(b.build(), {
    applicationId: `${run}-wc-${emit}`,
    transport,
    stateDir: join(dir, 'state'),
    commitIntervalMs: 1000,
    processingGuarantee: guarantee,
  })
  const { ms, cpuMs } = await runToEnd(streams)
  await streams.close()
  out(
    `windowed count (emit on ${how}): ${N.toLocaleString('en-US')} records, ${K} keys, ${P} partition(s) in ${Math.round(ms)} ms = ${perSecond(N, ms)} records/s wall, ${perSecond(N, cpuMs)} records per CPU-second (${kind})`,
  )
  figure(
    `windowed count, emit on ${how} (${kind}, ${P} partition(s))`,
    Math.round((N / ms) * 1000),
    'records/s',
  )
}

async function restore(): Promise<void> {
  const app = `${run}-rs`
  const input = `${run}-kv-in`
  await transport.createTopics([
    { name: input, partitions: 1 },
    { name: changelogTopic(app, 'kv'), partitions: 1, compacted: true },
  ])
  // The changelog a previous run would have left: M distinct keys.
  await produce(changelogTopic(app, 'kv'), M, (i) => ({
    key: `key-${i.toString().padStart(8, '0')}`,
    value: `{"n":${i},"s":"BTCUSDT"}`,
    timestamp: i,
  }))
  // The embedded log cleans compacted topics in the background: let it finish, so the figure is
  // the restore alone (the cleaning used to run inside the sends above).
  if ('cleaned' in transport) await (transport as { cleaned(): Promise<void> }).cleaned()
  const b = new StreamsBuilder()
  b.table(input, { store: 'kv' })
  const stateDir = join(dir, 'state-restore')
  const streams = new KafkaStreams(b.build(), { applicationId: app, transport, stateDir })
  const { ms, cpuMs } = await runToEnd(streams)
  const sample = await streams.keyValueStore<{ n: number }>('kv').get('key-00123456')
  await streams.close()
  const metric =
    (await registry.getSingleMetric('cs_state_restore_seconds')?.get())?.values.find(
      (v) => v.labels.app === app,
    )?.value ?? 0
  out(
    `restore: ${M.toLocaleString('en-US')} keys in ${Math.round(ms)} ms = ${perSecond(M, ms)} records/s (store restore ${metric.toFixed(2)} s; ${(cpuMs / 1000).toFixed(2)} CPU-s; sample ok: ${sample?.n === 123456 || M <= 123456})`,
  )
  figure(`restore ${M.toLocaleString('en-US')} keys (${kind})`, Math.round(ms) / 1000, 's')
}

try {
  await produceTicks()
  await windowedCount('close')
  await windowedCount('update')
  await windowedCount('cached')
  await restore()
} finally {
  await done()
}
