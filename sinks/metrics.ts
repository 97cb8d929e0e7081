import { Counter, Histogram } from 'prom-client'
import { registry } from '../common/metrics.ts'

// Sink metrics on the one registry, labelled by sink (`mongo`, `redis`) and target (a collection,
// or a key family for Redis).

export const sinkMetrics = {
  writeLatency: new Histogram({
    name: 'cs_sink_write_latency_seconds',
    help: 'Time to write one batch to the server, until acknowledged (successful attempts)',
    labelNames: ['sink'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  }),
  batchSize: new Histogram({
    name: 'cs_sink_batch_records',
    help: 'Input records per written batch',
    labelNames: ['sink'],
    buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000],
    registers: [registry],
  }),
  errors: new Counter({
    name: 'cs_sink_errors_total',
    help: 'Failed write or commit attempts (retried with backoff)',
    labelNames: ['sink', 'stage'],
    registers: [registry],
  }),
  written: new Counter({
    name: 'cs_sink_records_written_total',
    help: 'Documents / keys written after coalescing (stale versions skipped are not counted)',
    labelNames: ['sink', 'collection'],
    registers: [registry],
  }),
  skipped: new Counter({
    name: 'cs_sink_records_skipped_total',
    help: 'Input records not written: coalesced in the batch or older than the stored version',
    labelNames: ['sink', 'collection'],
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'cs_sink_dlq_records_total',
    help: 'Malformed input records sent to the dead-letter topic',
    labelNames: ['sink', 'topic'],
    registers: [registry],
  }),
}
