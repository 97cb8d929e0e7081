import { collectDefaultMetrics, Registry } from 'prom-client'

// The one metrics registry. Every module registers its metrics here (prefix `cs_`), the gateway
// serves it on /metrics.
export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'cs_' })
