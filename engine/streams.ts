import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StreamsError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import { deadLetterTopic } from '../common/topics.ts'
import type { LevelKeyValueStore } from '../state/kv-store.ts'
import { changelogTopic } from '../state/stores.ts'
import type {
  KeyValue,
  ReadOnlyKeyValueStore,
  ReadOnlyStore,
  ReadOnlyWindowStore,
  WindowEntry,
} from '../state/types.ts'
import type { LevelWindowStore } from '../state/window-store.ts'
import { engineMetrics } from './metrics.ts'
import { StreamTask } from './task.ts'
import { resolveTopic, type Subtopology, type Topology, type TopologyDescription } from './topology.ts'
import {
  type ConsumedRecord,
  type Consumer,
  hasCode,
  isTaskMigrated,
  type Offsets,
  type ProducedRecord,
  type Producer,
  type TopicPartition,
  type TopicSpec,
  type TransactionalProducer,
  type Transport,
} from './transport.ts'

// Runs a topology: one consumer (group = applicationId) over every source topic, one task per
// (sub-topology, input partition), created on assignment and closed on revocation.
//
// Checkpoint order (at-least-once), every commitIntervalMs and on close/revoke:
//   1. flush sinks        — outputs buffered by the tasks (sinks, repartition, dead letters)
//   2. produce changelog  — one record per key written since the last commit
//   3. flush producer     — 1 and 2 go in one send, which resolves once they are durable
//   4. commit offsets     — only now is the input marked consumed
//   5. flush local state  — staged store writes into LevelDB, every store's batch at once, each
//                           with the changelog offset it includes (its checkpoint); the task's
//                           `.checkpoint` file (read only for stores older than that) is written
//                           at open and after the last commit of a clean close or revocation
// A crash before 4 replays the input (duplicates downstream, never loss); a crash between 4 and
// 5 leaves the local state behind the changelog, which the restore replays from the old
// checkpoint (writes are idempotent: last value per key wins). Before 2 the consumer checks that
// this member still owns its partitions (ensureActive), so a member the group moved past (paused
// past its session timeout) drops its work instead of writing a changelog it no longer owns.
//
// At-least-once interval commits are pipelined: once 1, 2 and the offsets and staged store writes
// are taken (synchronously), the thread goes on processing while 3–5 run; the next commit (or a
// revoke, or close) first waits for them and fails with their error. Order and contract are the
// same: offsets after the sends they cover are acknowledged, local state after the offsets. Reads
// see the batch being written until LevelDB has it. A failure drops the uncommitted work as below.
//
// Exactly-once (processingGuarantee 'exactly_once'): 1–4 are one transaction of the instance's
// transactional producer (outputs, changelog records and input offsets visible together or not at
// all, to read_committed readers), then 5. Local state only ever holds committed writes.
//
// Errors of a commit: "task migrated" (the group moved on, the producer was fenced) and retriable
// ones (timeouts, coordinator moves, I/O) drop the uncommitted work of every task (closed without
// flushing their staged writes), rewind the consumer to the committed offsets and carry on: the
// tasks are opened and restored again and the input since the last commit is processed again.
// Any other error, or retriable ones for longer than taskTimeoutMs, is fatal: state 'error',
// `error` says why, waiters of flush() are rejected.

export interface StreamsOptions {
  applicationId: string
  transport: Transport
  /** Local state: `<stateDir>/<applicationId>/<taskId>/<store>/` (LevelDB) + `.checkpoint`. */
  stateDir: string
  commitIntervalMs?: number
  maxPollRecords?: number
  /** Max wait of one poll; also bounds wall-clock punctuation latency. */
  pollMs?: number
  /** Where to start on input partitions with no committed offset (default earliest). */
  from?: 'earliest' | 'latest'
  restoreTimeoutMs?: number
  /** A processor throwing: stop the engine (default, as Kafka Streams) or dead-letter the record. */
  processingErrors?: 'fail' | 'dead-letter'
  /** Flush outputs early when this many are buffered (they are committed at the next commit). */
  maxBufferedRecords?: number
  /** Partitions for sink topics this engine creates when missing (default: the task count). */
  sinkPartitions?: number
  /**
   * Timestamps of the output and dead-letter topics this engine creates (default CreateTime: records
   * carry their event time, as in Kafka Streams). LogAppendTime makes time retention count from the
   * write, so a backfill of old data is kept, at the cost of the event time in the record timestamp.
   */
  outputTimestampType?: 'CreateTime' | 'LogAppendTime'
  /** 'at_least_once' (default) or 'exactly_once' (transactional commits; see engine/README.md). */
  processingGuarantee?: ProcessingGuarantee
  /** How long commits may keep failing with retriable errors before the engine stops (default 5 min). */
  taskTimeoutMs?: number
}

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once'

