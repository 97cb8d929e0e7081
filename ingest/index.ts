export {
  createIngestTopics,
  DLQ_TOPIC,
  type IngestHandle,
  type IngestOptions,
  startIngest,
  streamsFor,
} from './binance/ingest.ts'
