import type { KeyValueStore, WindowStore } from '../state/types.ts'

// The low-level Processor API the DSL compiles into. A processor sees one record at a time,
// synchronously; it reads and writes its task's stores synchronously (writes are staged in
// memory and made durable at commit), forwards records to its children and may schedule
// punctuations on wall-clock or stream time.

export interface StreamRecord<K = string, V = unknown> {
  key: K
  value: V
  /** Event time, epoch ms. */
  timestamp: number
  headers?: Record<string, string>
}

export type PunctuationType = 'wall-clock' | 'stream-time'

export interface Cancellable {
  cancel(): void
}

export interface ProcessorContext<KOut = string, VOut = unknown> {
  readonly applicationId: string
  /** `<subtopology>_<partition>`, as in Kafka Streams. */
  readonly taskId: string
  readonly partition: number
  /** Topic and offset of the record being processed; undefined inside a punctuation. */
  readonly topic: string | undefined
  readonly offset: number | undefined
  /** Largest record timestamp this task has seen (-Infinity before the first). */
  streamTime(): number
  /**
   * Wall-clock ms since this task last received an input record (any record, whatever its event
   * time), at wall-clock `now`. Pauses of the processing loop (rebalance, restore) restart it:
   * input may have been waiting then.
   */
  inputIdleMs(now: number): number
  forward(record: StreamRecord<KOut, VOut>): void
  getStateStore<V = unknown>(name: string): KeyValueStore<V>
  getWindowStore<V = unknown>(name: string): WindowStore<V>
  /** Calls `callback(time)` every `intervalMs` of wall-clock or stream time. */
  schedule(intervalMs: number, type: PunctuationType, callback: (timestamp: number) => void): Cancellable
  /**
   * Records a dropped late record (metric `cs_engine_late_records_dropped_total`); with
   * `deadLetter` the input record also goes to `<topic>.dlq`.
   */
  recordLate(record: StreamRecord<unknown, unknown>, options?: { deadLetter?: boolean }): void
}

export interface Processor<KIn = string, VIn = unknown, KOut = KIn, VOut = VIn> {
  /** May be async: it runs once per task, after the task's stores are restored. */
  init?(context: ProcessorContext<KOut, VOut>): void | Promise<void>
  process(record: StreamRecord<KIn, VIn>): void
  /**
   * Forward what the processor holds back (e.g. a thinned latest value): the task calls it before
   * every commit, and so before a clean close or a revocation, so nothing processed and committed
   * is left unforwarded. (A value a processor keeps changing in place after its put must be put
   * again once a commit has taken it: the store's `stagedGeneration` says when.)
   */
  flush?(): void
  close?(): void | Promise<void>
}

export type ProcessorSupplier<KIn = string, VIn = unknown, KOut = KIn, VOut = VIn> = () => Processor<
  KIn,
  VIn,
  KOut,
  VOut
>
