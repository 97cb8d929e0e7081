import {
  Admin,
  type Connection,
  ConnectionPool,
  fetchV12,
  initProducerIdV4,
  Consumer as KafkaClientConsumer,
  produceV9,
  type Reader,
  stringDeserializers,
} from '@platformatic/kafka'
import { createLogger } from '../../common/log.ts'
import { partitionFor } from '../partitioner.ts'
import type {
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  ProducedRecord,
  Producer,
  TopicPartition,
  TopicSpec,
  TransactionalProducer,
  Transport,
} from '../transport.ts'
import { KafkaGroupConsumer } from './consumer.ts'
import { bounded, KafkaTransportError, mentionsAny } from './errors.ts'
import { encodeRecordBatches, produceRequest } from './produce.ts'
import { type DecodedPartition, parseFetchV12 } from './records.ts'
import { KafkaTrace } from './trace.ts'
import { KafkaTransactionalProducer } from './transactions.ts'

// Transport over a real Kafka cluster (@platformatic/kafka). Producers are idempotent with
// acks=all; consumers join a classic consumer group and fetch by themselves (see consumer.ts);
// read() fetches one partition without any group. Every call is bounded by `requestTimeoutMs`.

export interface KafkaTransportOptions {
  brokers: string[]
  clientId?: string
  /** Consumer group session timeout: how long before a dead member's partitions move. */
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** Bound of every admin / produce / commit call. */
  requestTimeoutMs?: number
  /** Replication factor of created topics; -1 = the broker's default. */
  replicas?: number
}

const log = createLogger('engine.kafka')
const ACKS_ALL = -1
const LATEST = -1n
/** Every fetch and end offset is read_committed: records of aborted or open transactions are never delivered. */
const READ_COMMITTED = 1
/** Records of a decoded fetch, for the trace. */
function fetchedSize(parts: { records: ConsumedRecord[] }[]): { records: number } {
  let records = 0
  for (const p of parts) records += p.records.length
  return { records }
}

export class KafkaTransport implements Transport {
  readonly kind = 'kafka' as const
  readonly opts: Required<KafkaTransportOptions>
  private readonly admin: Admin
  /** Group-less client for metadata, list offsets and read(). */
  private readonly reader: KafkaClientConsumer<string, string, string, string>
  private readonly partitionCounts = new Map<string, number>()
  private readonly closables = new Set<{ close(): Promise<void> }>()
  private closed = false
  /** Broker round trips by phase (fetch, produce, commit, …): where the wall time goes. */
  readonly trace = new KafkaTrace()

  constructor(options: KafkaTransportOptions) {
    this.opts = {
      clientId: 'crypto-streams',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      requestTimeoutMs: 15_000,
      replicas: -1,
      ...options,
    }
    const base = { bootstrapBrokers: this.opts.brokers, retries: 3, retryDelay: 300, timeout: 5000 }
    this.admin = new Admin({ ...base, clientId: `${this.opts.clientId}-admin` })
    this.reader = new KafkaClientConsumer({
      ...base,
      clientId: `${this.opts.clientId}-reader`,
      groupId: `${this.opts.clientId}-reader-unused`,
      deserializers: stringDeserializers,
    })
    this.readPool = new ConnectionPool(`${this.opts.clientId}-reader`, {
      connectTimeout: 5000,
      requestTimeout: this.opts.requestTimeoutMs,
    })
  }

