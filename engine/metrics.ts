import { Counter, Gauge, Histogram } from 'prom-client'
import { registry } from '../common/metrics.ts'

// Engine and state metrics, on the one registry. Per-record counts are summed in plain numbers
// by the tasks and added here once per commit, so the hot path does no label lookups.

export const engineMetrics = {
  recordsIn: new Counter({
    name: 'cs_engine_records_in_total',
    help: 'Records received by a processor node',
    labelNames: ['app', 'node'],
    registers: [registry],
  }),
  recordsOut: new Counter({
    name: 'cs_engine_records_out_total',
    help: 'Records forwarded by a processor node (sinks: written)',
    labelNames: ['app', 'node'],
    registers: [registry],
  }),
  processLatency: new Histogram({
    name: 'cs_engine_process_latency_seconds',
    help: 'Time to process one polled batch, per record',
    labelNames: ['app'],
    buckets: [1e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3, 1e-2],
    registers: [registry],
  }),
  commitLatency: new Histogram({
    name: 'cs_engine_commit_latency_seconds',
    help: 'Checkpoint duration (sinks, changelog, offsets, local state)',
    labelNames: ['app'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
  commitPause: new Histogram({
    name: 'cs_engine_commit_pause_seconds',
    help: 'Time the stream thread stands still in a commit (kind: interval, or requested by flush()): waiting for the previous one, taking its records, offsets and staged writes',
    labelNames: ['app', 'kind'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
  lag: new Gauge({
    name: 'cs_engine_consumer_lag',
    help: 'Records between the committed position and the end of an input partition',
    labelNames: ['app', 'topic', 'partition'],
    registers: [registry],
  }),
  lateDropped: new Counter({
    name: 'cs_engine_late_records_dropped_total',
    help: 'Records later than window end + grace, dropped',
    labelNames: ['app', 'node'],
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'cs_engine_dlq_records_total',
    help: 'Records sent to a dead-letter topic (malformed or late)',
    labelNames: ['app', 'topic', 'reason'],
    registers: [registry],
  }),
  storeBytes: new Gauge({
    name: 'cs_state_store_bytes',
    help: 'Approximate on-disk size of a store (all local tasks)',
    labelNames: ['app', 'store'],
    registers: [registry],
  }),
  restoreSeconds: new Gauge({
    name: 'cs_state_restore_seconds',
    help: 'Duration of the last restore of a store for a task',
    labelNames: ['app', 'store', 'task'],
    registers: [registry],
  }),
  restoreRecords: new Counter({
    name: 'cs_state_restore_records_total',
    help: 'Changelog records applied while restoring',
    labelNames: ['app', 'store'],
    registers: [registry],
  }),
  restoreProgress: new Gauge({
    name: 'cs_state_restore_progress_ratio',
    help: 'Restore progress of a store for a task, 0..1 (1 when done)',
    labelNames: ['app', 'store', 'task'],
    registers: [registry],
  }),
}
