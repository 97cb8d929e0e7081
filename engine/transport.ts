// The one seam between the engine and where records live. Two implementations:
//   engine/embedded/  — a durable partitioned log on local disk (single machine, no servers)
//   engine/kafka/     — a real Kafka cluster through @platformatic/kafka
// Topology code, processors and ingest only ever see this interface.

import { StreamsError } from '../common/errors.ts'

/**
 * ENGINE_TASK_MIGRATED: this instance no longer owns the partitions it worked on (the group moved
 * on, or its producer was fenced). Its uncommitted work must be dropped, never committed.
 */
export class TaskMigratedError extends StreamsError {
  constructor(message: string, options?: ErrorOptions) {
    super('ENGINE', 'TASK_MIGRATED', message, options)
    this.name = 'TaskMigratedError'
  }
}

/** Whether `err` or an error it wraps (cause, errors) has one of `codes` as its code or protocol id. */
export function hasCode(err: unknown, codes: string[]): boolean {
  const seen = new Set<unknown>()
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false
    seen.add(e)
    const o = e as { apiId?: unknown; code?: unknown; errors?: unknown[]; cause?: unknown }
    if (codes.some((c) => o.apiId === c || o.code === c)) return true
    return (o.errors ?? []).some(visit) || visit(o.cause)
  }
  return visit(err)
}

export const isTaskMigrated = (err: unknown): boolean => hasCode(err, ['ENGINE_TASK_MIGRATED'])

export interface TopicPartition {
  topic: string
  partition: number
}

/** A record read from a topic. Keys and values are UTF-8 strings (values are JSON by default serde). */
export interface ConsumedRecord extends TopicPartition {
  offset: number
  key: string
  value: string
  /** Event time in epoch ms (Kafka record timestamp). */
  timestamp: number
  headers?: Record<string, string>
  /** A null value (delete marker in compacted/changelog topics); `value` is then ''. */
  tombstone?: true
}

export interface ProducedRecord {
  topic: string
  key: string
  /** null is a tombstone (deletes the key in compacted/changelog topics). */
  value: string | null
  timestamp?: number
  /** Explicit partition; otherwise murmur2(key) % partitions, as Kafka's default partitioner does. */
  partition?: number
  headers?: Record<string, string>
}

export interface TopicSpec {
  name: string
  partitions: number
  /** Changelog and table topics keep the last value per key. */
  compacted?: boolean
  /**
   * Non-compacted topics: drop records older than this (ms; -1 = forever). Embedded: counted from
   * when they were written. Kafka: from the record timestamp unless `timestampType` is
   * 'LogAppendTime' (historical records written now are deleted at once under 'CreateTime').
   */
  retentionMs?: number
  /** Non-compacted topics: keep about this many bytes per partition (-1 = no limit). */
  retentionBytes?: number
  /**
   * Kafka's `message.timestamp.type`: 'CreateTime' (default) keeps the producer's timestamps;
   * 'LogAppendTime' replaces them with the time the log wrote the record (then time retention
   * counts from the write, and event time must come from the value, not the record timestamp).
   */
  timestampType?: 'CreateTime' | 'LogAppendTime'
}

export interface Producer {
  /** Resolves once the records are durable (fsync'd locally / acked by the broker). */
  send(records: ProducedRecord[]): Promise<void>
  close(): Promise<void>
}

export type Offsets = (TopicPartition & { offset: number })[]

/**
 * Exactly-once: sends and the consumer group's offsets become visible together or not at all
 * (read_committed readers never see the records of a failed or unfinished commit).
 */
export interface TransactionalProducer {
  /**
   * One atomic commit of `records` and `offsets` (the next offset to read per input partition) for
   * `consumer`'s group, fenced by the group generation its partitions were assigned under. A fenced
   * or migrated member fails with ENGINE_TASK_MIGRATED and nothing of the commit is visible.
   */
  commit(records: ProducedRecord[], consumer: Consumer, offsets: Offsets): Promise<void>
  close(): Promise<void>
}

export interface ConsumerOptions {
  groupId: string
  topics: string[]
  /**
   * Topics whose same-numbered partitions must go to the same member (the sources of one
   * sub-topology: one task reads partition p of each). Other topics are assigned on their own.
   */
  copartitioned?: string[][]
  /** Where to start on partitions with no committed offset. */
  from?: 'earliest' | 'latest'
  /**
   * Embedded log: read records as soon as they are appended, before their fsync (default: durable
   * records only). For live views that commit nothing (the gateway's feed): a crash before the
   * fsync can take back a record such a reader saw. Kafka consumers read up to the high watermark
   * whatever this says.
   */
  unsynced?: boolean
  /** Called before records of newly assigned partitions are delivered (create tasks, restore state). */
  onAssign?: (partitions: TopicPartition[]) => Promise<void>
  /** Called when partitions are taken away (flush + commit, close tasks). */
  onRevoke?: (partitions: TopicPartition[]) => Promise<void>
  /**
   * Called when partitions were lost without a chance to commit (the group moved on, or rewind()):
   * drop uncommitted work, close the tasks. Their positions restart at the committed offsets.
   */
  onLost?: (partitions: TopicPartition[]) => Promise<void>
}

export interface Consumer {
  /** Next batch of records (possibly empty after `maxWaitMs`), in offset order per partition. */
  poll(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]>
  /**
   * Commit the next offset to read per partition (last processed + 1), under the group generation
   * the partitions were assigned in: a member that lost them fails with ENGINE_TASK_MIGRATED and
   * nothing is committed (never retried in a later generation).
   */
  commit(offsets: Offsets): Promise<void>
  /** Fails with ENGINE_TASK_MIGRATED if this member no longer owns its assignment (checked before writes). */
  ensureActive(): Promise<void>
  /** Optional: a poll waiting for records (or the next one that would wait) returns at once, empty. */
  wakeup?(): void
  /**
   * Forget positions and buffered records without committing (after a failed commit): the next
   * poll reports every partition lost (onLost) and assigns it again from its committed offset.
   */
  rewind(): void
  committed(partitions: TopicPartition[]): Promise<Map<string, number>>
  assignment(): TopicPartition[]
  close(): Promise<void>
}

export interface Transport {
  readonly kind: 'embedded' | 'kafka'
  createTopics(specs: TopicSpec[]): Promise<void>
  /** Number of partitions, or undefined if the topic does not exist. */
  partitions(topic: string): Promise<number | undefined>
  producer(): Producer
  /** One per engine instance; `transactionalId` is stable across restarts of the instance. */
  transactionalProducer(transactionalId: string): TransactionalProducer
  consumer(options: ConsumerOptions): Promise<Consumer>
  /** End offset (next offset to be written) of a partition: used for restore progress and lag. */
  endOffset(tp: TopicPartition): Promise<number>
  /** Reads a partition from `fromOffset` to the end at call time (changelog restore, reprocessing). */
  read(tp: TopicPartition, fromOffset: number): AsyncIterable<ConsumedRecord[]>
  close(): Promise<void>
}

export const tpKey = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`