  /** Runs a Kafka call with the request bound. */
  call<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new KafkaTransportError('CLOSED', `Kafka ${what}: transport closed`))
    return bounded(what, this.opts.requestTimeoutMs, op)
  }

  async createTopics(specs: TopicSpec[]): Promise<void> {
    // One CreateTopics request per (partitions, configs): an engine creates a dozen topics at start.
    const groups = new Map<
      string,
      { partitions: number; configs: { name: string; value: string }[]; names: string[] }
    >()
    for (const s of specs) {
      const configs = s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []
      // Kafka measures retention.ms against the wall clock (the embedded log: against the newest record).
      const limit = (n: number) => String(n >= 0 && Number.isFinite(n) ? Math.floor(n) : -1)
      if (!s.compacted && s.retentionMs !== undefined)
        configs.push({ name: 'retention.ms', value: limit(s.retentionMs) })
      if (!s.compacted && s.retentionBytes !== undefined)
        configs.push({ name: 'retention.bytes', value: limit(s.retentionBytes) })
      const key = JSON.stringify([s.partitions, configs])
      const g = groups.get(key) ?? { partitions: s.partitions, configs, names: [] }
      groups.set(key, g)
      g.names.push(s.name)
    }
    const create = (names: string[], g: { partitions: number; configs: { name: string; value: string }[] }) =>
      this.call(`createTopics ${names.join(',')}`, () =>
        this.admin.createTopics({
          topics: names,
          partitions: g.partitions,
          replicas: this.opts.replicas,
          configs: g.configs,
        }),
      )
    // The groups at once (each request waits for the controller to create its topics).
    await Promise.all(
      [...groups.values()].map(async (g) => {
        try {
          await create(g.names, g)
        } catch (err) {
          if (!mentionsAny(err, ['TOPIC_ALREADY_EXISTS'])) throw err
          // Some exist (another instance is starting too): the others one by one.
          for (const name of g.names)
            try {
              await create([name], g)
            } catch (e) {
              if (!mentionsAny(e, ['TOPIC_ALREADY_EXISTS'])) throw e
            }
        }
      }),
    )
    // Metadata propagates asynchronously: wait until every topic is visible with its leaders, all
    // asked at once and soon again (usually a few ms after CreateTopics returned; one topic after
    // another with 100 ms naps, an engine's start waited ~200 ms here).
    let waiting = specs.map((s) => s.name)
    const deadline = Date.now() + this.opts.requestTimeoutMs
    for (let nap = 10; ; nap = Math.min(100, nap * 2)) {
      const seen = await Promise.all(waiting.map((name) => this.partitions(name, true)))
      waiting = waiting.filter((_, i) => seen[i] === undefined)
      if (waiting.length === 0) return
      if (Date.now() > deadline)
        throw new KafkaTransportError('TIMEOUT', `topics not visible after creation: ${waiting.join(', ')}`)
      await sleep(nap)
    }
  }

  async partitions(topic: string, refresh = false): Promise<number | undefined> {
    const known = this.partitionCounts.get(topic)
    if (known !== undefined && !refresh) return known
    const unknown = (err: unknown) =>
      mentionsAny(err, ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'Unknown topic'])
    // First without the client's retries: it retries an unknown topic for about a second, and an
    // engine start asks about a dozen topics that do not exist yet.
    const lookup = (retries?: number) =>
      this.call(`metadata ${topic}`, () =>
        this.reader.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false, retries }),
      )
    try {
      const md = await lookup(0).catch((err) => {
        if (unknown(err)) throw err
        return lookup()
      })
      const t = md.topics.get(topic)
      if (!t || t.partitions.some((p) => p === undefined || p.leader < 0)) return undefined
      this.partitionCounts.set(topic, t.partitionsCount)
      return t.partitionsCount
    } catch (err) {
      if (unknown(err)) return undefined
      throw err
    }
  }

  producer(): Producer {
    const p = new KafkaProducer(this)
    this.closables.add(p)
    return p
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    const c = new KafkaGroupConsumer(this, options)
    this.closables.add(c)
    try {
      await c.start()
    } catch (err) {
      await c.close().catch(() => {})
      throw err
    }
    return c
  }

  /**
   * End offsets asked in the same turn (a caller checking every partition with Promise.all) go in
   * one ListOffsets request per broker instead of one request each; if that request fails, each
   * partition is asked again on its own, so one bad partition does not fail the others.
   */
  endOffset(tp: TopicPartition): Promise<number> {
    let pending = this.pendingEnds
    if (!pending) {
      const batch = new Map<string, PendingEnd>()
      pending = batch
      this.pendingEnds = batch
      queueMicrotask(() => {
        this.pendingEnds = undefined
        this.askEnds(batch)
      })
    }
    const key = `${tp.topic}-${tp.partition}`
    let entry = pending.get(key)
    if (!entry) {
      let resolve!: (n: number) => void
      let reject!: (err: unknown) => void
      const promise = new Promise<number>((res, rej) => {
        resolve = res
        reject = rej
      })
      entry = { tp: { topic: tp.topic, partition: tp.partition }, promise, resolve, reject }
      pending.set(key, entry)
    }
    return entry.promise
  }

  private pendingEnds: Map<string, PendingEnd> | undefined

  private askEnds(batch: Map<string, PendingEnd>): void {
    const one = (e: PendingEnd) =>
      this.listOffsets([e.tp], LATEST).then(
        (m) => e.resolve(m.get(`${e.tp.topic}-${e.tp.partition}`) ?? 0),
        e.reject,
      )
    const entries = [...batch.values()]
    if (entries.length === 1) {
      one(entries[0]!)
      return
    }
    this.listOffsets(
      entries.map((e) => e.tp),
      LATEST,
    ).then(
      (m) => {
        for (const [key, e] of batch) e.resolve(m.get(key) ?? 0)
      },
      () => {
        for (const e of entries) one(e)
      },
    )
  }

  /** Offsets at `timestamp` (-1n latest, -2n earliest) keyed by tpKey. */
  async listOffsets(tps: TopicPartition[], timestamp: bigint): Promise<Map<string, number>> {
    const partitions: Record<string, number[]> = {}
    for (const tp of tps) partitions[tp.topic] = [...(partitions[tp.topic] ?? []), tp.partition]
    // read_committed: "latest" is the last stable offset, so a reader never waits for records of
    // an open transaction.
    const res = await this.trace.time('listOffsets', () =>
      this.call('listOffsets', () =>
        this.reader.listOffsets({
          topics: Object.keys(partitions),
          partitions,
          timestamp,
          isolationLevel: READ_COMMITTED,
        }),
      ),
    )
    const out = new Map<string, number>()
    for (const tp of tps) {
      const o = res.get(tp.topic)?.[tp.partition]
      if (o === undefined)
        throw new KafkaTransportError('NO_OFFSET', `no offset for ${tp.topic}-${tp.partition}`)
      out.set(`${tp.topic}-${tp.partition}`, Number(o))
    }
    return out
  }

  /**
   * One Fetch (v12, read_committed, no fetch session) of `positions` (tpKey → offset) per partition
   * leader, on `pool`'s connections; leaders from `client`'s metadata. Records are decoded from the
   * response bytes by records.ts.
   */
  async fetch(
    client: KafkaClientConsumer<string, string, string, string>,
    pool: ConnectionPool,
    positions: Map<string, TopicPartition & { offset: number }>,
    maxWaitMs: number,
    maxBytes = 8 << 20,
    /** After a partition error (e.g. NOT_LEADER_OR_FOLLOWER): look the leaders up again. */
    refreshMetadata = false,
    /** Trace phase of the round trip. */
    phase = 'fetch',
  ): Promise<DecodedPartition[]> {
    const topics = [...new Set([...positions.values()].map((p) => p.topic))]
    const md = await this.trace.time('metadata', () =>
      this.call('metadata', () => client.metadata({ topics, forceUpdate: refreshMetadata })),
    )
    const byNode = new Map<number, Map<string, FetchPartition[]>>()
    const from = new Map<string, number>()
    for (const [key, p] of positions) {
      const leader = md.topics.get(p.topic)?.partitions[p.partition]?.leader
      if (leader === undefined || leader < 0)
        throw new KafkaTransportError('NO_LEADER', `no leader for ${p.topic}-${p.partition}`)
      from.set(key, p.offset)
      let node = byNode.get(leader)
      if (!node) {
        node = new Map()
        byNode.set(leader, node)
      }
      let list = node.get(p.topic)
      if (!list) {
        list = []
        node.set(p.topic, list)
      }
      list.push({
        partition: p.partition,
        fetchOffset: BigInt(p.offset),
        partitionMaxBytes: Math.max(1 << 20, maxBytes >> 2),
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })
    }
    const perNode = [...byNode].map(async ([node, byTopic]) => {
      const broker = md.brokers.get(node)
      if (!broker) throw new KafkaTransportError('NO_LEADER', `fetch: broker ${node} unknown`)
      const connection = await this.call('connect', () => pool.get(broker))
      const request = () =>
        fetchV12.createRequest(
          maxWaitMs,
          1,
          maxBytes,
          READ_COMMITTED,
          0, // no fetch session: every partition asked and answered each time
          -1,
          [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
          [],
          '',
        )
      return this.trace.time(
        phase,
        () =>
          this.call(
            'fetch',
            () =>
              new Promise<DecodedPartition[]>((resolve, reject) =>
                connection.send(
                  fetchV12.api.key,
                  fetchV12.api.version,
                  request,
                  (_id: number, _key: number, _version: number, reader: Reader) =>
                    parseFetchV12(reader, from),
                  true,
                  true,
                  (err: Error | null, res: unknown) =>
                    err ? reject(err) : resolve(res as DecodedPartition[]),
                ),
              ),
          ),
        fetchedSize,
      )
    })
    return (await Promise.all(perNode)).flat()
  }

  /** Connections for read(): fetches of one partition at a time, without a group. */
  private readonly readPool: ConnectionPool

  async *read(tp: TopicPartition, fromOffset: number): AsyncIterable<ConsumedRecord[]> {
    const end = await this.endOffset(tp)
    // Nothing to read (an empty or fully restored changelog): no earliest-offset round trip.
    if (fromOffset >= end) return
    const key = `${tp.topic}-${tp.partition}`
    let pos = Math.max(fromOffset, (await this.listOffsets([tp], -2n)).get(key) ?? 0)
    let idle = 0
    let failingSince: number | undefined
    while (pos < end) {
      let part: DecodedPartition | undefined
      let failure: unknown
      try {
        ;[part] = await this.fetch(
          this.reader,
          this.readPool,
          new Map([[key, { ...tp, offset: pos }]]),
          500,
          undefined,
          idle > 0,
          'read',
        )
      } catch (err) {
        // A connection lost or a broker gone: as a leader move below, within one request bound.
        failingSince ??= Date.now()
        if (this.closed || Date.now() - failingSince > this.opts.requestTimeoutMs) throw err
        failure = err
      }
      if (failure !== undefined || (part && part.errorCode !== 0)) {
        // Leader moves are transient: retry with fresh metadata until the idle bound.
        if (++idle * 500 > this.opts.requestTimeoutMs) {
          if (failure !== undefined) throw failure
          throw new KafkaTransportError('READ', `read ${key} at ${pos}: broker error code ${part!.errorCode}`)
        }
        await sleep(200)
        continue
      }
      failingSince = undefined
      const records = (part?.records ?? []).filter((r) => r.offset < end)
      if (part?.next !== undefined && part.next > pos) {
        pos = part.next
        idle = 0
      } else if (++idle * 500 > this.opts.requestTimeoutMs) {
        throw new KafkaTransportError('TIMEOUT', `read ${key}: stuck at offset ${pos} of ${end}`)
      }
      if (records.length > 0) yield records
    }
  }

  /** Records by topic and partition (given, else murmur2 of the key), in order. */
  async route(records: ProducedRecord[]): Promise<Map<string, Map<number, ProducedRecord[]>>> {
    const out = new Map<string, Map<number, ProducedRecord[]>>()
    const counts = new Map<string, number>()
    for (const r of records) {
      let partition = r.partition
      if (partition === undefined) {
        let n = counts.get(r.topic)
        if (n === undefined) {
          n = await this.partitions(r.topic)
          if (n === undefined)
            throw new KafkaTransportError('UNKNOWN_TOPIC', `send: topic ${r.topic} does not exist`)
          counts.set(r.topic, n)
        }
        partition = partitionFor(r.key, n)
      }
      let parts = out.get(r.topic)
      if (!parts) {
        parts = new Map()
        out.set(r.topic, parts)
      }
      const list = parts.get(partition)
      if (list) list.push(r)
      else parts.set(partition, [r])
    }
    return out
  }

  /**
   * One round of produce requests: `byPartition` as record batches of `owner` (sequence numbers
   * taken from and advanced in `owner.sequences`), the i-th batch of every partition a broker
   * leads in that broker's i-th request, all requests queued at once in order (a connection keeps
   * them in order, up to 5 in flight). Returns the records of the requests that failed, and the
   * first error.
   */
  async produceRound(
    pool: ConnectionPool,
    byPartition: Map<string, Map<number, ProducedRecord[]>>,
    owner: {
      producerId: bigint
      producerEpoch: number
      sequences: Map<string, number>
      transactionalId: string | null
      refresh: boolean
      current?: () => boolean
    },
  ): Promise<{ failed: FailedPartitions; error?: unknown }> {
    const { leaders, brokers } = await this.leaders([...byPartition.keys()], owner.refresh)
    const connections = new Map<number, Connection>()
    for (const node of new Set(leaders.values())) {
      const broker = brokers.get(node)
      if (!broker) throw new KafkaTransportError('NO_LEADER', `produce: broker ${node} unknown`)
      connections.set(node, await this.call('connect', () => pool.get(broker)))
    }
    // From here on synchronous: sequence numbers are taken in the order requests are queued.
    if (owner.current && !owner.current())
      throw new KafkaTransportError('FAILED', 'produce: producer id changed')
    const requests = new Map<string, ProduceRequest>()
    const transactional = owner.transactionalId !== null
    for (const [topic, parts] of byPartition)
      for (const [partition, list] of parts) {
        const key = `${topic}-${partition}`
        const node = leaders.get(key)
        if (node === undefined) throw new KafkaTransportError('NO_LEADER', `no leader for ${key}`)
        const first = owner.sequences.get(key) ?? 0
        const batches = encodeRecordBatches(
          list,
          { ...owner, baseSequence: first, transactional },
          PRODUCE_BATCH_BYTES,
        )
        owner.sequences.set(key, (first + list.length) % 2 ** 31)
        let start = 0
        let sequence = first
        batches.forEach(({ batch, count }, i) => {
          let req = requests.get(`${node}:${i}`)
          if (!req) {
            req = { node, i, topics: new Map(), parts: new Map(), count: 0 }
            requests.set(`${node}:${i}`, req)
          }
          const inTopic = req.topics.get(topic) ?? []
          req.topics.set(topic, inTopic)
          inTopic.push({ partition, batch })
          req.parts.set(key, { sequence, records: list.slice(start, start + count) })
          req.count += count
          start += count
          sequence = (sequence + count) % 2 ** 31
        })
      }
    const ordered = [...requests.values()].sort((a, b) => a.i - b.i)
    const timeout = this.opts.requestTimeoutMs
    const phase = transactional ? 'txn.produce' : 'produce'
    const sent = ordered.map((req) => {
      const connection = connections.get(req.node)!
      const acked = new Promise<unknown>((resolve, reject) =>
        connection.send(
          produceV9.api.key,
          produceV9.api.version,
          () => produceRequest(owner.transactionalId, ACKS_ALL, timeout, req.topics),
          produceV9.parseResponse,
          true,
          true,
          (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)),
        ),
      )
      return this.trace.time(
        phase,
        () => this.call(`produce ${req.count} records`, () => acked),
        () => ({ records: req.count }),
      )
    })
    const results = await Promise.allSettled(sent)
    // In request order, so a partition's records stay in order and restart at its first failed batch.
    const failed: FailedPartitions = new Map()
    let error: unknown
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return
      error ??= r.reason
      const codes = partitionErrors(r.reason)
      for (const [key, part] of ordered[i]!.parts) {
        const code = codes ? (codes.get(key) ?? 0) : -1
        const f = failed.get(key)
        if (f) for (const rec of part.records) f.records.push(rec)
        else if (code !== 0) failed.set(key, { sequence: part.sequence, records: [...part.records], code })
      }
    })
    return { failed, error }
  }

  /** Leader node per partition (tpKey) of `topics`, and the brokers' addresses. */
  async leaders(
    topics: string[],
    refresh: boolean,
  ): Promise<{ leaders: Map<string, number>; brokers: Map<number, { host: string; port: number }> }> {
    const md = await this.trace.time('metadata', () =>
      this.call('metadata', () => this.reader.metadata({ topics, forceUpdate: refresh })),
    )
    const leaders = new Map<string, number>()
    for (const topic of topics) {
      const t = md.topics.get(topic)
      if (!t) throw new KafkaTransportError('UNKNOWN_TOPIC', `send: topic ${topic} does not exist`)
      t.partitions.forEach((p, i) => {
        if (p && p.leader >= 0) leaders.set(`${topic}-${i}`, p.leader)
      })
    }
    return { leaders, brokers: md.brokers }
  }

  /** The bootstrap brokers as addresses. */
  brokerAddresses(): { host: string; port: number }[] {
    return this.opts.brokers.map((b) => {
      const i = b.lastIndexOf(':')
      return { host: b.slice(0, i), port: Number(b.slice(i + 1)) }
    })
  }

  transactionalProducer(transactionalId: string): TransactionalProducer {
    const p = new KafkaTransactionalProducer(this, transactionalId)
    this.closables.add(p)
    return p
  }

  forget(c: { close(): Promise<void> }): void {
    this.closables.delete(c)
  }

  async close(): Promise<void> {
    if (this.closed) return
    for (const c of [...this.closables]) await c.close().catch((err) => log.warn('close failed', { err }))
    this.closed = true
    await Promise.allSettled([this.admin.close(), this.reader.close(true), this.readPool.close()])
  }
}