/** Errors after which the engine stops: retrying cannot help (configuration, authorization, closed clients). */
const FATAL = [
  'ENGINE_KAFKA_CLOSED',
  'ENGINE_EMBEDDED_CLOSED',
  'ENGINE_EMBEDDED_OFFLINE',
  'ENGINE_KAFKA_UNKNOWN_TOPIC',
  'ENGINE_KAFKA_INVALID',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'UNSUPPORTED_VERSION',
]
/** Transport errors worth a retry (after dropping the uncommitted work): timeouts, broker/coordinator moves, I/O. */
const RETRIABLE = [
  'ENGINE_KAFKA_TIMEOUT',
  'ENGINE_KAFKA_FAILED',
  'ENGINE_KAFKA_READ',
  'ENGINE_KAFKA_NO_LEADER',
  'EIO',
  'ENOSPC',
  'EAGAIN',
  'EBUSY',
]

export function isRecoverable(err: unknown): boolean {
  if (hasCode(err, FATAL)) return false
  return isTaskMigrated(err) || hasCode(err, RETRIABLE)
}

export type StreamsState = 'created' | 'starting' | 'running' | 'closing' | 'closed' | 'error'

export class KafkaStreams {
  readonly topology: Topology
  readonly applicationId: string
  private readonly opts: Required<Omit<StreamsOptions, 'sinkPartitions' | 'outputTimestampType'>> &
    Pick<StreamsOptions, 'sinkPartitions' | 'outputTimestampType'>
  private readonly log
  private readonly subs: Subtopology[]
  private readonly subByTopic = new Map<string, Subtopology>()
  private readonly tasks = new Map<string, StreamTask>()
  private consumer: Consumer | undefined
  private producer: Producer | undefined
  private loop: Promise<void> | undefined
  private lastCommit = Date.now()
  private lastLag = 0
  private commitRequests: { resolve: () => void; reject: (err: Error) => void }[] = []
  private txn: TransactionalProducer | undefined
  /** Since when commits keep failing with recoverable errors. */
  private failingSince: number | undefined
  private iterationWaiters: (() => void)[] = []
  private _state: StreamsState = 'created'
  private _error: Error | undefined
  private _restoring = false
  private committing: Promise<void> = Promise.resolve()
  /** At-least-once: the rest of the last interval commit, possibly still running (see commitNow). */
  private inflight: Promise<void> | undefined
  /** The pipelined commit has not landed yet: an interval commit waits for it instead of stalling the thread. */
  private inflightPending = false

