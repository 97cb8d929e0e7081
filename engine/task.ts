import { join } from 'node:path'
import { StreamsError } from '../common/errors.ts'
import type { Logger } from '../common/log.ts'
import { deadLetterTopic } from '../common/topics.ts'
import { LevelKeyValueStore } from '../state/kv-store.ts'
import type { LevelStore } from '../state/level-store.ts'
import { readCheckpoint, restoreStore, writeCheckpoint } from '../state/restore.ts'
import { changelogTopic } from '../state/stores.ts'
import type { KeyValueStore, WindowStore } from '../state/types.ts'
import { LevelWindowStore } from '../state/window-store.ts'
import { engineMetrics } from './metrics.ts'
import type { Cancellable, Processor, ProcessorContext, PunctuationType, StreamRecord } from './processor.ts'
import { resolveTopic, type SinkNode, type SourceNode, type Subtopology, type Topology } from './topology.ts'
import type { ConsumedRecord, ProducedRecord, Transport } from './transport.ts'

// One task per (sub-topology, partition): its own processor instances, its own stores, its own
// stream time. Processing is synchronous; outputs and store writes wait in memory for the commit.

/**
 * A wall-clock gap this long between two punctuation rounds means the processing loop was paused
 * (rebalance, restore, a long commit): input may have been waiting, so idleness restarts.
 */
const LOOP_PAUSE_MS = 2_000

interface Punctuator {
  intervalMs: number
  type: PunctuationType
  next: number
  callback: (t: number) => void
  cancelled: boolean
}

interface RuntimeNode {
  name: string
  children: RuntimeNode[]
  receive(record: StreamRecord<unknown, unknown>): void
  inCount: number
  outCount: number
  processor?: Processor<unknown, unknown, unknown, unknown>
  context?: ProcessorContext<unknown, unknown>
}

export interface TaskOptions {
  applicationId: string
  stateDir: string
  transport: Transport
  restoreTimeoutMs: number
  processingErrors: 'fail' | 'dead-letter'
  log: Logger
}

export class StreamTask {
  readonly id: string
  readonly partition: number
  readonly sub: Subtopology
  readonly stores = new Map<string, LevelStore<unknown>>()
  /** Outputs (sinks, repartition, dead letters) waiting for the next commit. */
  out: ProducedRecord[] = []
  /** Next offset to commit, per input topic. */
  readonly positions = new Map<string, number>()
  streamTime = Number.NEGATIVE_INFINITY
  private readonly opts: TaskOptions
  private readonly topology: Topology
  private readonly nodes = new Map<string, RuntimeNode>()
  private readonly sources = new Map<string, RuntimeNode & { source: SourceNode }>()
  private readonly punctuators: Punctuator[] = []
  private nextStreamPunctuation = Number.POSITIVE_INFINITY
  private current: ConsumedRecord | undefined
  private readonly dir: string
  /**
   * Per store, the changelog offset after our last produced record. This task is the only writer
   * of its changelog partitions, so counting is exact (a duplicate from a retried send can only
   * make the real offset larger, and a lower checkpoint merely replays more).
   */
  private readonly changelogOffsets: Record<string, number> = {}
  /** Wall clock of the last input record (or of the end of the last loop pause): idleness. */
  private lastInputWall = Date.now()
  private lastWallRound = Date.now()
  private lateByNode = new Map<string, number>()
  private deadLetters = new Map<string, number>()

  constructor(topology: Topology, sub: Subtopology, partition: number, opts: TaskOptions) {
    this.topology = topology
    this.sub = sub
    this.partition = partition
    this.id = `${sub.id}_${partition}`
    this.opts = opts
    this.dir = join(opts.stateDir, opts.applicationId, this.id)
  }

