import { Admin } from '@platformatic/kafka'
import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'
import { ServiceUnavailableError } from './errors.ts'

// Connecting to a server is bounded in time: a missing server gives a clear error, never a hang.
const DEFAULT_TIMEOUT_MS = 10_000

async function withDeadline<T>(
  what: string,
  address: string,
  ms: number,
  attempt: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new ServiceUnavailableError(what, address, { cause: new Error(`no answer within ${ms} ms`) })),
      ms,
    )
  })
  try {
    return await Promise.race([attempt(), deadline])
  } catch (err) {
    if (err instanceof ServiceUnavailableError) throw err
    throw new ServiceUnavailableError(what, address, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once the Kafka cluster answers a metadata request. */
export async function waitForKafka(brokers: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const admin = new Admin({
    clientId: 'cs-probe',
    bootstrapBrokers: brokers,
    retries: 0,
    connectTimeout: Math.min(timeoutMs, 5000),
  })
  try {
    await withDeadline('Kafka', brokers.join(','), timeoutMs, () => admin.metadata({ topics: [] }))
  } finally {
    await admin.close().catch(() => {})
  }
}

export async function connectRedis(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  })
  redis.on('error', () => {}) // surfaced through connect()/commands; avoid the unhandled-event log
  try {
    await withDeadline('Redis', url, timeoutMs, async () => {
      await redis.connect()
      await redis.ping()
    })
    return redis
  } catch (err) {
    redis.disconnect()
    throw err
  }
}

export async function connectMongo(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<MongoClient> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs })
  try {
    await withDeadline('MongoDB', url, timeoutMs + 1000, async () => {
      await client.connect()
      await client.db().command({ ping: 1 })
    })
    return client
  } catch (err) {
    await client.close().catch(() => {})
    throw err
  }
}
