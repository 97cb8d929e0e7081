import {
  type Connection,
  ConnectionPool,
  findCoordinatorV4,
  heartbeatV4,
  offsetCommitV8,
  offsetFetchV8,
  txnOffsetCommitV3,
} from '@platformatic/kafka'
import { type Offsets, TaskMigratedError, type TopicPartition, tpKey } from '../transport.ts'
import { bounded, KafkaTransportError, mentionsAny } from './errors.ts'
import { KafkaTrace } from './trace.ts'

// Group-coordinator requests sent by this module rather than by the client, because they must carry
// the generation the work was done under and must never be retried in another one:
//   - the client's commit() rejoins the group and retries on ILLEGAL_GENERATION, so a member that was
//     paused past its session timeout committed its stale offsets in the new generation (offset
//     100 → 40, issue #13);
//   - its committed-offset fetch does not set require_stable, so a new owner could read offsets
//     while an exactly-once commit of the previous owner was still pending (KIP-447);
//   - its Transaction.addOffset() sends one TxnOffsetCommit per partition with the client's current
//     generation.

/** The group moved on without this member: its uncommitted work must be dropped (Kafka Streams' TaskMigratedException). */
const MIGRATED = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']
/** The coordinator moved or is loading: find it again and retry (same generation). */
const RETRY = [
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'PLT_KFK_NETWORK',
]
const GROUP_KEY = 0

export interface Generation {
  groupId: string
  generationId: number
  memberId: string
}

export const taskMigrated = (message: string, cause?: unknown) => new TaskMigratedError(message, { cause })

export class GroupCoordinator {
  private readonly pool: ConnectionPool
  private readonly brokers: { host: string; port: number }[]
  private readonly timeoutMs: number
  private coordinator: { host: string; port: number } | undefined
  private readonly trace: KafkaTrace

  constructor(clientId: string, brokers: string[], timeoutMs: number, trace = new KafkaTrace()) {
    this.trace = trace
    this.pool = new ConnectionPool(`${clientId}-coordinator`, { connectTimeout: 5000 })
    this.brokers = brokers.map((b) => {
      const i = b.lastIndexOf(':')
      return { host: b.slice(0, i), port: Number(b.slice(i + 1)) }
    })
    this.timeoutMs = timeoutMs
  }

  private async connection(groupId: string): Promise<Connection> {
    if (!this.coordinator) {
      const any = await this.pool.getFirstAvailable(this.brokers)
      const res = await findCoordinatorV4.api.async(any, GROUP_KEY, [groupId])
      const c = res.coordinators[0]
      if (c?.errorCode !== 0)
        throw new KafkaTransportError('FAILED', `no coordinator for group ${groupId} (code ${c?.errorCode})`)
      this.coordinator = { host: c.host, port: c.port }
    }
    return this.pool.get(this.coordinator)
  }

  /** Runs a coordinator request: retried while the coordinator moves, never across generations. */
  private call<T>(
    what: string,
    groupId: string,
    op: (c: Connection) => Promise<T>,
    phase: string,
  ): Promise<T> {
    return this.trace.time(phase, () => this.retried(what, groupId, op))
  }

