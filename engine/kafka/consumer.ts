import {
  ConnectionPool,
  type GroupPartitionsAssigner,
  type GroupPartitionsAssignments,
  Consumer as KafkaClientConsumer,
  stringDeserializers,
} from '@platformatic/kafka'
import { createLogger } from '../../common/log.ts'
import {
  type ConsumedRecord,
  type Consumer,
  type ConsumerOptions,
  type Offsets,
  TaskMigratedError,
  type TopicPartition,
  tpKey,
} from '../transport.ts'
import { type Generation, GroupCoordinator } from './coordinator.ts'
import { bounded, KafkaTransportError } from './errors.ts'
import { type KafkaTransport, sleep } from './transport.ts'

// A member of a classic Kafka consumer group. The client keeps the membership (join, sync,
// heartbeats, rejoin after a rebalance); this class owns positions and fetching, so that:
//   - assignment changes are applied at the start of poll(): onRevoke(lost) first, then positions
//     of new partitions are loaded (committed offset, else earliest/latest) and onAssign(new) runs
//     before any of their records is returned;
//   - records come in offset order per partition, each once per assignment (no autocommit;
//     commit() is the only way offsets move in the group);
//   - positions belong to the generation they were assigned in. When the client has rejoined in
//     the background (a new generation), every partition is reported lost (onLost: no commit) and
//     assigned again from its committed offset; commits carry the old generation and fail with
//     ENGINE_TASK_MIGRATED instead of being retried in the new one (coordinator.ts);
//   - the leader assigns co-partitioned topics (a sub-topology's sources) together: partition p of
//     each goes to one member (copartitionedAssigner).

const log = createLogger('engine.kafka.consumer')
const IDLE_STEP_MS = 50
/**
 * Records per poll at most: the stream thread processes them without a break, and the replies of
 * its own commit in flight wait until it asks again.
 */
const MAX_BATCH = 2000
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))
/**
 * Bytes per fetch (a quarter of it per partition): while catching up, one fetch carries a few
 * processing batches, so the next one (prefetched) is back before they are done.
 */
const FETCH_MAX_BYTES = 16 << 20
/**
 * A fetch starts once fewer records than this are buffered: about what the thread processes in
 * a fetch round trip plus its decoding (≈ 100–200 ms at 50k records/s).
 */
