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
//   Kafka:    one group per process (every instance sees every record), never committing, 'latest';
//             missing topics are looked for every `topicCheckMs` and then read from their end, so
//             records written between a topic's creation and that check are not pushed live.

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
  private consumer: Consumer | undefined
  private subscribed: string[] = []
  private closed = false
  private loop: Promise<void> = Promise.resolve()
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

  on(listener: (e: FeedEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Starts reading at the current end of every existing output topic. */
  async start(): Promise<void> {
    await this.subscribe()
    this.loop = this.run()
  }

  health(): DependencyState {
    if (this.lastError) return { ok: false, detail: this.lastError }
    return { ok: !this.closed, detail: `${this.subscribed.length} topics` }
  }

  private async existing(): Promise<string[]> {
    // the embedded log assigns topics created later by itself; Kafka subscribes to existing ones
    if (this.o.transport.kind === 'embedded') return [...this.streamOf.keys()]
    const out: string[] = []
    for (const t of this.streamOf.keys())
      if ((await this.o.transport.partitions(t)) !== undefined) out.push(t)
    return out
  }

  private async subscribe(): Promise<void> {
    const now = await this.existing()
    if (this.consumer && now.length === this.subscribed.length) return
    await this.consumer?.close()
    this.subscribed = now
    const t = this.o.transport
    if (t.kind !== 'embedded') {
      this.consumer = await t.consumer({ groupId: this.groupId, topics: now, from: 'latest' })
      return
    }
    this.consumer = await this.embeddedConsumer(now)
    const ends: (TopicPartition & { offset: number })[] = []
    for (const topic of now) {
      const n = (await t.partitions(topic)) ?? 0
      for (let partition = 0; partition < n; partition++)
        ends.push({ topic, partition, offset: await t.endOffset({ topic, partition }) })
    }
    await this.consumer.commit(ends)
  }

  /** `crypto-streams-gateway`, or the next free `-<n>` when another gateway of this process has it. */
  private async embeddedConsumer(topics: string[]): Promise<Consumer> {
    for (let i = 0; ; i++) {
      try {
        const groupId = i === 0 ? 'crypto-streams-gateway' : `crypto-streams-gateway-${i}`
        return await this.o.transport.consumer({ groupId, topics, from: 'earliest' })
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENGINE_EMBEDDED_GROUP_BUSY' || i >= 1000) throw e
      }
    }
  }

  private async run(): Promise<void> {
    let checked = Date.now()
    while (!this.closed) {
      try {
        if (Date.now() - checked > (this.o.topicCheckMs ?? 5000)) {
          checked = Date.now()
          await this.subscribe()
        }
        const records = await this.consumer!.poll(2000, 200)
        this.lastError = undefined
        for (const [i, r] of records.entries()) {
          // let sockets write (and other requests run) between slices of a large batch
          if (i > 0 && i % 100 === 0) await new Promise((done) => setImmediate(done))
          const stream = this.streamOf.get(r.topic)
          if (!stream || r.tombstone) continue
          feedRecords.inc({ topic: r.topic })
          let value: unknown
          try {
            value = JSON.parse(r.value)
          } catch {
            continue // the engine dead-letters malformed records; a feed only forwards
          }
          const e = typeof value === 'object' && value !== null ? eventOf(stream, value as never) : undefined
          if (e) for (const l of this.listeners) this.deliver(l, e)
        }
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
    await this.loop
    await this.consumer?.close()
  }
}
