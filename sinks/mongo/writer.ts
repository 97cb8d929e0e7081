import { type AnyBulkWriteOperation, type Db, MongoClient } from 'mongodb'
import type { ConsumedRecord } from '../../engine/transport.ts'
import { sinkMetrics } from '../metrics.ts'
import type { Rejected, SinkWriter } from '../runner.ts'
import type { Version } from '../version.ts'
import { decide, guardFilter, type MongoDoc, mongoTargets, mongoTopics, planBatch } from './plan.ts'

// Writes a batch to MongoDB: per collection, one find of the stored versions of the batch's
// documents, then one bulkWrite of inserts (new documents) and guarded updates (newer versions).
// Deciding on the client instead of upserting with a guard avoids relying on unordered bulk writes
// continuing past duplicate-key errors, which not every MongoDB-wire server does (FerretDB stops).
// A concurrent insert of the same document makes the bulkWrite fail: the runner retries the batch,
// and the retry finds the document and updates it if still newer.

export interface MongoSinkOptions {
  url: string
  db: string
  /** Input topics (default: every topic with a collection). */
  topics?: string[]
  /** Input topics are `<topicPrefix><topic>`. */
  topicPrefix?: string
  /** How long an operation waits for the server before failing (then the runner retries). */
  serverSelectionTimeoutMS?: number
}

export class MongoWriter implements SinkWriter {
  readonly name = 'mongo'
  readonly topics: readonly string[]
  private readonly client: MongoClient
  private readonly db: Db
  private readonly prefix: string
  private indexed = false

  constructor(opts: MongoSinkOptions) {
    this.prefix = opts.topicPrefix ?? ''
    this.topics = opts.topics ?? mongoTopics.map((t) => this.prefix + t)
    this.client = new MongoClient(opts.url, {
      serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000,
      connectTimeoutMS: 5000,
      socketTimeoutMS: 30_000,
      retryWrites: false,
    })
    this.db = this.client.db(opts.db)
  }

  /** Unique (symbol, time) index per collection; idempotent, done before the first write. */
  private async ensureIndexes(): Promise<void> {
    for (const topic of this.topics) {
      const t = mongoTargets[topic.slice(this.prefix.length)]
      if (!t) continue
      await this.db
        .collection(t.collection)
        .createIndex({ symbol: 1, [t.timeField]: 1 }, { unique: true, name: `symbol_${t.timeField}` })
    }
    this.indexed = true
  }

  async write(records: ConsumedRecord[]): Promise<Rejected[]> {
    if (!this.indexed) await this.ensureIndexes()
    const plan = planBatch(records, this.prefix)
    for (const [collection, byId] of plan.docs) await this.writeCollection(collection, [...byId.values()])
    if (plan.coalesced > 0) sinkMetrics.skipped.inc({ sink: this.name, collection: 'batch' }, plan.coalesced)
    return plan.rejected
  }

  private async writeCollection(collection: string, docs: MongoDoc[]): Promise<void> {
    const col = this.db.collection<MongoDoc>(collection)
    const stored = new Map<string, Version>()
    const found = col.find({ _id: { $in: docs.map((d) => d._id) } }, { projection: { _v: 1, closed: 1 } })
    for await (const d of found) stored.set(d._id, d)
    const ops: AnyBulkWriteOperation<MongoDoc>[] = []
    let skipped = 0
    for (const doc of docs) {
      const action = decide(doc, stored.get(doc._id))
      if (action === 'insert') ops.push({ insertOne: { document: doc } })
      else if (action === 'update') {
        const { _id, ...fields } = doc
        ops.push({ updateOne: { filter: guardFilter(doc), update: { $set: fields } } })
      } else skipped++
    }
    if (ops.length > 0) await col.bulkWrite(ops, { ordered: false })
    sinkMetrics.written.inc({ sink: this.name, collection }, ops.length)
    if (skipped > 0) sinkMetrics.skipped.inc({ sink: this.name, collection }, skipped)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
