import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StreamsBuilder } from './index.ts'
import { TestBed } from './testing.ts'

// Topics the engine creates for a topology. Output and dead-letter topics are stamped with their
// append time (Kafka: message.timestamp.type=LogAppendTime), so time retention counts from when a
// record was written: a backfill of 2022 candles written today is kept, not deleted at once.
// Every topology here takes event time from the record's value, never from its timestamp.

const meta = (bed: TestBed, topic: string) =>
  JSON.parse(readFileSync(join(bed.dir, 'log', 'topics', topic, 'meta.json'), 'utf8'))

describe('topics created for a topology', () => {
  let bed: TestBed
  afterEach(() => bed.close())

  it('output and dead-letter topics use LogAppendTime; the input keeps what it was created with', async () => {
    bed = new TestBed('cs-topics-')
    await bed.topic('in', 2)
    const b = new StreamsBuilder()
    b.stream<{ n: number }>('in', { timestamp: (v) => v.n, name: 'src' })
      .mapValues((v) => v.n * 2)
      .to('out')
    const streams = await bed.start(b.build(), { applicationId: 'topics' })
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