  /**
   * Opens and restores the stores, then builds and initializes the processors. The stores open
   * and restore concurrently: each is its own LevelDB with its own checkpoint and changelog
   * partition, and one after the other a task's stores queued their opening fsyncs on a busy
   * disk (the one-command run's 20 stores took 45-75 s).
   */
  async open(): Promise<void> {
    const checkpoint = (await readCheckpoint(this.dir)) ?? {}
    const stores = this.sub.stores.map((name) => {
      const spec = this.topology.stores.get(name)!
      const dir = join(this.dir, name)
      const store: LevelStore<unknown> =
        spec.kind === 'kv' ? new LevelKeyValueStore(spec, dir) : new LevelWindowStore(spec, dir)
      return { name, store }
    })
    const opened = await Promise.allSettled(
      stores.map(({ name, store }) => this.openStore(name, store, checkpoint[name])),
    )
    const failed = opened.find((r) => r.status === 'rejected')
    if (failed) {
      // the task is not used: close every store (a restore may have failed after its open), so a
      // retry can open the same directories
      await Promise.all(stores.map(({ store }) => store.close().catch(() => {})))
      throw failed.reason
    }
    for (const { name, store } of stores) this.stores.set(name, store)
    const next = this.changelogOffsets
    await writeCheckpoint(this.dir, next)
    this.build()
    for (const n of this.nodes.values()) {
      if (n.processor?.init) await n.processor.init(n.context!)
    }
    this.resetIdle()
  }

  /** Opens one store and restores it from its changelog, from its own checkpoint (the task's file: legacy). */
  private async openStore(
    name: string,
    store: LevelStore<unknown>,
    legacyCheckpoint: number | undefined,
  ): Promise<void> {
    const { applicationId, transport } = this.opts
    await store.open()
    if (store.spec.changelog) {
      const tp = { topic: changelogTopic(applicationId, name), partition: this.partition }
      const labels = { app: applicationId, store: name, task: this.id }
      const result = await restoreStore(store, transport, tp, legacyCheckpoint, {
        timeoutMs: this.opts.restoreTimeoutMs,
        onProgress: (p) => engineMetrics.restoreProgress.set(labels, p.total ? p.restored / p.total : 1),
      })
      engineMetrics.restoreProgress.set(labels, 1)
      engineMetrics.restoreSeconds.set(labels, result.ms / 1000)
      engineMetrics.restoreRecords.inc({ app: applicationId, store: name }, result.records)
      if (result.records > 0)
        this.opts.log.info('restored store', {
          task: this.id,
          store: name,
          mode: result.mode,
          records: result.records,
          ms: Math.round(result.ms),
        })
      this.changelogOffsets[name] = result.offset
    }
    if (store instanceof LevelWindowStore) await store.loadIndex()
  }

  /** Idleness restarts now: the task's processing was paused (rebalance, restore), not its input. */
  resetIdle(now = Date.now()): void {
    this.lastInputWall = Math.max(this.lastInputWall, now)
    this.lastWallRound = now
  }

  /**
   * Calls every processor's `flush()` (upstream first), so what a processor holds back (a
   * thinned ranking) is forwarded into this commit's outputs. Call before collecting `out`.
   */
  flushProcessors(): void {
    const saved = this.current
    this.current = undefined
    for (const n of this.sub.nodes) this.nodes.get(n.name)?.processor?.flush?.()
    this.current = saved
  }

  private build(): void {
    const children = this.topology.childrenOf()
    const inSub = new Set(this.sub.nodes.map((n) => n.name))
    const make = (name: string): RuntimeNode => {
      const existing = this.nodes.get(name)
      if (existing) return existing
      const spec = this.topology.nodes.get(name)!
      const kids = (children.get(name) ?? []).filter((c) => inSub.has(c))
      let node: RuntimeNode
      if (spec.kind === 'source') node = this.sourceNode(spec)
      else if (spec.kind === 'sink') node = this.sinkNode(spec)
      else {
        const processor = spec.supplier()
        node = { name, children: [], inCount: 0, outCount: 0, processor, receive: () => {} }
        const ctx = this.contextFor(node, spec.stores)
        node.context = ctx
        node.receive = (r) => {
          node.inCount++
          processor.process(r)
        }
      }
      this.nodes.set(name, node)
      node.children = kids.map(make)
      return node
    }
    for (const n of this.sub.nodes) make(n.name)
  }

  private sourceNode(spec: SourceNode): RuntimeNode {
    const node: RuntimeNode & { source: SourceNode } = {
      name: spec.name,
      children: [],
      inCount: 0,
      outCount: 0,
      source: spec,
      receive: (r) => this.forwardFrom(node, r),
    }
    for (const t of spec.topics) this.sources.set(resolveTopic(this.opts.applicationId, t), node)
    return node
  }

