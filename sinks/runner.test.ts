import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestBed } from '../engine/testing.ts'
import { type ConsumedRecord, type Consumer, TaskMigratedError, type Transport } from '../engine/transport.ts'
import { type Rejected, SinkRunner, type SinkWriter } from './runner.ts'

// The loop on the real embedded log, with an in-memory writer whose server can be "away".

class MemoryWriter implements SinkWriter {
  readonly name = 'memory'
  readonly topics = ['in']
  readonly calls: number[][] = []
  readonly stored = new Set<number>()
  down = false
  gate: Promise<void> | undefined

  async write(records: ConsumedRecord[]): Promise<Rejected[]> {
    this.calls.push(records.map((r) => r.offset))
    await this.gate
    if (this.down) throw new Error('server away')
    for (const r of records) this.stored.add(Number(r.value))
    return []
  }
  async close(): Promise<void> {}
}

const committed = async (r: SinkRunner) => (await r.committed([{ topic: 'in', partition: 0 }])).get('in-0')

describe('SinkRunner', () => {
  let bed: TestBed
  beforeEach(async () => {
    bed = new TestBed('cs-sink-runner-')
    await bed.topic('in', 1)
    await bed.produce(
      'in',
      Array.from({ length: 250 }, (_, i) => ({ key: 'k', value: i })),
    )
  })
  afterEach(() => bed.close())

  it('commits a batch only once its write is acknowledged', async () => {
    const w = new MemoryWriter()
    let open!: () => void
    w.gate = new Promise((r) => {
      open = r
    })
    const runner = await SinkRunner.start({
      transport: bed.transport,
      writer: w,
      groupId: 'g',
      maxRecords: 100,
      pollMs: 10,
    })
    while (w.calls.length === 0) await sleep(5)
    await sleep(50)
    expect(await committed(runner)).toBeUndefined()
    expect(w.calls).toHaveLength(1)
    w.gate = undefined
    open()
    await runner.caughtUp(5000)
    expect(await committed(runner)).toBe(250)
    expect(w.stored.size).toBe(250)
    await runner.close()
  })

  it('while the server is away: retries the same batch, polls nothing more, commits nothing; then loses nothing', async () => {
    const w = new MemoryWriter()
    w.down = true
    const runner = await SinkRunner.start({
      transport: bed.transport,
      writer: w,
      groupId: 'g',
      maxRecords: 100,
      pollMs: 10,
      backoff: { minMs: 5, maxMs: 20 },
    })
    while (w.calls.length < 5) await sleep(5)
    expect(new Set(w.calls.map((c) => c.join(','))).size).toBe(1) // the one held batch, bounded
    expect(w.calls[0]).toHaveLength(100)
    expect(await committed(runner)).toBeUndefined()
    w.down = false
    await runner.caughtUp(5000)
    expect([...w.stored].sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i))
    await runner.close()
  })

  it('closed while retrying: nothing committed, the next runner of the group writes everything', async () => {
    const w = new MemoryWriter()
    w.down = true
    const first = await SinkRunner.start({
      transport: bed.transport,
      writer: w,
      groupId: 'g',
      maxRecords: 100,
      pollMs: 10,
      backoff: { minMs: 5, maxMs: 20 },
    })
    while (w.calls.length < 2) await sleep(5)
    await first.close()
    const again = new MemoryWriter()
    const second = await SinkRunner.start({
      transport: bed.transport,
      writer: again,
      groupId: 'g',
      pollMs: 10,
    })
    await second.caughtUp(5000)
    expect(again.stored.size).toBe(250)
    expect(again.calls[0]![0]).toBe(0)
    await second.close()
  })

  it("a commit refused as task-migrated drops the pending offsets: the new owner's progress is never moved back", async () => {
    // The group moved on while the first batch was written: its new owner has committed 250 by the
    // time this member's commit is refused. A seam on commit plays that; the log and group are real.
    let refused = false
    const after: number[] = [] // offsets this member commits after the refusal
    const real = bed.transport
    const transport: Transport = Object.create(real, {
      consumer: {
        value: async (...args: Parameters<Transport['consumer']>) => {
          const c: Consumer = await real.consumer(...args)
          const commit = c.commit.bind(c)
          return Object.assign(c, {
            commit: async (offsets: Parameters<Consumer['commit']>[0]) => {
              if (refused) {
                after.push(...offsets.map((o) => o.offset))
                return commit(offsets)
              }
              refused = true
              await commit([{ topic: 'in', partition: 0, offset: 250 }])
              throw new TaskMigratedError('generation 1 is over')
            },
          })
        },
      },
    })
    const w = new MemoryWriter()
    const runner = await SinkRunner.start({ transport, writer: w, groupId: 'g', maxRecords: 100, pollMs: 10 })
    while (!refused) await sleep(5)
    await sleep(200) // polls, and commits if it still held the refused offsets
    await runner.close()
    expect(after.filter((o) => o < 250)).toEqual([])
    expect(await committed(runner)).toBe(250)
  })
})
