import { Redis } from 'ioredis'
import { type Db, MongoClient } from 'mongodb'
import type { Book, Kline, Trade } from '../../common/records.ts'
import type { Ranking } from '../../processors/ranking.ts'
import { type RedisKeys, redisKeys } from '../../sinks/redis/keys.ts'
import { type CandleQuery, type MarketReader, type Prediction, selectCandles } from '../reader.ts'
import { indicatorSeries } from './indicators.ts'

// MarketReader over what sinks/ writes (sinks/README.md): candles 5m..1d from MongoDB
// (`<interval>_kline`, keyed by symbol and openTime), 1m klines, book, trades, ranking and
// predictions from Redis. Redis reconnects on its own; while it or Mongo is away the calls fail
// fast (no offline queue) and /health says which one is down.

export interface SinkReaderOptions {
  mongoUrl: string
  /** Database (sinks' MONGO_DB), default `CRYPTO`. */
  mongoDb?: string
  redisUrl: string
  /** Prefix of every Redis key (sinks' `keyPrefix`), default none. */
  keyPrefix?: string
}

const NO_META = { projection: { _id: 0, _v: 0 } }
const parse = <T>(s: string | null): T | undefined => (s === null ? undefined : (JSON.parse(s) as T))

export class SinkReader implements MarketReader {
  readonly kind = 'sinks'
  private readonly mongo: MongoClient
  private readonly db: Db
  private readonly redis: Redis
  private readonly keys: RedisKeys

  private constructor(mongo: MongoClient, db: Db, redis: Redis, keyPrefix: string) {
    this.mongo = mongo
    this.db = db
    this.redis = redis
    this.keys = redisKeys(keyPrefix)
  }

  /** Waits up to ~2 s for the servers, but starts while one is away: /health then says which. */
  static async open(o: SinkReaderOptions): Promise<SinkReader> {
    const mongo = new MongoClient(o.mongoUrl, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 })
    const redis = new Redis(o.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      retryStrategy: (n) => Math.min(2000, 100 * n),
    })
    redis.on('error', () => {}) // reported by health(); reconnects by itself
    // give both a moment to connect, so a healthy start is healthy at once; never fail here
    const redisReady = new Promise<void>((r) => redis.once('ready', () => r()))
    await Promise.all([
      mongo.connect().catch(() => {}),
      Promise.race([redisReady, new Promise((r) => setTimeout(r, 2000).unref())]),
    ])
    return new SinkReader(mongo, mongo.db(o.mongoDb ?? 'CRYPTO'), redis, o.keyPrefix ?? '')
  }

  async candles(q: CandleQuery): Promise<Kline[]> {
    if (q.interval === '1m') return this.minutes(q)
    const col = this.db.collection<Kline>(`${q.interval}_kline`)
    const openTime: Record<string, number> = {}
    if (q.startTime !== undefined) openTime.$gte = q.startTime
    if (q.endTime !== undefined) openTime.$lte = q.endTime
    const filter = { symbol: q.symbol, ...(Object.keys(openTime).length ? { openTime } : {}) }
    const asc = q.startTime !== undefined
    const rows = await col
      .find(filter, NO_META)
      .sort({ openTime: asc ? 1 : -1 })
      .limit(q.limit)
      .toArray()
    return (asc ? rows : rows.reverse()) as Kline[]
  }

  private async minutes(q: CandleQuery): Promise<Kline[]> {
    const index = this.keys.kline1mIndex(q.symbol)
    const end = q.endTime ?? '+inf'
    const times =
      q.startTime !== undefined
        ? await this.redis.zrangebyscore(index, q.startTime, end, 'LIMIT', 0, q.limit)
        : (await this.redis.zrevrangebyscore(index, end, '-inf', 'LIMIT', 0, q.limit)).reverse()
    if (times.length === 0) return []
    const minute = this.keys.kline1mPrefix(q.symbol)
    const values = await this.redis.mget(times.map((t) => minute + t))
    const rows = values.flatMap((v) => (v === null ? [] : [JSON.parse(v) as Kline]))
    return selectCandles(rows, q)
  }

  async latest(symbol: string): Promise<Kline | undefined> {
    return parse(await this.redis.get(this.keys.kline1mLatest(symbol)))
  }

  async orderbook(symbol: string): Promise<Book | undefined> {
    return parse(await this.redis.get(this.keys.orderbookLatest(symbol)))
  }

  async trades(symbol: string, limit: number): Promise<Trade[]> {
    const members = await this.redis.zrevrange(this.keys.trades(symbol), 0, limit - 1)
    // same trade time: Redis orders members as strings; the API orders by id
    return members.map((m) => JSON.parse(m) as Trade).sort((a, b) => b.time - a.time || b.id - a.id)
  }

  async ranking(): Promise<Ranking | undefined> {
    return parse(await this.redis.get(this.keys.rankingLatest()))
  }

  async prediction(symbol: string): Promise<Prediction | undefined> {
    return parse(await this.redis.get(this.keys.prediction(symbol)))
  }

  async indicators(symbol: string, interval: '5m' | '1h' | '4h' | '1d', limit: number) {
    const rows = await this.db
      .collection<Kline>(`${interval}_kline`)
      .find({ symbol, closed: true }, { projection: { _id: 0, openTime: 1, close: 1 } })
      .sort({ openTime: -1 })
      .limit(1000)
      .toArray()
    const closes = rows.reverse().map((r): [number, number] => [r.openTime, Number(r.close)])
    return indicatorSeries(symbol, interval, closes, limit)
  }

  async health() {
    const probe = async (f: () => Promise<unknown>) => {
      try {
        await f()
        return { ok: true, detail: 'ok' }
      } catch (e) {
        return { ok: false, detail: (e as Error).message }
      }
    }
    const [mongo, redis] = await Promise.all([
      probe(() => this.db.command({ ping: 1 }, { timeoutMS: 2000 })),
      probe(() => this.redis.ping()),
    ])
    return { mongo, redis }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
    await this.mongo.close()
  }
}