  private sinkNode(spec: SinkNode): RuntimeNode {
    const topic = resolveTopic(this.opts.applicationId, spec.topic)
    const keyOf = spec.key ?? ((k: unknown) => String(k))
    const serde = spec.serde
    const node: RuntimeNode = {
      name: spec.name,
      children: [],
      inCount: 0,
      outCount: 0,
      receive: (r) => {
        node.inCount++
        node.outCount++
        const rec: ProducedRecord = {
          topic,
          key: keyOf(r.key, r.value),
          value: r.value === null || r.value === undefined ? null : serde.serialize(r.value),
          timestamp: r.timestamp,
        }
        if (r.headers) rec.headers = r.headers
        this.out.push(rec)
      },
    }
    return node
  }

  private forwardFrom(node: RuntimeNode, r: StreamRecord<unknown, unknown>): void {
    node.outCount++
    const kids = node.children
    for (let i = 0; i < kids.length; i++) kids[i]!.receive(r)
  }

  private contextFor(node: RuntimeNode, storeNames: string[]): ProcessorContext<unknown, unknown> {
    const task = this
    const allowed = new Set(storeNames)
    const store = (name: string) => {
      const s = allowed.has(name) ? task.stores.get(name) : undefined
      if (!s)
        throw new StreamsError(
          'ENGINE',
          'UNKNOWN_STORE',
          `processor "${node.name}" has no access to store "${name}"`,
        )
      return s
    }
    return {
      applicationId: this.opts.applicationId,
      taskId: this.id,
      partition: this.partition,
      get topic() {
        return task.current?.topic
      },
      get offset() {
        return task.current?.offset
      },
      streamTime: () => task.streamTime,
      inputIdleMs: (now) => Math.max(0, now - task.lastInputWall),
      forward: (r) => task.forwardFrom(node, r),
      getStateStore<V>(name: string): KeyValueStore<V> {
        const s = store(name)
        if (!(s instanceof LevelKeyValueStore))
          throw new StreamsError('ENGINE', 'WRONG_STORE_KIND', `store "${name}" is not a key-value store`)
        return s as KeyValueStore<V>
      },
      getWindowStore<V>(name: string): WindowStore<V> {
        const s = store(name)
        if (!(s instanceof LevelWindowStore))
          throw new StreamsError('ENGINE', 'WRONG_STORE_KIND', `store "${name}" is not a window store`)
        return s as WindowStore<V>
      },
      schedule: (intervalMs, type, callback) => task.schedule(intervalMs, type, callback),
      recordLate: (_r, options) => {
        task.lateByNode.set(node.name, (task.lateByNode.get(node.name) ?? 0) + 1)
        if (options?.deadLetter && task.current)
          task.deadLetter(task.current, 'late', 'record later than window end + grace')
      },
    }
  }

  private schedule(intervalMs: number, type: PunctuationType, callback: (t: number) => void): Cancellable {
    if (!(intervalMs > 0))
      throw new StreamsError('ENGINE', 'INVALID_INTERVAL', 'punctuation interval must be > 0')
    const p: Punctuator = {
      intervalMs,
      type,
      next: type === 'wall-clock' ? Date.now() + intervalMs : Number.NEGATIVE_INFINITY,
      callback,
      cancelled: false,
    }
    this.punctuators.push(p)
    if (type === 'stream-time') this.nextStreamPunctuation = Number.NEGATIVE_INFINITY
    return {
      cancel: () => {
        p.cancelled = true
      },
    }
  }

  /** Processes one input record (synchronously). */
  process(rec: ConsumedRecord): void {
    const source = this.sources.get(rec.topic)
    this.positions.set(rec.topic, rec.offset + 1)
    this.lastInputWall = Date.now()
    if (!source) return
    this.current = rec
    source.inCount++
    let value: unknown
    let ts: number
    try {
      value = rec.tombstone ? null : source.source.serde.deserialize(rec.value)
      ts =
        source.source.timestamp && value !== null
          ? source.source.timestamp(value, rec.timestamp)
          : rec.timestamp
      if (!Number.isFinite(ts)) throw new Error(`invalid timestamp ${ts}`)
    } catch (err) {
      this.deadLetter(rec, 'malformed', (err as Error).message)
      this.current = undefined
      return
    }
    if (ts > this.streamTime) this.streamTime = ts
    const r: StreamRecord<unknown, unknown> = { key: rec.key, value, timestamp: ts }
    if (rec.headers) r.headers = rec.headers
    try {
      source.receive(r)
    } catch (err) {
      if (this.opts.processingErrors === 'fail') throw err
      this.deadLetter(rec, 'processing', (err as Error).message)
    }
    if (this.streamTime >= this.nextStreamPunctuation) this.punctuate('stream-time', this.streamTime)
    this.current = undefined
  }

