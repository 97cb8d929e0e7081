import { ConnectionPool, Producer as KafkaClientProducer, stringSerializers } from '@platformatic/kafka'
import { createLogger } from '../../common/log.ts'
import {
  type Consumer,
  hasCode,
  type Offsets,
  type ProducedRecord,
  TaskMigratedError,
  type TransactionalProducer,
} from '../transport.ts'
import { KafkaGroupConsumer } from './consumer.ts'
import { bounded, KafkaTransportError } from './errors.ts'
import { type KafkaTransport, sleep } from './transport.ts'

// Exactly-once on Kafka (Kafka Streams' exactly_once_v2): one transactional producer per engine
// instance; each commit is   begin → outputs + changelog records → AddOffsetsToTxn →
// TxnOffsetCommit (with the group generation and member id the input was assigned under, so a
// member the group has moved past is fenced: KIP-447) → EndTxn(commit).
// On any error the transaction is aborted (best effort) and the client replaced: the next commit
// starts with InitProducerId, which also aborts whatever this transactional id left open.
//
// Two client defects (@platformatic/kafka 2.12) are worked around here and in records.ts:
//   - InitProducerId is sent with producer id 0 / epoch 0 unless given, which the coordinator takes
//     as "resume producer 0 epoch 0": a restarted instance with the same transactional id was
//     fenced (INVALID_PRODUCER_EPOCH). We pass -1 / -1, what a new producer must send.
//   - the read_committed filter keeps one aborted range per producer per fetch: records.ts filters
//     aborted transactions itself.

const log = createLogger('engine.kafka.txn')
type Transaction = Awaited<
  ReturnType<KafkaClientProducer<string, string, string, string>['beginTransaction']>
>
/** transaction.timeout.ms: an instance that dies mid-commit blocks read_committed readers at most this long (a restart aborts at once). */
export const TRANSACTION_TIMEOUT_MS = 10_000
/** Produce rounds per commit at most (the first and resends of failed partitions). */
const RESEND_ROUNDS = 4
/**
 * Partition errors worth a resend within the transaction: no answer (-1), UNKNOWN_TOPIC_OR_PARTITION,
 * LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND).
 */
const RESENDABLE = new Set([-1, 3, 5, 6, 7, 19, 20])
/** The coordinator fenced this producer or its epoch: another incarnation took the transactional id, or the coordinator aborted us. */
const FENCED = [
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'TRANSACTIONAL_ID_NOT_FOUND',
]

