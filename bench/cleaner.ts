import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { setLogLevel } from '../common/log.ts'
import { EmbeddedTransport } from '../engine/embedded/transport.ts'
import { figure } from './setup.ts'

// The embedded log cleaner's cost to everything else in the process: writes many distinct keys to
// a compacted topic (a changelog of a big store), so closed segments are cleaned while sends go on,
// and reports the slowest send() and the longest event-loop stall (what every poll, timer and
// socket of the process waits). Embedded only: Kafka cleans on the broker.
//   node bench/cleaner.ts [--keys 700000] [--rounds 2] [--segment-mib 16]

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '700000' },
    rounds: { type: 'string', default: '2' },
    'segment-mib': { type: 'string', default: '16' },
  },
})
const K = Number(args.keys)
const ROUNDS = Number(args.rounds)
setLogLevel('warn')
const dir = mkdtempSync(join(tmpdir(), 'cs-bench-cleaner-'))
const t = new EmbeddedTransport({ dir, compactedSegmentBytes: Number(args['segment-mib']) * 1024 * 1024 })
try {
  await t.createTopics([{ name: 'changelog', partitions: 1, compacted: true }])
  const producer = t.producer()
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  let slowest = 0
  const t0 = performance.now()
  for (let round = 0; round < ROUNDS; round++)
    for (let i = 0; i < K; i += 20_000) {
      const records = []
      for (let j = i; j < Math.min(K, i + 20_000); j++)
        records.push({
          topic: 'changelog',
          key: `key-${j.toString().padStart(8, '0')}`,
          value: `{"r":${round}}`,
          timestamp: j,
        })
      const s0 = performance.now()
      await producer.send(records)
      slowest = Math.max(slowest, performance.now() - s0)
    }
  const writeMs = performance.now() - t0
  // Cleans started by the last rolls (background since the cleaner left the send path).
  const cleaned = (t as { cleaned?: () => Promise<void> }).cleaned
  if (cleaned) await cleaned.call(t)
  const totalMs = performance.now() - t0
  loop.disable()
  process.stdout.write(
    `cleaner: ${K.toLocaleString('en-US')} keys × ${ROUNDS} rounds (batches of 20k) written in ${Math.round(writeMs)} ms, cleans done at ${Math.round(totalMs)} ms; slowest send ${Math.round(slowest)} ms; longest event-loop stall ${Math.round(loop.max / 1e6)} ms (p99 ${Math.round(loop.percentile(99) / 1e6)} ms)\n`,
  )
  figure('cleaner: slowest send while cleaning', Math.round(slowest), 'ms')
  figure('cleaner: longest event-loop stall', Math.round(loop.max / 1e6), 'ms')
} finally {
  await t.close()
  rmSync(dir, { recursive: true, force: true })
}