  /** Runs due punctuations of a kind; `now` is wall-clock or stream time. */
  punctuate(type: PunctuationType, now: number): void {
    if (type === 'wall-clock') {
      if (now - this.lastWallRound > LOOP_PAUSE_MS) this.resetIdle(now)
      this.lastWallRound = now
    }
    let next = Number.POSITIVE_INFINITY
    const saved = this.current
    this.current = undefined
    for (const p of this.punctuators) {
      if (p.cancelled || p.type !== type) continue
      if (now >= p.next) {
        p.callback(now)
        p.next = now + p.intervalMs
      }
      if (p.next < next) next = p.next
    }
    if (type === 'stream-time') this.nextStreamPunctuation = next
    this.current = saved
  }

  deadLetter(rec: ConsumedRecord, reason: 'malformed' | 'late' | 'processing', error: string): void {
    const topic = deadLetterTopic(rec.topic)
    this.out.push({
      topic,
      key: rec.key,
      value: rec.tombstone ? null : rec.value,
      timestamp: rec.timestamp,
      headers: {
        ...rec.headers,
        'dlq.reason': reason,
        'dlq.error': error.slice(0, 1000),
        'dlq.topic': rec.topic,
        'dlq.partition': String(rec.partition),
        'dlq.offset': String(rec.offset),
        'dlq.app': this.opts.applicationId,
      },
    })
    const k = `${topic}\u0000${reason}`
    this.deadLetters.set(k, (this.deadLetters.get(k) ?? 0) + 1)
  }

  /** Changelog records of all staged store writes. */
  changelogRecords(now: number): ProducedRecord[] {
    const out: ProducedRecord[] = []
    for (const [name, store] of this.stores) {
      if (!store.spec.changelog) continue
      const records = store.changelogRecords(
        changelogTopic(this.opts.applicationId, name),
        this.partition,
        now,
      )
      for (const r of records) out.push(r)
      this.changelogOffsets[name] = (this.changelogOffsets[name] ?? 0) + records.length
    }
    return out
  }

  /** Flushes staged store writes to LevelDB (each store's batch carries its changelog checkpoint). */
  async flushState(): Promise<void> {
    await this.beginFlushState()()
  }

  /**
   * The staged writes of every store become the batches to write (now, synchronously); the
   * returned function writes them, all stores at once (each batch holds its store's checkpoint, so
   * they need no order). The task's `.checkpoint` file is not rewritten here: it is read only for
   * stores older than their own checkpoints (saveCheckpoint, at open and on a clean close).
   */
  beginFlushState(): () => Promise<unknown> {
    const writes = [...this.stores.values()].map((s) => s.beginFlush())
    return () => Promise.all(writes.map((write) => write()))
  }

  /** Writes the task's `.checkpoint` file (the changelog offsets of its stores), after a commit. */
  async saveCheckpoint(): Promise<void> {
    if (this.stores.size > 0) await writeCheckpoint(this.dir, { ...this.changelogOffsets })
  }

  async storeBytes(): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const [name, store] of this.stores) out.set(name, await store.approximateBytes())
    return out
  }

  /** Moves per-record counters into the metrics registry. */
  reportMetrics(): void {
    const app = this.opts.applicationId
    for (const n of this.nodes.values()) {
      if (n.inCount) engineMetrics.recordsIn.inc({ app, node: n.name }, n.inCount)
      if (n.outCount) engineMetrics.recordsOut.inc({ app, node: n.name }, n.outCount)
      n.inCount = 0
      n.outCount = 0
    }
    for (const [node, n] of this.lateByNode) engineMetrics.lateDropped.inc({ app, node }, n)
    this.lateByNode.clear()
    for (const [k, n] of this.deadLetters) {
      const [topic, reason] = k.split('\u0000') as [string, string]
      engineMetrics.deadLettered.inc({ app, topic, reason }, n)
    }
    this.deadLetters.clear()
  }

  async close(): Promise<void> {
    for (const n of this.nodes.values()) if (n.processor?.close) await n.processor.close()
    for (const s of this.stores.values()) await s.close()
  }
}
