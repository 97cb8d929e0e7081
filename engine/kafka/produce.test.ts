import { crc32c, Reader, readRecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import type { ProducedRecord } from '../transport.ts'
import { encodeRecordBatches } from './produce.ts'

// Our record batch encoder read back by the client's decoder (the one the broker's format is
// checked against by every fetch): fields, CRC, sizes split, sequence numbers.

const owner = { producerId: 42n, producerEpoch: 3, baseSequence: 7 }
const decode = (b: Buffer) => readRecordsBatch(Reader.from(b))

describe('encodeRecordBatches', () => {
  it('writes a batch the client decodes: keys, values, tombstones, headers, timestamps, CRC', () => {
    const records: ProducedRecord[] = [
      { topic: 't', key: 'BTCUSDT', value: '{"p":"42000.5"}', timestamp: 1_704_067_200_000 },
      {
        topic: 't',
        key: 'ÉTH€',
        value: 'ünïcode ✓',
        timestamp: 1_704_067_140_000,
        headers: { h: 'v', x: '' },
      },
      { topic: 't', key: 'gone', value: null, timestamp: 1_704_067_260_000 },
      { topic: 't', key: '', value: 'x'.repeat(300), timestamp: 1_704_067_200_000 + 2 ** 40 },
    ]
    const [only, ...rest] = encodeRecordBatches(records, owner, 1 << 20)
    expect(rest).toEqual([])
    expect(only!.count).toBe(4)
    const b = decode(only!.batch)
    expect(b.length).toBe(only!.batch.length - 12)
    expect(b.magic).toBe(2)
    expect(b.crc).toBe(crc32c(only!.batch.subarray(21)))
    expect(b.producerId).toBe(42n)
    expect(b.producerEpoch).toBe(3)
    expect(b.firstSequence).toBe(7)
    expect(b.lastOffsetDelta).toBe(3)
    expect(b.firstTimestamp).toBe(1_704_067_200_000n)
    expect(b.maxTimestamp).toBe(BigInt(1_704_067_200_000 + 2 ** 40))
    expect(b.attributes).toBe(0)
    expect(
      b.records.map((r) => ({
        key: r.key?.toString('utf8'),
        value: r.value === null ? null : r.value.toString('utf8'),
        timestamp: Number(b.firstTimestamp + r.timestampDelta),
        offsetDelta: r.offsetDelta,
        headers: Object.fromEntries(r.headers.map(([k, v]) => [k?.toString(), v?.toString()])),
      })),
    ).toEqual(
      records.map((r, i) => ({
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        offsetDelta: i,
        headers: r.headers ?? {},
      })),
    )
  })

  it('splits at the byte bound, keeping order and continuing the sequence numbers', () => {
    const records: ProducedRecord[] = Array.from({ length: 1000 }, (_, i) => ({
      topic: 't',
      key: `k${i}`,
      value: JSON.stringify({ i, pad: 'p'.repeat(i % 50) }),
      timestamp: 1000 + i,
    }))
    const batches = encodeRecordBatches(records, { ...owner, transactional: true }, 8 * 1024)
    expect(batches.length).toBeGreaterThan(5)
    let seq = 7
    const values: string[] = []
    for (const { batch, count } of batches) {
      expect(batch.length).toBeLessThanOrEqual(8 * 1024)
      const b = decode(batch)
      expect(b.firstSequence).toBe(seq)
      expect(b.attributes & 0b1_0000).toBeTruthy() // transactional
      expect(b.records.length).toBe(count)
      seq += count
      for (const r of b.records) values.push(r.value!.toString())
    }
    expect(values).toEqual(records.map((r) => r.value))
  })

  it('non-ASCII text whose UTF-8 length needs a longer varint than its string length (the record and the string are moved to fit)', () => {
    const texts = ['€'.repeat(20), '€'.repeat(40), 'é'.repeat(63), '✓'.repeat(5000), 'a'.repeat(63), '', 'ü']
    const records: ProducedRecord[] = []
    for (const a of texts)
      for (const b of texts) records.push({ topic: 't', key: a, value: b, timestamp: 5, headers: { [b]: a } })
    const batches = encodeRecordBatches(records, owner, 1 << 20)
    const back = batches.flatMap(({ batch }) => decode(batch).records)
    expect(back.map((r) => [r.key?.toString(), r.value?.toString(), r.headers[0]?.[0]?.toString()])).toEqual(
      records.map((r) => [r.key, r.value, r.value]),
    )
    for (const { batch } of batches) expect(decode(batch).crc).toBe(crc32c(batch.subarray(21)))
  })

  it('gives a record larger than the bound a batch of its own', () => {
    const big = { topic: 't', key: 'k', value: 'v'.repeat(5000), timestamp: 1 }
    const batches = encodeRecordBatches([big, big, { ...big, value: 'small' }], owner, 1000)
    expect(batches.map((b) => b.count)).toEqual([1, 1, 1])
  })
})

describe('encodeRecordBatches sequence numbers', () => {
  it('wrap past 2^31-1 across the batches of one call, as Kafka counts them', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({
      topic: 't',
      key: `k${i}`,
      value: 'x'.repeat(100),
    }))
    const batches = encodeRecordBatches(
      records,
      { producerId: 1n, producerEpoch: 0, baseSequence: 2 ** 31 - 3 },
      300,
    )
    expect(batches.length).toBeGreaterThan(2)
    let next = 2 ** 31 - 3
    for (const b of batches) {
      expect(decode(b.batch).firstSequence).toBe(next)
      next = (next + b.count) % 2 ** 31
    }
  })
})
