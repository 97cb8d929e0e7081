import {
  closeSync,
  existsSync,
  fdatasync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import type { ConsumedRecord } from '../transport.ts'
import { type EncodedRecord, encodeFrames, frameKey, frameLength } from './codec.ts'
import { Segment } from './segment.ts'

// One partition: a list of segment files (segment.ts), oldest first; only the last (active) one is
// written. Appends are written at once (one write per batch) and made durable by a shared
// fdatasync: concurrent senders ride the same sync (group commit). Readers see durable records only.
//   <p>.log                   the first segment (also the whole partition of logs written before segments)
//   <p>.<20-digit base>.log   later segments, named by the offset of their first record
// A roll fsyncs the old segment first, so only the active segment is ever partly durable.
// Retention deletes whole closed segments from the front (never the active one): the log start
// offset moves forward and reads below it continue at it (Kafka's auto.offset.reset=earliest).
// Compacted topics keep one segment and are compacted when opened (last record per key kept,
// tombstones included), so a changelog's size follows its keys; offsets keep their values, with gaps.

const READ_CHUNK = 1024 * 1024
/** Compact when the partition has at least this many frames and twice as many as after the last compaction. */
const COMPACT_MIN_FRAMES = 10_000

export interface PartitionOptions {
  compacted: boolean
  /** The active segment rolls before a batch would take it past this size. */
  segmentBytes: number
  /**
   * Delete a closed segment once its newest record timestamp is more than this older than the
   * reference time: min(newest timestamp in the partition, wall clock). By record time, not the
   * clock alone, so a replay of 2024 data keeps its last retentionMs of event time; the clock caps
   * it so one record stamped in the future does not wipe the log. Negative: no limit.
   */
  retentionMs: number
  /** Delete the oldest closed segments while the rest still holds this many bytes. Negative: no limit. */
  retentionBytes: number
}

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
  private readonly onDurable: () => void

  constructor(dir: string, topic: string, partition: number, onDurable: () => void, opts: PartitionOptions) {
    this.topic = topic
    this.partition = partition
    this.dir = dir
    this.opts = opts
    this.onDurable = onDurable
    this.open()
    if (opts.compacted) this.maybeCompact()
    else this.enforceRetention()
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
      const m = SEGMENT.exec(name)
      if (!m || Number(m[1]) !== this.partition) continue
      found.push({ path: join(this.dir, name), base: m[2] === undefined ? -1 : Number(m[2]) })
    }
    found.sort((a, b) => a.base - b.base)
    if (found.length === 0) found.push({ path: this.firstPath, base: -1 })
    this.segments = found.map(
      (f, i) =>
        new Segment(f.path, f.base < 0 ? this.compactionMeta().nextOffset : f.base, i === found.length - 1),
    )
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

  /** Offset of the oldest record kept (after retention), or the end offset when there is none. */
  get startOffset(): number {
    return this.segments[0]!.base
  }

  /** Writes records (not yet durable); returns the first offset. */
  append(records: EncodedRecord[]): number {
    const first = this.nextOffset
    const { buf, starts } = encodeFrames(records, first)
    const roll = this.active.count > 0 && this.active.size + buf.length > this.opts.segmentBytes
    if (roll) this.roll()
    let maxTs = Number.NEGATIVE_INFINITY
    for (const r of records) if (r.timestamp > maxTs) maxTs = r.timestamp
    this.active.append(buf, starts, first, maxTs)
    this.nextOffset = first + records.length
    if (roll) this.enforceRetention() // after the append: its timestamps count as the newest
    return first
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
    let newest = Number.NEGATIVE_INFINITY
    for (const s of this.segments) {
      total += s.size
      if (s.maxTimestamp > newest) newest = s.maxTimestamp
    }
    const reference = Math.min(newest, now)
    while (this.segments.length > 1) {
      const s = this.segments[0]!
      const bySize = retentionBytes >= 0 && total - s.size >= retentionBytes
      const byTime = retentionMs >= 0 && (s.count === 0 || reference - s.maxTimestamp > retentionMs)
      if (!bySize && !byTime) break
      this.segments.shift()
      total -= s.size
      unlinkSync(s.path)
      // A group-commit fdatasync may still be running on it (a roll happened meanwhile).
      const close = () => s.close()
      if (this.syncing) this.syncing.then(close, close)
      else close()
    }
  }

  /** Resolves once everything appended before the call is on disk (one fdatasync for all waiters). */
  async sync(): Promise<void> {
    const target = this.nextOffset
    while (this.durableNextOffset < target) {
      if (!this.syncing) {
        const seg = this.active
        const upTo = seg.count
        const upToSize = seg.size
        const upToOffset = this.nextOffset
        this.syncing = new Promise<void>((resolve, reject) => {
          fdatasync(seg.fd, (err) => {
            this.syncing = null
            if (err) return reject(err)
            seg.markDurable(upTo, upToSize)
            if (upToOffset > this.durableNextOffset) {
              this.durableNextOffset = upToOffset
              this.onDurable()
            }
            resolve()
          })
        })
      }
      await this.syncing
    }
  }

  /** Durable records with offset ≥ `from` (or from the log start, if that is later), at most `max`. */
  read(from: number, max: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = []
    if (from >= this.durableNextOffset) return out
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
      segs[i]!.read(from, max, out, this.topic, this.partition)
    return out
  }

  private get metaPath(): string {
    return `${this.firstPath}.compaction.json`
  }

  private compactionMeta(): { frames: number; nextOffset: number } {
    try {
      if (existsSync(this.metaPath)) return JSON.parse(readFileSync(this.metaPath, 'utf8'))
    } catch {
      // a torn write of this hint: compaction just runs again
    }
    return { frames: 0, nextOffset: 0 }
  }

  /** Keeps the last frame of every key (and the very last frame, which carries the end offset). */
  private maybeCompact(): void {
    if (this.segments.length !== 1) return // compacted topics never roll
    const seg = this.active
    const count = seg.count
    if (count < COMPACT_MIN_FRAMES || count < 2 * this.compactionMeta().frames) return
    const lastOf = new Map<string, number>()
    let i = 0
    seg.forEachFrame(0, seg.size, false, (buf, at) => {
      lastOf.set(frameKey(buf, at), i++)
    })
    const keep = new Uint8Array(count)
    for (const k of lastOf.values()) keep[k] = 1
    keep[count - 1] = 1
    const nextOffset = this.nextOffset
    if (lastOf.size + 1 > count * 0.8) {
      writeFileSync(this.metaPath, JSON.stringify({ frames: count, nextOffset }))
      return
    }
    const tmp = `${seg.path}.compacting`
    const out = openSync(tmp, 'w')
    try {
      let pending: Buffer[] = []
      let pendingBytes = 0
      const flush = () => {
        const b = Buffer.concat(pending)
        let w = 0
        while (w < b.length) w += writeSync(out, b, w, b.length - w)
        pending = []
        pendingBytes = 0
      }
      i = 0
      seg.forEachFrame(0, seg.size, false, (buf, at) => {
        if (keep[i++]) {
          const len = frameLength(buf, at, buf.length, false)
          pending.push(Buffer.from(buf.subarray(at, at + len)))
          pendingBytes += len
          if (pendingBytes >= READ_CHUNK) flush()
        }
      })
      flush()
      fsyncSync(out)
    } finally {
      closeSync(out)
    }
    seg.close()
    renameSync(tmp, seg.path)
    this.segments = [new Segment(seg.path, nextOffset, false)]
    writeFileSync(this.metaPath, JSON.stringify({ frames: this.active.count, nextOffset }))
  }

  close(): void {
    for (const s of this.segments) s.close()
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
