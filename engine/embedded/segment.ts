import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs'
import type { ConsumedRecord } from '../transport.ts'
import { decodeFrame, frameLength, frameOffset, frameTimestamp } from './codec.ts'
import type { LogIO } from './io.ts'

// One segment file of a partition: frames (codec.ts) plus a sparse in-memory index (offset and file
// position of every INDEX_EVERY-th frame, so memory stays small on long-lived topics). Only the
// active (last) segment of a partition is ever written or partly durable; the partition tells it
// how far readers may go (markDurable).

const READ_CHUNK = 1024 * 1024
/** forEachFrame's chunk: a fresh 1 MB buffer per poll of every partition cost page faults and GC. */
const readScratch = Buffer.allocUnsafe(READ_CHUNK)
export const INDEX_EVERY = 32

/** What a scan of a segment finds, when its writer already knows it (the cleaner's output). */
export interface SegmentIndex {
  count: number
  size: number
  lastOffset: number
  maxTimestamp: number
  /** Offset and position of frames 0, INDEX_EVERY, 2·INDEX_EVERY, … */
  offsets: number[]
  positions: number[]
}

export class Segment {
  readonly path: string
  /** Offset of its first record; for an empty segment, the offset its first record will get. */
  readonly base: number
  fd: number
  /** Sparse index: offset and file position of frames 0, INDEX_EVERY, 2·INDEX_EVERY, … */
  private idxOffsets = new Float64Array(64)
  private idxPositions = new Float64Array(64)
  count = 0
  /** Bytes of valid frames (the file is truncated to this on open). */
  size = 0
  lastOffset = -1
  /** Newest record timestamp in the segment (tombstone retention), -Infinity when empty. */
  maxTimestamp = Number.NEGATIVE_INFINITY
  /**
   * When the segment was last written (epoch ms; time retention counts from it, Kafka's
   * LogAppendTime): the file's modification time on open, the clock on each append.
   */
  appendTime = 0
  /** What readers may see: frames and bytes made durable. */
  private durableCount = 0
  private durableSize = 0

  /**
   * Opens (creating if missing) and scans; `verify` checks checksums (the active segment may be
   * torn). With `known` (a file just written and fsynced by its writer), no scan.
   */
  constructor(path: string, base: number, verify: boolean, known?: SegmentIndex) {
    this.path = path
    // Read-write, not append mode: with O_APPEND a positioned write would go to the end of the
    // file, after whatever a failed write left there, while the index points at `size`.
    this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644)
    if (known) this.adopt(known)
    else this.scan(verify)
    this.base = this.count > 0 ? this.idxOffsets[0]! : base
  }

  private adopt(k: SegmentIndex): void {
    this.idxOffsets = Float64Array.from(k.offsets.length > 0 ? k.offsets : [0])
    this.idxPositions = Float64Array.from(k.positions.length > 0 ? k.positions : [0])
    this.count = k.count
    this.size = k.size
    this.lastOffset = k.lastOffset
    this.maxTimestamp = k.maxTimestamp
    this.appendTime = fstatSync(this.fd).mtimeMs
    this.markDurable(k.count, k.size)
  }

  /** Next offset after this segment's records. */
  get nextOffset(): number {
    return this.lastOffset >= 0 ? this.lastOffset + 1 : this.base
  }

  /** Rebuilds the index; truncates a torn or corrupt tail left by a crash. */
  private scan(verify: boolean): void {
    const fileSize = fstatSync(this.fd).size
    const end = this.forEachFrame(0, fileSize, verify, (buf, at, position) => {
      this.lastOffset = frameOffset(buf, at)
      const ts = frameTimestamp(buf, at)
      if (ts > this.maxTimestamp) this.maxTimestamp = ts
      this.indexFrame(this.lastOffset, position)
    })
    if (end < fileSize) ftruncateSync(this.fd, end)
    this.size = end
    this.appendTime = fstatSync(this.fd).mtimeMs
    this.markDurable(this.count, end)
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
   * position after the last valid frame (or of the frame `fn` returned false for).
   */
  forEachFrame(
    from: number,
    to: number,
    verify: boolean,
    fn: (buf: Buffer, at: number, position: number) => unknown,
  ): number {
    let pos = from
    // One shared chunk (`fn` sees the buffer only while it runs, and this loop never awaits).
    let buf = readScratch
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

  /**
   * Writes encoded frames at the end of the valid frames (not yet durable). A write that fails
   * part-way (a full disk) is cut back to the previous size, so no torn or unacknowledged frame
   * stays on disk, and the error is thrown; if even the cut fails, `SegmentTornError` is thrown.
   */
  append(buf: Buffer, starts: number[], firstOffset: number, maxTimestamp: number, io: LogIO): void {
    const base = this.size
    let written = 0
    try {
      while (written < buf.length)
        written += io.write(this.fd, buf, written, buf.length - written, base + written)
    } catch (err) {
      try {
        io.truncate(this.fd, base)
      } catch (cut) {
        throw new SegmentTornError(this.path, err, cut)
      }
      throw err
    }
    for (let i = 0; i < starts.length; i++) this.indexFrame(firstOffset + i, base + starts[i]!)
    this.size = base + buf.length
    this.lastOffset = firstOffset + starts.length - 1
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp
    this.appendTime = Date.now()
  }

  /** Lets readers see the first `count` frames (`size` bytes), once they are on disk. */
  markDurable(count: number, size: number): void {
    if (count <= this.durableCount) return
    this.durableCount = count
    this.durableSize = size
  }

  /** Appends durable records (with `unsynced`, all written ones) with offset ≥ `from` to `out` until it holds `max`. */
  read(
    from: number,
    max: number,
    out: ConsumedRecord[],
    topic: string,
    partition: number,
    unsynced = false,
  ): void {
    const count = unsynced ? this.count : this.durableCount
    const size = unsynced ? this.size : this.durableSize
    if (count === 0 || from > this.lastOffset) return
    // Last indexed frame with offset ≤ from, then scan forward.
    let lo = 0
    let hi = Math.ceil(count / INDEX_EVERY) - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.idxOffsets[mid]! <= from) lo = mid
      else hi = mid - 1
    }
    this.forEachFrame(this.idxPositions[lo]!, size, false, (buf, at) => {
      if (frameOffset(buf, at) < from) return
      const d = decodeFrame(buf, at)
      const r: ConsumedRecord = {
        topic,
        partition,
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
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** A failed append whose partial bytes could not be removed: the segment must not be written again. */
export class SegmentTornError extends Error {
  readonly truncateError: unknown
  constructor(path: string, cause: unknown, truncateError: unknown) {
    super(`${path}: write failed (${(cause as Error).message}) and its partial frame could not be removed`, {
      cause,
    })
    this.name = 'SegmentTornError'
    this.truncateError = truncateError
  }
}
