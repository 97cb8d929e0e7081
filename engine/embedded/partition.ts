import {
  existsSync,
  fsyncSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../../common/log.ts'
import type { ConsumedRecord } from '../transport.ts'
import { cleanSegments } from './cleaner.ts'
import { type EncodedRecord, encodeFrames } from './codec.ts'
import { EmbeddedError } from './errors.ts'
import { type LogIO, syncDir } from './io.ts'
import { embeddedMetrics } from './metrics.ts'
import { Segment, SegmentTornError } from './segment.ts'

// One partition: a list of segment files (segment.ts), oldest first; only the last (active) one is
// written. Appends are written at once (one write per batch) and made durable by a shared
// fdatasync: concurrent senders ride the same sync (group commit). Readers see durable records only.
//   <p>.log                   the first segment (also the whole partition of logs written before segments)
//   <p>.<20-digit base>.log   later segments, named by the offset of their first record
//   <p>.log.compaction.json   compacted topics: where the dirty part starts (a hint; lost = all dirty)
// A roll fsyncs the old segment first, so only the active segment is ever partly durable.
// Retention deletes whole closed segments from the front (never the active one): the log start
// offset moves forward and reads below it continue at it (Kafka's auto.offset.reset=earliest).
// Time retention counts from when a segment was last written (Kafka's LogAppendTime), never from
// the records' own timestamps: a backfill of 2022 data keeps what it wrote for retentionMs.
// Compacted topics roll too, and on a roll (and on open) the cleaner (cleaner.ts) rewrites the
// closed segments into one once the dirty part (written since the last clean) is at least as big as
// the cleaned part (Kafka's min.cleanable.dirty.ratio 0.5): so the log stays within a few times its
// live size plus a segment, and the rewriting costs at most about twice the bytes written.
// The clean runs in the background, never inside send() or open: it reads only closed segments
// (immutable) in time slices, appends and reads go on meanwhile, and the result replaces the
// segments it covered in one synchronous step (rename, directory fsync, list swap).

export interface PartitionOptions {
  compacted: boolean
  /** The active segment rolls before a batch would take it past this size. */
  segmentBytes: number
  /**
   * Delete a closed segment once it was last written more than this long ago (append time, as
   * Kafka's LogAppendTime: record timestamps do not count, so historical data written now is
   * kept). Negative: no limit.
   */
  retentionMs: number
  /** Delete the oldest closed segments while the rest still holds this many bytes. Negative: no limit. */
  retentionBytes: number
  /**
   * Compacted topics: an already cleaned tombstone older than this is dropped. By record time
   * (against min(newest record timestamp, clock)): a clean rewrites segments, so their write time
   * says nothing about a tombstone's age. Negative: kept.
   */
  deleteRetentionMs: number
  /** Kafka's LogAppendTime: records get the time of the append as their timestamp. */
  logAppendTime: boolean
  /**
   * Transactions on this partition (exactly-once): the first offset of an open one (Infinity if
   * none) and the ranges of aborted ones. The cleaner stays below the first and drops the others.
   */
  transactions?: {
    unstableFrom(): number
    aborted(): readonly (readonly [number, number])[]
  }
  /** File writes (a seam for fault injection). */
  io: LogIO
  /** Called after each append (records written, not yet durable): wakes readers of unsynced records. */
  onAppend?: () => void
}

const log = createLogger('embedded')
/** Size retention deleting a segment written less than this ago is reported as deleting fresh writes. */
const FRESH_MS = 3_600_000
const SEGMENT = /^(\d+)(?:\.(\d{20}))?\.log$/

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  private readonly dir: string
  private readonly opts: PartitionOptions
  /** Oldest first; the last one is active. */
  private segments: Segment[] = []
  private nextOffset = 0
  /** Offsets below this are on disk: what readers may see. */
  private durableNextOffset = 0
  private syncing: Promise<void> | null = null
  /** Compacted topics: offsets below this are cleaned (at most one record per key). */
  private firstDirty = 0
  /**
   * Set when the disk state is unknown (an fsync failed, or a failed write could not be cut
   * back): appends and syncs fail until the log is reopened (which verifies and truncates the
   * tail). Durable records stay readable.
   */
  private offline: Error | undefined
  private closed = false
  /** The background clean running, if any (cleaner.ts). */
  private cleaning: Promise<void> | null = null
  private cleanRequested = false
  private readonly onDurable: () => void

  constructor(dir: string, topic: string, partition: number, onDurable: () => void, opts: PartitionOptions) {
    this.topic = topic
    this.partition = partition
    this.dir = dir
    this.opts = opts
    this.onDurable = onDurable
    this.open()
    if (!opts.compacted) this.enforceRetention()
    else {
      this.firstDirty = this.compactionMeta().cleanedTo ?? 0
      // Clean what earlier runs left (compaction on open): roll the active segment if that makes
      // the dirty part big enough, so a log that never reached segmentBytes is compacted too.
      const { dirty, cleaned } = this.dirtyAndCleaned()
      if (this.active.count > 0 && dirty + this.active.size >= cleaned) this.roll()
      this.maybeClean()
    }
  }

  private get firstPath(): string {
    return join(this.dir, `${this.partition}.log`)
  }

  private segmentPath(base: number): string {
    return join(this.dir, `${this.partition}.${String(base).padStart(20, '0')}.log`)
  }

  /** Opens the segment files (creating the first), truncating a torn tail of the active one. */
  private open(): void {
    const found: { path: string; base: number }[] = []
    for (const name of readdirSync(this.dir)) {
      // A clean (or a compaction of older versions) interrupted before its rename.
      if (name.startsWith(`${this.partition}.`) && /\.(cleaning|compacting)$/.test(name)) {
        unlinkSync(join(this.dir, name))
        continue
      }
      const m = SEGMENT.exec(name)
      if (!m || Number(m[1]) !== this.partition) continue
      found.push({ path: join(this.dir, name), base: m[2] === undefined ? -1 : Number(m[2]) })
    }
    found.sort((a, b) => a.base - b.base)
    if (found.length === 0) found.push({ path: this.firstPath, base: -1 })
    this.segments = []
    let covered = -1
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!
      const last = i === found.length - 1
      const s = new Segment(f.path, f.base < 0 ? (this.compactionMeta().nextOffset ?? 0) : f.base, last)
      // Left by a crash after a clean's rename: the cleaned file (before it) already holds its range.
      if (!last && (s.count > 0 ? s.lastOffset : s.base) <= covered) {
        s.close()
        unlinkSync(s.path)
        continue
      }
      covered = Math.max(covered, s.lastOffset)
      this.segments.push(s)
    }
    this.nextOffset = this.active.nextOffset
    this.durableNextOffset = this.nextOffset
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  /** Next offset to be written (durable records only). */
  get endOffset(): number {
    return this.durableNextOffset
  }

  /** Offset the next append will take (written but not yet durable records included). */
  get nextAppendOffset(): number {
    return this.nextOffset
  }

  /** Offset of the oldest record kept (after retention), or the end offset when there is none. */
  get startOffset(): number {
    return this.segments[0]!.base
  }

  /**
   * Writes records (not yet durable); returns the first offset. A failed write leaves the log as
   * it was (the partial bytes are cut off) and throws: the records get no offsets, so nothing is
   * acknowledged past it and the next append takes the same offsets.
   */
  append(records: EncodedRecord[]): number {
    this.checkOnline()
    if (this.opts.logAppendTime) {
      const now = Date.now()
      records = records.map((r) => ({ ...r, timestamp: now }))
    }
    const first = this.nextOffset
    const { buf, starts } = encodeFrames(records, first, true) // written out below, synchronously
    const roll = this.active.count > 0 && this.active.size + buf.length > this.opts.segmentBytes
    if (roll) this.guard(() => this.roll())
    let maxTs = Number.NEGATIVE_INFINITY
    for (const r of records) if (r.timestamp > maxTs) maxTs = r.timestamp
    this.guard(() => this.active.append(buf, starts, first, maxTs, this.opts.io))
    this.nextOffset = first + records.length
    this.opts.onAppend?.()
    // After the append: its timestamps count as the newest.
    if (roll) this.opts.compacted ? this.maybeClean() : this.enforceRetention()
    return first
  }

  private checkOnline(): void {
    if (this.offline)
      throw new EmbeddedError(
        'OFFLINE',
        `partition ${this.topic}-${this.partition} is offline after a failed write or sync (reopen the log to recover): ${this.offline.message}`,
        { cause: this.offline },
      )
  }

  /** Runs a disk operation; an error that leaves the disk state unknown takes the partition offline. */
  private guard<T>(op: () => T): T {
    try {
      return op()
    } catch (err) {
      if (err instanceof SegmentTornError || (err as { syscall?: string }).syscall === 'fsync')
        this.goOffline(err as Error)
      throw err
    }
  }

  private goOffline(err: Error): void {
    if (this.offline) return
    this.offline = err
    log.error('partition offline', { topic: this.topic, partition: this.partition, err })
  }

  /** Closes the active segment (durable from here on) and starts a new one at the next offset. */
  private roll(): void {
    const old = this.active
    fsyncSync(old.fd)
    old.markDurable(old.count, old.size)
    if (this.nextOffset > this.durableNextOffset) {
      this.durableNextOffset = this.nextOffset
      this.onDurable()
    }
    this.segments.push(new Segment(this.segmentPath(this.nextOffset), this.nextOffset, false))
    syncDir(this.dir) // the new file's name must survive a crash before its records are acknowledged
  }

  /** Deletes closed segments from the front while retention allows (see PartitionOptions). */
  enforceRetention(now = Date.now()): void {
    const { retentionMs, retentionBytes, compacted } = this.opts
    if (compacted || this.segments.length < 2) return
    let total = 0
    for (const s of this.segments) total += s.size
    while (this.segments.length > 1) {
      const s = this.segments[0]!
      const age = now - s.appendTime
      const bySize = retentionBytes >= 0 && total - s.size >= retentionBytes
      const byTime = retentionMs >= 0 && (s.count === 0 || age > retentionMs)
      if (!bySize && !byTime) break
      this.segments.shift()
      total -= s.size
      unlinkSync(s.path)
      this.retire(s)
      const reason = byTime ? 'time' : age < FRESH_MS ? 'size-fresh' : 'size'
      embeddedMetrics.retentionDeleted.inc({ topic: this.topic, reason }, s.size)
      if (reason === 'size-fresh') this.warnFresh(s, age)
    }
  }

  private lastFreshWarning = Number.NEGATIVE_INFINITY

  /** Size retention removed records written moments ago (a backfill or burst bigger than retentionBytes). */
  private warnFresh(s: Segment, age: number): void {
    const now = Date.now()
    if (now - this.lastFreshWarning < 60_000) return
    this.lastFreshWarning = now
    log.warn(
      'size retention deletes fresh writes: consumers that are behind lose records; raise retentionBytes',
      {
        topic: this.topic,
        partition: this.partition,
        retentionBytes: this.opts.retentionBytes,
        segmentBase: s.base,
        writtenMsAgo: Math.round(age),
      },
    )
  }

  /** Closes a segment no longer in the list, once a group-commit fdatasync still running on it ends. */
  private retire(s: Segment): void {
    const close = () => s.close()
    if (this.syncing) this.syncing.then(close, close)
    else close()
  }

  /** Newest record timestamp, capped by the clock (the reference of tombstone retention). */
  private referenceTime(now: number): number {
    let newest = Number.NEGATIVE_INFINITY
    for (const s of this.segments) if (s.maxTimestamp > newest) newest = s.maxTimestamp
    return Math.min(newest, now)
  }

  /** Resolves once everything appended before the call is on disk (one fdatasync for all waiters). */
  async sync(): Promise<void> {
    const target = this.nextOffset
    while (this.durableNextOffset < target) {
      this.checkOnline()
      if (!this.syncing) {
        const seg = this.active
        const upTo = seg.count
        const upToSize = seg.size
        const upToOffset = this.nextOffset
        this.syncing = this.opts.io.fdatasync(seg.fd).then(
          () => {
            this.syncing = null
            seg.markDurable(upTo, upToSize)
            if (upToOffset > this.durableNextOffset) {
              this.durableNextOffset = upToOffset
              this.onDurable()
            }
          },
          (err: Error) => {
            this.syncing = null
            // What reached the disk is unknown (the kernel may drop the dirty pages): stop here.
            this.goOffline(err)
            throw err
          },
        )
      }
      await this.syncing
    }
  }

  /**
   * Durable records (with `unsynced`, every appended one) with offset ≥ `from` (or from the log
   * start, if that is later), at most `max`.
   */
  read(from: number, max: number, unsynced = false): ConsumedRecord[] {
    const out: ConsumedRecord[] = []
    if (from >= (unsynced ? this.nextOffset : this.durableNextOffset)) return out
    // Last segment starting at or before `from` (the first one if `from` is below the log start).
    const segs = this.segments
    let lo = 0
    let hi = segs.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (segs[mid]!.base <= from) lo = mid
      else hi = mid - 1
    }
    for (let i = lo; i < segs.length && out.length < max; i++)
      segs[i]!.read(from, max, out, this.topic, this.partition, unsynced)
    return out
  }

  private get metaPath(): string {
    return `${this.firstPath}.compaction.json`
  }

  /** `nextOffset`: end offset of an empty first segment (older versions); `cleanedTo`: first dirty offset. */
  private compactionMeta(): { nextOffset?: number; cleanedTo?: number } {
    try {
      if (existsSync(this.metaPath)) return JSON.parse(readFileSync(this.metaPath, 'utf8'))
    } catch {
      // a torn write of this hint: everything counts as dirty, the next clean redoes it
    }
    return {}
  }

  /** Bytes of the closed segments written since the last clean, and of those cleaned. */
  private dirtyAndCleaned(): { dirty: number; cleaned: number; closed: number } {
    let dirty = 0
    let cleaned = 0
    const closed = this.segments.length - 1
    for (let i = 0; i < closed; i++) {
      const s = this.segments[i]!
      if (s.lastOffset < this.firstDirty) cleaned += s.size
      else dirty += s.size
    }
    return { dirty, cleaned, closed }
  }

  /**
   * Starts a clean of the closed segments in the background once the dirty part is at least as
   * big as the cleaned part (never inside the caller: a send or an open returns first). One clean
   * at a time; a request while one runs is looked at again when it ends.
   */
  maybeClean(): void {
    if (this.closed) return
    if (this.cleaning) {
      this.cleanRequested = true
      return
    }
    if (!this.cleanable()) return
    this.cleaning = this.clean()
      .catch((err) => {
        // Not fatal: the log is unchanged (a temp file goes on the next open); retried on the next roll.
        log.warn('clean failed', { topic: this.topic, partition: this.partition, err })
      })
      .finally(() => {
        this.cleaning = null
        if (this.cleanRequested) {
          this.cleanRequested = false
          this.maybeClean()
        }
      })
  }

  /** Resolves once no clean runs or is requested (tests, tools, benches). */
  async cleaned(): Promise<void> {
    while (this.cleaning) await this.cleaning
  }

  private cleanable(): boolean {
    const { dirty, cleaned } = this.dirtyAndCleaned()
    return dirty > 0 && dirty >= cleaned
  }

  private async clean(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve)) // off the caller's path
    if (this.closed || this.offline || !this.cleanable()) return
    const t0 = performance.now()
    const { deleteRetentionMs } = this.opts
    const dropBefore =
      deleteRetentionMs >= 0 ? this.referenceTime(Date.now()) - deleteRetentionMs : Number.NEGATIVE_INFINITY
    // Closed segments now, wholly below an open transaction; rolls while it runs add more after
    // them (cleaned next time).
    const txn = this.opts.transactions
    const unstable = txn ? txn.unstableFrom() : Number.POSITIVE_INFINITY
    let n = this.segments.length - 1
    while (n > 0 && this.segments[n - 1]!.lastOffset >= unstable) n--
    if (n === 0) return
    const old = this.segments.slice(0, n)
    const path = old[0]!.path
    const stopped = () => this.closed
    const result = await cleanSegments(old, this.firstDirty, dropBefore, path, {
      io: this.opts.io,
      stopped,
      aborted: txn?.aborted() ?? [],
    })
    if (!result) return
    if (this.closed) {
      rmSync(result.tmp, { force: true })
      return
    }
    // The swap, with no await from here on: readers see the old segments or the new one, whole.
    renameSync(result.tmp, path)
    syncDir(this.dir) // the rename must be durable before the files it replaces go
    const cleanedTo = old[old.length - 1]!.lastOffset + 1
    this.segments = [new Segment(path, cleanedTo, false, result.index), ...this.segments.slice(old.length)]
    for (let i = 0; i < old.length; i++) {
      if (i > 0) unlinkSync(old[i]!.path)
      this.retire(old[i]!)
    }
    this.firstDirty = cleanedTo
    writeFileSync(this.metaPath, JSON.stringify({ cleanedTo }))
    log.debug('cleaned', {
      topic: this.topic,
      partition: this.partition,
      segments: old.length,
      bytesRead: result.read,
      bytesKept: result.bytes,
      frames: result.frames,
      ms: Math.round(performance.now() - t0),
    })
  }

  /** Closes the files; a clean in progress stops at its next step and removes its temp file. */
  close(): void {
    this.closed = true
    for (const s of this.segments) s.close()
  }
}
