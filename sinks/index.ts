import type { Config } from '../common/config.ts'
import { StreamsError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import type { Transport } from '../engine/transport.ts'
import { mongoTopics } from './mongo/plan.ts'
import { MongoWriter } from './mongo/writer.ts'
import { redisTopics } from './redis/plan.ts'
import { RedisWriter } from './redis/writer.ts'
import { SinkRunner, type SinkWriter } from './runner.ts'

// The sinks role: MongoDB and Redis writers, each its own consumer group over the transport, so a
// server that is away holds back only its own sink. Used in-process by the platform and alone by
// `node scripts/cli.ts sink` (several instances split the partitions on Kafka).

const log = createLogger('sinks')

export type SinksConfig = Pick<
  Config,
  'mongoUrl' | 'mongoDb' | 'redisUrl' | 'redisTtlSeconds' | 'redisKline1mKeep' | 'redisTradesKeep'
>

export interface SinksOptions {
  config: SinksConfig
  transport: Transport
  /** Which sinks to run; default both. */
  mongo?: boolean
  redis?: boolean
  /** Prefix of every Redis key (default none). */
  keyPrefix?: string
  /** Input topics are `<topicPrefix><topic>` (as the topologies' option; default none). */
  topicPrefix?: string
  /** Consumer groups are `<groupPrefix>-mongo` / `-redis`; default `crypto-streams-sink`. */
  groupPrefix?: string
  /** Records per batch (memory bound per sink); default 2000. */
  maxRecords?: number
  backoff?: { minMs: number; maxMs: number }
  /** MongoDB server selection timeout per attempt; default 5000 ms. */
  mongoTimeoutMs?: number
}

export interface Sinks {
  readonly runners: readonly SinkRunner[]
  /** Resolves when every sink has committed up to the input ends as of the call. */
  caughtUp(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Input topics that exist; on Kafka a group subscribes only to those (the embedded log picks up new ones). */
async function existing(transport: Transport, sink: string, all: readonly string[]): Promise<string[]> {
  if (transport.kind === 'embedded') return [...all]
  const out: string[] = []
  for (const t of all) if ((await transport.partitions(t)) !== undefined) out.push(t)
  const missing = all.filter((t) => !out.includes(t))
  if (missing.length)
    log.warn('input topics missing, not subscribed (restart the sink once they exist)', {
      sink,
      missing,
    })
  return out
}

export async function startSinks(opts: SinksOptions): Promise<Sinks> {
  const { config: c, transport } = opts
  const group = opts.groupPrefix ?? 'crypto-streams-sink'
  const runners: SinkRunner[] = []
  const start = async (name: string, all: readonly string[], make: (topics: string[]) => SinkWriter) => {
    const topics = await existing(
      transport,
      name,
      all.map((t) => (opts.topicPrefix ?? '') + t),
    )
    if (topics.length === 0)
      throw new StreamsError(
        'SINK',
        'NO_INPUT_TOPICS',
        `sink ${name}: none of its input topics exist on Kafka yet; start the engine (platform or process) first`,
      )
    const writer = make(topics)
    const groupId = `${group}-${name}`
    try {
      runners.push(
        await SinkRunner.start({
          transport,
          writer,
          groupId,
          ...(opts.maxRecords ? { maxRecords: opts.maxRecords } : {}),
          ...(opts.backoff ? { backoff: opts.backoff } : {}),
        }),
      )
    } catch (err) {
      await writer.close()
      throw err
    }
    log.info('sink started', { sink: name, group: groupId, topics })
  }
  try {
    if (opts.mongo !== false)
      await start(
        'mongo',
        mongoTopics,
        (topics) =>
          new MongoWriter({
            url: c.mongoUrl,
            db: c.mongoDb,
            topics,
            ...(opts.topicPrefix ? { topicPrefix: opts.topicPrefix } : {}),
            ...(opts.mongoTimeoutMs ? { serverSelectionTimeoutMS: opts.mongoTimeoutMs } : {}),
          }),
      )
    if (opts.redis !== false)
      await start(
        'redis',
        redisTopics,
        (topics) =>
          new RedisWriter({
            url: c.redisUrl,
            ttlSeconds: c.redisTtlSeconds,
            kline1mKeep: c.redisKline1mKeep,
            tradesKeep: c.redisTradesKeep,
            ...(opts.keyPrefix ? { keyPrefix: opts.keyPrefix } : {}),
            topics,
            ...(opts.topicPrefix ? { topicPrefix: opts.topicPrefix } : {}),
          }),
      )
  } catch (err) {
    for (const r of runners) await r.close()
    throw err
  }
  return {
    runners,
    caughtUp: async (timeoutMs) => {
      for (const r of runners) await r.caughtUp(timeoutMs)
    },
    close: async () => {
      for (const r of runners) await r.close()
    },
  }
}
