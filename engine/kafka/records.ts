import type { Consumer as KafkaConsumer } from '@platformatic/kafka'
import type { ConsumedRecord } from '../transport.ts'

// Pure decoding of a Fetch response into transport records (no I/O, testable without a broker).

export type FetchResponse = Awaited<ReturnType<KafkaConsumer['fetch']>>

const IS_CONTROL = 0b10_0000 // batch attribute bit 5: transaction markers, never user records
const IS_TRANSACTIONAL = 0b1_0000 // bit 4
const ABORT_MARKER = 0

export interface DecodedPartition {
  topic: string
  partition: number
  errorCode: number
  highWatermark: bigint
  records: ConsumedRecord[]
  /** Offset to fetch next (past control batches and compacted gaps), or undefined if nothing came. */
  next?: number
}

/**
 * Records at or after `from` of each partition in `response`; `topicNames` maps the response's topic
 * ids back to names. Batches may start before the requested offset: those records are skipped.
 */
export function decodeFetch(
  response: FetchResponse,
  topicNames: Map<string, string>,
  from: Map<string, number>,
): DecodedPartition[] {
  const out: DecodedPartition[] = []
  for (const t of response.responses) {
    const topic = topicNames.get(t.topicId)
    if (topic === undefined) continue
    for (const p of t.partitions) {
      const start = from.get(`${topic}-${p.partitionIndex}`)
      if (start === undefined) continue
      const decoded: DecodedPartition = {
        topic,
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        highWatermark: p.highWatermark,
        records: [],
      }
      // read_committed (Kafka's consumer algorithm): an aborted transaction listed by the broker
      // applies to its producer's transactional batches from its first offset up to that
      // producer's abort marker. Several per producer can be in one response (the client's own
      // filter keeps only one per producer, so records of an earlier aborted one got through).
      const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) =>
        a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
      )
      const abortedProducers = new Set<bigint>()
      for (const batch of p.records ?? []) {
        const last = Number(batch.firstOffset) + batch.lastOffsetDelta
        if (last + 1 > (decoded.next ?? start)) decoded.next = last + 1
        // Markers too: a transaction whose batches are not in this response (filtered by the
        // client) still ends at its marker.
        if (batch.producerId >= 0n)
          while (aborted.length > 0 && aborted[0]!.firstOffset <= BigInt(last))
            abortedProducers.add(aborted.shift()!.producerId)
        if (batch.attributes & IS_CONTROL) {
          if (batch.records[0]?.key?.readInt16BE(2) === ABORT_MARKER)
            abortedProducers.delete(batch.producerId)
          continue
        }
        if (batch.attributes & IS_TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue
        for (const r of batch.records) {
          const offset = Number(batch.firstOffset) + r.offsetDelta
          if (offset < start) continue
          const rec: ConsumedRecord = {
            topic,
            partition: p.partitionIndex,
            offset,
            key: r.key ? r.key.toString('utf8') : '',
            value: r.value ? r.value.toString('utf8') : '',
            timestamp: Number(batch.firstTimestamp + r.timestampDelta),
          }
          if (r.value === null) rec.tombstone = true
          if (r.headers.length > 0) {
            const headers: Record<string, string> = {}
            for (const [k, v] of r.headers) if (k) headers[k.toString('utf8')] = v ? v.toString('utf8') : ''
            rec.headers = headers
          }
          decoded.records.push(rec)
        }
      }
      out.push(decoded)
    }
  }
  return out
}
