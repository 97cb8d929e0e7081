import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { topics } from '../../common/topics.ts'
import { openTransport, type Transport } from '../../engine/index.ts'
import { spotDay } from '../../processors/testdata.ts'
import { dropRedis, mongoDump, redisDump } from '../../sinks/dump.fixture.ts'
import { type Sinks, startSinks } from '../../sinks/index.ts'
import { type ThrowawayServer, throwawayFerretdb } from '../servers.fixture.ts'
import { ThrowawayKafka } from './kafka.fixture.ts'

// Failure drills on the platform's process role and its sinks, on real Kafka, MongoDB-wire and
// Redis servers. A recorded day of 1m klines (as ingest writes them) goes in, in steps; the drilled
// run SIGKILLs the process role at random points 5 times and restarts it, restarts the Kafka broker
// once and stops MongoDB once. Its MongoDB collections and Redis keys then equal an uninterrupted
// run's (the same input on topics of its own prefix): nothing lost, nothing doubled.
// Left out of the comparison: `_v` (the offset of the version, which differs between two topics
// whenever a restart re-emits) and the ranking keys (emitted once a second by the wall clock).

const fixture = fileURLToPath(new URL('./process-role.fixture.ts', import.meta.url))
const run = `drill${process.pid}${Date.now().toString(36)}`
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']
const STEPS = 12
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'cs-drill-'))
  dirs.push(d)
  return d
}
let kafka: ThrowawayKafka | undefined
let mongo: ThrowawayServer | undefined
let transport: Transport | undefined
const sinks: Sinks[] = []
const children = new Set<ChildProcess>()

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  for (const s of sinks) await s.close().catch(() => {})
  await transport?.close()
  await kafka?.destroy()
  await mongo?.destroy()
  for (const p of ['a', 'b']) await dropRedis(redisUrl, `${run}${p}:`)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}, 120_000)

/** One recorded day of closed 1m klines of every symbol, in time order, as ingest writes them. */
const input = () => {
  const days = symbols.map((s) => spotDay(s, '1m', '2024-01-02'))
  return days[0]!
    .flatMap((_, i) => days.map((d) => d[i]!))
    .map((k) => ({ key: k.symbol, value: JSON.stringify({ ...k, interval: '1m' }), timestamp: k.openTime }))
}

/** The process role as a child; resolves once it runs (or, with finish, once it caught up). */
async function processRole(stateDir: string, prefix: string, finish = false): Promise<ChildProcess> {
  const args = {
    brokers: kafka!.brokers,
    stateDir,
    prefix: `${prefix}.`,
    applicationId: `${run}-${prefix}`,
    finish,
  }
  const child = spawn(process.execPath, [fixture, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', CS_LOG_LEVEL: 'warn' },
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const want = finish ? 'done' : 'started'
  for await (const line of createInterface({ input: child.stdout! }))
    if (line.includes(`"${want}"`)) return child
  throw new Error(`process role exited before "${want}"`)
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

async function startRunSinks(prefix: string): Promise<Sinks> {
  const s = await startSinks({
    config: {
      ...loadConfig({}),
      mongoUrl: `mongodb://127.0.0.1:${mongo!.port}/`,
      mongoDb: `${run}${prefix}`,
      redisUrl,
    },
    transport: transport!,
    topicPrefix: `${prefix}.`,
    keyPrefix: `${run}${prefix}:`,
    groupPrefix: `${run}-sink-${prefix}`,
    backoff: { minMs: 100, maxMs: 1000 },
    mongoTimeoutMs: 2000,
  })
  sinks.push(s)
  return s
}

const produce = (prefix: string, records: ReturnType<typeof input>) =>
  transport!.producer().send(records.map((r) => ({ topic: `${prefix}.${topics.kline1m}`, ...r })))

async function contents(prefix: string) {
  const db = await mongoDump(`mongodb://127.0.0.1:${mongo!.port}/`, `${run}${prefix}`)
  const mongoDocs = Object.fromEntries(
    Object.entries(db).map(([c, docs]) => [
      c,
      docs.map((d) => {
        const { _v, ...rest } = d as Record<string, unknown>
        return rest
      }),
    ]),
  )
  const redis = await redisDump(redisUrl, `${run}${prefix}:`)
  const keys = Object.fromEntries(Object.entries(redis.data).filter(([k]) => !k.startsWith('ranking:')))
  return { mongo: mongoDocs, redis: keys }
}

describe('failure drills: process role, Kafka broker, MongoDB', () => {
  it('after 5 SIGKILLs, a broker restart and a MongoDB outage the sinks hold what an uninterrupted run wrote', async () => {
    kafka = await ThrowawayKafka.create()
    mongo = await throwawayFerretdb()
    transport = await openTransport(loadConfig({ CS_TRANSPORT: 'kafka', KAFKA_BROKERS: kafka.brokers }), run)
    for (const p of ['a', 'b'])
      await transport.createTopics([{ name: `${p}.${topics.kline1m}`, partitions: 3 }])
    const records = input()
    expect(records).toHaveLength(1440 * symbols.length)

    // a: uninterrupted
    await produce('a', records)
    const roleA = await processRole(tmp(), 'a', true) // creates the output topics the sinks read
    const sinksA = await startRunSinks('a')
    await stop(roleA)
    await sinksA.caughtUp(60_000)

    // b: the same input in steps, faults in between
    const stateDir = tmp()
    let role = await processRole(stateDir, 'b')
    const sinksB = await startRunSinks('b')
    const size = Math.ceil(records.length / STEPS)
    const kills = new Set([1, 3, 5, 8, 10])
    for (let i = 0; i < STEPS; i++) {
      await produce('b', records.slice(i * size, (i + 1) * size))
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500)) // a random point of its work
      if (kills.has(i)) {
        await kill(role)
        role = await processRole(stateDir, 'b')
      }
      if (i === 4) {
        await kafka.stop()
        await kafka.start()
      }
      if (i === 6) await mongo.stop()
      if (i === 7) await mongo.start()
    }
    await stop(role)
    await stop(await processRole(stateDir, 'b', true))
    await sinksB.caughtUp(90_000)

    const [a, b] = [await contents('a'), await contents('b')]
    expect(a.mongo['1h_kline']).toHaveLength(24 * symbols.length)
    expect(a.mongo['5m_kline']).toHaveLength(288 * symbols.length)
    expect(Object.keys(a.redis).filter((k) => k.startsWith('indicators:')).length).toBeGreaterThan(0)
    expect(b.mongo).toEqual(a.mongo)
    expect(b.redis).toEqual(a.redis)
  }, 360_000)
})
