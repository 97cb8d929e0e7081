import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../common/log.ts'
import { deadLetterTopic } from '../common/topics.ts'
import type { ConsumedRecord, Consumer, TopicPartition, Transport } from '../engine/transport.ts'
import { isTaskMigrated, tpKey } from '../engine/transport.ts'
import { sinkMetrics } from './metrics.ts'

// The consume → write → commit loop both sinks share. One batch at a time: poll, write it until
// the server acknowledges (retrying with backoff for as long as it takes), then commit its
// offsets. While a write is being retried nothing is polled, so a server that is away pauses
// consumption (back-pressure) and memory stays at one batch; nothing is committed that was not
// written, so a crash or a rebalance replays at most the uncommitted batches, which the writers
// apply idempotently.

const log = createLogger('sinks.runner')

/** A malformed input record: not written, sent to `<topic>.dlq`. */
export interface Rejected {
  record: ConsumedRecord
  error: string
}

export interface SinkWriter {
  /** Metric/log label: `mongo`, `redis`. */
  readonly name: string
  readonly topics: readonly string[]
  /** Resolves once the server acknowledged the whole batch; throws on a server error (retried). */
  write(records: ConsumedRecord[]): Promise<Rejected[]>
  close(): Promise<void>
}

export interface RunnerOptions {
  transport: Transport
  writer: SinkWriter
  groupId: string
  /** Records per batch (the memory bound). Default 2000. */
  maxRecords?: number
  pollMs?: number
  /** Retry backoff: doubles from minMs to maxMs. */
  backoff?: { minMs: number; maxMs: number }
}

export function backoffMs(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
}

