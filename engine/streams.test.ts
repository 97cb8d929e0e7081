import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registry } from '../common/metrics.ts'
import { KafkaStreams, StreamsBuilder } from './index.ts'
import { TestBed } from './testing.ts'

let bed: TestBed
beforeEach(() => {
  bed = new TestBed()
})
afterEach(async () => {
  await bed.close()
})

type Values = { labels: Record<string, string | number>; value: number; metricName?: string }[]
async function values(name: string): Promise<Values> {
  return ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []) as Values
}

function failing() {
  const b = new StreamsBuilder()
  b.stream<{ n: number }>('in', { name: 'src' })
    .mapValues((v) => {
      if (v.n === 2) throw new Error('two is not allowed')
      return v.n
    })
    .groupByKey()
    .reduce((a, v) => a + v, { name: 'sum' })
    .toStream()
    .to('out', { name: 'sink' })
  return b.build()
}

describe('runtime', () => {
  it('a throwing processor stops the engine by default, with the error', async () => {
    await bed.topic('in')
    await bed.produce(
      'in',
      [1, 2, 3].map((n) => ({ key: 'k', value: { n } })),
    )
    const streams = await bed.start(failing(), { applicationId: 'fail' })
    await expect(streams.flush(5_000)).rejects.toThrow('two is not allowed')
    expect(streams.state).toBe('error')
    await streams.close()
    expect(streams.state).toBe('closed')
  })

  it('processingErrors: dead-letter sends the record to the DLQ and goes on', async () => {
    await bed.topic('in')
    await bed.produce(
      'in',
      [1, 2, 3].map((n) => ({ key: 'k', value: { n } })),
    )
    const streams = await bed.start(failing(), { applicationId: 'skip', processingErrors: 'dead-letter' })
    await streams.flush()
    expect(await streams.keyValueStore<number>('sum').get('k')).toBe(4)
    const dead = await bed.records('in.dlq')
    expect(dead.map((r) => [r.value, r.headers?.['dlq.reason'], r.headers?.['dlq.error']])).toEqual([
      ['{"n":2}', 'processing', 'two is not allowed'],
    ])
  })

  it('reports records in/out per node, commit latency, lag, store size and restore progress', async () => {
    await bed.topic('in', 2)
    await bed.produce(
      'in',
      [1, 3, 5, 7].map((n, i) => ({ key: `k${i}`, value: { n } })),
    )
    const streams = await bed.start(failing(), { applicationId: 'metrics' })
    await streams.flush()
    const of = (v: Values, labels: Record<string, string>) =>
      v
        .filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
        .reduce((a, x) => a + x.value, 0)
    expect(of(await values('cs_engine_records_in_total'), { app: 'metrics', node: 'src' })).toBe(4)
    expect(of(await values('cs_engine_records_out_total'), { app: 'metrics', node: 'sink' })).toBe(4)
    const commits = (await values('cs_engine_commit_latency_seconds')).find(
      (x) => x.metricName === 'cs_engine_commit_latency_seconds_count' && x.labels.app === 'metrics',
    )
    expect(commits?.value).toBeGreaterThan(0)
    const lag = (await values('cs_engine_consumer_lag')).filter((x) => x.labels.app === 'metrics')
    expect(lag.map((x) => x.labels.topic).sort()).toEqual(['in', 'in'])
    expect((await values('cs_state_store_bytes')).some((x) => x.labels.app === 'metrics')).toBe(true)
    const progress = (await values('cs_state_restore_progress_ratio')).filter(
      (x) => x.labels.app === 'metrics',
    )
    expect(progress.map((x) => x.value)).toEqual([1, 1])
  })

  it('interactive queries: clear errors for unknown stores and before start', async () => {
    await bed.topic('in')
    const streams = new KafkaStreams(failing(), {
      applicationId: 'iq',
      transport: bed.transport,
      stateDir: bed.stateDir,
    })
    expect(() => streams.store('nope')).toThrow(/no store "nope"/)
    await expect(streams.keyValueStore('sum').get('k')).rejects.toThrow(/not queryable: engine is created/)
    expect(() => streams.windowStore('sum')).toThrow(/not a window store/)
    expect(streams.describe().changelogTopics).toEqual(['iq-sum-changelog'])
  })

  it('refuses to start when a source topic is missing', async () => {
    const streams = new KafkaStreams(failing(), {
      applicationId: 'missing',
      transport: bed.transport,
      stateDir: bed.stateDir,
    })
    await expect(streams.start()).rejects.toThrow(/source topic "in" does not exist/)
  })
})
