import { afterEach, describe, expect, it } from 'vitest'
import { heldDisk } from '../../engine/embedded/held-disk.fixture.ts'
import { EmbeddedTransport } from '../../engine/embedded/transport.ts'
import { tempDirs } from '../../test/tmpdirs.ts'
import { BatchSink } from './sink.ts'

// A pipelined sink hands the next turn's records to the embedded log while the previous send is
// still waiting for its fsync (here: held until the test lets it go), in order, and flush() waits
// for every send.

const tmp = tempDirs('cs-sink-')

const record = (n: number) => ({
  topic: 'k',
  key: 'BTCUSDT',
  value: `{"n":${n}}`,
  timestamp: 1_700_000_000_000,
})

describe('BatchSink', () => {
  let transport: EmbeddedTransport | undefined
  afterEach(async () => {
    await transport?.close()
    transport = undefined
  })

  it('pipelined: a record is appended while the previous send waits for its fsync', async () => {
    const disk = heldDisk()
    transport = new EmbeddedTransport({ dir: tmp(), io: disk.io })
    await transport.createTopics([{ name: 'k', partitions: 1 }])
    const live = await transport.consumer({ groupId: 'live', topics: ['k'], unsynced: true })
    const errors: unknown[] = []
    const sink = new BatchSink(transport.producer(), (e) => errors.push(e), { pipelined: true })

    sink.fire(record(1))
    expect((await live.poll(10, 10_000)).map((r) => r.value)).toEqual(['{"n":1}'])
    const durable = sink.push([record(2)]) // the first send's fsync is still held
    expect((await live.poll(10, 10_000)).map((r) => r.value)).toEqual(['{"n":2}'])

    await disk.releaseUntil(sink.flush())
    await durable
    const all = await transport.consumer({ groupId: 'all', topics: ['k'] })
    expect((await all.poll(10, 0)).map((r) => r.value)).toEqual(['{"n":1}', '{"n":2}'])
    expect(errors).toEqual([])
  })

  it('not pipelined (the default): one send at a time, what arrives meanwhile goes next, in order', async () => {
    const disk = heldDisk()
    transport = new EmbeddedTransport({ dir: tmp(), io: disk.io })
    await transport.createTopics([{ name: 'k', partitions: 1 }])
    const live = await transport.consumer({ groupId: 'live', topics: ['k'], unsynced: true })
    const sink = new BatchSink(transport.producer(), () => {})
    sink.fire(record(1))
    expect((await live.poll(10, 10_000)).map((r) => r.value)).toEqual(['{"n":1}'])
    sink.fire(record(2))
    sink.fire(record(3))
    await new Promise((r) => setImmediate(r))
    expect(await live.poll(10, 0)).toEqual([]) // waiting for the first send's fsync
    await disk.releaseUntil(sink.flush())
    expect((await live.poll(10, 0)).map((r) => r.value)).toEqual(['{"n":2}', '{"n":3}'])
  })
})
