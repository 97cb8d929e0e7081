import { describe, expect, it } from 'vitest'
import { decodeFetch, type FetchResponse } from './records.ts'

// Fetch decoding without a broker: offsets, skipped records before the requested offset,
// control batches, tombstones, headers, the next offset past the last batch.

type Batch = NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>[number]
const rec = (
  offsetDelta: number,
  key: string | null,
  value: string | null,
  headers: [string, string][] = [],
) => ({
  length: 0,
  attributes: 0,
  timestampDelta: BigInt(offsetDelta * 10),
  offsetDelta,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
})
const batch = (
  firstOffset: number,
  records: ReturnType<typeof rec>[],
  attributes = 0,
  lastOffsetDelta?: number,
) =>
  ({
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: lastOffsetDelta ?? records.length - 1,
    firstTimestamp: 1000n,
    maxTimestamp: 0n,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records,
  }) as Batch

const response = (batches: Batch[]): FetchResponse =>
  ({
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topicId: 'id-1',
        partitions: [
          {
            partitionIndex: 2,
            errorCode: 0,
            highWatermark: 20n,
            lastStableOffset: 20n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: batches,
          },
        ],
      },
    ],
  }) as FetchResponse

describe('decodeFetch', () => {
  it('returns records from the requested offset on, with tombstones and headers, and the next offset', () => {
    const res = response([
      batch(3, [rec(0, 'a', '1'), rec(1, 'b', '2'), rec(2, 'c', null, [['h', 'x']])]),
      batch(6, [rec(0, null, null)], 0b10_0000), // a transaction marker
      batch(7, [rec(0, 'd', '4'), rec(3, 'e', '5')], 0, 3), // compacted: offsets 8, 9 gone
    ])
    const [p] = decodeFetch(res, new Map([['id-1', 't']]), new Map([['t-2', 4]]))
    expect(p!.next).toBe(11)
    expect(p!.records.map((r) => [r.offset, r.key, r.value, r.tombstone ?? false, r.timestamp])).toEqual([
      [4, 'b', '2', false, 1010],
      [5, 'c', '', true, 1020],
      [7, 'd', '4', false, 1000],
      [10, 'e', '5', false, 1030],
    ])
    expect(p!.records[1]!.headers).toEqual({ h: 'x' })
  })

  it('read_committed: skips every aborted transaction of a producer, also when the client already dropped some of its batches', () => {
    const txn = (b: Batch, producerId: bigint) => ({ ...b, producerId }) as Batch
    const marker = (offset: number, type: number) => {
      const key = Buffer.alloc(4)
      key.writeInt16BE(type, 2)
      return txn(batch(offset, [{ ...rec(0, null, null), key }], 0b11_0000), 7n)
    }
    const res = response([
      txn(batch(0, [rec(0, 'k', 'aborted-1')], 0b1_0000), 7n),
      marker(1, 0),
      // offset 2 (aborted-2) was removed by the client's own filter; its marker is at 3
      marker(3, 0),
      txn(batch(4, [rec(0, 'k', 'committed-3')], 0b1_0000), 7n),
      marker(5, 1),
      batch(6, [rec(0, 'k', 'plain')]),
    ])
    res.responses[0]!.partitions[0]!.abortedTransactions = [
      { producerId: 7n, firstOffset: 2n },
      { producerId: 7n, firstOffset: 0n },
    ]
    const [p] = decodeFetch(res, new Map([['id-1', 't']]), new Map([['t-2', 0]]))
    expect(p!.records.map((r) => r.value)).toEqual(['committed-3', 'plain'])
    expect(p!.next).toBe(7)
  })

  it('ignores partitions that were not asked for and leaves next unset when nothing came', () => {
    const res = response([])
    expect(decodeFetch(res, new Map([['id-1', 't']]), new Map([['t-1', 0]]))).toEqual([])
    const [p] = decodeFetch(res, new Map([['id-1', 't']]), new Map([['t-2', 0]]))
    expect(p!.records).toEqual([])
    expect(p!.next).toBeUndefined()
  })
})