interface FetchPartition {
  partition: number
  fetchOffset: bigint
  partitionMaxBytes: number
  currentLeaderEpoch: number
  lastFetchedEpoch: number
}

interface PendingEnd {
  tp: TopicPartition
  promise: Promise<number>
  resolve(n: number): void
  reject(err: unknown): void
}

/** Produce errors a resend cannot fix. */
const PRODUCE_FATAL = [
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'ENGINE_KAFKA_UNKNOWN_TOPIC',
  'ENGINE_KAFKA_CLOSED',
]
const PRODUCE_ATTEMPTS = 4
/** Record batch size (bytes): under the broker's default message.max.bytes (1 MB). */
const PRODUCE_BATCH_BYTES = 512 * 1024

interface ProduceRequest {
  node: number
  /** The i-th request to its node holds the i-th batch of each partition the node leads. */
  i: number
  topics: Map<string, { partition: number; batch: Buffer }[]>
  /** Per partition (tpKey): the batch's first sequence number and its records. */
  parts: Map<string, { sequence: number; records: ProducedRecord[] }>
  count: number
}

/** Partitions whose batches were not acknowledged: where their sequence numbers restart, their records, the broker's error code (-1: no answer). */
export type FailedPartitions = Map<string, { sequence: number; records: ProducedRecord[]; code: number }>

