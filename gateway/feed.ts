import { hostname } from 'node:os'
import { createLogger } from '../common/log.ts'
import type { Book, Kline, Trade } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { Transport } from '../engine/index.ts'
import type { Consumer, TopicPartition } from '../engine/transport.ts'
import type { Indicators } from '../processors/indicators.ts'
import type { Ranking } from '../processors/ranking.ts'
import { feedRecords } from './metrics.ts'
import type { DependencyState, Prediction } from './reader.ts'

// Live updates for Socket.IO and WebSocket clients: a consumer of the output topics on the same
// transport as the engine (embedded log or Kafka), in its own group, starting at the end: a
// restarted gateway serves history from the reader and only new records from here. Topics that
// do not exist yet (crypto_predictions before the predictor runs) are picked up when they appear:
//   embedded: the group's position is set to the end of every existing partition at start, so a
//             topic created later is read from its first record (one small group file per
//             concurrent gateway: the id is reused, not one per run);
//   Kafka:    one group per process (every instance sees every record), never committing, from
//             'latest'; missing topics are looked for every `topicCheckMs` and then followed by a
//             consumer of their own from their first record (they appeared after the start).

const log = createLogger('gateway.feed')

export type FeedEvent =
  | { stream: 'kline'; symbol: string; interval: string; data: Kline }
  | { stream: 'trades'; symbol: string; data: Trade }
  | { stream: 'orderbook'; symbol: string; data: Book }
  | { stream: 'ranking'; data: Ranking }
  | { stream: 'prediction'; symbol: string; data: Prediction }
  | { stream: 'indicators'; symbol: string; interval: string; data: Indicators }

/** Channel of an event: what clients subscribe to (`kline:BTCUSDT:1m`, `ranking`, …). */
export function channelOf(e: FeedEvent): string {
  switch (e.stream) {
    case 'kline':
    case 'indicators':
      return `${e.stream}:${e.symbol}:${e.interval}`
    case 'ranking':
      return 'ranking'
    default:
      return `${e.stream}:${e.symbol}`
  }
}

function eventOf(stream: string, value: Record<string, unknown>): FeedEvent | undefined {
  const symbol = value.symbol
  if (stream === 'ranking') return { stream, data: value as unknown as Ranking }
  if (typeof symbol !== 'string') return undefined
  if (stream === 'kline' || stream === 'indicators')
    return { stream, symbol, interval: String(value.interval), data: value as never }
  return { stream, symbol, data: value as never } as FeedEvent
}

export interface LiveFeedOptions {
  transport: Transport
  topicPrefix?: string
  /** How often to look for topics that did not exist yet (default 5 s). */
  topicCheckMs?: number
}

let instances = 0

export class LiveFeed {
  private readonly o: LiveFeedOptions
  private readonly streamOf = new Map<string, string>()
  private readonly listeners = new Set<(e: FeedEvent) => void>()
  private readonly consumers: Consumer[] = []
  private readonly loops: Promise<void>[] = []
  private readonly followed = new Set<string>()
  private closed = false
  private checker: NodeJS.Timeout | undefined
  private checking = false
  private lastError: string | undefined
  private readonly groupId = `crypto-streams-gateway-${hostname()}-${process.pid}-${++instances}`

  constructor(o: LiveFeedOptions) {
    this.o = o
    const p = o.topicPrefix ?? ''
    const map: Record<string, string> = {
      [topics.kline1m]: 'kline',
      [topics.kline5m]: 'kline',
      [topics.kline1h]: 'kline',
      [topics.kline4h]: 'kline',
      [topics.kline1d]: 'kline',
      [topics.trades]: 'trades',
      [topics.orderbook]: 'orderbook',
      [topics.ranking]: 'ranking',
      [topics.indicators]: 'indicators',
      [topics.predictions]: 'prediction',
    }
    for (const [t, s] of Object.entries(map)) this.streamOf.set(p + t, s)
  }

  /**
   * Whether anyone wants records of `stream` with this record key (the symbol; `all` for the
   * ranking): records nobody subscribed to are not even parsed. Default: everything.
   */
  interest: (stream: string, key: string) => boolean = () => true