const PREFETCH_BELOW = 10_000
/** Long-poll bound of a fetch (the broker answers as soon as records are there). */
const FETCH_WAIT_MS = 500
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
  /** The fetch in flight (at most one): started when a poll hands out records, so it overlaps their processing. */
  private fetching: Promise<void> | undefined
  private fetchError: Error | undefined
  private readonly coordinator: GroupCoordinator
  /** Connections of this member's fetches (a long-poll fetch holds its connection). */
  private readonly fetchPool: ConnectionPool
  /** The last completed join: generation, member and its assignment, taken together. */
  private joined: (Generation & { assignments: TopicPartition[] }) | undefined
  /** The generation the current positions were assigned in. */
  private generation: Generation | undefined
  private rewound = false

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
      partitionAssigner: copartitionedAssigner(options.copartitioned ?? []),
      // What this member has now, for the sticky assignor (read by whichever member leads).
      protocolsMetadata: () => ownedMetadata([...this.positions.keys()]),
    })
    this.coordinator = new GroupCoordinator(
      `${t.clientId}-consumer`,
      t.brokers,
      t.requestTimeoutMs,
      transport.trace,
    )
    this.fetchPool = new ConnectionPool(`${t.clientId}-consumer-fetch`, {
      connectTimeout: 5000,
      requestTimeout: t.requestTimeoutMs + FETCH_WAIT_MS,
    })
    this.client.on('consumer:heartbeat:error', (p) => log.debug('heartbeat error', { err: p.error }))
    // A rebalance started: stop fetching until the rejoin completes, so the partitions this member
    // is about to lose are not processed while their new owner starts on them.
    this.client.on('consumer:group:rebalance', () => {
      this.rebalancingSince ??= Date.now()
    })
    this.client.on('consumer:group:join', (p) => {
      this.rebalancingSince = undefined
      const assignments: TopicPartition[] = []
      for (const a of p.assignments ?? [])
        for (const partition of a.partitions) assignments.push({ topic: a.topic, partition })
      this.joined = {
        groupId: p.groupId,
        generationId: p.generationId ?? -1,
        memberId: p.memberId,
        assignments,
      }
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
      const fetchError = this.fetchError
      if (fetchError) {
        this.fetchError = undefined
        throw fetchError
      }
      if (
        this.rebalancingSince !== undefined &&
        Date.now() - this.rebalancingSince < this.rebalanceTimeoutMs
      ) {
        const left = deadline - Date.now()
        if (left <= 0) return []
        await sleep(Math.min(left, IDLE_STEP_MS))
        continue
      }
      // Assignment changes wait for the fetch in flight: its records land (or are dropped)
      // before positions move, never in between.
      if (this.assignmentChanged()) await this.settled()
      await this.applyAssignment()
      if (this.buffer.length > 0) {
        const n = Math.min(maxRecords, MAX_BATCH)
        const out = this.buffer.length <= n ? this.buffer : this.buffer.slice(0, n)
        this.buffer = this.buffer.length <= n ? [] : this.buffer.slice(out.length)
        // The next fetch runs while the caller processes what is left. Not tied to maxRecords: the
        // engine asks for small batches while a commit is in flight, and a fetch started only
        // when less than one of them was left came back after the thread had run dry.
        if (this.buffer.length < PREFETCH_BELOW) this.prefetch()
        // Let I/O callbacks run first (acks of the commit in flight, fetch responses, heartbeats):
        // records handed out straight from the buffer resolve in a microtask, and a stream thread
        // processing batch after batch would otherwise hold them back until it runs dry.
        await yieldToIo()
        return out
      }
      const left = deadline - Date.now()
      if (left <= 0) return []
      if (this.positions.size === 0) {
        await sleep(Math.min(left, IDLE_STEP_MS))
        continue
      }
      const fetching = this.prefetch()
      // A fetch in flight may long-poll past this poll's deadline: wait for it at most until then,
      // or until wakeup().
      if (!this.wokenUp) await Promise.race([fetching, sleep(left), this.woken()])
      if (this.buffer.length === 0 && (Date.now() >= deadline || this.wokenUp)) {
        this.wokenUp = false
        return []
      }
    }
    return []
  }

  private wokenUp = false
  private wake: (() => void) | undefined
  private wakeSignal: Promise<void> | undefined

  /** Resolves at the next wakeup(). */
  private woken(): Promise<void> {
    this.wakeSignal ??= new Promise<void>((resolve) => {
      this.wake = resolve
    })
    return this.wakeSignal
  }

  /**
   * The poll waiting for records (or the next one that would wait) returns at once, empty. The
   * engine calls it when a commit is requested, which it serves between polls: without it the
   * request waited for the poll's timeout while the thread had nothing to do.
   */
  wakeup(): void {
    this.wokenUp = true
    this.wake?.()
    this.wake = undefined
    this.wakeSignal = undefined
  }

  /** Whether the next applyAssignment() changes positions (a new generation, a rewind). */
  private assignmentChanged(): boolean {
    const joined = this.joined
    if (this.rewound) return true
    if (!joined) return false
    if (
      this.generation === undefined ||
      joined.generationId !== this.generation.generationId ||
      joined.memberId !== this.generation.memberId
    )
      return true
    if (joined.assignments.length !== this.positions.size) return true
    return joined.assignments.some((tp) => !this.positions.has(tpKey(tp)))
  }

  /**
   * Starts a fetch of every assigned partition from its position unless one is in flight (one at
   * a time: positions move when it lands); its records go to the buffer, its failure is thrown by
   * the next poll.
   */
  private prefetch(): Promise<void> {
    if (!this.fetching && !this.closed && this.positions.size > 0 && this.rebalancingSince === undefined)
      this.fetching = this.fetchOnce(FETCH_WAIT_MS).then(
        () => {
          this.fetching = undefined
        },
        (err) => {
          this.fetching = undefined
          if (!this.closed) this.fetchError ??= err as Error
        },
      )
    return this.fetching ?? Promise.resolve()
  }

  /** Waits for the fetch in flight, if any. */
  private async settled(): Promise<void> {
    await this.fetching
  }

  /** Brings positions in line with the group's current assignment, running the callbacks. */
  private async applyAssignment(): Promise<void> {
    const joined = this.joined
    const moved =
      this.rewound ||
      (this.generation !== undefined &&
        (joined?.generationId !== this.generation.generationId ||
          joined.memberId !== this.generation.memberId))
    if (moved && this.positions.size > 0) {
      // Another generation: whatever this member did under the old one can no longer be committed.
      const tps = [...this.positions.values()].map(({ topic, partition }) => ({ topic, partition }))
      this.buffer = []
      log.info('partitions lost', { group: this.opts.groupId, partitions: tps.map(tpKey) })
      try {
        await this.opts.onLost?.(tps)
      } finally {
        this.positions.clear()
      }
    }
    this.rewound = false
    if (!joined) return
    this.generation = {
      groupId: joined.groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
    }
    const target = new Map<string, TopicPartition>()
    for (const tp of joined.assignments) target.set(tpKey(tp), tp)
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
      parts = await this.transport.fetch(
        this.client,
        this.fetchPool,
        asked,
        maxWaitMs,
        FETCH_MAX_BYTES,
        refresh,
      )
    } catch (err) {
      if (this.closed) return
      // A broker gone or moved: the next fetch looks the leaders up again (the client's own fetch did).
      this.staleMetadata = true
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

  /** The generation the current positions were assigned in (exactly-once commits carry it). */
  groupGeneration(): Generation {
    if (!this.generation || this.rewound)
      throw new TaskMigratedError(`group ${this.opts.groupId}: no current assignment`)
    return this.generation
  }

  async commit(offsets: Offsets): Promise<void> {
    if (offsets.length === 0) return
    await this.coordinator.commit(this.groupGeneration(), offsets)
  }

  /** A heartbeat with the assignment's generation: fails with ENGINE_TASK_MIGRATED once the group moved on. */
  async ensureActive(): Promise<void> {
    if (this.positions.size === 0) return
    await this.coordinator.heartbeat(this.groupGeneration())
  }

  async txnCommit(
    generation: Generation,
    txn: { transactionalId: string; producerId: bigint; producerEpoch: number },
    offsets: Offsets,
  ): Promise<void> {
    await this.coordinator.txnCommit(generation, txn, offsets)
  }

  rewind(): void {
    this.rewound = true
    this.buffer = []
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    return this.coordinator.committed(this.opts.groupId, partitions)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.transport.forget(this)
    await this.polling
    await this.settled()
    try {
      await bounded(`leave group ${this.opts.groupId}`, this.transport.opts.requestTimeoutMs, () =>
        this.client.close(true),
      )
    } catch (err) {
      if (!(err instanceof KafkaTransportError)) throw err
      log.warn('consumer close', { err })
    } finally {
      await this.coordinator.close()
      await this.fetchPool.close().catch(() => {})
    }
  }
}

