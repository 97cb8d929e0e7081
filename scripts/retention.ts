import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'
import { type Config, isSet } from '../common/config.ts'
import { ConfigError } from '../common/errors.ts'
import { EmbeddedTransport } from '../engine/embedded/transport.ts'
import { mongoTargets } from '../sinks/mongo/plan.ts'
import { redisKeys } from '../sinks/redis/keys.ts'

// The retention job (CronJob `retention`): deletes what is older than its configured age, and
// nothing else, from
//   - MongoDB: documents of a collection whose time (openTime, predictions: time) is older than
//     the collection's age; collections without an age are kept whole (4h/1d candles by default);
//   - Redis: 1m minutes (keys + index members) and trades older than the Redis age (the sink
//     already bounds them by count and TTL; this cuts by time too, e.g. after a long stop);
//   - the embedded log: closed segments last written longer ago than the log age (the log also
//     does this itself on every segment roll; the job catches a log that was not written lately).
// A store is visited only when configured: MONGO_URL / REDIS_URL set, CS_TRANSPORT=embedded.

export interface RetentionOptions {
  dryRun?: boolean
  /** Age per Mongo collection, days; collections not named are kept. */
  mongoDays?: Record<string, number>
  redisHours?: number
  logDays?: number
  /** Redis key prefix (tests, shared servers). */
  keyPrefix?: string
  now?: number
}

export interface RetentionResult {
  dryRun: boolean
  mongo?: Record<string, number>
  redis?: { minutes: number; trades: number }
  log?: { segmentsDeleted: number }
}

export const DEFAULT_MONGO_DAYS: Record<string, number> = { '5m_kline': 90, '1h_kline': 730, predictions: 30 }
const DAY = 86_400_000

/** `5m_kline=90,predictions=30` → ages in days; a collection the sink does not write is a usage error. */
export function parseMongoDays(spec: string): Record<string, number> {
  const known = new Set(Object.values(mongoTargets).map((t) => t.collection))
  const out: Record<string, number> = {}
  for (const part of spec.split(',').filter(Boolean)) {
    const [name = '', days = ''] = part.split('=')
    const n = Number(days)
    if (!known.has(name) || !(n > 0))
      throw new ConfigError(
        'INVALID',
        `retention: "${part}" is not <collection>=<days> (collections: ${[...known].join(', ')}; days > 0)`,
      )
    out[name] = n
  }
  return out
}

async function mongoRetention(
  config: Config,
  o: RetentionOptions,
  now: number,
): Promise<Record<string, number>> {
  const client = new MongoClient(config.mongoUrl, { serverSelectionTimeoutMS: 10_000 })
  const out: Record<string, number> = {}
  try {
    const db = client.db(config.mongoDb)
    for (const target of Object.values(mongoTargets)) {
      const days = (o.mongoDays ?? DEFAULT_MONGO_DAYS)[target.collection]
      if (days === undefined) continue
      const filter = { [target.timeField]: { $lt: now - days * DAY } }
      const coll = db.collection(target.collection)
      out[target.collection] = o.dryRun
        ? await coll.countDocuments(filter)
        : (await coll.deleteMany(filter)).deletedCount
    }
  } finally {
    await client.close()
  }
  return out
}

async function redisRetention(config: Config, o: RetentionOptions, now: number) {
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 })
  const keys = redisKeys(o.keyPrefix)
  const cutoff = now - (o.redisHours ?? config.redisTtlSeconds / 3600) * 3_600_000
  let minutes = 0
  let trades = 0
  try {
    await redis.connect()
    // every symbol that has data, configured now or not
    const symbolsOf = async (pattern: string, re: RegExp) => {
      const found = new Set<string>()
      let cursor = '0'
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        for (const k of batch) {
          const m = re.exec(k)
          if (m?.[1]) found.add(m[1])
        }
      } while (cursor !== '0')
      return found
    }
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const p = esc(o.keyPrefix ?? '')
    for (const s of await symbolsOf(keys.kline1mIndex('*'), new RegExp(`^${p}crypto:([^:]+):1m:index$`))) {
      const old = await redis.zrangebyscore(keys.kline1mIndex(s), '-inf', `(${cutoff}`)
      minutes += old.length
      if (o.dryRun || old.length === 0) continue
      const tx = redis.multi()
      tx.del(...old.map((t) => keys.kline1m(s, Number(t))))
      tx.zremrangebyscore(keys.kline1mIndex(s), '-inf', `(${cutoff}`)
      await tx.exec()
    }
    for (const s of await symbolsOf(keys.trades('*'), new RegExp(`^${p}trades:([^:]+):list$`))) {
      trades += o.dryRun
        ? await redis.zcount(keys.trades(s), '-inf', `(${cutoff}`)
        : await redis.zremrangebyscore(keys.trades(s), '-inf', `(${cutoff}`)
    }
  } finally {
    redis.disconnect()
  }
  return { minutes, trades }
}

/** Opening the log applies time retention to every partition's closed segments (by append time). */
async function logRetention(config: Config, o: RetentionOptions): Promise<{ segmentsDeleted: number }> {
  const dir = join(config.dataDir, 'log')
  const before = segmentCount(dir)
  // fails with ENGINE_EMBEDDED_LOCKED while the platform has the log open (it applies retention itself then)
  await new EmbeddedTransport({ dir, retentionMs: (o.logDays ?? 7) * DAY }).close()
  return { segmentsDeleted: before - segmentCount(dir) }
}

/** Segment files (`<topic>/<p>.log`, `<topic>/<p>.<base>.log`) in the log. */
function segmentCount(dir: string): number {
  const topics = join(dir, 'topics')
  if (!existsSync(topics)) return 0
  let n = 0
  for (const topic of readdirSync(topics))
    n += readdirSync(join(topics, topic)).filter((f) => f.endsWith('.log')).length
  return n
}

export async function retention(config: Config, o: RetentionOptions = {}): Promise<RetentionResult> {
  const now = o.now ?? Date.now()
  const result: RetentionResult = { dryRun: o.dryRun === true }
  if (isSet('mongoUrl')) result.mongo = await mongoRetention(config, o, now)
  if (isSet('redisUrl')) result.redis = await redisRetention(config, o, now)
  if (!o.dryRun && config.transport === 'embedded' && existsSync(join(config.dataDir, 'log')))
    result.log = await logRetention(config, o)
  return result
}
