// One engine instance in its own process (for the engine-level Kafka tests): a windowed count
// of `input` to `output` under `appId`, local state in `stateDir`, at least once unless the 6th
// argument is `exactly_once`. SIGTERM closes it cleanly.
// stdout: one JSON line per event ({started}, {closed}).
import { KafkaStreams, StreamsBuilder, TimeWindows } from '../index.ts'
import { KafkaTransport } from './transport.ts'

export const WINDOW_MS = 10_000
const [brokers = '127.0.0.1:19092', appId = '', input = '', output = '', stateDir = '', guarantee = ''] =
  process.argv.slice(2)
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)

const b = new StreamsBuilder()
b.stream<{ i: number }>(input)
  .groupByKey()
  .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, 86_400_000))
  .count({ name: 'counts' })
  .toStream()
  .mapValues((count, wk) => ({ start: wk.window.start, count }))
  .to(output)

const transport = new KafkaTransport({ brokers: brokers.split(','), clientId: appId, sessionTimeoutMs: 6000 })
const streams = new KafkaStreams(b.build(), {
  applicationId: appId,
  transport,
  stateDir,
  commitIntervalMs: 500,
  processingGuarantee: guarantee === 'exactly_once' ? 'exactly_once' : 'at_least_once',
})
await streams.start()
say({ started: process.pid })
process.on('SIGTERM', async () => {
  await streams.close()
  await transport.close()
  say({ closed: process.pid })
  process.exit(0)
})
setInterval(() => {
  if (streams.state === 'error') {
    process.stderr.write(`engine failed: ${streams.error?.message}\n`)
    process.exit(1)
  }
}, 500)