  constructor(topology: Topology, options: StreamsOptions) {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(options.applicationId))
      throw new StreamsError(
        'ENGINE',
        'INVALID_APPLICATION_ID',
        `applicationId "${options.applicationId}" must match [A-Za-z0-9._-]{1,100} (it prefixes topic names)`,
      )
    topology.validate()
    this.topology = topology
    this.applicationId = options.applicationId
    this.opts = {
      processingGuarantee: 'at_least_once',
      taskTimeoutMs: 300_000,
      commitIntervalMs: 1000,
      maxPollRecords: 10_000,
      pollMs: 100,
      from: 'earliest',
      restoreTimeoutMs: 300_000,
      processingErrors: 'fail',
      maxBufferedRecords: 100_000,
      ...options,
    }
    this.log = createLogger('engine').child(options.applicationId)
    this.subs = topology.subtopologies()
    for (const s of this.subs)
      for (const t of s.sourceTopics) this.subByTopic.set(resolveTopic(this.applicationId, t), s)
  }

  get state(): StreamsState {
    return this._state
  }

  /** True while newly assigned tasks restore their stores (queries may see partial state). */
  get restoring(): boolean {
    return this._restoring
  }

  /** The error that stopped the engine, if any. */
  get error(): Error | undefined {
    return this._error
  }

  describe(): TopologyDescription {
    return this.topology.describe(this.applicationId)
  }

  /** Creates internal topics, subscribes and starts processing; tasks restore their stores as they are assigned. */
  async start(): Promise<void> {
    if (this._state !== 'created')
      throw new StreamsError('ENGINE', 'INVALID_STATE', `cannot start: ${this._state}`)
    this._state = 'starting'
    try {
      await this.createTopics()
      if (this.opts.processingGuarantee === 'exactly_once')
        this.txn = this.opts.transport.transactionalProducer(`${this.applicationId}-${this.instanceId()}`)
      else this.producer = this.opts.transport.producer()
      this.consumer = await this.opts.transport.consumer({
        groupId: this.applicationId,
        topics: [...this.subByTopic.keys()],
        from: this.opts.from,
        // A task reads partition p of every source of its sub-topology: they go to one member.
        copartitioned: this.subs.map((s) => s.sourceTopics.map((t) => resolveTopic(this.applicationId, t))),
        onAssign: (tps) => this.onAssign(tps),
        onRevoke: (tps) => this.onRevoke(tps),
        onLost: (tps) => this.onLost(tps),
      })
      this._state = 'running'
      this.loop = this.run()
    } catch (err) {
      this._state = 'error'
      this._error = err as Error
      throw err
    }
  }

  /**
   * This instance's id, kept in its state directory (Kafka Streams' process id): the transactional
   * id stays the same across restarts, so a restarted instance aborts what its previous run left open.
   */
  private instanceId(): string {
    const dir = join(this.opts.stateDir, this.applicationId)
    const file = join(dir, 'instance.id')
    try {
      return readFileSync(file, 'utf8').trim()
    } catch {
      mkdirSync(dir, { recursive: true })
      const id = randomUUID()
      writeFileSync(file, id)
      return id
    }
  }

  private async createTopics(): Promise<void> {
    const t = this.opts.transport
    const app = this.applicationId
    const partitionsOf = new Map<Subtopology, number>()
    // External sources must exist; internal topics take their upstream's partition count.
    const pending = [...this.subs]
    for (let guard = 0; pending.length > 0 && guard < 100; guard++) {
      for (let i = pending.length - 1; i >= 0; i--) {
        const sub = pending[i]!
        let n = 0
        let ready = true
        for (const ref of sub.sourceTopics) {
          if (ref.internal) {
            const upstream = this.subs.find((s) =>
              s.sinkTopics.some((x) => x.internal && x.name === ref.name),
            )
            const un = upstream && partitionsOf.get(upstream)
            if (un === undefined) ready = false
            else n = Math.max(n, un)
          } else {
            const p = await t.partitions(ref.name)
            if (p === undefined)
              throw new StreamsError(
                'ENGINE',
                'MISSING_SOURCE_TOPIC',
                `source topic "${ref.name}" does not exist`,
              )
            if (n && p !== n && sub.stores.length > 0)
              throw new StreamsError(
                'ENGINE',
                'COPARTITIONING',
                `sources of sub-topology ${sub.id} differ in partitions`,
              )
            n = Math.max(n, p)
          }
        }
        if (ready) {
          partitionsOf.set(sub, n)
          pending.splice(i, 1)
        }
      }
    }
    if (pending.length)
      throw new StreamsError('ENGINE', 'INVALID_TOPOLOGY', 'repartition topics form a cycle')
    const specs: TopicSpec[] = []
    // Output and dead-letter topics: CreateTime unless told (see outputTimestampType); repartition
    // topics always keep CreateTime (stream time reads it).
    const appendTime = this.opts.outputTimestampType ? { timestampType: this.opts.outputTimestampType } : {}
    for (const sub of this.subs) {
      const n = partitionsOf.get(sub)!
      for (const ref of sub.sinkTopics) {
        const name = resolveTopic(app, ref)
        if (ref.internal) specs.push({ name, partitions: n })
        else if ((await t.partitions(name)) === undefined)
          specs.push({ name, partitions: this.opts.sinkPartitions ?? n, ...appendTime })
      }
      for (const store of sub.stores) {
        if (this.topology.stores.get(store)?.changelog)
          specs.push({ name: changelogTopic(app, store), partitions: n, compacted: true })
      }
      for (const ref of sub.sourceTopics) {
        const dlq = deadLetterTopic(resolveTopic(app, ref))
        if ((await t.partitions(dlq)) === undefined) specs.push({ name: dlq, partitions: 1, ...appendTime })
      }
    }
    const fresh: TopicSpec[] = []
    for (const s of specs) if ((await t.partitions(s.name)) === undefined) fresh.push(s)
    if (fresh.length) await t.createTopics(fresh)
  }

  private taskFor(tp: TopicPartition): StreamTask | undefined {
    const sub = this.subByTopic.get(tp.topic)
    return sub && this.tasks.get(`${sub.id}_${tp.partition}`)
  }

  private async onAssign(tps: TopicPartition[]): Promise<void> {
    this._restoring = true
    try {
      await this.openTasks(tps)
    } finally {
      this._restoring = false
    }
  }

  private async openTasks(tps: TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      const sub = this.subByTopic.get(tp.topic)
      if (!sub || this.tasks.has(`${sub.id}_${tp.partition}`)) continue
      const task = new StreamTask(this.topology, sub, tp.partition, {
        applicationId: this.applicationId,
        stateDir: this.opts.stateDir,
        transport: this.opts.transport,
        restoreTimeoutMs: this.opts.restoreTimeoutMs,
        processingErrors: this.opts.processingErrors,
        log: this.log,
      })
      await task.open()
      this.tasks.set(task.id, task)
    }
    this.log.info('assigned', { tasks: [...this.tasks.keys()] })
  }

  private async onRevoke(tps: TopicPartition[]): Promise<void> {
    const gone = new Set<StreamTask>()
    for (const tp of tps) {
      const task = this.taskFor(tp)
      if (task) gone.add(task)
    }
    if (gone.size === 0) return
    await this.commit()
    for (const task of gone) {
      // A failed commit may have dropped it already.
      if (this.tasks.get(task.id) !== task) continue
      await task.saveCheckpoint().catch((err) => this.log.warn('checkpoint file', { err }))
      await task.close()
      this.tasks.delete(task.id)
    }
    this.log.info('revoked', { tasks: [...gone].map((t) => t.id) })
  }

  /** Partitions gone without a commit (another generation, or a rewind): their work is dropped. */
  private async onLost(tps: TopicPartition[]): Promise<void> {
    // A pipelined commit may still be writing their stores (its failure is the next commit's).
    await this.inflight?.catch(() => {})
    const gone = new Set<StreamTask>()
    for (const tp of tps) {
      const task = this.taskFor(tp)
      if (task) gone.add(task)
    }
    for (const task of gone) {
      this.tasks.delete(task.id)
      await task.close() // staged store writes and buffered outputs are discarded
    }
    if (gone.size > 0) this.log.info('lost (uncommitted work dropped)', { tasks: [...gone].map((t) => t.id) })
  }

  /** After a failed commit: every task's uncommitted work goes; the consumer restarts from the committed offsets. */
  private async dropTasks(): Promise<void> {
    const tasks = [...this.tasks.values()]
    this.tasks.clear()
    for (const task of tasks)
      await task.close().catch((err) => this.log.warn('task close', { task: task.id, err }))
    this.consumer?.rewind()
  }

  private async run(): Promise<void> {
    const consumer = this.consumer!
    const app = { app: this.applicationId }
    try {
      let pollFailingSince: number | undefined
      while (this._state === 'running') {
        let records: ConsumedRecord[]
        try {
          // While a pipelined commit is in flight, smaller batches: each of its I/O steps (fsyncs,
          // the offsets file, LevelDB writes) continues only at an event-loop turn between batches.
          const max = this.inflightPending
            ? Math.min(1000, this.opts.maxPollRecords)
            : this.opts.maxPollRecords
          records = await consumer.poll(max, this.opts.pollMs)
          pollFailingSince = undefined
        } catch (err) {
          // A fetch timeout or a restore that failed on a leader move is retried (positions did
          // not move); membership lost for good, a closed or offline log, or taskTimeoutMs of
          // failures are fatal.
          pollFailingSince ??= Date.now()
          if (!isRecoverable(err) || Date.now() - pollFailingSince > this.opts.taskTimeoutMs) throw err
          this.log.warn('poll failed, retrying', { err: (err as Error).message })
          await new Promise((r) => setTimeout(r, 200))
          continue
        }
        if (this._state !== 'running' && records.length === 0) break
        if (records.length > 0) {
          const t0 = performance.now()
          let last: StreamTask | undefined
          let lastTopic = ''
          let lastPartition = -1
          for (let i = 0; i < records.length; i++) {
            const r = records[i]!
            if (r.topic !== lastTopic || r.partition !== lastPartition) {
              last = this.taskFor(r)
              lastTopic = r.topic
              lastPartition = r.partition
            }
            last?.process(r)
          }
          engineMetrics.processLatency.observe(app, (performance.now() - t0) / 1000 / records.length)
          // A poll with records at hand resolves without an event-loop turn: yield one after each
          // batch, so I/O completions (the pipelined commit's fsyncs and LevelDB writes, other
          // work of the process) are not starved while input keeps coming.
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
        const now = Date.now()
        let buffered = 0
        for (const task of this.tasks.values()) {
          task.punctuate('wall-clock', now)
          buffered += task.out.length
        }
        // An interval commit is due only once the previous (pipelined) one has landed: on a slow
        // disk commits then come back to back, each covering more, while processing goes on —
        // waiting for the previous one here would stand the thread still (its fsyncs).
        if (
          this.commitRequests.length > 0 ||
          (now - this.lastCommit >= this.opts.commitIntervalMs && !this.inflightPending) ||
          buffered >= this.opts.maxBufferedRecords
        ) {
          const t0 = performance.now()
          const kind = this.commitRequests.length > 0 ? 'requested' : 'interval'
          await this.commit(true)
          engineMetrics.commitPause.observe({ ...app, kind }, (performance.now() - t0) / 1000)
        }
        const waiters = this.iterationWaiters
        this.iterationWaiters = []
        for (const w of waiters) w()
      }
    } catch (err) {
      this._state = 'error'
      this._error = err as Error
      this.log.error('stream thread failed', { err })
    } finally {
      // Wake flush() callers: they see the state and stop waiting. A pending commit request is
      // served by close()'s final commit, or never, if the engine failed.
      for (const w of this.iterationWaiters) w()
      this.iterationWaiters = []
      if (this._state === 'error') {
        const err = this._error ?? new StreamsError('ENGINE', 'FAILED', 'engine failed')
        for (const r of this.commitRequests) r.reject(err)
        this.commitRequests = []
      }
    }
  }

  /** Commits never overlap (a transport may call onRevoke while the loop is committing). */
  private commit(pipelined = false): Promise<void> {
    const next = this.committing.then(() => this.commitNow(pipelined))
    this.committing = next.catch(() => {})
    return next
  }

  /**
   * The checkpoint, in the order documented at the top of this file; failures as described there.
   * `pipelined` (at-least-once interval commits): returns once the commit's records, offsets and
   * staged writes are taken; its sends, offset commit and local state flush complete while the
   * stream thread goes on, and the next commit (or revoke, close) first waits for them and fails
   * with their error.
   */
  private async commitNow(pipelined: boolean): Promise<void> {
    const requests = this.commitRequests
    this.commitRequests = []
    try {
      await this.landed()
      const overlap = pipelined && !this.txn && requests.length === 0
      const rest = this.checkpoint(overlap)
      if (overlap) {
        this.inflightPending = true
        this.inflight = rest.then(
          (committed) => {
            this.inflightPending = false
            if (committed) this.failingSince = undefined
          },
          (err) => {
            this.inflightPending = false
            throw err
          },
        )
        this.inflight.catch(() => {}) // reported by landed()
        return
      }
      if (await rest) this.failingSince = undefined
      for (const r of requests) r.resolve()
    } catch (err) {
      const now = Date.now()
      this.failingSince ??= now
      if (isRecoverable(err) && now - this.failingSince <= this.opts.taskTimeoutMs) {
        this.log.warn(
          isTaskMigrated(err)
            ? 'task migrated: dropping uncommitted work'
            : 'commit failed: dropping uncommitted work, retrying from the last commit',
          {
            err: (err as Error).message,
            tasks: [...this.tasks.keys()],
          },
        )
        await this.dropTasks()
        // flush() waiters check again whether the input is processed and committed.
        for (const r of requests) r.resolve()
        return
      }
      const fatal = err as Error
      this._state = 'error'
      this._error = fatal
      this.log.error('stream thread stopped: fatal commit error', {
        err: fatal.message,
        code: (fatal as { code?: string }).code,
        failingForMs: now - this.failingSince,
      })
      for (const r of requests) r.reject(fatal)
      throw fatal
    }
  }

  /** Waits for the pipelined commit still in flight, if any; throws its failure. */
  private async landed(): Promise<void> {
    const p = this.inflight
    if (!p) return
    try {
      await p
    } finally {
      if (this.inflight === p) this.inflight = undefined
    }
  }

  /**
   * One commit; true if it committed input offsets. Everything the commit covers (outputs,
   * changelog records, offsets, staged store writes) is taken synchronously before the first await.
   */
  private async checkpoint(overlapped = false): Promise<boolean> {
    const t0 = performance.now()
    const now = Date.now()
    this.lastCommit = now
    // 1 + 2: sink outputs (after processors forwarded what they held back), then changelog
    // records, in one durable send (3).
    for (const task of this.tasks.values()) task.flushProcessors()
    let records: ProducedRecord[] = []
    for (const task of this.tasks.values()) {
      for (const r of task.out) records.push(r)
      task.out = []
    }
    for (const task of this.tasks.values()) for (const r of task.changelogRecords(now)) records.push(r)
    const offsets: Offsets = []
    for (const task of this.tasks.values())
      for (const [topic, offset] of task.positions) offsets.push({ topic, partition: task.partition, offset })
    const tasks = [...this.tasks.values()]
    const flushes = tasks.map((task) => task.beginFlushState())
    // The transport keeps the records as long as it needs them; this commit drops them once handed
    // over, not when it ends: a catch-up commit's tens of thousands of serialized records otherwise
    // live through its fsyncs and LevelDB write, surviving young-generation GCs into the old one.
    const handOver = () => {
      const r = records
      records = []
      return r
    }
    if (this.txn) {
      // 1–4 in one transaction.
      if (records.length > 0 || offsets.length > 0) await this.txn.commit(handOver(), this.consumer!, offsets)
    } else {
      if (records.length > 0) {
        await this.consumer!.ensureActive()
        await this.producer!.send(handOver())
      }
      // 4: offsets.
      if (offsets.length > 0) await this.consumer!.commit(offsets)
    }
    // 5: local state, every store's batch at once (each carries its own checkpoint).
    await Promise.all(flushes.map((flush) => flush()))
    for (const task of tasks) task.reportMetrics()
    // A commit that blocked the thread counts the interval from its end; an overlapped one from
    // its start (the next starts once it has landed and the interval has passed).
    if (!overlapped) this.lastCommit = Date.now()
    engineMetrics.commitLatency.observe({ app: this.applicationId }, (performance.now() - t0) / 1000)
    // Metrics only: a failure here is not a failed commit.
    if (now - this.lastLag >= 5000)
      await this.reportSizes(offsets).catch((err) =>
        this.log.debug('sizes not reported', { err: (err as Error).message }),
      )
    return offsets.length > 0
  }

  private async reportSizes(offsets: (TopicPartition & { offset: number })[]): Promise<void> {
    this.lastLag = Date.now()
    const bytes = new Map<string, number>()
    for (const task of this.tasks.values())
      for (const [name, n] of await task.storeBytes()) bytes.set(name, (bytes.get(name) ?? 0) + n)
    for (const [store, n] of bytes) engineMetrics.storeBytes.set({ app: this.applicationId, store }, n)
    const ends = await Promise.all(offsets.map((o) => this.opts.transport.endOffset(o)))
    for (const [i, o] of offsets.entries())
      engineMetrics.lag.set(
        { app: this.applicationId, topic: o.topic, partition: String(o.partition) },
        Math.max(0, ends[i]! - o.offset),
      )
  }

  private nextIteration(): Promise<void> {
    return new Promise((resolve) => this.iterationWaiters.push(resolve))
  }

  private requestCommit(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.commitRequests.push({ resolve, reject }))
    // Served between polls: a poll waiting for records returns now rather than at its timeout.
    this.consumer?.wakeup?.()
    return done
  }

  private checkRunning(): void {
    if (this._state === 'error') throw this._error ?? new StreamsError('ENGINE', 'FAILED', 'engine failed')
    if (this._state !== 'running') throw new StreamsError('ENGINE', 'NOT_RUNNING', `engine is ${this._state}`)
  }

  /**
   * Resolves once every assigned input partition (repartition topics included) has been
   * processed up to its end and committed: the topology is caught up. For tests and tools.
   */
  async flush(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // All partitions at once: one after the other, a broker's round trips added up per check.
    const behind = async (tps: TopicPartition[]) => {
      const lags = await Promise.all(
        tps.map(async (tp) => (await this.opts.transport.endOffset(tp)) - (await this.position(tp))),
      )
      return lags.some((lag) => lag > 0)
    }
    for (;;) {
      this.checkRunning()
      if (Date.now() > deadline)
        throw new StreamsError('ENGINE', 'FLUSH_TIMEOUT', `not caught up in ${timeoutMs} ms`)
      const assigned = this.consumer!.assignment()
      if (assigned.length === 0 || (await behind(assigned))) {
        await this.nextIteration()
        continue
      }
      // Caught up: commit, which may write to repartition topics; done if nothing moved.
      await this.requestCommit()
      this.checkRunning()
      // Done if nothing moved: no input left, and none processed since the commit (a pipelined
      // commit landing inside this one can write records the thread then processes at once).
      const tps = this.consumer!.assignment()
      if (!(await behind(tps)) && !(await this.processedSinceCommit(tps))) return
    }
  }

  /** Whether a task has processed input on `tps` past the committed offsets (its outputs are not committed yet). */
  private async processedSinceCommit(tps: TopicPartition[]): Promise<boolean> {
    const committed = await this.consumer!.committed(tps)
    for (const tp of tps) {
      const pos = this.taskFor(tp)?.positions.get(tp.topic)
      if (pos !== undefined && pos > (committed.get(`${tp.topic}-${tp.partition}`) ?? 0)) return true
    }
    return false
  }

  /** Next offset this instance will process on an input partition. */
  private async position(tp: TopicPartition): Promise<number> {
    const pos = this.taskFor(tp)?.positions.get(tp.topic)
    if (pos !== undefined) return pos
    return (await this.consumer!.committed([tp])).get(`${tp.topic}-${tp.partition}`) ?? 0
  }

  /** Stops processing, commits, closes tasks and clients (the transport stays open: it is the caller's). */
  async close(): Promise<void> {
    if (this._state === 'closed' || this._state === 'created') {
      this._state = 'closed'
      return
    }
    const failed = this._state === 'error'
    this._state = 'closing'
    await this.loop
    let committed = false
    try {
      if (!failed) await this.commit()
      committed = !failed
    } finally {
      await this.inflight?.catch(() => {})
      for (const task of this.tasks.values()) {
        if (committed) await task.saveCheckpoint().catch((err) => this.log.warn('checkpoint file', { err }))
        await task.close()
      }
      this.tasks.clear()
      await this.consumer?.close()
      await this.producer?.close()
      await this.txn?.close()
      this._state = 'closed'
    }
  }

  /**
   * @internal Test hook: stops the way a crash would — no commit, staged store writes and
   * buffered outputs are lost; what was committed before stays.
   */
  async abandon(): Promise<void> {
    this._state = 'closing'
    await this.loop
    await this.inflight?.catch(() => {})
    for (const task of this.tasks.values()) await task.close()
    this.tasks.clear()
    await this.consumer?.close()
    await this.producer?.close()
    await this.txn?.close()
    this._state = 'closed'
  }

  // ---- interactive queries ----

  private storesNamed(name: string): (LevelKeyValueStore<unknown> | LevelWindowStore<unknown>)[] {
    const spec = this.topology.stores.get(name)
    if (!spec) throw new StreamsError('ENGINE', 'UNKNOWN_STORE', `no store "${name}" in this topology`)
    if (this._state !== 'running' && this._state !== 'closing')
      throw new StreamsError(
        'ENGINE',
        'STORE_NOT_READY',
        `store "${name}" is not queryable: engine is ${this._state}`,
      )
    const out = []
    for (const task of [...this.tasks.values()].sort((a, b) => a.partition - b.partition)) {
      const s = task.stores.get(name)
      if (s) out.push(s as LevelKeyValueStore<unknown> | LevelWindowStore<unknown>)
    }
    return out
  }

  /** Read-only view of a store across this instance's tasks, usable while the engine runs. */
  store<V = unknown>(name: string): ReadOnlyStore<V> {
    const spec = this.topology.stores.get(name)
    if (!spec) throw new StreamsError('ENGINE', 'UNKNOWN_STORE', `no store "${name}" in this topology`)
    return spec.kind === 'kv' ? this.keyValueStore<V>(name) : this.windowStore<V>(name)
  }

  keyValueStore<V = unknown>(name: string): ReadOnlyKeyValueStore<V> {
    const spec = this.topology.stores.get(name)
    if (spec && spec.kind !== 'kv')
      throw new StreamsError('ENGINE', 'WRONG_STORE_KIND', `store "${name}" is not a key-value store`)
    const stores = () => this.storesNamed(name) as LevelKeyValueStore<V>[]
    return guardQueries(name, {
      kind: 'kv',
      name,
      async get(key) {
        for (const s of stores()) {
          const v = await s.read(key)
          if (v !== undefined) return v
        }
        return undefined
      },
      async all(options = {}) {
        const rows: KeyValue<V>[] = []
        for (const s of stores()) rows.push(...(await s.all(options)))
        rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        return options.limit !== undefined ? rows.slice(0, options.limit) : rows
      },
      async approximateCount() {
        let n = 0
        for (const s of stores()) n += await s.count()
        return n
      },
    })
  }

  windowStore<V = unknown>(name: string): ReadOnlyWindowStore<V> {
    const spec = this.topology.stores.get(name)
    if (spec?.kind !== 'window')
      throw new StreamsError('ENGINE', 'WRONG_STORE_KIND', `store "${name}" is not a window store`)
    const stores = () => this.storesNamed(name) as LevelWindowStore<V>[]
    const byTime = (a: WindowEntry<V>, b: WindowEntry<V>) =>
      a.window.start - b.window.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    return guardQueries(name, {
      kind: 'window',
      name,
      windowSizeMs: spec.windowSizeMs,
      async fetch(key, windowStart) {
        for (const s of stores()) {
          const v = await s.read(key, windowStart)
          if (v !== undefined) return v
        }
        return undefined
      },
      async get(key) {
        let best: WindowEntry<V> | undefined
        for (const s of stores()) {
          const e = await s.latest(key)
          if (e && (!best || e.window.start > best.window.start)) best = e
        }
        return best
      },
      async range(key, fromTime, toTime) {
        const rows: WindowEntry<V>[] = []
        for (const s of stores()) rows.push(...(await s.range(key, fromTime, toTime)))
        return rows.sort(byTime)
      },
      async all(options = {}) {
        const rows: WindowEntry<V>[] = []
        for (const s of stores()) rows.push(...(await s.all(options)))
        rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.window.start - b.window.start)
        return options.limit !== undefined ? rows.slice(0, options.limit) : rows
      },
      async approximateCount() {
        let n = 0
        for (const s of stores()) n += await s.count()
        return n
      },
    })
  }
}

/**
 * A query racing a rebalance can find its task's store closed (the task moved or was dropped):
 * that becomes ENGINE_STORE_MIGRATED, to retry (Kafka Streams' InvalidStateStoreException).
 */
function guardQueries<T extends object>(name: string, store: T): T {
  const out = { ...store } as Record<string, unknown>
  for (const [k, f] of Object.entries(store))
    if (typeof f === 'function')
      out[k] = async (...args: unknown[]) => {
        try {
          return await (f as (...a: unknown[]) => Promise<unknown>).apply(store, args)
        } catch (err) {
          if (hasCode(err, ['LEVEL_ITERATOR_NOT_OPEN', 'LEVEL_DATABASE_NOT_OPEN']))
            throw new StreamsError(
              'ENGINE',
              'STORE_MIGRATED',
              `store "${name}" was closed during the query (a rebalance moved its task); retry`,
              { cause: err },
            )
          throw err
        }
      }
  return out as T
}
