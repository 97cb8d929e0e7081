// Public API of the stream engine. Topologies import from here only.
//
//   const builder = new StreamsBuilder()
//   builder
//     .stream(topics.kline1m, { parse: parseKline, timestamp: (k) => k.openTime })
//     .groupByKey()
//     .windowedBy(TimeWindows.ofSizeAndGrace(300_000, 10_000))
//     .emitStrategy(Emitted.onWindowClose())
//     .aggregate(init, merge, { name: 'candles-5m' })
//     .toStream()
//     .to(topics.kline5m)
//   const streams = new KafkaStreams(builder.build(), { applicationId: 'candles', transport, stateDir })
//   await streams.start()
//   await streams.windowStore<Candle>('candles-5m').range('BTCUSDT', from, to)
//   await streams.close()

export { Stores } from '../state/stores.ts'
export type {
  KeyValue,
  KeyValueStore,
  KeyValueStoreSpec,
  ReadOnlyKeyValueStore,
  ReadOnlyStore,
  ReadOnlyWindowStore,
  ScanOptions,
  StoreSpec,
  WindowEntry,
  WindowStore,
  WindowStoreSpec,
} from '../state/types.ts'
export {
  defaultSinkKey,
  type GroupOptions,
  type KeyValuePair,
  KGroupedStream,
  KStream,
  KTable,
  type Materialized,
  type StreamOptions,
  StreamsBuilder,
  type TableOptions,
  TimeWindowedKStream,
  type ToOptions,
  type WindowedMaterialized,
} from './dsl.ts'
export { EmbeddedTransport } from './embedded/transport.ts'
export { JoinWindows, type StreamJoined } from './join.ts'
export { type KafkaTransportModule, openTransport } from './open.ts'
export type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  StreamRecord,
} from './processor.ts'
export { type Serde, Serdes } from './serde.ts'
export { KafkaStreams, type StreamsOptions, type StreamsState } from './streams.ts'
export { Topology, TopologyDescription, TopologyError } from './topology.ts'
export type { Transport } from './transport.ts'
export { type EmitStrategy, Emitted, TimeWindows, type Window, type Windowed } from './window.ts'
