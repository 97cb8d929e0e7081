import { createRecordsBatch, Reader, readRecordsBatches, Writer } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import type { ConsumedRecord, ProducedRecord } from '../transport.ts'
import { encodeRecordBatches } from './produce.ts'
import { decodeRecordBatches, parseFetchV12 } from './records.ts'

// Fetch decoding from bytes, without a broker: offsets, records before the requested offset,
// compacted gaps, control batches and aborted transactions (read_committed), tombstones, headers,
// a batch cut off by the size limit; and the same records as the client's own decoder.

interface TestRecord {
  offsetDelta: number
  key: string | null
  value: string | null
  headers?: [string, string][]
}

const zigzag = (w: Writer, n: number) => w.appendVarInt(n)
const bytesOf = (w: Writer, s: string | null) => {
  if (s === null) return zigzag(w, -1)
  const b = Buffer.from(s, 'utf8')
  zigzag(w, b.length)
  return w.append(b)
}

/** A record batch v2 as a broker stores it (offsets, producer, attributes as given; CRC not set: not checked on read). */
function batch(
  base: number,
  records: TestRecord[],
  opts: { attributes?: number; producerId?: bigint; lastOffsetDelta?: number } = {},
): Buffer {
  const body = Writer.create()
  for (const r of records) {
    const w = Writer.create()
    w.appendInt8(0)
    zigzag(w, r.offsetDelta * 10) // timestamp delta
    zigzag(w, r.offsetDelta)
    bytesOf(w, r.key)
    bytesOf(w, r.value)
    zigzag(w, r.headers?.length ?? 0)
    for (const [k, v] of r.headers ?? []) bytesOf(bytesOf(w, k), v)
    zigzag(body, w.length)
    body.appendFrom(w)
  }
  const head = Buffer.alloc(61)
  head.writeBigInt64BE(BigInt(base), 0)
  head.writeInt32BE(61 - 12 + body.length, 8)
  head[16] = 2
  head.writeInt16BE(opts.attributes ?? 0, 21)
  head.writeInt32BE(opts.lastOffsetDelta ?? records.length - 1, 23)
  head.writeBigInt64BE(1000n, 27)
  head.writeBigInt64BE(opts.producerId ?? -1n, 43)
  head.writeInt32BE(records.length, 57)
  return Buffer.concat([head, body.buffer])
}

const rec = (
  offsetDelta: number,
  key: string | null,
  value: string | null,
  headers?: [string, string][],
) => ({
  offsetDelta,
  key,
  value,
  headers,
})
const view = (rs: ConsumedRecord[]) =>
  rs.map((r) => [r.offset, r.key, r.value, r.tombstone ?? false, r.timestamp])