/** The producer id's state at the broker is gone or ahead: a new producer id is needed. */
const PRODUCER_STATE_LOST = new Set([45, 47, 49, 59, 90]) // OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING, UNKNOWN_PRODUCER_ID, PRODUCER_FENCED

/** Per-partition error codes of a Produce response carried by `err` (or its causes), if any. */
function partitionErrors(err: unknown): Map<string, number> | undefined {
  const seen = new Set<unknown>()
  for (
    let e = err as { response?: unknown; cause?: unknown } | undefined;
    e && !seen.has(e);
    e = e.cause as typeof e
  ) {
    seen.add(e)
    const res = e.response as
      | { responses?: { name: string; partitionResponses: { index: number; errorCode: number }[] }[] }
      | undefined
    if (!res?.responses) continue
    const out = new Map<string, number>()
    for (const t of res.responses)
      for (const p of t.partitionResponses) out.set(`${t.name}-${p.index}`, p.errorCode)
    return out
  }
  return undefined
}

/**
 * Idempotent producer (acks=all): records are encoded by produce.ts and written on this
 * producer's own connections, every request of a send at once (up to 5 in flight per broker, in
 * order: a partition's batches keep their order and sequence numbers). Records of a failed request
 * are sent again under a new producer id with fresh metadata (at most PRODUCE_ATTEMPTS rounds): a
 * record may then be written twice (at-least-once), never lost; send() resolves once every record
 * is acknowledged.
 */
