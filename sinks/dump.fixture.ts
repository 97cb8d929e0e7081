import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'

// Whole-content dumps of what the sinks wrote, for equality checks between runs.

export async function mongoDump(url: string, db: string): Promise<Record<string, unknown[]>> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
  try {
    const out: Record<string, unknown[]> = {}
    const names = (await client.db(db).listCollections().toArray()).map((c) => c.name).sort()
    for (const n of names) out[n] = await client.db(db).collection(n).find({}).sort({ _id: 1 }).toArray()
    return out
  } finally {
    await client.close()
  }
}

/** key (prefix removed) → string value or [member, score] pairs; plus whether every key has a TTL. */
export async function redisDump(
  url: string,
  prefix: string,
): Promise<{ data: Record<string, unknown>; allExpire: boolean }> {
  const redis = new Redis(url)
  try {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    keys.sort()
    const data: Record<string, unknown> = {}
    let allExpire = true
    for (const k of keys) {
      const type = await redis.type(k)
      data[k.slice(prefix.length)] =
        type === 'zset' ? await redis.zrange(k, '0', '-1', 'WITHSCORES') : await redis.get(k)
      if ((await redis.ttl(k)) <= 0) allExpire = false
    }
    return { data, allExpire }
  } finally {
    redis.disconnect()
  }
}

export async function dropMongo(url: string, db: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
  try {
    await client.db(db).dropDatabase()
  } finally {
    await client.close()
  }
}

export async function dropRedis(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url)
  try {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}
