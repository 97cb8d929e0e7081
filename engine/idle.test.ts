import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../common/log.ts'
import { EmbeddedTransport } from './embedded/transport.ts'
import { Emitted, StreamsBuilder, TimeWindows, type Windowed } from './index.ts'
import { StreamTask } from './task.ts'
import { TestBed } from './testing.ts'

// Idle close (Emitted.onWindowClose idleCloseMs) is measured by input arrival: records that keep
// coming with a constant event time are not idleness, and neither is a paused processing loop.

let bed: TestBed
beforeEach(() => {
  bed = new TestBed()
})
afterEach(async () => {
  await bed.close()
})

interface Tick {
  t: number
}

function countTopology(idleCloseMs: number) {
  const b = new StreamsBuilder()
  b.stream<Tick>('ticks', { timestamp: (v) => v.t })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(1_000, 0))
    .emitStrategy(Emitted.onWindowClose({ idleCloseMs }))
    .count({ name: 'idle-counts' })
    .toStream()
    .map((wk: Windowed<string>, n: number) => [wk.key, { start: wk.window.start, n }])
    .to('counts')
  return b.build()
}

describe('idle close', () => {
  it('does not close a window while records with a constant event time keep arriving', async () => {
    await bed.topic('ticks')
    const streams = await bed.start(countTopology(1_000), { applicationId: 'idle-const' })
    // 60 records, one every 50 ms, all at event time 500 (window [0, 1000)): over 3 s of input,
    // longer than idleCloseMs + the window's remaining 500 ms, but never 1 s without a record.
    for (let i = 0; i < 60; i++) {
      await bed.produce('ticks', [{ key: 'BTC', value: { t: 500 }, timestamp: 500 }])
      await sleep(50)
    }
    await streams.flush()
    // Then the input stops: the wall clock closes the window, with all 60 records.
    for (let i = 0; i < 200 && (await bed.records('counts')).length === 0; i++) await sleep(50)
    expect(await bed.values('counts')).toEqual([{ start: 0, n: 60 }])
  })

  it('a pause of the processing loop (rebalance) is not idleness', async () => {
    const transport = new EmbeddedTransport({ dir: `${bed.dir}/task-log` })
    await transport.createTopics([
      { name: 'idle-pause-idle-counts-changelog', partitions: 1, compacted: true },
    ])
    const topology = countTopology(500)
    const sub = topology.subtopologies()[0]!
    const task = new StreamTask(topology, sub, 0, {
      applicationId: 'idle-pause',
      stateDir: bed.stateDir,
      transport,
      restoreTimeoutMs: 10_000,
      processingErrors: 'fail',
      log: createLogger('test'),
    })
    await task.open()
    const rec = (offset: number) => ({
      topic: 'ticks',
      partition: 0,
      offset,
      key: 'BTC',
      value: JSON.stringify({ t: 500 }),
      timestamp: 500,
    })
    task.process(rec(0))
    const t0 = Date.now()
    task.punctuate('wall-clock', t0 + 100)
    // The loop stalls 30 s (a rebalance): when it resumes, the first rounds must not close [0, 1s):
    // records may be waiting in the next poll.
    task.punctuate('wall-clock', t0 + 30_000)
    task.punctuate('wall-clock', t0 + 30_100)
    expect(task.out).toEqual([])
    // No input after the pause either: idleCloseMs (+ the window's remaining 500 ms of event
    // time) after the loop resumed, it closes.
    for (let t = t0 + 30_200; t < t0 + 30_900; t += 100) task.punctuate('wall-clock', t)
    expect(task.out).toEqual([])
    for (let t = t0 + 30_900; t <= t0 + 31_600; t += 100) task.punctuate('wall-clock', t)
    expect(task.out.map((r) => JSON.parse(r.value as string))).toEqual([{ start: 0, n: 1 }])
    await task.close()
    await transport.close()
  })
})
