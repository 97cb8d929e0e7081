// One instance of the fault drill (engine/drill.ts) in its own process: the drill's applications
// (exactly-once and at-least-once) on one transport. stdout: {"started"} once both run, {"done"}
// (finish mode) once the input is complete and both have processed and committed all of it.
// `feed` (embedded: one process per log) makes the instance append the input itself, a step at a
// time, resuming where the log ends. SIGTERM closes cleanly.

import { type DrillApp, drillKlines, drillTopology, feedStep, inputRecords, PARTITIONS } from './drill.ts'
import { EmbeddedTransport } from './embedded/transport.ts'
import { KafkaStreams } from './streams.ts'
import type { Transport } from './transport.ts'

interface Args {
  transport: 'kafka' | 'embedded'
  brokers: string[]
  logDir: string
  stateDir: string
  input: string
  apps: DrillApp[]
  sessionTimeoutMs: number
  feed?: boolean
  finish?: boolean
  minutes: number
  seed: number
}
const args = JSON.parse(process.argv[2]!) as Args
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)

let transport: Transport
if (args.transport === 'kafka') {
  const { KafkaTransport } = await import('./kafka/transport.ts')
  transport = new KafkaTransport({
    brokers: args.brokers,
    clientId: `drill-${process.pid}`,
    sessionTimeoutMs: args.sessionTimeoutMs,
    heartbeatIntervalMs: 500,
  })
} else transport = new EmbeddedTransport({ dir: args.logDir })

const apps = args.apps.map(
  (a) =>
    new KafkaStreams(drillTopology(args.input, a.out), {
      applicationId: a.applicationId,
      transport,
      stateDir: args.stateDir,
      processingGuarantee: a.guarantee,
      commitIntervalMs: 100,
      pollMs: 50,
      sinkPartitions: PARTITIONS,
    }),
)
for (const s of apps) await s.start()
say({ started: process.pid })

process.on('SIGTERM', async () => {
  for (const s of apps) await s.close().catch(() => {})
  await transport.close()
  process.exit(0)
})
setInterval(() => {
  for (const s of apps)
    if (s.state === 'error') {
      process.stderr.write(`engine failed: ${s.error?.message}\n`)
      process.exit(1)
    }
}, 200)

if (args.feed) {
  const records = inputRecords(args.input, drillKlines(args.minutes, args.seed))
  while (await feedStep(transport, records, 5)) await new Promise((r) => setTimeout(r, 20))
}
if (args.finish) {
  for (;;) {
    try {
      await Promise.all(apps.map((s) => s.flush(60_000)))
      break
    } catch (err) {
      process.stderr.write(`flush: ${(err as Error).message}\n`)
    }
  }
  say({ done: process.pid })
}
