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
import { open, rename } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { partitionFor } from '../partitioner.ts'
import type {
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  Offsets,
  ProducedRecord,
  Producer,
  TopicPartition,
  TopicSpec,
  TransactionalProducer,
  Transport,
} from '../transport.ts'
import { tpKey } from '../transport.ts'
import type { EncodedRecord } from './codec.ts'
import { EmbeddedError } from './errors.ts'
import { defaultIO, type LogIO, syncDir } from './io.ts'
import { PartitionLog } from './partition.ts'

// The embedded durable log: Kafka's model on local disk, for one process.
//   <dir>/topics/<topic>/meta.json      {"partitions": n, "compacted": bool, retentionMs?, retentionBytes?}
//   <dir>/topics/<topic>/<p>.log        frames (codec.ts) with their offsets; the first segment,
//   <dir>/topics/<topic>/<p>.<base>.log   later ones named by base offset (partition.ts)
//   <dir>/groups/<groupId>.json         committed positions, replaced atomically
// send() resolves after fdatasync; consumers see only durable records (an `unsynced` one, every
// appended record: live views). A consumer group has one
// member, which gets every partition of its topics (new topics/partitions included).
// All topics roll segments. Compacted topics (changelogs) never expire: a cleaner keeps the last
// record per key of their closed segments (cleaner.ts), in the background after a roll and on open;
// other topics delete old segments by append time and size (partition.ts), on roll and on open.

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

/** Offsets [start, end) a transaction writes in one partition. */
interface TxnRange extends TopicPartition {
  start: number
  end: number
}

/** Written (fsynced) before a transaction's records: what to abort if its commit point is never reached. */
interface TxnIntent {
  transactionalId: string
  groupId: string
  /** The transaction's number; committed iff the group file's `txn:<id>` entry reaches it. */
  n: number
  ranges: TxnRange[]
}

/** The group file entry holding the last committed transaction of a transactional id. */
const txnKey = (transactionalId: string) => `txn:${transactionalId}`

/** One per directory per process (shared by every EmbeddedTransport opened on it). */
class EmbeddedLog {
  readonly dir: string
  refs = 0
  private readonly topics = new Map<string, Topic>()
  private waiters: (() => void)[] = []
  /** Readers of unsynced records (ConsumerOptions.unsynced): woken by appends too. */
  private appendWaiters: (() => void)[] = []
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
    this.recoverTransactions()
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
    for (let p = 0; p < spec.partitions; p++) {
      const k = tpKey({ topic: spec.name, partition: p })
      // The cleaner keeps below open transactions and drops aborted ones (partition.ts).
      const transactions = {
        unstableFrom: () => Math.min(Number.POSITIVE_INFINITY, ...(this.inflight.get(k) ?? [])),
        aborted: () => this.aborted.get(k) ?? [],
      }
      partitions.push(
        new PartitionLog(tdir, spec.name, p, () => this.notify(), {
          ...opts,
          transactions,
          onAppend: () => this.appended(),
        }),
      )
    }
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

  notify(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
    this.appended()
  }

  /** Records were appended (not yet durable): wakes the readers of unsynced records. */
  appended(): void {
    const w = this.appendWaiters
    this.appendWaiters = []
    for (const f of w) f()
  }

