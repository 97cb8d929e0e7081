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

// One partition: an append-only file of frames plus an in-memory index (offset and file position
// of every frame). Appends are written at once (one write per batch) and made durable by a shared
// fdatasync: concurrent senders ride the same sync (group commit). Readers see durable records only.
// Compacted topics are compacted when opened (last record per key kept, tombstones included), so
// a changelog's size follows its keys across restarts; offsets keep their values, with gaps.

const READ_CHUNK = 4 * 1024 * 1024
/** Compact when the partition has at least this many frames and twice as many as after the last compaction. */
const COMPACT_MIN_FRAMES = 10_000

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  private readonly path: string
  private fd: number
  private offsets = new Float64Array(1024)
  /** positions[i] = file position of frame i; positions[count] = end of the last frame. */
  private positions = new Float64Array(1025)
  private count = 0
  /** Frames [0, durable) are on disk. */
  private durable = 0
  private nextOffset = 0
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
    const size = fstatSync(this.fd).size
    let pos = 0
    let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)))
    while (pos < size) {
      const want = Math.min(buf.length, size - pos)
      const n = readSync(this.fd, buf, 0, want, pos)
      let o = 0
      while (true) {
        const len = frameLength(buf, o, n, true)
        if (len < 0) break
        this.push(frameOffset(buf, o), pos + o)
        o += len
      }
      if (o === 0) {
        // A frame bigger than the buffer, or a bad frame.
        if (n === buf.length && buf.length < size - pos) {
          buf = Buffer.allocUnsafe(buf.length * 2)
          continue
        }
        break
      }
      pos += o
    }
    this.positions[this.count] = pos
    if (pos < size) ftruncateSync(this.fd, pos)
    this.durable = this.count
    this.nextOffset = this.count > 0 ? this.offsets[this.count - 1]! + 1 : this.storedNextOffset()
    this.durableNextOffset = this.nextOffset
  }

  private push(offset: number, position: number): void {
    if (this.count + 2 >= this.positions.length) {
      const o = new Float64Array(this.offsets.length * 2)
      o.set(this.offsets)
      this.offsets = o
      const p = new Float64Array(this.positions.length * 2)
      p.set(this.positions)
      this.positions = p
    }
    this.offsets[this.count] = offset
    this.positions[this.count++] = position
  }

  /** Next offset to be written (durable records only). */
  get endOffset(): number {
    return this.durableNextOffset
  }

  /** Writes records (not yet durable); returns the first offset. */
  append(records: EncodedRecord[]): number {
    const first = this.nextOffset
    const { buf, starts } = encodeFrames(records, first)
    const base = this.positions[this.count]!
    let written = 0
    while (written < buf.length)
      written += writeSync(this.fd, buf, written, buf.length - written, base + written)
    for (let i = 0; i < starts.length; i++) this.push(first + i, base + starts[i]!)
    this.positions[this.count] = base + buf.length
    this.nextOffset = first + records.length
    return first
  }

  /** Resolves once everything appended before the call is on disk (one fdatasync for all waiters). */
  async sync(): Promise<void> {
    const target = this.count
    while (this.durable < target) {
      if (!this.syncing) {
        const upTo = this.count
        const upToOffset = this.nextOffset
        this.syncing = new Promise<void>((resolve, reject) => {
          fdatasync(this.fd, (err) => {
            this.syncing = null
            if (err) return reject(err)
            if (upTo > this.durable) {
              this.durable = upTo
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

  /** Index of the first frame with offset ≥ `offset`. */
  private frameAt(offset: number): number {
    let lo = 0
    let hi = this.durable
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.offsets[mid]! < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Durable records with offset ≥ `from`, at most `max` of them. */
  read(from: number, max: number): ConsumedRecord[] {
    const first = this.frameAt(from)
    const end = Math.min(this.durable, first + max)
    if (first >= end) return []
    const startPos = this.positions[first]!
    let last = end
    // Bound the bytes read at once.
    while (last > first + 1 && this.positions[last]! - startPos > READ_CHUNK)
      last = first + ((last - first) >> 1)
    const buf = this.readBytes(startPos, this.positions[last]!)
    const out: ConsumedRecord[] = new Array(last - first)
    for (let i = first; i < last; i++) {
      const d = decodeFrame(buf, this.positions[i]! - startPos)
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
      out[i - first] = r
    }
    return out
  }

  private readBytes(from: number, to: number): Buffer {
    const len = to - from
    const buf = Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, from + got)
      if (n === 0) break
      got += n
    }
    return buf
  }

  /** Calls `fn` for every frame, reading the file in chunks of whole frames. */
  private forEachFrame(fn: (buf: Buffer, at: number, i: number) => void): void {
    let i = 0
    while (i < this.count) {
      const startPos = this.positions[i]!
      let last = i + 1
      while (last < this.count && this.positions[last + 1]! - startPos <= READ_CHUNK) last++
      const buf = this.readBytes(startPos, this.positions[last]!)
      for (let j = i; j < last; j++) fn(buf, this.positions[j]! - startPos, j)
      i = last
    }
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

  private storedNextOffset(): number {
    return this.compactionMeta().nextOffset
  }

  /** Keeps the last frame of every key (and the very last frame, which carries the end offset). */
  private maybeCompact(): void {
    const after = this.compactionMeta().frames
    if (this.count < COMPACT_MIN_FRAMES || this.count < 2 * after) return
    const lastOf = new Map<string, number>()
    this.forEachFrame((buf, at, i) => lastOf.set(frameKey(buf, at), i))
    const keep = new Uint8Array(this.count)
    for (const i of lastOf.values()) keep[i] = 1
    keep[this.count - 1] = 1
    const kept = lastOf.size + 1
    if (kept > this.count * 0.8) {
      writeFileSync(this.metaPath, JSON.stringify({ frames: this.count, nextOffset: this.nextOffset }))
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
      this.forEachFrame((buf, at, i) => {
        if (!keep[i]) return
        const len = this.positions[i + 1]! - this.positions[i]!
        pending.push(Buffer.from(buf.subarray(at, at + len)))
        pendingBytes += len
        if (pendingBytes >= READ_CHUNK) flush()
      })
      flush()
      fsyncSync(out)
    } finally {
      closeSync(out)
    }
    const nextOffset = this.nextOffset
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
