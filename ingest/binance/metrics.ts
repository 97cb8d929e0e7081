import { Counter } from 'prom-client'
import { registry } from '../../common/metrics.ts'

// Ingest metrics, in the one registry. `stream` is the Binance stream name (btcusdt@trade).
export const messagesIn = new Counter({
  name: 'cs_ingest_messages_in_total',
  help: 'WebSocket messages received, per stream',
  labelNames: ['stream'],
  registers: [registry],
})
export const recordsOut = new Counter({
  name: 'cs_ingest_records_out_total',
  help: 'Records produced, per topic',
  labelNames: ['topic'],
  registers: [registry],
})
export const deadLetters = new Counter({
  name: 'cs_ingest_dead_letters_total',
  help: 'Messages sent to the ingest dead-letter topic, per reason',
  labelNames: ['reason'],
  registers: [registry],
})
export const reconnects = new Counter({
  name: 'cs_ingest_reconnects_total',
  help: 'WebSocket reconnects, per reason (close, error, stale, rotate)',
  labelNames: ['reason'],
  registers: [registry],
})
export const backfilledKlines = new Counter({
  name: 'cs_ingest_backfilled_klines_total',
  help: 'Closed 1m klines produced from REST backfill',
  registers: [registry],
})
export const bookResyncs = new Counter({
  name: 'cs_ingest_book_resyncs_total',
  help: 'Order-book resyncs from a fresh snapshot, per reason',
  labelNames: ['reason'],
  registers: [registry],
})
