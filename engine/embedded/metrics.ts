import { Counter } from 'prom-client'
import { registry } from '../../common/metrics.ts'

// Metrics of the embedded log, on the one registry.
export const embeddedMetrics = {
  retentionDeleted: new Counter({
    name: 'cs_embedded_retention_deleted_bytes_total',
    help: 'Bytes of closed segments deleted by retention; reason: time, size, or size-fresh (written within the last hour: a retentionBytes too small for the write rate)',
    labelNames: ['topic', 'reason'],
    registers: [registry],
  }),
}
