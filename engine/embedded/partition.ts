import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs'
import type { ConsumedRecord } from '../transport.ts'
import { decodeFrame, type EncodedRecord, encodeFrames, frameLength } from './codec.ts'

// One partition: an append-only file of frames plus an in-memory index offset → file position.
// Appends are written at once (one write per batch) and made durable by a shared fdatasync:
// concurrent senders ride the same sync (group commit). Readers only see durable records.

const READ_CHUNK = 4 * 1024 * 1024

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  private readonly fd: number
  /** positions[i] = file position of offset i; positions[count] = end of the last frame. */
  private positions = new Float64Array(1024)
  private count = 0
  private durable = 0
  private syncing: Promise<void> | null = null
  private readonly onDurable: () => void

  constructor(path: string, topic: string, partition: number, onDurable: () => void) {
    this.topic = topic
    this.partition = partition
    this.onDurable = onDurable
    this.fd = openSync(path, 'a+')
    this.scan()
  }

  /** Rebuilds the index; truncates a torn or corrupt tail left by a crash. */
  private scan(): void {
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
        this.push(pos + o)
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
  }

  private push(position: number): void {
    if (this.count + 1 >= this.positions.length) {
      const next = new Float64Array(this.positions.length * 2)
      next.set(this.positions)
      this.positions = next
    }
    this.positions[this.count++] = position
  }

  /** Next offset to be written. */
  get endOffset(): number {
    return this.durable
  }

  /** Writes records (not yet durable); returns the first offset. */
  append(records: EncodedRecord[]): number {
    const first = this.count
    const { buf, starts } = encodeFrames(records)
    const base = this.positions[this.count]!
    let written = 0
    while (written < buf.length)
      written += writeSync(this.fd, buf, written, buf.length - written, base + written)
    for (const s of starts) this.push(base + s)
    this.positions[this.count] = base + buf.length
    return first
  }

  /** Resolves once everything appended before the call is on disk (one fdatasync for all waiters). */
  async sync(): Promise<void> {
    const target = this.count
    while (this.durable < target) {
      if (!this.syncing) {
        const upTo = this.count
        this.syncing = new Promise<void>((resolve, reject) => {
          fdatasync(this.fd, (err) => {
            this.syncing = null
            if (err) return reject(err)
            if (upTo > this.durable) {
              this.durable = upTo
              this.onDurable()
            }
            resolve()
          })
        })
      }
      await this.syncing
    }
  }

  /** Durable records from `from`, at most `max` of them. */
  read(from: number, max: number): ConsumedRecord[] {
    const end = Math.min(this.durable, from + max)
    if (from >= end) return []
    const startPos = this.positions[from]!
    let last = end
    // Bound the bytes read at once.
    while (last > from + 1 && this.positions[last]! - startPos > READ_CHUNK)
      last = from + ((last - from) >> 1)
    const len = this.positions[last]! - startPos
    const buf = Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, startPos + got)
      if (n === 0) break
      got += n
    }
    const out: ConsumedRecord[] = new Array(last - from)
    for (let i = from; i < last; i++) {
      const d = decodeFrame(buf, this.positions[i]! - startPos)
      const r: ConsumedRecord = {
        topic: this.topic,
        partition: this.partition,
        offset: i,
        key: d.key,
        value: d.value ?? '',
        timestamp: d.timestamp,
      }
      if (d.value === null) r.tombstone = true
      if (d.headers) r.headers = d.headers
      out[i - from] = r
    }
    return out
  }

  close(): void {
    closeSync(this.fd)
  }
}
