// The one seam between the engine and where records live. Two implementations:
//   engine/embedded/  — a durable partitioned log on local disk (single machine, no servers)
//   engine/kafka/     — a real Kafka cluster through @platformatic/kafka
// Topology code, processors and ingest only ever see this interface.

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

export interface ConsumerOptions {
  groupId: string
  topics: string[]
  /** Where to start on partitions with no committed offset. */
  from?: 'earliest' | 'latest'
  /** Called before records of newly assigned partitions are delivered (create tasks, restore state). */
  onAssign?: (partitions: TopicPartition[]) => Promise<void>
  /** Called when partitions are taken away (flush + commit, close tasks). */
  onRevoke?: (partitions: TopicPartition[]) => Promise<void>
}

export interface Consumer {
  /** Next batch of records (possibly empty after `maxWaitMs`), in offset order per partition. */
  poll(maxRecords: number, maxWaitMs: number): Promise<ConsumedRecord[]>
  /** Commit the next offset to read per partition (last processed + 1). */
  commit(offsets: (TopicPartition & { offset: number })[]): Promise<void>
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
  consumer(options: ConsumerOptions): Promise<Consumer>
  /** End offset (next offset to be written) of a partition: used for restore progress and lag. */
  endOffset(tp: TopicPartition): Promise<number>
  /** Reads a partition from `fromOffset` to the end at call time (changelog restore, reprocessing). */
  read(tp: TopicPartition, fromOffset: number): AsyncIterable<ConsumedRecord[]>
  close(): Promise<void>
}

export const tpKey = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`