  private async retried<T>(what: string, groupId: string, op: (c: Connection) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs
    for (let attempt = 0; ; attempt++) {
      try {
        return await bounded(what, this.timeoutMs, async () => op(await this.connection(groupId)))
      } catch (err) {
        if (mentionsAny(err, MIGRATED)) throw taskMigrated(`${what}: this member lost its partitions`, err)
        if (!mentionsAny(err, RETRY) || Date.now() > deadline || attempt >= 5) throw err
        this.coordinator = undefined
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)))
      }
    }
  }

  /**
   * ENGINE_TASK_MIGRATED unless `g` is still the group's generation and this member in it. A
   * rebalance that is only starting (REBALANCE_IN_PROGRESS on a heartbeat) leaves the member its
   * partitions until the new generation forms, so it may still write and commit: that passes.
   */
  async heartbeat(g: Generation): Promise<void> {
    try {
      await this.call(
        `heartbeat ${g.groupId}`,
        g.groupId,
        (c) => heartbeatV4.api.async(c, g.groupId, g.generationId, g.memberId, null),
        'heartbeat',
      )
    } catch (err) {
      if (
        mentionsAny(err, ['REBALANCE_IN_PROGRESS']) &&
        !mentionsAny(err, ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'])
      )
        return
      throw err
    }
  }

  async commit(g: Generation, offsets: Offsets): Promise<void> {
    await this.call(
      `commit ${g.groupId}`,
      g.groupId,
      (c) => offsetCommitV8.api.async(c, g.groupId, g.generationId, g.memberId, null, byTopic(offsets)),
      'commit',
    )
  }

  /** TxnOffsetCommit: the offsets become committed with the transaction (KIP-447 fencing by generation). */
  async txnCommit(
    g: Generation,
    txn: { transactionalId: string; producerId: bigint; producerEpoch: number },
    offsets: Offsets,
  ): Promise<void> {
    await this.call(
      `txn offset commit ${g.groupId}`,
      g.groupId,
      (c) =>
        txnOffsetCommitV3.api.async(
          c,
          txn.transactionalId,
          g.groupId,
          txn.producerId,
          txn.producerEpoch,
          g.generationId,
          g.memberId,
          null,
          byTopic(offsets),
        ),
      'txn.offsetCommit',
    )
  }

  /**
   * Committed offsets (require_stable: waits while a transactional commit of them is pending, so a
   * new owner never starts from offsets an unfinished exactly-once commit is about to move).
   */
  committed(groupId: string, partitions: TopicPartition[]): Promise<Map<string, number>> {
    // Asked in the same turn (a caller checking partitions one by one with Promise.all): one
    // OffsetFetch for all of them, each caller gets its own partitions.
    let pending = this.pendingCommitted.get(groupId)
    if (!pending) {
      const partitions = new Map<string, TopicPartition>()
      const result = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
        this.pendingCommitted.delete(groupId)
        return this.fetchCommitted(groupId, [...partitions.values()])
      })
      pending = { partitions, result }
      this.pendingCommitted.set(groupId, pending)
    }
    for (const tp of partitions)
      pending.partitions.set(tpKey(tp), { topic: tp.topic, partition: tp.partition })
    return pending.result.then((all) => {
      const out = new Map<string, number>()
      for (const tp of partitions) {
        const key = tpKey(tp)
        const o = all.get(key)
        if (o !== undefined) out.set(key, o)
      }
      return out
    })
  }

  private readonly pendingCommitted = new Map<string, PendingCommitted>()

  private async fetchCommitted(groupId: string, partitions: TopicPartition[]): Promise<Map<string, number>> {
    const topics = new Map<string, number[]>()
    for (const tp of partitions) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition])
    const out = new Map<string, number>()
    if (topics.size === 0) return out
    const deadline = Date.now() + this.timeoutMs * 4
    for (;;) {
      const res = await this.call(
        `committed offsets ${groupId}`,
        groupId,
        (c) =>
          offsetFetchV8.api.async(
            c,
            [
              {
                groupId,
                memberId: null,
                memberEpoch: -1,
                topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
              },
            ],
            true,
          ),
        'offsetFetch',
      ).catch((err) => {
        if (mentionsAny(err, ['UNSTABLE_OFFSET_COMMIT'])) return undefined
        throw err
      })
      const group = res?.groups[0]
      const unstable =
        !group || group.topics.some((t) => t.partitions.some((p) => p.errorCode === UNSTABLE_OFFSET_COMMIT))
      if (!unstable) {
        if (group.errorCode !== 0)
          throw new KafkaTransportError('FAILED', `offset fetch ${groupId}: error code ${group.errorCode}`)
        for (const t of group.topics)
          for (const p of t.partitions)
            if (p.committedOffset >= 0n)
              out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), Number(p.committedOffset))
        return out
      }
      if (Date.now() > deadline)
        throw new KafkaTransportError(
          'TIMEOUT',
          `offsets of ${groupId} stay unstable (a transaction is pending)`,
        )
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {})
  }
}

const UNSTABLE_OFFSET_COMMIT = 88

interface PendingCommitted {
  partitions: Map<string, TopicPartition>
  result: Promise<Map<string, number>>
}

function byTopic(offsets: Offsets) {
  const topics = new Map<
    string,
    {
      partitionIndex: number
      committedOffset: bigint
      committedLeaderEpoch: number
      committedMetadata: null
    }[]
  >()
  for (const o of offsets) {
    const list = topics.get(o.topic) ?? []
    topics.set(o.topic, list)
    list.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: -1,
      committedMetadata: null,
    })
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }))
}