/** The next offset to commit per partition for a batch (last offset + 1). */
export function nextOffsets(records: ConsumedRecord[]): Map<string, TopicPartition & { offset: number }> {
  const out = new Map<string, TopicPartition & { offset: number }>()
  for (const r of records) {
    const k = tpKey(r)
    const cur = out.get(k)
    if (!cur || r.offset + 1 > cur.offset)
      out.set(k, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
  }
  return out
}

export class SinkRunner {
  private readonly opts: Required<RunnerOptions>
  private consumer!: Consumer
  /** Written but not yet committed (a failed commit is retried with the next one). */
  private readonly pending = new Map<string, TopicPartition & { offset: number }>()
  private closing = false
  private wake = new AbortController()
  private loop: Promise<void> = Promise.resolve()

  private constructor(opts: RunnerOptions) {
    this.opts = { maxRecords: 2000, pollMs: 200, backoff: { minMs: 100, maxMs: 5000 }, ...opts }
  }

  static async start(opts: RunnerOptions): Promise<SinkRunner> {
    const r = new SinkRunner(opts)
    r.consumer = await opts.transport.consumer({
      groupId: opts.groupId,
      topics: [...opts.writer.topics],
      from: 'earliest',
      onRevoke: (tps) => r.commitPending(tps),
      // lost without a commit (the group moved on): what was written stays written, but its
      // offsets are no longer ours to commit — the new owner replays from the committed ones
      onLost: async (tps) => {
        for (const tp of tps) r.pending.delete(tpKey(tp))
      },
    })
    r.loop = r.run()
    return r
  }

  get name(): string {
    return this.opts.writer.name
  }

  private async run(): Promise<void> {
    let pollFailures = 0
    while (!this.closing) {
      let batch: ConsumedRecord[]
      try {
        batch = await this.consumer.poll(this.opts.maxRecords, this.opts.pollMs)
        pollFailures = 0
      } catch (err) {
        if (this.closing) break
        sinkMetrics.errors.inc({ sink: this.name, stage: 'poll' })
        log.warn('poll failed, retrying', { sink: this.name, err })
        await this.pause(pollFailures++)
        continue
      }
      if (batch.length === 0) {
        if (this.pending.size > 0) await this.commitPending()
        continue
      }
      if (!(await this.writeUntilAcknowledged(batch))) break
      for (const [k, o] of nextOffsets(batch)) this.pending.set(k, o)
      await this.commitPending()
    }
  }

  /** false when closed before the write succeeded (then nothing of the batch is committed). */
  private async writeUntilAcknowledged(batch: ConsumedRecord[]): Promise<boolean> {
    const sink = this.name
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now()
      try {
        const rejected = await this.opts.writer.write(batch)
        if (rejected.length > 0) await this.deadLetter(rejected)
        sinkMetrics.writeLatency.observe({ sink }, (performance.now() - t0) / 1000)
        sinkMetrics.batchSize.observe({ sink }, batch.length)
        if (attempt > 0) log.info('write succeeded after retries', { sink, attempts: attempt + 1 })
        return true
      } catch (err) {
        sinkMetrics.errors.inc({ sink, stage: 'write' })
        if (attempt === 0 || attempt % 10 === 0)
          log.warn('write failed, holding offsets and retrying', {
            sink,
            attempt,
            records: batch.length,
            err,
          })
        if (this.closing) return false
        await this.pause(attempt)
        if (this.closing) return false
      }
    }
  }

  private async deadLetter(rejected: Rejected[]): Promise<void> {
    const t = this.opts.transport
    for (const dlq of new Set(rejected.map((r) => deadLetterTopic(r.record.topic))))
      if ((await t.partitions(dlq)) === undefined) await t.createTopics([{ name: dlq, partitions: 1 }])
    const producer = t.producer()
    try {
      await producer.send(
        rejected.map(({ record: r, error }) => ({
          topic: deadLetterTopic(r.topic),
          key: r.key,
          value: r.value,
          headers: {
            'dlq.reason': 'malformed',
            'dlq.error': error,
            'dlq.topic': r.topic,
            'dlq.offset': String(r.offset),
            'dlq.sink': this.name,
          },
        })),
      )
    } finally {
      await producer.close()
    }
    for (const r of rejected)
      sinkMetrics.deadLettered.inc({ sink: this.name, topic: deadLetterTopic(r.record.topic) })
    log.warn('malformed records dead-lettered', {
      sink: this.name,
      count: rejected.length,
      first: rejected[0]?.error,
    })
  }

  /** Commits what was written; a failure leaves it pending for the next commit (offsets are cumulative). */
  private async commitPending(only?: TopicPartition[]): Promise<void> {
    const keys = only ? only.map(tpKey).filter((k) => this.pending.has(k)) : [...this.pending.keys()]
    if (keys.length === 0) return
    const offsets = keys.map((k) => this.pending.get(k)!)
    try {
      await this.consumer.commit(offsets)
      // Only the loop (and onRevoke, called inside its poll) touches pending: nothing raced in.
      for (const k of keys) this.pending.delete(k)
    } catch (err) {
      sinkMetrics.errors.inc({ sink: this.name, stage: 'commit' })
      if (isTaskMigrated(err)) {
        // A later generation owns these partitions now: committing our offsets there could move
        // its progress back. Drop them all and rejoin from the committed offsets (writes are idempotent).
        log.warn('commit refused: partitions migrated, rejoining from committed offsets', { sink: this.name })
        this.pending.clear()
        this.consumer.rewind()
        return
      }
      log.warn('commit failed, kept for the next commit', { sink: this.name, err })
      if (only) for (const k of keys) this.pending.delete(k) // revoked: the new owner replays them
    }
  }

  private async pause(attempt: number): Promise<void> {
    const { minMs, maxMs } = this.opts.backoff
    const ms = backoffMs(attempt, minMs, maxMs) * (0.75 + Math.random() * 0.5)
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => {})
  }

  /** This group's committed offsets of the given partitions (`topic-partition` → next offset). */
  committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    return this.consumer.committed(partitions)
  }

  /**
   * Resolves once this group's committed offsets reach the end offsets the input partitions had
   * when called (tests and draining); rejects after timeoutMs.
   */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const t = this.opts.transport
    const targets: (TopicPartition & { offset: number })[] = []
    for (const topic of this.opts.writer.topics) {
      const n = (await t.partitions(topic)) ?? 0
      for (let partition = 0; partition < n; partition++)
        targets.push({ topic, partition, offset: await t.endOffset({ topic, partition }) })
    }
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const committed = await this.consumer.committed(targets)
      if (targets.every((tp) => tp.offset === 0 || (committed.get(tpKey(tp)) ?? 0) >= tp.offset)) return
      if (Date.now() > deadline) throw new Error(`sink ${this.name} not caught up within ${timeoutMs} ms`)
      await sleep(20)
    }
  }

  async close(): Promise<void> {
    if (this.closing) return this.loop
    this.closing = true
    this.wake.abort()
    await this.loop
    await this.commitPending()
    await this.consumer.close()
    await this.opts.writer.close()
  }
}