  /** Resolves on the next durable append anywhere (with `unsynced`, on any append), or after `ms`. */
  waitForAppend(ms: number, unsynced = false): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        if (unsynced) this.appendWaiters = this.appendWaiters.filter((w) => w !== done)
        else this.waiters = this.waiters.filter((w) => w !== done)
        resolve()
      }, ms)
      if (unsynced) this.appendWaiters.push(done)
      else this.waiters.push(done)
    })
  }

  // ---- transactions (exactly-once; see EmbeddedTransactionalProducer) ----

  /** Per partition (tpKey): first offsets of transactions being committed; readers stop before them. */
  private readonly inflight = new Map<string, number[]>()
  /** Per partition: [start, end) ranges of transactions that never committed; readers skip them. */
  private readonly aborted = new Map<string, [number, number][]>()

  private get txnDir(): string {
    return join(this.dir, 'txn')
  }

  /**
   * read_committed end of a partition: the durable end (with `unsynced`, the end of what was
   * appended), or the first offset of an open transaction.
   */
  stableEnd(tp: TopicPartition, part: PartitionLog, unsynced = false): number {
    const end = unsynced ? part.nextAppendOffset : part.endOffset
    const open = this.inflight.get(tpKey(tp))
    return open && open.length > 0 ? Math.min(end, ...open) : end
  }

  /**
   * Records from `pos` up to the stable end, without those of aborted transactions; `next` is past
   * every record looked at (aborted ones included).
   */
  readCommitted(tp: TopicPartition, part: PartitionLog, pos: number, max: number, unsynced = false) {
    const end = this.stableEnd(tp, part, unsynced)
    if (pos >= end) return { records: [] as ConsumedRecord[], next: pos }
    const batch = part.read(pos, max, unsynced).filter((r) => r.offset < end)
    if (batch.length === 0) return { records: batch, next: pos }
    const next = batch[batch.length - 1]!.offset + 1
    const ranges = this.aborted.get(tpKey(tp))
    const records = ranges
      ? batch.filter((r) => !ranges.some(([a, b]) => r.offset >= a && r.offset < b))
      : batch
    return { records, next }
  }

  beginTxn(ranges: TxnRange[]): void {
    for (const r of ranges) {
      const k = tpKey(r)
      this.inflight.set(k, [...(this.inflight.get(k) ?? []), r.start])
    }
  }

  endTxn(ranges: TxnRange[]): void {
    for (const r of ranges) {
      const k = tpKey(r)
      const left = (this.inflight.get(k) ?? []).filter((x) => x !== r.start)
      if (left.length > 0) this.inflight.set(k, left)
      else this.inflight.delete(k)
    }
    this.notify()
  }

  /** Marks ranges of a transaction that did not commit as aborted, durably. */
  abortTxn(ranges: TxnRange[]): void {
    for (const r of ranges) {
      const part = this.topics.get(r.topic)?.partitions[r.partition]
      // Offsets at or past the end were never written (a crash before the append); they will be reused.
      const end = Math.min(r.end, part ? part.nextAppendOffset : r.end)
      if (end <= r.start) continue
      const k = tpKey(r)
      this.aborted.set(k, [...(this.aborted.get(k) ?? []), [r.start, end]])
    }
    mkdirSync(this.txnDir, { recursive: true })
    writeDurably(join(this.txnDir, 'aborted.json'), JSON.stringify(Object.fromEntries(this.aborted)))
  }

  writeIntent(intent: TxnIntent): string {
    mkdirSync(this.txnDir, { recursive: true })
    const f = join(this.txnDir, `${encodeURIComponent(intent.transactionalId)}.intent.json`)
    writeDurably(f, JSON.stringify(intent))
    return f
  }

  /**
   * On open: a transaction whose intent is on disk committed iff its group file holds its number;
   * otherwise its ranges are aborted (a crash between the append and the commit point).
   */
  /**
   * Cuts aborted ranges back to each partition's end: records of an aborted transaction that never
   * reached the disk (a crash before any fsync covered them) are gone, and the offsets they had are
   * taken again by the next appends, which must not be skipped.
   */
  private trimAborted(): void {
    let changed = false
    for (const [name, t] of this.topics)
      for (const part of t.partitions) {
        const k = tpKey({ topic: name, partition: part.partition })
        const ranges = this.aborted.get(k)
        if (!ranges) continue
        const end = part.nextAppendOffset
        const kept = ranges.map(([a, b]): [number, number] => [a, Math.min(b, end)]).filter(([a, b]) => a < b)
        if (kept.length === ranges.length && kept.every(([, b], i) => b === ranges[i]![1])) continue
        changed = true
        if (kept.length > 0) this.aborted.set(k, kept)
        else this.aborted.delete(k)
      }
    if (changed)
      writeDurably(join(this.txnDir, 'aborted.json'), JSON.stringify(Object.fromEntries(this.aborted)))
  }

  private recoverTransactions(): void {
    if (!existsSync(this.txnDir)) return
    const abortedFile = join(this.txnDir, 'aborted.json')
    if (existsSync(abortedFile))
      for (const [k, v] of Object.entries(
        JSON.parse(readFileSync(abortedFile, 'utf8')) as Record<string, [number, number][]>,
      ))
        this.aborted.set(k, v)
    this.trimAborted()
    for (const name of readdirSync(this.txnDir)) {
      if (!name.endsWith('.intent.json')) continue
      const f = join(this.txnDir, name)
      const intent = JSON.parse(readFileSync(f, 'utf8')) as TxnIntent
      const committed = this.readGroup(intent.groupId)[txnKey(intent.transactionalId)] ?? 0
      if (committed < intent.n) this.abortTxn(intent.ranges)
      rmSync(f, { force: true })
    }
  }

  readGroup(groupId: string): Record<string, number> {
    const f = join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`)
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, number>) : {}
  }

  writeGroup(groupId: string, offsets: Record<string, number>): void {
    writeDurably(join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`), JSON.stringify(offsets))
  }

  /** writeGroup off the stream thread (its fsyncs run in the thread pool); callers serialize their calls. */
  writeGroupAsync(groupId: string, offsets: Record<string, number>): Promise<void> {
    return writeDurablyAsync(
      join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`),
      JSON.stringify(offsets),
    )
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
  syncDir(dirname(path)) // the rename itself must survive a crash
}

async function writeDurablyAsync(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync() // the rename itself must survive a crash
  } finally {
    await dir.close()
  }
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
    /** This producer's appends, in send order (a big send appends in slices, yielding between them). */
    let appending: Promise<unknown> = Promise.resolve()
    return {
      send(records: ProducedRecord[]): Promise<void> {
        if (closed) return Promise.reject(new EmbeddedError('CLOSED', 'producer is closed'))
        if (records.length === 0) return Promise.resolve()
        // The records are let go once appended, not held through the fsync (not async: its frame
        // would keep them).
        const held: { records?: ProducedRecord[] } = { records }
        const appended = appending.then(() => {
          const list = held.records!
          held.records = undefined
          return appendInSlices(log, list)
        })
        appending = appended.catch(() => {})
        return appended.then((parts) => Promise.all([...parts].map((p) => p.sync()))).then(() => {})
      },
      async close() {
        closed = true
      },
    }
  }

  transactionalProducer(transactionalId: string): TransactionalProducer {
    return new EmbeddedTransactionalProducer(this.l, transactionalId)
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

  /** read_committed end: stops before a transaction being committed. */
  async endOffset(tp: TopicPartition): Promise<number> {
    return this.l.stableEnd(tp, this.l.partition(tp))
  }

  /** Log start offset: the oldest offset retention kept (embedded only; reads below it start here). */
  async startOffset(tp: TopicPartition): Promise<number> {
    return this.l.partition(tp).startOffset
  }

  /** Resolves once no clean of a compacted topic runs in the background (embedded only: tests, benches). */
  async cleaned(): Promise<void> {
    const log = this.l
    for (const name of log.topicNames()) for (const p of log.topic(name)!.partitions) await p.cleaned()
  }

  async *read(tp: TopicPartition, fromOffset: number): AsyncIterable<ConsumedRecord[]> {
    const log = this.l
    const part = log.partition(tp)
    const end = log.stableEnd(tp, part)
    let pos = fromOffset
    while (pos < end) {
      const { records, next } = log.readCommitted(tp, part, pos, 10_000)
      if (next === pos) break
      pos = next
      const batch = records.filter((r) => r.offset < end)
      if (batch.length > 0) yield batch
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
  private rewound = false
  /** Subscribed partitions that existed at the last refresh (-1: refresh), and the positions as a list. */
  private knownPartitions = -1
  private assigned: { tp: TopicPartition; part: PartitionLog; pos: number }[] = []
  /** The last offset commit's file write: the next one starts after it. */
  private commits: Promise<void> = Promise.resolve()
  /** wakeup(): ends the poll waiting now, or else the next one that would wait. */
  private wake: (() => void) | undefined
  private woken = false

  constructor(log: EmbeddedLog, options: ConsumerOptions) {
    this.log = log
    this.opts = options
    this.committedOffsets = log.readGroup(options.groupId)
  }

  /** Picks up subscribed topics/partitions that appeared since the last poll. */
  private async refreshAssignment(): Promise<void> {
    // Partitions only ever appear: the assignment is rebuilt when their count changes, not every poll.
    let n = 0
    for (const topic of this.opts.topics) n += this.log.topic(topic)?.partitions.length ?? 0
    if (n === this.knownPartitions) return
    this.knownPartitions = n
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
    this.assigned = [...this.positions.values()]
    if (added.length > 0 && this.opts.onAssign) await this.opts.onAssign(added)
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]> {
    if (this.closed) throw new EmbeddedError('CLOSED', 'consumer is closed')
    if (this.rewound) {
      // Drop positions: every partition is lost and assigned again from its committed offset.
      this.rewound = false
      const tps = [...this.positions.values()].map((p) => p.tp)
      this.positions.clear()
      this.assigned = []
      this.knownPartitions = -1
      if (tps.length > 0) await this.opts.onLost?.(tps)
    }
    await this.refreshAssignment()
    let out = this.take(maxRecords)
    if (out.length === 0 && maxWaitMs > 0) {
      if (this.woken) {
        this.woken = false
        return out
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.log.waitForAppend(maxWaitMs, this.opts.unsynced).then(resolve)
      })
      this.wake = undefined
      if (this.closed) return []
      await this.refreshAssignment()
      out = this.take(maxRecords)
    }
    return out
  }

  /** A poll waiting for records returns at once, empty (or the next one that would wait). */
  wakeup(): void {
    if (this.wake) this.wake()
    else this.woken = true
  }

  /** Round-robin over partitions, starting one further each poll, so none starves. */
  private take(max: number): ConsumedRecord[] {
    const all = this.assigned
    if (all.length === 0) return []
    const out: ConsumedRecord[] = []
    const start = this.cursor++ % all.length
    const share = Math.max(1, Math.ceil(max / all.length))
    // read_committed: stops before open transactions, skips aborted ones.
    const read = (p: (typeof all)[number], n: number) => {
      const { records, next } = this.log.readCommitted(p.tp, p.part, p.pos, n, this.opts.unsynced)
      p.pos = next
      for (const r of records) out.push(r)
    }
    for (let i = 0; i < all.length && out.length < max; i++)
      read(all[(start + i) % all.length]!, Math.min(share, max - out.length))
    // Fill up from partitions that have more, if others were short.
    for (let i = 0; i < all.length && out.length < max; i++)
      read(all[(start + i) % all.length]!, max - out.length)
    return out
  }

  /**
   * Durable before it resolves; the offsets count as committed (committed(), a rewind) only then.
   * The file is written off the stream thread; commits are written one after another.
   */
  commit(offsets: Offsets): Promise<void> {
    if (offsets.length === 0) return Promise.resolve()
    const write = async () => {
      const next = { ...this.committedOffsets }
      for (const o of offsets) next[tpKey(o)] = o.offset
      await this.log.writeGroupAsync(this.opts.groupId, next)
      Object.assign(this.committedOffsets, next)
    }
    const done = this.commits.then(write)
    this.commits = done.catch(() => {})
    return done
  }

  /** The commit point of a transaction: its offsets and its number in one atomic, durable group file. */
  commitTxn(offsets: Offsets, transactionalId: string, n: number): void {
    const next = { ...this.committedOffsets, [txnKey(transactionalId)]: n }
    for (const o of offsets) next[tpKey(o)] = o.offset
    this.log.writeGroup(this.opts.groupId, next)
    Object.assign(this.committedOffsets, next)
  }

  lastTxn(transactionalId: string): number {
    return this.committedOffsets[txnKey(transactionalId)] ?? 0
  }

  get groupId(): string {
    return this.opts.groupId
  }

  /** The only member of its group: never migrated. */
  async ensureActive(): Promise<void> {}

  rewind(): void {
    this.rewound = true
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

/**
 * Exactly-once on the embedded log: one commit = outputs + changelog records + input offsets, atomic
 * and durable. Steps: (1) an intent naming the offset ranges about to be written is fsynced;
 * (2) the records are appended and fsynced, hidden from read_committed readers (consumers, read(),
 * endOffset) while in flight; (3) the commit point: the group file, replaced atomically, gets the
 * offsets and the transaction's number together; (4) the ranges become visible. A failure before
 * (3) marks the ranges aborted (readers skip them, durably listed in txn/aborted.json); a crash
 * before (3) leaves the intent, and the next open aborts its ranges (committed iff the group file
 * holds its number).
 */
class EmbeddedTransactionalProducer implements TransactionalProducer {
  private readonly log: EmbeddedLog
  private readonly transactionalId: string
  private closed = false

  constructor(log: EmbeddedLog, transactionalId: string) {
    this.log = log
    this.transactionalId = transactionalId
  }

  async commit(records: ProducedRecord[], consumer: Consumer, offsets: Offsets): Promise<void> {
    if (this.closed) throw new EmbeddedError('CLOSED', 'transactional producer is closed')
    if (!(consumer instanceof EmbeddedConsumer))
      throw new EmbeddedError('INVALID', 'exactly-once commits need a consumer of the same embedded log')
    const log = this.log
    const n = consumer.lastTxn(this.transactionalId) + 1
    const byPartition = groupByPartition(log, records)
    const ranges: TxnRange[] = []
    for (const [part, list] of byPartition) {
      const start = part.nextAppendOffset
      ranges.push({ topic: part.topic, partition: part.partition, start, end: start + list.length })
    }
    const intent =
      ranges.length > 0
        ? log.writeIntent({ transactionalId: this.transactionalId, groupId: consumer.groupId, n, ranges })
        : undefined
    log.beginTxn(ranges)
    try {
      for (const [part, list] of byPartition) part.append(list)
      await Promise.all([...byPartition.keys()].map((p) => p.sync()))
      consumer.commitTxn(offsets, this.transactionalId, n)
    } catch (err) {
      try {
        log.abortTxn(ranges)
        if (intent) rmSync(intent, { force: true })
      } finally {
        log.endTxn(ranges)
      }
      throw err
    }
    log.endTxn(ranges)
    if (intent) rmSync(intent, { force: true })
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

/** Records appended at a time by a producer's send, and how long it appends before yielding. */
const SEND_SLICE = 4096
const SEND_TURN_MS = 20

/**
 * Appends `records` (order kept per partition) SEND_SLICE at a time, yielding to the event loop
 * after each SEND_TURN_MS of appending: a commit's big send (tens of thousands of changelog and
 * output records) does not hold the stream thread for all of its encoding and writing at once.
 * Returns the partitions written (not yet synced).
 */
async function appendInSlices(log: EmbeddedLog, records: ProducedRecord[]): Promise<Set<PartitionLog>> {
  const parts = new Set<PartitionLog>()
  let since = performance.now()
  for (let i = 0; i < records.length; i += SEND_SLICE) {
    if (i > 0 && performance.now() - since >= SEND_TURN_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      since = performance.now()
    }
    const slice = records.length <= SEND_SLICE ? records : records.slice(i, i + SEND_SLICE)
    for (const [part, list] of groupByPartition(log, slice)) {
      part.append(list)
      parts.add(part)
    }
  }
  return parts
}

/** Records grouped by partition (murmur2 of the key unless given), order kept within each. */
function groupByPartition(log: EmbeddedLog, records: ProducedRecord[]): Map<PartitionLog, EncodedRecord[]> {
  const byPartition = new Map<PartitionLog, EncodedRecord[]>()
  const now = Date.now()
  let lastTopic: string | undefined
  let topic: ReturnType<EmbeddedLog['topic']>
  for (const r of records) {
    if (r.topic !== lastTopic) {
      topic = log.topic(r.topic) ?? log.createTopic({ name: r.topic, partitions: log.defaultPartitions })
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
  return byPartition
}
