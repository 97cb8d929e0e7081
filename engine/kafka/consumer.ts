import { Consumer as KafkaClientConsumer, stringDeserializers } from '@platformatic/kafka'
import { createLogger } from '../../common/log.ts'
import {
  type ConsumedRecord,
  type Consumer,
  type ConsumerOptions,
  type TopicPartition,
  tpKey,
} from '../transport.ts'
import { bounded, KafkaTransportError } from './errors.ts'
import { type KafkaTransport, sleep } from './transport.ts'

// A member of a classic Kafka consumer group. The client keeps the membership (join, sync,
// heartbeats, rejoin after a rebalance); this class owns positions and fetching, so that:
//   - assignment changes are applied at the start of poll(): onRevoke(lost) first, then positions
//     of new partitions are loaded (committed offset, else earliest/latest) and onAssign(new) runs
//     before any of their records is returned;
//   - records come in offset order per partition, each once per assignment (no autocommit;
//     commit() is the only way offsets move in the group).

const log = createLogger('engine.kafka.consumer')
const IDLE_STEP_MS = 50
const OFFSET_OUT_OF_RANGE = 1

export class KafkaGroupConsumer implements Consumer {
  private readonly transport: KafkaTransport
  private readonly opts: ConsumerOptions
  private readonly rebalanceTimeoutMs: number
  private readonly client: KafkaClientConsumer<string, string, string, string>
  /** Next offset to fetch per assigned partition. */
  private readonly positions = new Map<string, TopicPartition & { offset: number }>()
  private buffer: ConsumedRecord[] = []
  private closed = false
  private rebalancingSince: number | undefined
  private staleMetadata = false
  private failure: KafkaTransportError | undefined
  private polling: Promise<unknown> = Promise.resolve()

  constructor(transport: KafkaTransport, options: ConsumerOptions) {
    this.transport = transport
    this.opts = options
    const t = transport.opts
    this.rebalanceTimeoutMs = t.sessionTimeoutMs * 2
    this.client = new KafkaClientConsumer({
      clientId: `${t.clientId}-consumer`,
      groupId: options.groupId,
      bootstrapBrokers: t.brokers,
      deserializers: stringDeserializers,
      sessionTimeout: t.sessionTimeoutMs,
      rebalanceTimeout: this.rebalanceTimeoutMs,
      heartbeatInterval: t.heartbeatIntervalMs,
      autocommit: false,
      retries: 5,
      retryDelay: 300,
      timeout: 5000,
    })
    this.client.on('consumer:heartbeat:error', (p) => log.debug('heartbeat error', { err: p.error }))
    // A rebalance started: stop fetching until the rejoin completes, so the partitions this member
    // is about to lose are not processed while their new owner starts on them.
    this.client.on('consumer:group:rebalance', () => {
      this.rebalancingSince ??= Date.now()
    })
    this.client.on('consumer:group:join', () => {
      this.rebalancingSince = undefined
    })
    // The client emits 'error' when a rejoin failed for good: no more heartbeats, the member is gone.
    this.client.on('error', (err: Error) => {
      this.failure = new KafkaTransportError('GROUP', `consumer group ${options.groupId}: ${err.message}`, {
        cause: err,
      })
      log.error('group membership lost', { group: options.groupId, err })
    })
  }

  async start(): Promise<void> {
    this.client.topics.trackAll(...this.opts.topics)
    await bounded(`join group ${this.opts.groupId}`, this.transport.opts.sessionTimeoutMs * 3, () =>
      this.client.joinGroup({}),
    )
    log.debug('joined', { group: this.opts.groupId, member: this.client.memberId })
  }

