import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { partitionFor } from '../partitioner.ts'
import type {
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  ProducedRecord,
  Producer,
  TopicPartition,
  TopicSpec,
  Transport,
} from '../transport.ts'
import { tpKey } from '../transport.ts'
import type { EncodedRecord } from './codec.ts'
import { EmbeddedError } from './errors.ts'
import { defaultIO, type LogIO } from './io.ts'
import { PartitionLog } from './partition.ts'

// The embedded durable log: Kafka's model on local disk, for one process.
//   <dir>/topics/<topic>/meta.json      {"partitions": n, "compacted": bool, retentionMs?, retentionBytes?}
//   <dir>/topics/<topic>/<p>.log        frames (codec.ts) with their offsets; the first segment,
//   <dir>/topics/<topic>/<p>.<base>.log   later ones named by base offset (partition.ts)
//   <dir>/groups/<groupId>.json         committed positions, replaced atomically
// send() resolves after fdatasync; consumers see only durable records. A consumer group has one
// member, which gets every partition of its topics (new topics/partitions included).
// All topics roll segments. Compacted topics (changelogs) never expire: a cleaner keeps the last
// record per key of their closed segments (cleaner.ts), on roll and on open; other topics delete old
// segments by time and size (partition.ts), on roll and on open.

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/

export { EmbeddedError }

/** Retention and segment size for topics that do not set their own (EmbeddedOptions). */
interface LogDefaults {
  segmentBytes: number
  compactedSegmentBytes: number
  retentionMs: number
  retentionBytes: number
  deleteRetentionMs: number
  io: LogIO
}

interface Topic {
  spec: TopicSpec
  partitions: PartitionLog[]
}

/** One per directory per process (shared by every EmbeddedTransport opened on it). */
class EmbeddedLog {
  readonly dir: string
  refs = 0
  private readonly topics = new Map<string, Topic>()
  private waiters: (() => void)[] = []
  readonly activeGroups = new Set<string>()
  readonly defaultPartitions: number
  private readonly defaults: LogDefaults

  constructor(dir: string, defaultPartitions: number, defaults: LogDefaults) {
    this.dir = dir
    this.defaultPartitions = defaultPartitions
    this.defaults = defaults
    mkdirSync(join(dir, 'topics'), { recursive: true })
    mkdirSync(join(dir, 'groups'), { recursive: true })
    lock(dir)
    for (const name of readdirSync(join(dir, 'topics'))) {
      const meta = join(dir, 'topics', name, 'meta.json')
      if (existsSync(meta)) this.openTopic(JSON.parse(readFileSync(meta, 'utf8')) as TopicSpec)
    }
  }

  private openTopic(spec: TopicSpec): Topic {
    const tdir = join(this.dir, 'topics', spec.name)
    const compacted = !!spec.compacted
    const opts = {
      compacted,
      segmentBytes: compacted ? this.defaults.compactedSegmentBytes : this.defaults.segmentBytes,
      retentionMs: spec.retentionMs ?? this.defaults.retentionMs,
      retentionBytes: spec.retentionBytes ?? this.defaults.retentionBytes,
      logAppendTime: spec.timestampType === 'LogAppendTime',
      deleteRetentionMs: this.defaults.deleteRetentionMs,
      io: this.defaults.io,
    }
    const partitions: PartitionLog[] = []
    for (let p = 0; p < spec.partitions; p++)
      partitions.push(new PartitionLog(tdir, spec.name, p, () => this.notify(), opts))
    const t = { spec, partitions }
    this.topics.set(spec.name, t)
    return t
  }

  createTopic(spec: TopicSpec): Topic {
    const existing = this.topics.get(spec.name)
    if (existing) return existing
    if (!TOPIC.test(spec.name)) throw new EmbeddedError('INVALID_TOPIC', `invalid topic name "${spec.name}"`)
    if (!(Number.isInteger(spec.partitions) && spec.partitions > 0))
      throw new EmbeddedError('INVALID_TOPIC', `topic ${spec.name}: partitions must be a positive integer`)
    const stored: TopicSpec = { name: spec.name, partitions: spec.partitions, compacted: !!spec.compacted }
    // Unlimited is stored as -1 (Kafka's spelling; JSON has no Infinity).
    if (spec.retentionMs !== undefined) stored.retentionMs = limit(spec.retentionMs)
    if (spec.retentionBytes !== undefined) stored.retentionBytes = limit(spec.retentionBytes)
    if (spec.timestampType !== undefined) stored.timestampType = spec.timestampType
    const tdir = join(this.dir, 'topics', spec.name)
    mkdirSync(tdir, { recursive: true })
    writeDurably(join(tdir, 'meta.json'), JSON.stringify(stored))
    return this.openTopic(stored)
  }

  topic(name: string): Topic | undefined {
    return this.topics.get(name)
  }

  partition(tp: TopicPartition): PartitionLog {
    const p = this.topics.get(tp.topic)?.partitions[tp.partition]
    if (!p) throw new EmbeddedError('UNKNOWN_PARTITION', `no partition ${tp.topic}-${tp.partition}`)
    return p
  }

