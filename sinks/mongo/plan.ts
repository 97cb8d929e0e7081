import { parseKline } from '../../common/records.ts'
import { topics } from '../../common/topics.ts'
import type { ConsumedRecord } from '../../engine/transport.ts'
import type { Rejected } from '../runner.ts'
import { supersedes, type Version } from '../version.ts'

// Pure part of the MongoDB sink: which collection a topic goes to, the document of a record,
// coalescing a batch to the newest version per document, and what to do against the stored one.

export interface MongoTarget {
  collection: string
  /** The time field of the unique key (symbol, <timeField>). */
  timeField: 'openTime' | 'time'
  toDoc(value: unknown): Record<string, unknown>
}

const kline = (collection: string): MongoTarget => ({
  collection,
  timeField: 'openTime',
  toDoc: (v) => ({ ...parseKline(v) }),
})

export const mongoTargets: Readonly<Record<string, MongoTarget>> = {
  [topics.kline5m]: kline('5m_kline'),
  [topics.kline1h]: kline('1h_kline'),
  [topics.kline4h]: kline('4h_kline'),
  [topics.kline1d]: kline('1d_kline'),
  [topics.predictions]: { collection: 'predictions', timeField: 'time', toDoc: parsePrediction },
}

export const mongoTopics: readonly string[] = Object.keys(mongoTargets)

const SYMBOL = /^[A-Z0-9]{2,20}$/

/** Predictions are stored as produced; only the key fields are checked. */
export function parsePrediction(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error('prediction: expected an object')
  const o = v as Record<string, unknown>
  if (typeof o.symbol !== 'string' || !SYMBOL.test(o.symbol)) throw new Error('prediction.symbol: invalid')
  if (typeof o.time !== 'number' || !Number.isSafeInteger(o.time) || o.time < 0)
    throw new Error('prediction.time: expected epoch ms')
  return { ...o }
}

export type MongoDoc = Version & { _id: string } & Record<string, unknown>

export interface MongoPlan {
  /** collection → newest version per _id, in first-seen order. */
  docs: Map<string, Map<string, MongoDoc>>
  rejected: Rejected[]
  /** Records replaced by a newer version of the same document in the batch. */
  coalesced: number
}

/** `topicPrefix`: input topics are `<prefix><topic>` (benches, shared brokers). */
export function planBatch(records: ConsumedRecord[], topicPrefix = ''): MongoPlan {
  const plan: MongoPlan = { docs: new Map(), rejected: [], coalesced: 0 }
  for (const r of records) {
    const target = mongoTargets[r.topic.slice(topicPrefix.length)]
    if (!target || r.tombstone) continue
    let doc: MongoDoc
    try {
      const fields = target.toDoc(JSON.parse(r.value))
      const id = `${fields.symbol}:${fields[target.timeField]}`
      doc = { _id: id, ...fields, _v: r.offset }
    } catch (err) {
      plan.rejected.push({ record: r, error: (err as Error).message })
      continue
    }
    const byId = plan.docs.get(target.collection) ?? new Map<string, MongoDoc>()
    plan.docs.set(target.collection, byId)
    const prev = byId.get(doc._id)
    if (prev) plan.coalesced++
    if (supersedes(doc, prev)) byId.set(doc._id, doc)
  }
  return plan
}

export type Action = 'insert' | 'update' | 'skip'

export function decide(doc: MongoDoc, stored: Version | undefined): Action {
  if (!stored) return 'insert'
  return supersedes(doc, stored) ? 'update' : 'skip'
}

/** The update filter that re-checks `supersedes` on the server (a concurrent writer may have won). */
export function guardFilter(doc: MongoDoc): Record<string, unknown> {
  return {
    _id: doc._id,
    _v: { $lt: doc._v },
    ...(doc.closed === false ? { closed: { $ne: true } } : {}),
  }
}
