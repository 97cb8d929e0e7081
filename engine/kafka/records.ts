import { compressionsAlgorithmsByBitmask, type Reader } from '@platformatic/kafka'
import type { ConsumedRecord } from '../transport.ts'
import { KafkaTransportError } from './errors.ts'

// Fetch responses decoded here straight from the bytes into transport records (no I/O, testable
// without a broker). The client's decoder made a Buffer for every key, value and header and an
// object per record and batch, which this module then turned into strings: a third of the Kafka
// share of a platform run's CPU, and garbage. Here each record is one object with its strings
// sliced from the response.

const IS_CONTROL = 0b10_0000 // batch attribute bit 5: transaction markers, never user records
const IS_TRANSACTIONAL = 0b1_0000 // bit 4
const COMPRESSION = 0b111
const ABORT_MARKER = 0
/** Record batch: base offset and length, then from the leader epoch on 49 bytes of header. */
const BATCH_HEAD = 12
const RECORDS_AT = 61

export interface DecodedPartition {
  topic: string
  partition: number
  errorCode: number
  highWatermark: number
  records: ConsumedRecord[]
  /** Offset to fetch next (past control batches and compacted gaps), or undefined if nothing came. */
  next?: number
}

/** An aborted transaction listed by the broker: its producer's batches from `firstOffset` on, up to its abort marker. */
export interface AbortedTransaction {
  producerId: number
  firstOffset: number
}

/** int64 as a number (offsets, timestamps and producer ids stay below 2^53). */
const int64 = (b: Buffer, at: number): number => b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4)

/** Node's Buffer method behind `buf.toString('utf8', s, e)`, without its argument checks. */
type Utf8Slicer = Buffer & { utf8Slice(start: number, end: number): string }

/** A cursor over one buffer: zigzag varints and strings, no allocation but the strings. */
class Cursor {
  buf: Buffer
  at: number
  constructor(buf: Buffer, at: number) {
    this.buf = buf
    this.at = at
  }

  varint(): number {
    const b = this.buf
    let byte = b[this.at++]!
    let v = byte & 0x7f
    if (byte >= 0x80) {
      let mul = 128
      do {
        if (this.at >= b.length) throw truncated()
        byte = b[this.at++]!
        v += (byte & 0x7f) * mul
        mul *= 128
      } while (byte >= 0x80)
    }
    // zigzag
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2
  }

  /** A varint-length string (null for length -1). */
  string(): string | null {
    const n = this.varint()
    if (n < 0) return null
    const s = this.at
    this.at += n
    if (this.at > this.buf.length) throw truncated()
    return n === 0 ? '' : (this.buf as Utf8Slicer).utf8Slice(s, this.at)
  }
}

const truncated = () => new KafkaTransportError('FAILED', 'fetch: record batch ends inside a record')

/**
 * Records at or after `start` of one partition's record batches (the bytes of a Fetch response's
 * `records` field), read_committed: an aborted transaction applies to its producer's
 * transactional batches from its first offset up to that producer's abort marker (Kafka's
 * consumer algorithm; several per producer may be listed). A batch cut off at the end (the
 * response's size limit) is left for the next fetch. `next` is past the last complete batch.
 */
