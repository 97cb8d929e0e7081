// Sink throughput on the real servers: a recorded day of two symbols through the platform
// topology (sinkInput), then each sink alone from offset 0 until caught up.
//   node sinks/bench.ts [--batch 2000]
import { parseArgs } from 'node:util'
import { figure } from '../bench/setup.ts'
import { loadConfig } from '../common/config.ts'
import { setLogLevel } from '../common/log.ts'
import { dropMongo, dropRedis } from './dump.fixture.ts'
import { startSinks } from './index.ts'
import { inputRecords, sinkInput } from './input.fixture.ts'
import { mongoTopics } from './mongo/plan.ts'
import { redisTopics } from './redis/plan.ts'

const { values: args } = parseArgs({ options: { batch: { type: 'string', default: '2000' } } })
setLogLevel('warn')
const run = `${process.pid}_${Date.now()}`
const config = loadConfig(process.env, { mongoDb: `sinks_bench_${run}` })
const keyPrefix = `bench${run}:`
const bed = await sinkInput(1440)
const input = await inputRecords(bed)
const count = (ts: readonly string[]) => ts.reduce((n, t) => n + (input.get(t)?.length ?? 0), 0)
const out = (s: string) => process.stdout.write(`${s}\n`)
try {
  for (const [name, ts] of [
    ['mongo', mongoTopics],
    ['redis', redisTopics],
  ] as const) {
    const t0 = performance.now()
    const sinks = await startSinks({
      config,
      transport: bed.transport,
      keyPrefix,
      mongo: name === 'mongo',
      redis: name === 'redis',
      maxRecords: Number(args.batch),
    })
    await sinks.caughtUp(600_000)
    const ms = performance.now() - t0
    await sinks.close()
    const n = count(ts)
    out(
      `${name}: ${n} records in ${(ms / 1000).toFixed(2)} s = ${Math.round((n / ms) * 1000)} records/s (batch ${args.batch})`,
    )
    figure(`sink ${name} (batch ${args.batch})`, Math.round((n / ms) * 1000), 'records/s')
  }
} finally {
  await bed.close()
  await dropMongo(config.mongoUrl, config.mongoDb)
  await dropRedis(config.redisUrl, keyPrefix)
}