  topicNames(): string[] {
    return [...this.topics.keys()]
  }

  private notify(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Resolves on the next durable append anywhere, or after `ms`. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done)
        resolve()
      }, ms)
      this.waiters.push(done)
    })
  }

  readGroup(groupId: string): Record<string, number> {
    const f = join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`)
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, number>) : {}
  }

  writeGroup(groupId: string, offsets: Record<string, number>): void {
    writeDurably(join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`), JSON.stringify(offsets))
  }

  close(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) p.close()
    this.topics.clear()
    this.notify()
    rmSync(join(this.dir, 'LOCK'), { force: true })
  }
}

/** A retention limit: negative or infinite means none (-1). */
const limit = (n: number): number => (n >= 0 && Number.isFinite(n) ? n : -1)

/** One process per log: a second one would keep its own index and interleave writes. */
function lock(dir: string): void {
  const file = join(dir, 'LOCK')
  try {
    const fd = openSync(file, 'wx')
    writeSync(fd, String(process.pid))
    closeSync(fd)
    return
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const pid = Number(readFileSync(file, 'utf8'))
  if (pid && pid !== process.pid && alive(pid))
    throw new EmbeddedError(
      'LOCKED',
      `embedded log ${dir} is open in process ${pid}; it serves one process (open it once and share the transport, or use Kafka)`,
    )
  writeFileSync(file, String(process.pid)) // left by a process that is gone
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function writeDurably(path: string, data: string): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

const logs = new Map<string, EmbeddedLog>()

export interface EmbeddedOptions {
  /** Directory of the log (e.g. `<CS_DATA_DIR>/log`). */
  dir: string
  /** Partitions of topics created implicitly by send() (default 1). */
  defaultPartitions?: number
  /** Segment size of non-compacted topics (default 64 MiB). */
  segmentBytes?: number
  /** Segment size of compacted topics (default 16 MiB): closed segments are what the cleaner compacts. */
  compactedSegmentBytes?: number
  /** Compacted topics: how long a delete (tombstone) stays readable after its first clean, by record time (default 1 day; -1 = forever). */
  deleteRetentionMs?: number
  /** Time retention of non-compacted topics without their own, by record time (default 7 days). */
  retentionMs?: number
  /** Size retention per partition of non-compacted topics without their own (default 1 GiB). */
  retentionBytes?: number
  /** File writes, for fault-injection tests (e.g. a full disk); default node:fs. */
  io?: Partial<LogIO>
}
// The first transport opened on a directory sets these for every transport sharing it.
const DEFAULTS: Omit<LogDefaults, 'io'> = {
  segmentBytes: 64 * 1024 * 1024,
  compactedSegmentBytes: 16 * 1024 * 1024,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: 1024 * 1024 * 1024,
  deleteRetentionMs: 24 * 3600 * 1000,
}

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded' as const
  private log: EmbeddedLog | undefined

  constructor(options: EmbeddedOptions) {
    const dir = resolve(options.dir)
    let log = logs.get(dir)
    if (!log) {
      log = new EmbeddedLog(dir, options.defaultPartitions ?? 1, {
        segmentBytes: options.segmentBytes ?? DEFAULTS.segmentBytes,
        compactedSegmentBytes: options.compactedSegmentBytes ?? DEFAULTS.compactedSegmentBytes,
        retentionMs: limit(options.retentionMs ?? DEFAULTS.retentionMs),
        retentionBytes: limit(options.retentionBytes ?? DEFAULTS.retentionBytes),
        deleteRetentionMs: limit(options.deleteRetentionMs ?? DEFAULTS.deleteRetentionMs),
        io: { ...defaultIO, ...options.io },
      })
      logs.set(dir, log)
    }
    log.refs++
    this.log = log
  }

  private get l(): EmbeddedLog {
    if (!this.log) throw new EmbeddedError('CLOSED', 'transport is closed')
    return this.log
  }

  async createTopics(specs: TopicSpec[]): Promise<void> {
    for (const s of specs) this.l.createTopic(s)
  }

  async partitions(topic: string): Promise<number | undefined> {
    return this.l.topic(topic)?.spec.partitions
  }

  producer(): Producer {
    const log = this.l
    let closed = false
    return {
      async send(records: ProducedRecord[]): Promise<void> {
        if (closed) throw new EmbeddedError('CLOSED', 'producer is closed')
        if (records.length === 0) return
        // Group by partition, keeping order within each.
        const byPartition = new Map<PartitionLog, EncodedRecord[]>()
        const now = Date.now()
        let lastTopic: string | undefined
        let topic: ReturnType<EmbeddedLog['topic']>
        for (const r of records) {
          if (r.topic !== lastTopic) {
            topic =
              log.topic(r.topic) ?? log.createTopic({ name: r.topic, partitions: log.defaultPartitions })
            lastTopic = r.topic
          }
          const n = topic!.spec.partitions
          const p = r.partition ?? partitionFor(r.key, n)
          const part = topic!.partitions[p]
          if (!part) throw new EmbeddedError('UNKNOWN_PARTITION', `no partition ${r.topic}-${p}`)
          let list = byPartition.get(part)
          if (!list) {
            list = []
            byPartition.set(part, list)
          }
          list.push({ key: r.key, value: r.value, timestamp: r.timestamp ?? now, headers: r.headers })
        }
        for (const [part, list] of byPartition) part.append(list)
        await Promise.all([...byPartition.keys()].map((p) => p.sync()))
      },
      async close() {
        closed = true
      },
    }
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    const log = this.l
    if (log.activeGroups.has(options.groupId))
      throw new EmbeddedError(
        'GROUP_BUSY',
        `group "${options.groupId}" already has a member (embedded groups have one)`,
      )
    log.activeGroups.add(options.groupId)
    return new EmbeddedConsumer(log, options)
  }

  async endOffset(tp: TopicPartition): Promise<number> {
    return this.l.partition(tp).endOffset
  }

  /** Log start offset: the oldest offset retention kept (embedded only; reads below it start here). */
  async startOffset(tp: TopicPartition): Promise<number> {
    return this.l.partition(tp).startOffset
  }

  async *read(tp: TopicPartition, fromOffset: number): AsyncIterable<ConsumedRecord[]> {
    const part = this.l.partition(tp)
    const end = part.endOffset
    let pos = fromOffset
    while (pos < end) {
      const batch = part.read(pos, 10_000).filter((r) => r.offset < end)
      if (batch.length === 0) break
      pos = batch[batch.length - 1]!.offset + 1
      yield batch
    }
  }

  async close(): Promise<void> {
    const log = this.log
    if (!log) return
    this.log = undefined
    if (--log.refs === 0) {
      logs.delete(log.dir)
      log.close()
    }
  }
}

class EmbeddedConsumer implements Consumer {
  private readonly log: EmbeddedLog
  private readonly opts: ConsumerOptions
  private readonly committedOffsets: Record<string, number>
  private readonly positions = new Map<string, { tp: TopicPartition; part: PartitionLog; pos: number }>()
  private cursor = 0
  private closed = false

  constructor(log: EmbeddedLog, options: ConsumerOptions) {
    this.log = log
    this.opts = options
    this.committedOffsets = log.readGroup(options.groupId)
  }

  /** Picks up subscribed topics/partitions that appeared since the last poll. */
  private async refreshAssignment(): Promise<void> {
    const added: TopicPartition[] = []
    for (const topic of this.opts.topics) {
      const t = this.log.topic(topic)
      if (!t) continue
      for (const part of t.partitions) {
        const tp = { topic, partition: part.partition }
        const k = tpKey(tp)
        if (this.positions.has(k)) continue
        const committed = this.committedOffsets[k]
        const pos = committed ?? (this.opts.from === 'latest' ? part.endOffset : 0)
        this.positions.set(k, { tp, part, pos })
        added.push(tp)
      }
    }
    if (added.length > 0 && this.opts.onAssign) await this.opts.onAssign(added)
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]> {
    if (this.closed) throw new EmbeddedError('CLOSED', 'consumer is closed')
    await this.refreshAssignment()
    let out = this.take(maxRecords)
    if (out.length === 0 && maxWaitMs > 0) {
      await this.log.waitForAppend(maxWaitMs)
      if (this.closed) return []
      await this.refreshAssignment()
      out = this.take(maxRecords)
    }
    return out
  }

  /** Round-robin over partitions, starting one further each poll, so none starves. */
  private take(max: number): ConsumedRecord[] {
    const all = [...this.positions.values()]
    if (all.length === 0) return []
    const out: ConsumedRecord[] = []
    const start = this.cursor++ % all.length
    const share = Math.max(1, Math.ceil(max / all.length))
    for (let i = 0; i < all.length && out.length < max; i++) {
      const p = all[(start + i) % all.length]!
      const batch = p.part.read(p.pos, Math.min(share, max - out.length))
      if (batch.length === 0) continue
      p.pos = batch[batch.length - 1]!.offset + 1
      for (const r of batch) out.push(r)
    }
    // Fill up from partitions that have more, if others were short.
    for (let i = 0; i < all.length && out.length < max; i++) {
      const p = all[(start + i) % all.length]!
      const batch = p.part.read(p.pos, max - out.length)
      if (batch.length === 0) continue
      p.pos = batch[batch.length - 1]!.offset + 1
      for (const r of batch) out.push(r)
    }
    return out
  }

  async commit(offsets: (TopicPartition & { offset: number })[]): Promise<void> {
    if (offsets.length === 0) return
    for (const o of offsets) this.committedOffsets[tpKey(o)] = o.offset
    this.log.writeGroup(this.opts.groupId, this.committedOffsets)
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const tp of partitions) {
      const o = this.committedOffsets[tpKey(tp)]
      if (o !== undefined) out.set(tpKey(tp), o)
    }
    return out
  }

  assignment(): TopicPartition[] {
    return [...this.positions.values()].map((p) => p.tp)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.log.activeGroups.delete(this.opts.groupId)
  }
}
