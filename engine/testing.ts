import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../common/log.ts'
import { EmbeddedTransport } from './embedded/transport.ts'
import { KafkaStreams, type StreamsOptions } from './streams.ts'
import { StreamTask } from './task.ts'
import type { Topology } from './topology.ts'
import type { ConsumedRecord, ProducedRecord } from './transport.ts'

// A real engine on a throwaway embedded log, for tests of topologies (no mocks): produce input,
// run, `flush()` until caught up, read output topics, query stores.

export class TestBed {
  readonly dir: string
  readonly stateDir: string
  transport: EmbeddedTransport
  private readonly running = new Set<KafkaStreams>()

  constructor(prefix = 'cs-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix))
    this.stateDir = join(this.dir, 'state')
    this.transport = new EmbeddedTransport({ dir: join(this.dir, 'log') })
  }

  async topic(name: string, partitions = 1): Promise<void> {
    await this.transport.createTopics([{ name, partitions }])
  }

  /** Values are JSON-encoded unless already strings. */
  async produce(
    topic: string,
    records: { key: string; value: unknown; timestamp?: number; partition?: number }[],
  ): Promise<void> {
    const out: ProducedRecord[] = records.map((r) => ({
      topic,
      key: r.key,
      value: r.value === null ? null : typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
      timestamp: r.timestamp ?? 0,
      ...(r.partition !== undefined ? { partition: r.partition } : {}),
    }))
    await this.transport.producer().send(out)
  }

  /** Every record of a topic, all partitions, in (partition, offset) order. */
  async records(topic: string): Promise<ConsumedRecord[]> {
    const n = (await this.transport.partitions(topic)) ?? 0
    const out: ConsumedRecord[] = []
    for (let p = 0; p < n; p++)
      for await (const b of this.transport.read({ topic, partition: p }, 0)) out.push(...b)
    return out
  }

  /** Values of a topic decoded as JSON, in (partition, offset) order. */
  async values<T = unknown>(topic: string): Promise<T[]> {
    return (await this.records(topic)).map((r) => JSON.parse(r.value) as T)
  }

  /**
   * One stream task of `topology`'s first subtopology on `partition`, opened (its stores restored
   * from their changelogs on this log): for tests that drive process()/punctuate() themselves.
   */
  async openTask(topology: Topology, applicationId: string, partition = 0): Promise<StreamTask> {
    const task = new StreamTask(topology, topology.subtopologies()[0]!, partition, {
      applicationId,
      stateDir: this.stateDir,
      transport: this.transport,
      restoreTimeoutMs: 10_000,
      processingErrors: 'fail',
      log: createLogger('test'),
    })
    await task.open()
    return task
  }

  async start(
    topology: Topology,
    options: Partial<StreamsOptions> & { applicationId: string },
  ): Promise<KafkaStreams> {
    const streams = new KafkaStreams(topology, {
      transport: this.transport,
      stateDir: this.stateDir,
      commitIntervalMs: 50,
      pollMs: 10,
      ...options,
    })
    await streams.start()
    this.running.add(streams)
    return streams
  }

  async stop(streams: KafkaStreams): Promise<void> {
    await streams.close()
    this.running.delete(streams)
  }

  /** Closes and reopens the log from disk (what a process restart does). */
  async reopen(): Promise<void> {
    await this.transport.close()
    this.transport = new EmbeddedTransport({ dir: join(this.dir, 'log') })
  }

  async close(): Promise<void> {
    for (const s of this.running) await s.close()
    this.running.clear()
    await this.transport.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