  on(listener: (e: FeedEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Starts reading at the current end of every existing output topic. */
  async start(): Promise<void> {
    const t = this.o.transport
    if (t.kind === 'embedded') {
      await this.followEmbedded()
      return
    }
    const existing = await this.missing()
    if (existing.length > 0) await this.follow(existing, 'latest')
    this.checker = setInterval(() => void this.checkNewTopics(), this.o.topicCheckMs ?? 5000)
  }

  health(): DependencyState {
    if (this.lastError) return { ok: false, detail: this.lastError }
    return { ok: !this.closed, detail: `${this.followed.size} topics` }
  }

  /** Output topics that exist and are not followed yet. */
  private async missing(): Promise<string[]> {
    const out: string[] = []
    for (const t of this.streamOf.keys())
      if (!this.followed.has(t) && (await this.o.transport.partitions(t)) !== undefined) out.push(t)
    return out
  }

  /** Kafka: a topic that appeared after start is read from its first record, by a consumer of its own. */
  private async checkNewTopics(): Promise<void> {
    if (this.checking || this.closed) return
    this.checking = true
    try {
      const fresh = await this.missing()
      if (fresh.length > 0) await this.follow(fresh, 'earliest')
    } catch (e) {
      log.warn('looking for new output topics failed', { error: e })
    } finally {
      this.checking = false
    }
  }

  private async follow(topicList: string[], from: 'earliest' | 'latest'): Promise<void> {
    const groupId = `${this.groupId}-${this.consumers.length}`
    const c = await this.o.transport.consumer({ groupId, topics: topicList, from })
    for (const t of topicList) this.followed.add(t)
    this.consumers.push(c)
    this.loops.push(this.run(c))
  }

  /**
   * The embedded log assigns topics created later by itself: one consumer of every output topic,
   * whose group starts at the ends of the partitions that exist now.
   */
  private async followEmbedded(): Promise<void> {
    const t = this.o.transport
    const all = [...this.streamOf.keys()]
    const c = await this.embeddedConsumer(all)
    const ends: (TopicPartition & { offset: number })[] = []
    for (const topic of all) {
      const n = (await t.partitions(topic)) ?? 0
      for (let partition = 0; partition < n; partition++)
        ends.push({ topic, partition, offset: await t.endOffset({ topic, partition }) })
    }
    await c.commit(ends)
    for (const topic of all) this.followed.add(topic)
    this.consumers.push(c)
    this.loops.push(this.run(c))
  }

  /** `crypto-streams-gateway`, or the next free `-<n>` when another gateway of this process has it. */
  private async embeddedConsumer(topicList: string[]): Promise<Consumer> {
    for (let i = 0; ; i++) {
      try {
        const groupId = i === 0 ? 'crypto-streams-gateway' : `crypto-streams-gateway-${i}`
        // unsynced: records reach clients as soon as they are appended, not after their fsync
        return await this.o.transport.consumer({
          groupId,
          topics: topicList,
          from: 'earliest',
          unsynced: true,
        })
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENGINE_EMBEDDED_GROUP_BUSY' || i >= 1000) throw e
      }
    }
  }

  private async run(consumer: Consumer): Promise<void> {
    while (!this.closed) {
      try {
        const records = await consumer.poll(2000, 200)
        this.lastError = undefined
        const counts = new Map<string, number>()
        let delivered = 0
        for (const r of records) {
          const stream = this.streamOf.get(r.topic)
          if (!stream || r.tombstone) continue
          counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1)
          if (!this.interest(stream, r.key)) continue
          // let sockets write (and other requests run) between slices of 100 delivered events; records
          // nobody subscribed to cost a lookup, not worth a turn of the loop that a later update waits for
          if (delivered > 0 && delivered % 100 === 0) await new Promise((done) => setImmediate(done))
          delivered++
          let value: unknown
          try {
            value = JSON.parse(r.value)
          } catch {
            continue // the engine dead-letters malformed records; a feed only forwards
          }
          const e = typeof value === 'object' && value !== null ? eventOf(stream, value as never) : undefined
          if (e) for (const l of this.listeners) this.deliver(l, e)
        }
        for (const [topic, n] of counts) feedRecords.inc({ topic }, n)
      } catch (e) {
        if (this.closed) return
        this.lastError = (e as Error).message
        log.warn('live feed poll failed; retrying', { error: e })
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }

  private deliver(l: (e: FeedEvent) => void, e: FeedEvent): void {
    try {
      l(e)
    } catch (err) {
      log.warn('feed listener failed', { error: err })
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.checker)
    while (this.checking) await new Promise((r) => setTimeout(r, 10))
    await Promise.all(this.loops)
    for (const c of this.consumers) await c.close()
  }
}