class KafkaProducer implements Producer {
  private readonly transport: KafkaTransport
  private readonly pool: ConnectionPool
  private id: Promise<{ producerId: bigint; producerEpoch: number }> | undefined
  /** Next sequence number per partition (tpKey) under the current producer id. */
  private readonly sequences = new Map<string, number>()
  private closed = false

  constructor(transport: KafkaTransport) {
    this.transport = transport
    this.pool = new ConnectionPool(`${transport.opts.clientId}-producer`, {
      connectTimeout: 5000,
      requestTimeout: transport.opts.requestTimeoutMs,
    })
  }

  /** InitProducerId (no transactional id): a new producer id and epoch; sequences start at 0. */
  private producerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    if (!this.id) {
      const id = this.transport.call('init producer id', async () => {
        const c = await this.pool.getFirstAvailable(this.transport.brokerAddresses())
        const res = await initProducerIdV4.api.async(c, null, 60_000, -1n, -1)
        return { producerId: res.producerId, producerEpoch: res.producerEpoch }
      })
      this.id = id
      id.catch(() => {
        if (this.id === id) this.id = undefined
      })
    }
    return this.id
  }

  async send(records: ProducedRecord[]): Promise<void> {
    if (this.closed) throw new KafkaTransportError('CLOSED', 'send on a closed producer')
    let pending = records
    for (let attempt = 1; pending.length > 0; attempt++) {
      let error: unknown
      let failed: FailedPartitions | undefined
      try {
        const round = await this.attempt(pending, attempt > 1)
        failed = round.failed
        error = round.error
      } catch (err) {
        error = err // nothing was sent
      }
      if (!error) return
      if (attempt >= PRODUCE_ATTEMPTS || mentionsAny(error, PRODUCE_FATAL)) throw error
      if (failed) {
        // Only the partitions that failed go again, from their first unacknowledged batch, with
        // the same sequence numbers: a batch the broker did write (its answer was lost) is then
        // recognized as a duplicate and not written twice. If the broker lost this producer's
        // state, a new producer id (sequences from 0).
        pending = []
        let lost = false
        for (const [key, f] of failed) {
          this.sequences.set(key, f.sequence)
          if (PRODUCER_STATE_LOST.has(f.code)) lost = true
          for (const r of f.records) pending.push(r)
        }
        if (lost) {
          this.id = undefined
          this.sequences.clear()
        }
      }
      log.debug('produce failed, sending again', { records: pending.length, err: (error as Error).message })
      await sleep(100 * attempt)
    }
  }

  /** One round: every request for `records` at once; the records of the requests that failed. */
  private async attempt(
    records: ProducedRecord[],
    refresh: boolean,
  ): Promise<{ failed: FailedPartitions; error?: unknown }> {
    const byPartition = await this.transport.route(records)
    const id = this.producerId()
    const owner = await id
    return this.transport.produceRound(this.pool, byPartition, {
      ...owner,
      sequences: this.sequences,
      transactionalId: null,
      refresh,
      // Another send reset the producer id meanwhile: its sequences start over, ours are void.
      current: () => this.id === id,
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.transport.forget(this)
    await bounded('producer close', this.transport.opts.requestTimeoutMs, () => this.pool.close()).catch(
      (err) => log.warn('producer close', { err }),
    )
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
