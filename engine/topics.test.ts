import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StreamsBuilder } from './index.ts'
import { TestBed } from './testing.ts'

// Topics the engine creates for a topology. By default outputs carry event time (CreateTime, as in
// Kafka Streams). With outputTimestampType LogAppendTime (the platform's choice: its topologies take
// event time from values) they are stamped with their append time (Kafka:
// message.timestamp.type=LogAppendTime), so time retention counts from the write: a backfill of
// 2022 candles written today is kept, not deleted at once.

const meta = (bed: TestBed, topic: string) =>
  JSON.parse(readFileSync(join(bed.dir, 'log', 'topics', topic, 'meta.json'), 'utf8'))

describe('topics created for a topology', () => {
  let bed: TestBed
  afterEach(() => bed.close())

  const topology = () => {
    const b = new StreamsBuilder()
    b.stream<{ n: number }>('in', { timestamp: (v) => v.n, name: 'src' })
      .mapValues((v) => v.n * 2)
      .to('out')
    return b.build()
  }

  it('by default outputs keep the event time of their input', async () => {
    bed = new TestBed('cs-topics-')
    await bed.topic('in', 2)
    const streams = await bed.start(topology(), { applicationId: 'topics' })
    await bed.produce('in', [{ key: 'a', value: { n: Date.parse('2022-01-01') } }])
    await streams.flush()
    expect(meta(bed, 'out').timestampType).toBeUndefined()
    const [out] = await bed.records('out')
    expect(out!.timestamp).toBe(Date.parse('2022-01-01'))
    await bed.stop(streams)
  })

  it('outputTimestampType LogAppendTime: output and dead-letter topics stamped on write; the input untouched', async () => {
    bed = new TestBed('cs-topics-')
    await bed.topic('in', 2)
    const streams = await bed.start(topology(), {
      applicationId: 'topics',
      outputTimestampType: 'LogAppendTime',
    })
    await bed.produce('in', [{ key: 'a', value: { n: Date.parse('2022-01-01') } }])
    await streams.flush()
    expect(meta(bed, 'out')).toMatchObject({ partitions: 2, timestampType: 'LogAppendTime' })
    expect(meta(bed, 'in.dlq')).toMatchObject({ timestampType: 'LogAppendTime' })
    expect(meta(bed, 'in').timestampType).toBeUndefined()
    const [out] = await bed.records('out')
    expect(out!.timestamp).toBeGreaterThan(Date.parse('2026-01-01')) // written now, not in 2022
    await bed.stop(streams)
  })
})
