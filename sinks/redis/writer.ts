import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { sinkMetrics } from '../metrics.ts'
import type { Rejected, SinkWriter } from '../runner.ts'
import { type RedisKeys, redisKeys } from './keys.ts'
import { planBatch, redisTopics } from './plan.ts'

// Writes a batch to Redis in one pipeline. A 1m kline is one script call, so the minute key, the
// index, `latest` (only when this minute is the newest) and the count trim (which deletes the
// minute keys that leave the index) change together. Every key gets the TTL on each write.
// ioredis is set to fail commands at once while disconnected (no offline queue, no resend):
// the runner then holds the batch and retries it, so memory stays bounded while Redis is away.

export interface RedisSinkOptions {
  url: string
  keyPrefix?: string
  topics?: string[]
  /** Input topics are `<topicPrefix><topic>`. */
  topicPrefix?: string
  ttlSeconds: number
  kline1mKeep: number
  tradesKeep: number
}

// KEYS: minute key, index, latest. ARGV: json, openTime, ttl, keep, minute-key prefix.
const PUT_MINUTE = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if tonumber(top[2]) <= tonumber(ARGV[2]) then redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3]) end
local keep = tonumber(ARGV[4])
local old = redis.call('ZRANGE', KEYS[2], 0, -(keep + 1))
for _, m in ipairs(old) do redis.call('DEL', ARGV[5] .. m) end
if #old > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(keep + 1)) end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return #old
`

type ScriptRedis = Redis & {
  putMinute(minute: string, index: string, latest: string, ...argv: (string | number)[]): Promise<number>
}

export class RedisWriter implements SinkWriter {
  readonly name = 'redis'
  readonly topics: readonly string[]
  private readonly redis: ScriptRedis
  private readonly keys: RedisKeys
  private readonly opts: RedisSinkOptions

  constructor(opts: RedisSinkOptions) {
    this.opts = opts
    this.topics = opts.topics ?? redisTopics.map((t) => (opts.topicPrefix ?? '') + t)
    this.keys = redisKeys(opts.keyPrefix)
    this.redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 10_000,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    }) as ScriptRedis
    this.redis.on('error', () => {}) // reconnects on its own; failed writes are logged by the runner
    this.redis.defineCommand('putMinute', { numberOfKeys: 3, lua: PUT_MINUTE })
  }

  /** Waits up to a few seconds for a (re)connection, so a batch does not fail just before it. */
  private async ready(): Promise<void> {
    if (this.redis.status === 'ready') return
    const ac = new AbortController()
    try {
      await Promise.race([
        once(this.redis, 'ready', { signal: ac.signal }),
        sleep(3000, undefined, { signal: ac.signal }),
      ])
    } finally {
      ac.abort()
    }
  }

  async write(records: ConsumedRecord[]): Promise<Rejected[]> {
    await this.ready().catch(() => {})
    const plan = planBatch(records, this.keys, this.opts.topicPrefix)
    const { ttlSeconds: ttl, kline1mKeep, tradesKeep } = this.opts
    const k = this.keys
    const p = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      putMinute(...args: (string | number)[]): unknown
    }
    for (const m of plan.minutes.values())
      p.putMinute(
        k.kline1m(m.symbol, m.openTime),
        k.kline1mIndex(m.symbol),
        k.kline1mLatest(m.symbol),
        m.json,
        m.openTime,
        ttl,
        kline1mKeep,
        k.kline1mPrefix(m.symbol),
      )
    for (const [key, members] of plan.trades) {
      p.zadd(key, ...members.flat())
      p.zremrangebyrank(key, 0, -(tradesKeep + 1))
      p.expire(key, ttl)
    }
    for (const [key, value] of plan.latest) p.set(key, value, 'EX', ttl)
    if (p.length > 0) {
      const results = (await p.exec()) ?? []
      const failed = results.find(([err]) => err)
      if (failed) throw failed[0]
    }
    const m = sinkMetrics.written
    if (plan.minutes.size) m.inc({ sink: this.name, collection: '1m_kline' }, plan.minutes.size)
    const trades = [...plan.trades.values()].reduce((n, l) => n + l.length, 0)
    if (trades) m.inc({ sink: this.name, collection: 'trades' }, trades)
    if (plan.latest.size) m.inc({ sink: this.name, collection: 'latest' }, plan.latest.size)
    return plan.rejected
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