export class KafkaTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string
  private readonly transport: KafkaTransport
  private client: KafkaClientProducer<string, string, string, string> | undefined
  private closed = false
  /** Connections the transaction's records go out on (produce.ts encodes them). */
  private readonly pool: ConnectionPool
  /** Next sequence number per partition for the producer id and epoch in `incarnation`. */
  private readonly sequences = new Map<string, number>()
  private incarnation = ''

  constructor(transport: KafkaTransport, transactionalId: string) {
    this.transport = transport
    this.transactionalId = transactionalId
    this.pool = new ConnectionPool(`${transport.opts.clientId}-txn`, {
      connectTimeout: 5000,
      requestTimeout: transport.opts.requestTimeoutMs,
    })
  }

  private open(): KafkaClientProducer<string, string, string, string> {
    const t = this.transport.opts
    return new KafkaClientProducer({
      clientId: `${t.clientId}-txn`,
      bootstrapBrokers: t.brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      transactionalId: this.transactionalId,
      retries: 3,
      retryDelay: 200,
      // The client sends its request timeout as the transaction timeout in InitProducerId.
      timeout: TRANSACTION_TIMEOUT_MS,
    })
  }

  async commit(records: ProducedRecord[], consumer: Consumer, offsets: Offsets): Promise<void> {
    if (this.closed) throw new KafkaTransportError('CLOSED', 'commit on a closed transactional producer')
    if (!(consumer instanceof KafkaGroupConsumer))
      throw new KafkaTransportError(
        'INVALID',
        'exactly-once commits need a consumer of the same Kafka transport',
      )
    const generation = consumer.groupGeneration()
    this.client ??= this.open()
    const client = this.client
    const trace = this.transport.trace
    const call = <T>(what: string, op: () => Promise<T>, phase: string) =>
      trace.time(phase, () => this.transport.call(`${what} (${this.transactionalId})`, op))
    let tx: Transaction | undefined
    try {
      tx = await call(
        'begin transaction',
        () => client.beginTransaction({ producerId: -1n, producerEpoch: -1 }),
        'txn.begin',
      )
      const t = tx
      if (records.length > 0) {
        // The partitions join the transaction (AddPartitionsToTxn, by the client), then the records
        // go out as transactional batches encoded by produce.ts, all requests at once.
        const byPartition = await this.transport.route(records)
        const md = await call(
          'metadata',
          () => client.metadata({ topics: [...byPartition.keys()] }),
          'metadata',
        )
        const tps: { topic: string; partition: number }[] = []
        for (const [topic, parts] of byPartition)
          for (const partition of parts.keys()) tps.push({ topic, partition })
        await call(
          'add partitions to transaction',
          () => t.addPartitions(md, tps as Parameters<typeof t.addPartitions>[1]),
          'txn.addPartitions',
        )
        const owner = { producerId: client.producerId!, producerEpoch: client.producerEpoch! }
        const incarnation = `${owner.producerId}:${owner.producerEpoch}`
        if (this.incarnation !== incarnation) {
          this.sequences.clear()
          this.incarnation = incarnation
        }
        let pending = byPartition
        for (let attempt = 1; ; attempt++) {
          const { failed, error } = await this.transport.produceRound(this.pool, pending, {
            ...owner,
            sequences: this.sequences,
            transactionalId: this.transactionalId,
            refresh: attempt > 1,
          })
          if (!error) break
          // A partition whose leader moved (or a topic just created) goes again within the
          // transaction, from its first unacknowledged batch with the same sequence numbers (the
          // broker drops a batch it already has); any other error aborts the transaction.
          if (attempt >= RESEND_ROUNDS || [...failed.values()].some((f) => !RESENDABLE.has(f.code)))
            throw error
          const again: ProducedRecord[] = []
          for (const [key, f] of failed) {
            this.sequences.set(key, f.sequence)
            for (const r of f.records) again.push(r)
          }
          if (again.length === 0) throw error
          pending = await this.transport.route(again)
          await sleep(100 * attempt)
        }
      }
      if (offsets.length > 0) {
        await call(
          'add offsets to transaction',
          () => t.addConsumer({ groupId: generation.groupId } as Parameters<typeof t.addConsumer>[0]),
          'txn.addOffsets',
        )
        await consumer.txnCommit(
          generation,
          {
            transactionalId: this.transactionalId,
            producerId: client.producerId!,
            producerEpoch: client.producerEpoch!,
          },
          offsets,
        )
      }
      await call('commit transaction', () => t.commit(), 'txn.end')
    } catch (err) {
      await this.reset(tx)
      if (hasCode(err, FENCED))
        throw new TaskMigratedError(`transactional producer ${this.transactionalId} was fenced`, {
          cause: err,
        })
      throw err
    }
  }

  /** Aborts (best effort) and drops the client: the next commit re-initializes the transactional id. */
  private async reset(tx: Transaction | undefined): Promise<void> {
    const client = this.client
    this.client = undefined
    if (tx && !tx.completed)
      await bounded('abort transaction', 5000, () => tx.abort()).catch((err) =>
        log.debug('abort failed (the next InitProducerId aborts it)', { err: (err as Error).message }),
      )
    if (client) await bounded('producer close', 5000, () => client.close(true)).catch(() => {})
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.transport.forget(this)
    await this.reset(undefined)
    await bounded('connections close', 5000, () => this.pool.close()).catch(() => {})
  }
}