/**
 * Kafka Streams' rule for a classic group: partition p of every topic in one co-partitioned group
 * (the sources of a sub-topology) forms one task and goes to one member. Sticky: a task stays with
 * the member that had it (each member's subscription carries its current partitions, see
 * ownedMetadata) as long as the members stay balanced (loads differ by at most one) within each
 * sub-topology; the others go to the least loaded member in that sub-topology, then in total, then
 * the lowest member id, in partition order.
 */
export function copartitionedAssigner(groups: string[][]): GroupPartitionsAssigner {
  return (_current, members, topics, metadata) => {
    const count = (t: string) => metadata.topics.get(t)?.partitionsCount ?? 0
    const units: { p: number; i: number; tps: TopicPartition[] }[] = []
    const grouped = new Set<string>()
    groups.forEach((g, i) => {
      const present = g.filter((t) => topics.has(t))
      for (const t of present) grouped.add(t)
      const n = Math.max(0, ...present.map(count))
      for (let p = 0; p < n; p++)
        units.push({
          p,
          i,
          tps: present.filter((t) => count(t) > p).map((topic) => ({ topic, partition: p })),
        })
    })
    let i = groups.length
    for (const t of [...topics].sort()) {
      if (grouped.has(t)) continue
      for (let p = 0; p < count(t); p++) units.push({ p, i, tps: [{ topic: t, partition: p }] })
      i++
    }
    units.sort((a, b) => a.p - b.p || a.i - b.i)
    const ids = [...members.keys()].sort()
    const owner = new Map<string, string>() // tpKey → member that has it now
    for (const id of ids)
      for (const k of ownedOf(members.get(id)?.metadata)) if (!owner.has(k)) owner.set(k, id)
    // Balanced per sub-topology (group), not only in total: each member gets a share of every
    // sub-topology's partitions (of the symbols), as Kafka Streams does; extras go to the member
    // with the least in total.
    const total = new Map(ids.map((id) => [id, 0]))
    const chosen = new Map<(typeof units)[number], string>()
    const previous = (u: (typeof units)[number]) =>
      u.tps.map((tp) => owner.get(tpKey(tp))).find((o) => o !== undefined)
    for (const gi of [...new Set(units.map((u) => u.i))].sort((a, b) => a - b)) {
      const group = units.filter((u) => u.i === gi)
      const load = new Map(ids.map((id) => [id, 0]))
      const cap = Math.floor(group.length / ids.length)
      let extra = group.length % ids.length
      const take = (u: (typeof units)[number], id: string) => {
        chosen.set(u, id)
        load.set(id, load.get(id)! + 1)
        total.set(id, total.get(id)! + 1)
      }
      for (const u of group) {
        const o = previous(u)
        if (o !== undefined && load.get(o)! < cap) take(u, o)
      }
      for (const u of group) {
        const o = previous(u)
        if (!chosen.has(u) && o !== undefined && load.get(o) === cap && extra > 0) {
          take(u, o)
          extra--
        }
      }
      for (const u of group) {
        if (chosen.has(u)) continue
        const open = ids.filter((id) => load.get(id)! < cap || (load.get(id) === cap && extra > 0))
        const id = open.reduce((a, b) =>
          load.get(b)! < load.get(a)! || (load.get(b) === load.get(a) && total.get(b)! < total.get(a)!)
            ? b
            : a,
        )
        if (load.get(id) === cap) extra--
        take(u, id)
      }
    }
    const out: GroupPartitionsAssignments[] = ids.map((memberId) => ({ memberId, assignments: new Map() }))
    const byId = new Map(out.map((m) => [m.memberId, m]))
    for (const u of units) {
      const m = byId.get(chosen.get(u)!)!
      for (const tp of u.tps) {
        const a = m.assignments.get(tp.topic) ?? { topic: tp.topic, partitions: [] }
        m.assignments.set(tp.topic, a)
        a.partitions.push(tp.partition)
      }
    }
    return out
  }
}

/** A member's subscription user data: the partitions it has now (for the sticky assignor). */
export const ownedMetadata = (owned: string[]): Buffer => Buffer.from(JSON.stringify({ owned }))

function ownedOf(userData: Buffer | string | undefined | null): string[] {
  if (!userData || userData.length === 0) return []
  try {
    const o = JSON.parse(userData.toString()) as { owned?: unknown }
    return Array.isArray(o.owned) ? o.owned.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return [] // another client's user data
  }
}
