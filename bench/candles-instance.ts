import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../common/config.ts'
import { setLogLevel } from '../common/log.ts'
import { KafkaStreams } from '../engine/index.ts'
import { openTransport } from '../engine/open.ts'
import { platformTopology } from '../topologies/index.ts'
import { runToEnd } from './setup.ts'

// One more instance of the platform topology for `bench/candles.ts --instances N` (a child
// process: its own event loop, heap and Kafka clients, as one more pod of the same application).
// It joins the application's consumer group when told to go, runs until its partitions are
// caught up, and reports its wall and CPU time.

export interface InstanceArgs {
  run: string
  prefix: string
  rankingEveryMs?: number
  emitEveryMs?: number
  commitIntervalMs?: number
}

export type InstanceMessage = { ready: true } | { ms: number; cpuMs: number } | { error: string }

const send = (m: InstanceMessage) => process.send?.(m)

if (process.send && process.argv[2]?.startsWith('{')) {
  setLogLevel('warn')
  const args = JSON.parse(process.argv[2] ?? '{}') as InstanceArgs
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-instance-'))
  try {
    const config = loadConfig(process.env, { transport: 'kafka', dataDir: dir })
    const transport = await openTransport(config, `${args.run}-${process.pid}`)
    const streams = new KafkaStreams(
      platformTopology({
        topicPrefix: args.prefix,
        rankingEveryMs: args.rankingEveryMs,
        emitEveryMs: args.emitEveryMs,
      }),
      {
        applicationId: args.run,
        transport,
        stateDir: join(dir, 'state'),
        ...(args.commitIntervalMs ? { commitIntervalMs: args.commitIntervalMs } : {}),
      },
    )
    await new Promise<void>((go) => {
      process.once('message', () => go())
      send({ ready: true })
    })
    send(await runToEnd(streams))
    // Stay in the group until every instance is done: leaving would hand this one's partitions to
    // the others (a rebalance inside their measured time).
    await new Promise<void>((done) => process.once('message', () => done()))
    await streams.close()
    await transport.close()
  } catch (err) {
    send({ error: (err as Error).stack ?? String(err) })
  } finally {
    rmSync(dir, { recursive: true, force: true })
    process.disconnect?.()
  }
}

/**
 * Runs `n` instances (child processes) of the application `args.run` over input already produced;
 * resolves when all have caught up: the wall time from the common start to the last one done, and
 * their CPU time added up.
 */
export async function runInstances(n: number, args: InstanceArgs): Promise<{ ms: number; cpuMs: number }> {
  const children = Array.from({ length: n }, () =>
    fork(new URL(import.meta.url).pathname, [JSON.stringify(args)], { stdio: 'inherit' }),
  )
  const next = (c: (typeof children)[number]) =>
    new Promise<InstanceMessage>((resolve, reject) => {
      c.once('message', (m) => resolve(m as InstanceMessage))
      c.once('exit', (code) => reject(new Error(`instance exited (${code}) before reporting`)))
    })
  const fail = (m: InstanceMessage) => {
    if ('error' in m) throw new Error(`instance failed: ${m.error}`)
    return m
  }
  try {
    ;(await Promise.all(children.map(next))).forEach(fail) // all loaded and connected
    const t0 = performance.now()
    const results = children.map(async (c) => {
      const r = next(c)
      c.send('go')
      const m = fail(await r)
      return { ...(m as { cpuMs: number }), at: performance.now() - t0 }
    })
    const all = await Promise.all(results)
    return { ms: Math.max(...all.map((r) => r.at)), cpuMs: all.reduce((s, r) => s + r.cpuMs, 0) }
  } finally {
    for (const c of children) if (c.connected) c.send('done')
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : 0)))
  }
}