  assignment(): TopicPartition[] {
    return [...this.positions.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  poll(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]> {
    const run = this.polling.then(() => this.pollOnce(maxRecords, maxWaitMs))
    this.polling = run.catch(() => {})
    return run
  }

  private async pollOnce(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]> {
    const deadline = Date.now() + maxWaitMs
    while (!this.closed) {
      if (this.failure) throw this.failure
      if (
        this.rebalancingSince !== undefined &&
        Date.now() - this.rebalancingSince < this.rebalanceTimeoutMs
      ) {
        const left = deadline - Date.now()
        if (left <= 0) return []
        await sleep(Math.min(left, IDLE_STEP_MS))
        continue
      }
      await this.applyAssignment()
      if (this.buffer.length > 0) {
        const out = this.buffer.slice(0, maxRecords)
        this.buffer = this.buffer.slice(out.length)
        return out
      }
      const left = deadline - Date.now()
      if (left <= 0) return []
      if (this.positions.size === 0) {
        await sleep(Math.min(left, IDLE_STEP_MS))
        continue
      }
      await this.fetchOnce(Math.min(left, 500))
      if (this.buffer.length === 0 && Date.now() >= deadline) return []
    }
    return []
  }

  /** Brings positions in line with the group's current assignment, running the callbacks. */
  private async applyAssignment(): Promise<void> {
    const target = new Map<string, TopicPartition>()
    for (const a of this.client.assignments ?? [])
      for (const partition of a.partitions)
        target.set(tpKey({ topic: a.topic, partition }), { topic: a.topic, partition })
    const lost = [...this.positions.keys()].filter((k) => !target.has(k))
    const added = [...target.keys()].filter((k) => !this.positions.has(k))
    if (lost.length > 0) {
      const tps = lost.map((k) => this.positions.get(k)!)
      const gone = new Set(lost)
      this.buffer = this.buffer.filter((r) => !gone.has(tpKey(r)))
      log.info('partitions revoked', { group: this.opts.groupId, partitions: lost })
      // Positions go after the callback: it may still commit the revoked partitions.
      try {
        await this.opts.onRevoke?.(tps.map(({ topic, partition }) => ({ topic, partition })))
      } finally {
        for (const k of lost) this.positions.delete(k)
      }
    }
    if (added.length > 0) {
      const tps = added.map((k) => target.get(k)!)
      const committed = await this.committed(tps)
      const missing = tps.filter((tp) => !committed.has(tpKey(tp)))
      const start =
        missing.length > 0
          ? await this.transport.listOffsets(missing, this.opts.from === 'latest' ? -1n : -2n)
          : new Map<string, number>()
      const fresh = tps.map((tp) => ({
        ...tp,
        offset: committed.get(tpKey(tp)) ?? start.get(tpKey(tp)) ?? 0,
      }))
      log.info('partitions assigned', { group: this.opts.groupId, partitions: added })
      await this.opts.onAssign?.(tps)
      for (const p of fresh) this.positions.set(tpKey(p), p)
    }
  }

  private async fetchOnce(maxWaitMs: number): Promise<void> {
    const asked = new Map([...this.positions].map(([k, p]) => [k, { ...p }]))
    let parts: Awaited<ReturnType<KafkaTransport['fetch']>>
    try {
      const refresh = this.staleMetadata
      this.staleMetadata = false
      parts = await this.transport.fetch(this.client, asked, maxWaitMs, undefined, refresh)
    } catch (err) {
      if (this.closed) return
      throw err
    }
    for (const part of parts) {
      const key = tpKey(part)
      const pos = this.positions.get(key)
      // Assignment changed or the partition was reset while the fetch was in flight.
      if (!pos || pos.offset !== asked.get(key)?.offset) continue
      if (part.errorCode === OFFSET_OUT_OF_RANGE) {
        const reset = await this.transport.listOffsets([pos], this.opts.from === 'latest' ? -1n : -2n)
        pos.offset = reset.get(key) ?? pos.offset
        log.warn('offset out of range, reset', { partition: key, offset: pos.offset })
        continue
      }
      if (part.errorCode !== 0) {
        this.staleMetadata = true
        log.warn('fetch error', { partition: key, code: part.errorCode })
        continue
      }
      if (part.next !== undefined && part.next > pos.offset) pos.offset = part.next
      for (const r of part.records) this.buffer.push(r)
    }
  }

  async commit(offsets: (TopicPartition & { offset: number })[]): Promise<void> {
    if (offsets.length === 0) return
    await this.transport.call(`commit ${this.opts.groupId}`, () =>
      this.client.commit({
        offsets: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      }),
    )
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>()
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    const out = new Map<string, number>()
    if (byTopic.size === 0) return out
    const res = await this.transport.call(`committed offsets ${this.opts.groupId}`, () =>
      this.client.listCommittedOffsets({
        topics: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
      }),
    )
    for (const tp of partitions) {
      const o = res.get(tp.topic)?.[tp.partition]
      if (o !== undefined && o >= 0n) out.set(tpKey(tp), Number(o))
    }
    return out
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.transport.forget(this)
    await this.polling
    try {
      await bounded(`leave group ${this.opts.groupId}`, this.transport.opts.requestTimeoutMs, () =>
        this.client.close(true),
      )
    } catch (err) {
      if (!(err instanceof KafkaTransportError)) throw err
      log.warn('consumer close', { err })
    }
  }
}
