// The process role (scripts/commands/process.ts: the platform topology over the raw topics) in its
// own process, on topics with a prefix so two runs share one broker. stdout: {"started"} once
// running, {"done"} (with `finish`) once it has processed and committed all input there is.
// SIGTERM closes cleanly; the drills SIGKILL it.

import { join } from 'node:path'
import { loadConfig } from '../../common/config.ts'
import { KafkaStreams, openTransport } from '../../engine/index.ts'
import { platformTopology } from '../../topologies/index.ts'

interface Args {
  brokers: string
  stateDir: string
  prefix: string
  applicationId: string
  finish?: boolean
}
const args = JSON.parse(process.argv[2]!) as Args
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)

const config = loadConfig({ CS_TRANSPORT: 'kafka', KAFKA_BROKERS: args.brokers, CS_LOG_LEVEL: 'warn' })
const transport = await openTransport(config)
const streams = new KafkaStreams(platformTopology({ rankingEveryMs: 1000, topicPrefix: args.prefix }), {
  applicationId: args.applicationId,
  transport,
  stateDir: join(args.stateDir, 'state'),
})
await streams.start()
say({ started: process.pid })

process.on('SIGTERM', async () => {
  await streams.close().catch(() => {})
  await transport.close()
  process.exit(0)
})
setInterval(() => {
  if (streams.state === 'error') {
    process.stderr.write(`engine failed: ${streams.error?.message}\n`)
    process.exit(1)
  }
}, 200)

if (args.finish) {
  for (;;) {
    try {
      await streams.flush(60_000)
      break
    } catch (err) {
      process.stderr.write(`flush: ${(err as Error).message}\n`)
    }
  }
  say({ done: process.pid })
}
