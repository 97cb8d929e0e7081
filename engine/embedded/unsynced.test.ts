import { afterEach, describe, expect, it } from 'vitest'
import { tempDirs } from '../../test/tmpdirs.ts'
import { heldDisk } from './held-disk.fixture.ts'
import { EmbeddedTransport } from './transport.ts'

// Readers of unsynced records (ConsumerOptions.unsynced, the gateway's live feed) see a record
// when it is appended, without waiting for its fsync; every other reader still sees only durable
// records. The disk here holds every fdatasync until the test lets it go.

const tmp = tempDirs('cs-unsynced-')

const record = (n: number) => ({
  topic: 'live',
  key: 'BTCUSDT',
  value: `{"n":${n}}`,
  timestamp: 1_700_000_000_000,
})

describe('embedded log: unsynced readers', () => {
  let transport: EmbeddedTransport | undefined
  afterEach(async () => {
    await transport?.close()
    transport = undefined
  })

  it('an unsynced consumer gets a record before its fsync; a default consumer only after', async () => {
    const disk = heldDisk()
    transport = new EmbeddedTransport({ dir: tmp(), io: disk.io })
    await transport.createTopics([{ name: 'live', partitions: 1 }])
    const live = await transport.consumer({ groupId: 'live', topics: ['live'], unsynced: true })
    const durable = await transport.consumer({ groupId: 'durable', topics: ['live'] })
    expect(await live.poll(10, 0)).toEqual([])

    // the live reader waits first: the append itself wakes it (its fsync is still held)
    const woken = live.poll(10, 60_000)
    const sent = transport.producer().send([record(1)])
    const got = await woken
    expect(got.map((r) => r.value)).toEqual(['{"n":1}'])
    expect(await durable.poll(10, 0)).toEqual([])
    expect(await transport.endOffset({ topic: 'live', partition: 0 })).toBe(0)

    disk.release()
    await sent
    expect((await durable.poll(10, 0)).map((r) => r.value)).toEqual(['{"n":1}'])
    expect(await live.poll(10, 0)).toEqual([]) // nothing twice
  })

  it('an unsynced consumer still skips records of a transaction that is not committed', async () => {
    const disk = heldDisk()
    transport = new EmbeddedTransport({ dir: tmp(), io: disk.io })
    await transport.createTopics([
      { name: 'live', partitions: 1 },
      { name: 'in', partitions: 1 },
    ])
    const live = await transport.consumer({ groupId: 'live', topics: ['live'], unsynced: true })
    const input = await transport.consumer({ groupId: 'app', topics: ['in'] })
    const commit = transport
      .transactionalProducer('app-0')
      .commit([record(1)], input, [{ topic: 'in', partition: 0, offset: 0 }])
    // appended, but its commit point waits for the held fsync: hidden
    await new Promise((r) => setImmediate(r))
    expect(await live.poll(10, 0)).toEqual([])
    await disk.releaseUntil(commit)
    expect((await live.poll(10, 0)).map((r) => r.value)).toEqual(['{"n":1}'])
  })
})
