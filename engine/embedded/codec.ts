import { crc32 } from 'node:zlib'

// On-disk record frame of the embedded log (pure: no I/O, tested alone).
//   [u32 payload length][u32 crc32(payload)][payload]
//   payload = [f64 offset][f64 timestamp][u32 key bytes][key][i32 value bytes, -1 = null][value]
//             [i32 headers bytes, -1 = none][headers as JSON]
// The offset is in the frame because compaction removes frames: offsets then have gaps.
// A frame is valid only if complete and its checksum matches; reopening a log truncates at the
// first invalid frame (a write torn by a crash).

export const FRAME_HEADER = 8

export interface EncodedRecord {
  key: string
  value: string | null
  timestamp: number
  headers?: Record<string, string> | undefined
}

export interface DecodedRecord {
  offset: number
  key: string
  value: string | null
  timestamp: number
  headers: Record<string, string> | undefined
}

/** Reused by encodeFrames(…, true): a fresh multi-megabyte buffer per append cost page faults and GC. */
let scratch = Buffer.alloc(0)
const SCRATCH_MAX = 16 * 1024 * 1024

/**
 * Encodes records back to back, offsets from `firstOffset`; returns the buffer and each frame's
 * start. With `reuse`, the buffer is shared scratch space, valid until the next such call (an
 * append writes it out at once).
 */
export function encodeFrames(
  records: EncodedRecord[],
  firstOffset: number,
  reuse = false,
): { buf: Buffer; starts: number[] } {
  let cap = 0
  const headers: (string | undefined)[] = new Array(records.length)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const h = r.headers && Object.keys(r.headers).length > 0 ? JSON.stringify(r.headers) : undefined
    headers[i] = h
    cap += FRAME_HEADER + 28 + 3 * (r.key.length + (r.value?.length ?? 0) + (h?.length ?? 0))
  }
  let buf: Buffer
  if (reuse && cap <= SCRATCH_MAX) {
    if (scratch.length < cap)
      scratch = Buffer.allocUnsafe(Math.max(cap, Math.min(2 * scratch.length, SCRATCH_MAX)))
    buf = scratch
  } else buf = Buffer.allocUnsafe(cap)
  const starts: number[] = new Array(records.length)
  let o = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const start = o
    starts[i] = start
    let p = start + FRAME_HEADER
    buf.writeDoubleLE(firstOffset + i, p)
    buf.writeDoubleLE(r.timestamp, p + 8)
    p += 16
    const kl = buf.write(r.key, p + 4, 'utf8')
    buf.writeUInt32LE(kl, p)
    p += 4 + kl
    if (r.value === null) {
      buf.writeInt32LE(-1, p)
      p += 4
    } else {
      const vl = buf.write(r.value, p + 4, 'utf8')
      buf.writeInt32LE(vl, p)
      p += 4 + vl
    }
    const h = headers[i]
    if (h === undefined) {
      buf.writeInt32LE(-1, p)
      p += 4
    } else {
      const hl = buf.write(h, p + 4, 'utf8')
      buf.writeInt32LE(hl, p)
      p += 4 + hl
    }
    const len = p - start - FRAME_HEADER
    buf.writeUInt32LE(len, start)
    buf.writeUInt32LE(crc32(buf.subarray(start + FRAME_HEADER, p)), start + 4)
    o = p
  }
  return { buf: buf.subarray(0, o), starts }
}

/** Decodes the frame at `o` (assumed valid). */
export function decodeFrame(buf: Buffer, o: number): DecodedRecord {
  let p = o + FRAME_HEADER
  const offset = buf.readDoubleLE(p)
  const timestamp = buf.readDoubleLE(p + 8)
  p += 16
  const kl = buf.readUInt32LE(p)
  p += 4
  const key = buf.toString('utf8', p, p + kl)
  p += kl
  const vl = buf.readInt32LE(p)
  p += 4
  let value: string | null = null
  if (vl >= 0) {
    value = buf.toString('utf8', p, p + vl)
    p += vl
  }
  const hl = buf.readInt32LE(p)
  p += 4
  const headers =
    hl >= 0 ? (JSON.parse(buf.toString('utf8', p, p + hl)) as Record<string, string>) : undefined
  return { offset, key, value, timestamp, headers }
}

/** Offset of the frame at `o`. */
export const frameOffset = (buf: Buffer, o: number): number => buf.readDoubleLE(o + FRAME_HEADER)

/** Timestamp of the frame at `o` (time retention reads only this). */
export const frameTimestamp = (buf: Buffer, o: number): number => buf.readDoubleLE(o + FRAME_HEADER + 8)

/** Key of the frame at `o` (compaction reads only this). */
export function frameKey(buf: Buffer, o: number): string {
  const p = o + FRAME_HEADER + 16
  const kl = buf.readUInt32LE(p)
  return buf.toString('utf8', p + 4, p + 4 + kl)
}

/** Whether the frame at `o` is a tombstone (null value; the cleaner may drop old ones). */
export function frameIsTombstone(buf: Buffer, o: number): boolean {
  const p = o + FRAME_HEADER + 16
  return buf.readInt32LE(p + 4 + buf.readUInt32LE(p)) < 0
}

/**
 * Length of the valid frame at `o`, or -1 if it is incomplete or corrupt.
 * `verify` checks the checksum (done when reopening a log).
 */
export function frameLength(buf: Buffer, o: number, end: number, verify: boolean): number {
  if (o + FRAME_HEADER > end) return -1
  const len = buf.readUInt32LE(o)
  if (len < 28 || o + FRAME_HEADER + len > end) return -1
  if (verify && crc32(buf.subarray(o + FRAME_HEADER, o + FRAME_HEADER + len)) !== buf.readUInt32LE(o + 4))
    return -1
  return FRAME_HEADER + len
}