export function decodeRecordBatches(
  buf: Buffer,
  topic: string,
  partition: number,
  start: number,
  abortedTransactions: AbortedTransaction[] | null,
): { records: ConsumedRecord[]; next: number | undefined } {
  const records: ConsumedRecord[] = []
  let next: number | undefined
  const aborted =
    abortedTransactions && abortedTransactions.length > 0
      ? [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset)
      : undefined
  let abortedProducers: Set<number> | undefined
  let at = 0
  while (buf.length - at >= BATCH_HEAD) {
    const length = buf.readInt32BE(at + 8)
    const end = at + BATCH_HEAD + length
    if (end > buf.length) break // cut off by the size limit: the next fetch starts here
    const magic = buf[at + 16]
    if (magic !== 2)
      throw new KafkaTransportError('FAILED', `fetch: record batch format ${magic} (only v2 is read)`)
    const base = int64(buf, at)
    const attributes = buf.readInt16BE(at + 21)
    const last = base + buf.readInt32BE(at + 23)
    if (last + 1 > (next ?? start)) next = last + 1
    const producerId = int64(buf, at + 43)
    const batchAt = at
    at = end
    // Markers too: a transaction whose batches are not in this response still ends at its marker.
    if (aborted && producerId >= 0)
      while (aborted.length > 0 && aborted[0]!.firstOffset <= last) {
        abortedProducers ??= new Set()
        abortedProducers.add(aborted.shift()!.producerId)
      }
    if (attributes & IS_CONTROL) {
      // Control record key: version int16, type int16 (0 abort, 1 commit).
      if (abortedProducers?.has(producerId)) {
        const c = new Cursor(buf, batchAt + RECORDS_AT)
        c.varint() // record length
        c.at++ // attributes
        c.varint() // timestamp delta
        c.varint() // offset delta
        const keyLength = c.varint()
        if (keyLength >= 4 && buf.readInt16BE(c.at + 2) === ABORT_MARKER) abortedProducers.delete(producerId)
      }
      continue
    }
    if (attributes & IS_TRANSACTIONAL && abortedProducers?.has(producerId)) continue
    if (last < start) continue
    const count = buf.readInt32BE(batchAt + 57)
    const baseTimestamp = int64(buf, batchAt + 27)
    let c: Cursor
    const compression = attributes & COMPRESSION
    if (compression === 0) c = new Cursor(buf, batchAt + RECORDS_AT)
    else {
      const algorithm = compressionsAlgorithmsByBitmask[compression]
      if (!algorithm)
        throw new KafkaTransportError('FAILED', `fetch: unknown compression ${compression} in a record batch`)
      c = new Cursor(algorithm.decompressSync(buf.subarray(batchAt + RECORDS_AT, end)) as Buffer, 0)
    }
    for (let i = 0; i < count; i++) {
      const recordLength = c.varint()
      const recordEnd = c.at + recordLength
      c.at++ // attributes (unused in v2)
      const timestamp = baseTimestamp + c.varint()
      const offset = base + c.varint()
      if (offset < start) {
        c.at = recordEnd
        continue
      }
      const key = c.string()
      const value = c.string()
      const rec: ConsumedRecord = {
        topic,
        partition,
        offset,
        key: key ?? '',
        value: value ?? '',
        timestamp,
      }
      if (value === null) rec.tombstone = true
      const headerCount = c.varint()
      if (headerCount > 0) {
        const headers: Record<string, string> = {}
        for (let h = 0; h < headerCount; h++) {
          const k = c.string()
          const v = c.string()
          if (k) headers[k] = v ?? ''
        }
        rec.headers = headers
      }
      c.at = recordEnd
      records.push(rec)
    }
  }
  return { records, next }
}

/**
 * A Fetch v12 response body (after the response header; v12: topics by name, flexible encoding,
 * brokers 2.7 and later), with the records decoded by decodeRecordBatches: every partition asked
 * for (`from`: tpKey → first offset wanted) that is in the response, with its error code
 * (partition errors are returned, not thrown: the caller resets or refreshes metadata per
 * partition). A top-level error throws.
 */
export function parseFetchV12(r: Reader, from: Map<string, number>): DecodedPartition[] {
  r.readInt32() // throttle time
  const errorCode = r.readInt16()
  r.readInt32() // session id
  if (errorCode !== 0) throw new KafkaTransportError('FAILED', `fetch: broker error code ${errorCode}`)
  const out: DecodedPartition[] = []
  const topicCount = r.readUnsignedVarInt() - 1
  for (let t = 0; t < topicCount; t++) {
    const topic = r.readString()
    const partitionCount = r.readUnsignedVarInt() - 1
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.readInt32()
      const partitionError = r.readInt16()
      const highWatermark = Number(r.readInt64())
      r.readInt64() // last stable offset
      r.readInt64() // log start offset
      let aborted: AbortedTransaction[] | null = null
      const abortedCount = r.readUnsignedVarInt() - 1
      if (abortedCount >= 0) {
        aborted = []
        for (let a = 0; a < abortedCount; a++) {
          aborted.push({ producerId: Number(r.readInt64()), firstOffset: Number(r.readInt64()) })
          r.readTaggedFields()
        }
      }
      r.readInt32() // preferred read replica
      const size = r.readUnsignedVarInt() - 1
      const bytes = size > 0 ? r.buffer.slice(r.position, r.position + size) : undefined
      if (size > 0) r.skip(size)
      r.readTaggedFields() // diverging epoch, current leader, snapshot id: not used
      const start = from.get(`${topic}-${partition}`)
      if (start === undefined) continue
      const decoded: DecodedPartition = {
        topic,
        partition,
        errorCode: partitionError,
        highWatermark,
        records: [],
      }
      if (bytes && partitionError === 0) {
        const { records, next } = decodeRecordBatches(bytes, topic, partition, start, aborted)
        decoded.records = records
        if (next !== undefined) decoded.next = next
      }
      out.push(decoded)
    }
    r.readTaggedFields()
  }
  r.readTaggedFields() // node endpoints
  return out
}