describe('decodeRecordBatches', () => {
  it('returns records from the requested offset on, with tombstones and headers, and the next offset', () => {
    const bytes = Buffer.concat([
      batch(3, [rec(0, 'a', '1'), rec(1, 'b', '2'), rec(2, 'c', null, [['h', 'x']])]),
      batch(6, [rec(0, null, null)], { attributes: 0b10_0000 }), // a transaction marker
      batch(7, [rec(0, 'd', '4'), rec(3, 'e', '5')], { lastOffsetDelta: 3 }), // compacted: 8, 9 gone
    ])
    const { records, next } = decodeRecordBatches(bytes, 't', 2, 4, null)
    expect(next).toBe(11)
    expect(view(records)).toEqual([
      [4, 'b', '2', false, 1010],
      [5, 'c', '', true, 1020],
      [7, 'd', '4', false, 1000],
      [10, 'e', '5', false, 1030],
    ])
    expect(records[1]!.headers).toEqual({ h: 'x' })
    expect(records[0]).toEqual({ topic: 't', partition: 2, offset: 4, key: 'b', value: '2', timestamp: 1010 })
  })

  it('leaves a batch cut off by the size limit for the next fetch', () => {
    const whole = batch(0, [rec(0, 'a', '1'), rec(1, 'b', '2')])
    const cut = batch(2, [rec(0, 'c', '3')])
    const { records, next } = decodeRecordBatches(
      Buffer.concat([whole, cut.subarray(0, cut.length - 3)]),
      't',
      0,
      0,
      null,
    )
    expect(records.map((r) => r.value)).toEqual(['1', '2'])
    expect(next).toBe(2)
    expect(decodeRecordBatches(cut.subarray(0, 10), 't', 0, 2, null)).toEqual({
      records: [],
      next: undefined,
    })
  })

  it('read_committed: skips every aborted transaction of a producer, also when some of its batches are not in the response', () => {
    const txn = 0b1_0000
    // Control record key: version int16 0, type int16 (0 abort, 1 commit).
    const markerBytes = (offset: number, type: number) =>
      batch(offset, [rec(0, `\0\0\0${String.fromCharCode(type)}`, '')], {
        attributes: 0b11_0000,
        producerId: 7n,
      })
    const bytes = Buffer.concat([
      batch(0, [rec(0, 'k', 'aborted-1')], { attributes: txn, producerId: 7n }),
      markerBytes(1, 0),
      // offset 2 (aborted-2) is not in the response; its marker is at 3
      markerBytes(3, 0),
      batch(4, [rec(0, 'k', 'committed-3')], { attributes: txn, producerId: 7n }),
      markerBytes(5, 1),
      batch(6, [rec(0, 'k', 'plain')]),
      batch(7, [rec(0, 'k', 'other-producer')], { attributes: txn, producerId: 8n }),
    ])
    const aborted = [
      { producerId: 7, firstOffset: 2 },
      { producerId: 7, firstOffset: 0 },
    ]
    const { records, next } = decodeRecordBatches(bytes, 't', 0, 0, aborted)
    expect(records.map((r) => r.value)).toEqual(['committed-3', 'plain', 'other-producer'])
    expect(next).toBe(8)
  })

  it('decodes what our encoder and the client write (UTF-8, tombstones, headers, large timestamps, gzip) as the client does', () => {
    const produced: ProducedRecord[] = []
    for (let i = 0; i < 300; i++)
      produced.push({
        topic: 't',
        key: i % 7 === 0 ? '' : `ÉTH€-${i}`,
        value: i % 11 === 0 ? null : `{"p":"${i}.5","s":"ünïcode ✓"}`.repeat(1 + (i % 3)),
        timestamp: 1_704_067_200_000 + i * 60_000 + (i % 5 === 0 ? 2 ** 40 : 0),
        ...(i % 13 === 0 ? { headers: { h: `v${i}`, empty: '' } } : {}),
      })
    const ours = encodeRecordBatches(produced, { producerId: 5n, producerEpoch: 0, baseSequence: 0 }, 8 << 10)
    expect(ours.length).toBeGreaterThan(3)
    let base = 1000
    const parts: Buffer[] = []
    for (const { batch: b, count } of ours) {
      b.writeBigInt64BE(BigInt(base), 0)
      base += count
      parts.push(b)
    }
    const gzip = createRecordsBatch(
      produced.slice(0, 40).map((r) => ({
        topic: 't',
        key: Buffer.from(r.key),
        value: r.value === null ? (null as unknown as Buffer) : Buffer.from(r.value),
        timestamp: BigInt(r.timestamp!),
        headers: new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      })),
      { compression: 'gzip' },
    ).buffer
    gzip.writeBigInt64BE(BigInt(base), 0)
    parts.push(gzip)
    const bytes = Buffer.concat(parts)

    const client: ConsumedRecord[] = []
    for (const b of readRecordsBatches(Reader.from(bytes)))
      for (const r of b.records)
        client.push({
          topic: 't',
          partition: 1,
          offset: Number(b.firstOffset) + r.offsetDelta,
          key: r.key ? r.key.toString('utf8') : '',
          value: r.value ? r.value.toString('utf8') : '',
          timestamp: Number(b.firstTimestamp + r.timestampDelta),
          ...(r.value === null ? { tombstone: true as const } : {}),
          ...(r.headers.length > 0
            ? {
                headers: Object.fromEntries(
                  r.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? '']),
                ),
              }
            : {}),
        })
    const { records, next } = decodeRecordBatches(bytes, 't', 1, 1005, null)
    expect(records).toEqual(client.filter((r) => r.offset >= 1005))
    expect(records.length).toBe(340 - 5)
    expect(next).toBe(1340)
  })
})

describe('parseFetchV12', () => {
  /** A Fetch v12 response body: partitions of topic 't' as [index, error code, record bytes]. */
  const response = (parts: [number, number, Buffer | null][], errorCode = 0) => {
    const w = Writer.create().appendInt32(0).appendInt16(errorCode).appendInt32(0)
    w.appendUnsignedVarInt(2)
      .appendString('t')
      .appendUnsignedVarInt(parts.length + 1)
    for (const [index, code, bytes] of parts) {
      w.appendInt32(index).appendInt16(code).appendInt64(20n).appendInt64(20n).appendInt64(0n)
      w.appendUnsignedVarInt(2).appendInt64(9n).appendInt64(100n).appendTaggedFields() // one aborted transaction
      w.appendInt32(-1)
      if (bytes === null) w.appendUnsignedVarInt(0)
      else w.appendUnsignedVarInt(bytes.length + 1).append(bytes)
      w.appendTaggedFields()
    }
    w.appendTaggedFields().appendTaggedFields()
    return Reader.from(w)
  }

  it('decodes the partitions asked for, with their error codes; others are skipped', () => {
    const bytes = batch(3, [rec(0, 'a', '1'), rec(1, 'b', '2')])
    const out = parseFetchV12(
      response([
        [0, 0, bytes],
        [1, 1, null], // OFFSET_OUT_OF_RANGE
        [2, 0, bytes], // not asked for
        [3, 0, null], // nothing new
      ]),
      new Map([
        ['t-0', 4],
        ['t-1', 0],
        ['t-3', 7],
      ]),
    )
    expect(
      out.map((p) => [p.partition, p.errorCode, p.highWatermark, p.next, p.records.map((r) => r.value)]),
    ).toEqual([
      [0, 0, 20, 5, ['2']],
      [1, 1, 20, undefined, []],
      [3, 0, 20, undefined, []],
    ])
  })

  it('throws on a top-level error', () => {
    expect(() => parseFetchV12(response([], 15), new Map())).toThrow(/broker error code 15/)
  })
})
