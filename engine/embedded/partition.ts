import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import type { ConsumedRecord } from '../transport.ts'
import { decodeFrame, type EncodedRecord, encodeFrames, frameKey, frameLength, frameOffset } from './codec.ts'

// One partition: an append-only file of frames plus a sparse in-memory index (offset and file
// position of every INDEX_EVERY-th frame, so memory stays small on long-lived topics). Appends are
// written at once (one write per batch) and made durable by a shared fdatasync: concurrent senders
// ride the same sync (group commit). Readers see durable records only.
// Compacted topics are compacted when opened (last record per key kept, tombstones included), so
// a changelog's size follows its keys across restarts; offsets keep their values, with gaps.

const READ_CHUNK = 1024 * 1024
const INDEX_EVERY = 32
/** Compact when the partition has at least this many frames and twice as many as after the last compaction. */
const COMPACT_MIN_FRAMES = 10_000

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  private readonly path: string
  private fd: number
  /** Sparse index: offset and file position of frames 0, INDEX_EVERY, 2·INDEX_EVERY, … */
  private idxOffsets = new Float64Array(256)
  private idxPositions = new Float64Array(256)
  private count = 0
  private endPosition = 0
  private nextOffset = 0
  /** What readers may see: frames, bytes and offsets made durable by the last fdatasync. */
  private durable = 0
  private durableEndPosition = 0
  private durableNextOffset = 0
  private syncing: Promise<void> | null = null
  private readonly onDurable: () => void

  constructor(path: string, topic: string, partition: number, onDurable: () => void, compacted = false) {
    this.topic = topic
    this.partition = partition
    this.path = path
    this.onDurable = onDurable
    this.fd = openSync(path, 'a+')
    this.scan()
    if (compacted) this.maybeCompact()
  }

  /** Rebuilds the index; truncates a torn or corrupt tail left by a crash. */
  private scan(): void {
    this.count = 0
    let lastOffset = -1
    const size = fstatSync(this.fd).size
    const end = this.forEachFrame(0, size, true, (buf, at, position) => {
      lastOffset = frameOffset(buf, at)
      this.indexFrame(lastOffset, position)
    })
    if (end < size) ftruncateSync(this.fd, end)
    this.endPosition = end
    this.nextOffset = lastOffset >= 0 ? lastOffset + 1 : this.compactionMeta().nextOffset
    this.durable = this.count
    this.durableEndPosition = end
    this.durableNextOffset = this.nextOffset
  }

  private indexFrame(offset: number, position: number): void {
    if (this.count % INDEX_EVERY === 0) {
      const j = this.count / INDEX_EVERY
      if (j >= this.idxOffsets.length) {
        const o = new Float64Array(this.idxOffsets.length * 2)
        o.set(this.idxOffsets)
        this.idxOffsets = o
        const p = new Float64Array(this.idxPositions.length * 2)
        p.set(this.idxPositions)
        this.idxPositions = p
      }
      this.idxOffsets[j] = offset
      this.idxPositions[j] = position
    }
    this.count++
  }

  /**
   * Calls `fn` for each valid frame in [from, to), reading in chunks of whole frames; returns the
   * position after the last valid frame. `verify` checks checksums (on open).
   */
  private forEachFrame(
    from: number,
    to: number,
    verify: boolean,
    fn: (buf: Buffer, at: number, position: number) => unknown,
  ): number {
    let pos = from
    let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(to - from, 1)))
    while (pos < to) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, to - pos), pos)
      let o = 0
      while (true) {
        const len = frameLength(buf, o, n, verify)
        if (len < 0) break
        if (fn(buf, o, pos + o) === false) return pos + o
        o += len
      }
      if (o === 0) {
        // A frame bigger than the buffer, or a bad frame.
        if (n === buf.length && buf.length < to - pos) {
          buf = Buffer.allocUnsafe(buf.length * 2)
          continue
        }
        break
      }
      pos += o
    }
    return pos
  }

  /** Next offset to be written (durable records only). */
  get endOffset(): number {
    return this.durableNextOffset
  }

  /** Writes records (not yet durable); returns the first offset. */
  append(records: EncodedRecord[]): number {
    const first = this.nextOffset
    const { buf, starts } = encodeFrames(records, first)
    const base = this.endPosition
    let written = 0
    while (written < buf.length)
      written += writeSync(this.fd, buf, written, buf.length - written, base + written)
    for (let i = 0; i < starts.length; i++) this.indexFrame(first + i, base + starts[i]!)
    this.endPosition = base + buf.length
    this.nextOffset = first + records.length
    return first
  }

  /** Resolves once everything appended before the call is on disk (one fdatasync for all waiters). */
  async sync(): Promise<void> {
    const target = this.count
    while (this.durable < target) {
      if (!this.syncing) {
        const upTo = this.count
        const upToPosition = this.endPosition
        const upToOffset = this.nextOffset
        this.syncing = new Promise<void>((resolve, reject) => {
          fdatasync(this.fd, (err) => {
            this.syncing = null
            if (err) return reject(err)
            if (upTo > this.durable) {
              this.durable = upTo
              this.durableEndPosition = upToPosition
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

  /** Durable records with offset ≥ `from`, at most `max` of them. */
  read(from: number, max: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = []
    if (from >= this.durableNextOffset || this.durable === 0) return out
    // Last indexed frame with offset ≤ from, then scan forward.
    let lo = 0
    let hi = Math.ceil(this.durable / INDEX_EVERY) - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.idxOffsets[mid]! <= from) lo = mid
      else hi = mid - 1
    }
    this.forEachFrame(this.idxPositions[lo]!, this.durableEndPosition, false, (buf, at) => {
      if (frameOffset(buf, at) < from) return
      const d = decodeFrame(buf, at)
      const r: ConsumedRecord = {
        topic: this.topic,
        partition: this.partition,
        offset: d.offset,
        key: d.key,
        value: d.value ?? '',
        timestamp: d.timestamp,
      }
      if (d.value === null) r.tombstone = true
      if (d.headers) r.headers = d.headers
      out.push(r)
      return out.length < max
    })
    return out
  }

  private get metaPath(): string {
    return `${this.path}.compaction.json`
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
    if (this.count < COMPACT_MIN_FRAMES || this.count < 2 * this.compactionMeta().frames) return
    const lastOf = new Map<string, number>()
    let i = 0
    this.forEachFrame(0, this.endPosition, false, (buf, at) => {
      lastOf.set(frameKey(buf, at), i++)
    })
    const keep = new Uint8Array(this.count)
    for (const k of lastOf.values()) keep[k] = 1
    keep[this.count - 1] = 1
    const nextOffset = this.nextOffset
    if (lastOf.size + 1 > this.count * 0.8) {
      writeFileSync(this.metaPath, JSON.stringify({ frames: this.count, nextOffset }))
      return
    }
    const tmp = `${this.path}.compacting`
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
      this.forEachFrame(0, this.endPosition, false, (buf, at) => {
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
    closeSync(this.fd)
    renameSync(tmp, this.path)
    this.fd = openSync(this.path, 'a+')
    this.scan()
    writeFileSync(this.metaPath, JSON.stringify({ frames: this.count, nextOffset }))
  }

  close(): void {
    closeSync(this.fd)
  }
}
