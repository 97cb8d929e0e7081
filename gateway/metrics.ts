import { Counter, Gauge, Histogram } from 'prom-client'
import { registry } from '../common/metrics.ts'

// Gateway metrics on the one registry. `kind` is `socketio` or `ws`; `stream` the subscription
// stream (kline, orderbook, trades, ranking, prediction, indicators).

export const httpDuration = new Histogram({
  name: 'cs_gateway_http_request_duration_seconds',
  help: 'REST request latency by route and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
})

export const clients = new Gauge({
  name: 'cs_gateway_clients',
  help: 'Connected Socket.IO and WebSocket clients',
  labelNames: ['kind'] as const,
  registers: [registry],
})

export const messagesOut = new Counter({
  name: 'cs_gateway_messages_out_total',
  help: 'Messages sent to clients (initial and update)',
  labelNames: ['kind', 'stream'] as const,
  registers: [registry],
})

export const messagesConflated = new Counter({
  name: 'cs_gateway_messages_conflated_total',
  help: 'Pending updates replaced by a newer one for a slow client',
  labelNames: ['kind', 'stream'] as const,
  registers: [registry],
})

export const messagesDropped = new Counter({
  name: 'cs_gateway_messages_dropped_total',
  help: 'Updates dropped because a slow client’s buffer was full',
  labelNames: ['kind', 'stream'] as const,
  registers: [registry],
})

export const feedRecords = new Counter({
  name: 'cs_gateway_feed_records_total',
  help: 'Records the live feed read from the output topics',
  labelNames: ['topic'] as const,
  registers: [registry],
})
