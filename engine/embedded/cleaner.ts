import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
import { FRAME_HEADER, frameIsTombstone, frameLength, frameOffset, frameTimestamp } from './codec.ts'
import type { Segment } from './segment.ts'

// The log cleaner of compacted topics (Kafka's, simplified): rewrites the closed segments of a
// partition into one file holding, per key, only its last record among them. The segments are
// "cleaned" (offsets below `firstDirty`: the output of an earlier clean, at most one record per
// key) followed by "dirty" ones (written since). Only the dirty part's keys are mapped, so memory
// follows the keys written since the last clean, not all keys. Offsets never change (gaps are fine:
// readers continue at the next existing offset). The last frame of the range is always kept (it is
// the newest of its key among closed segments anyway; explicit because open() relies on it): the
// output ends exactly where the cleaned range ended, so open() can recognise segments left behind
// by a crash between the rename and their deletion (they lie wholly below its end).
// Tombstones are kept, except one that has already been through a clean (in the cleaned part, so
// no older record of its key remains) and is older than the delete retention: readers then had
// that long to see the delete (Kafka's delete.retention.ms).

const OUT_CHUNK = 1024 * 1024

export interface CleanResult {
  /** Frames and bytes written. */
  frames: number
  bytes: number
  /** Bytes read (the closed segments). */
  read: number
}

/**
 * Writes the cleaned frames of `segments` (closed, oldest first) to `path` atomically: a temp file
 * `<path>.cleaning`, fsynced, then renamed over `path` (the caller syncs the directory).
 * Tombstones in the cleaned part with a timestamp below `dropTombstonesBefore` are dropped.
 */
export function cleanSegments(
  segments: Segment[],
  firstDirty: number,
  dropTombstonesBefore: number,
  path: string,
): CleanResult {
  const latest = new Map<string, number>()
  let read = 0
  for (const s of segments) {
    read += s.size
    if (s.lastOffset < firstDirty) continue
    s.forEachFrame(0, s.size, false, (buf, at) => {
      const offset = frameOffset(buf, at)
      if (offset >= firstDirty) latest.set(rawKey(buf, at), offset)
    })
  }
  const last = segments[segments.length - 1]!.lastOffset
  const tmp = `${path}.cleaning`
  const fd = openSync(tmp, 'w')
  let frames = 0
  let bytes = 0
  try {
    const out = Buffer.allocUnsafe(OUT_CHUNK)
    let used = 0
    const flush = (b: Buffer, from: number, to: number) => {
      while (from < to) from += writeSync(fd, b, from, to - from)
    }
    for (const s of segments)
      s.forEachFrame(0, s.size, false, (buf, at) => {
        const offset = frameOffset(buf, at)
        const key = rawKey(buf, at)
        const keep =
          offset === last ||
          (offset < firstDirty
            ? !latest.has(key) &&
              !(frameIsTombstone(buf, at) && frameTimestamp(buf, at) < dropTombstonesBefore)
            : latest.get(key) === offset)
        if (!keep) return
        const len = frameLength(buf, at, buf.length, false)
        frames++
        bytes += len
        if (used + len > out.length) {
          flush(out, 0, used)
          used = 0
        }
        if (len > out.length) flush(buf, at, at + len)
        else used += buf.copy(out, used, at, at + len)
      })
    flush(out, 0, used)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  return { frames, bytes, read }
}

/** The key's bytes as a latin1 string: one char per byte, so equal iff the keys are (cheaper than UTF-8). */
function rawKey(buf: Buffer, o: number): string {
  const p = o + FRAME_HEADER + 16
  return buf.toString('latin1', p + 4, p + 4 + buf.readUInt32LE(p))
}
