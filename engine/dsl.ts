import { Stores } from '../state/stores.ts'
import type { KeyValueStoreSpec, WindowStoreSpec } from '../state/types.ts'
import {
  KeyValueAggregateProcessor,
  StatelessProcessor,
  TableSourceProcessor,
  WindowAggregateProcessor,
} from './builtins.ts'
import { addStreamJoin, type JoinWindows, type StreamJoined } from './join.ts'
import type { ProcessorSupplier, StreamRecord } from './processor.ts'
import { type Serde, Serdes } from './serde.ts'
import { Topology } from './topology.ts'
import { type EmitStrategy, Emitted, isWindowed, type TimeWindows, type Windowed } from './window.ts'

// The declarative layer (Kafka Streams' DSL): stream → filter/map/… → groupBy → windowedBy →
// aggregate → toStream → to. Every call adds nodes to a Topology; build() validates and returns it.

export interface StreamOptions<V> {
  /** Validates the decoded JSON and returns the typed record; throwing sends the record to `<topic>.dlq`. */
  parse?: (json: unknown) => V
  /** Full control over decoding (default JSON). Ignored when `parse` is given. */
  serde?: Serde<V>
  /** Event time of a record (default: the transport record's timestamp). */
  timestamp?: (value: V) => number
  /** Source node name. */
  name?: string
}

export interface TableOptions<V> extends StreamOptions<V> {
  /** Store name: stable, it names the changelog `<applicationId>-<name>-changelog`. */
  store: string
}

export interface Materialized<V> {
  /** Store name: stable, it names the changelog `<applicationId>-<name>-changelog`. */
  name: string
  serde?: Serde<V>
}

export interface WindowedMaterialized<V> extends Materialized<V> {
  /** How long closed windows stay queryable (default 1 day, at least size + grace). */
  retentionMs?: number
  /** Records later than window end + grace: dropped (counted) or also written to `<topic>.dlq`. */
  lateRecords?: 'drop' | 'dead-letter'
}

export interface GroupOptions {
  /** Names the repartition topic `<applicationId>-<name>-repartition` (default: the store name). */
  name?: string
  /**
   * false: the caller guarantees records are still partitioned by this key (e.g. a Windowed key
   * mapped back to its inner key), so no repartition topic is needed. Default: repartition when
   * an earlier step may have changed the key.
   */
  repartition?: boolean
}

export interface ToOptions<K, V> {
  /** Transport key (default: strings as is, Windowed keys → their key, anything else JSON). */
  key?: (key: K, value: V) => string
  serde?: Serde<V>
  name?: string
}

export type KeyValuePair<K, V> = [K, V]

export class StreamsBuilder {
  readonly topology = new Topology()
  private seq = 0

  /** @internal */
  nextName(kind: string): string {
    return `KSTREAM-${kind}-${String(this.seq++).padStart(10, '0')}`
  }

  stream<V = unknown>(topic: string | string[], options: StreamOptions<V> = {}): KStream<string, V> {
    const name = options.name ?? this.nextName('SOURCE')
    const serde = options.parse ? Serdes.jsonWith(options.parse) : (options.serde ?? Serdes.json<V>())
    const ts = options.timestamp
    this.topology.addSource(name, Array.isArray(topic) ? topic : [topic], {
      serde: serde as Serde<unknown>,
      ...(ts ? { timestamp: (v: unknown) => ts(v as V) } : {}),
    })
    return new KStream<string, V>(this, name, false)
  }

  /** A changelog-style topic read as a table: the latest value per key, materialized in `store`. */
  table<V = unknown>(topic: string, options: TableOptions<V>): KTable<string, V> {
    const source = this.stream<V>(topic, options)
    const spec = Stores.keyValue<V>(options.store, options.serde ? { serde: options.serde } : {})
    const name = this.nextName('TABLE-SOURCE')
    this.topology.addStateStore(spec as KeyValueStoreSpec)
    this.topology.addProcessor(
      name,
      () => new TableSourceProcessor(spec.name),
      [source.nodeName],
      [spec.name],
    )
    return new KTable<string, V>(this, name, spec.name)
  }

  /** Declares a store for `process()` processors. */
  addStateStore<V>(spec: KeyValueStoreSpec<V> | WindowStoreSpec<V>): this {
    this.topology.addStateStore(spec as KeyValueStoreSpec)
    return this
  }

  /** Validates and returns the topology (throws TopologyError with every problem found). */
  build(): Topology {
    return this.topology.validate()
  }
}

export class KStream<K, V> {
  /** @internal */ readonly builder: StreamsBuilder
  /** @internal */ readonly nodeName: string
  /** @internal the key changed since the source: grouping needs a repartition topic. */
  readonly keyChanged: boolean

  constructor(builder: StreamsBuilder, nodeName: string, keyChanged: boolean) {
    this.builder = builder
    this.nodeName = nodeName
    this.keyChanged = keyChanged
  }

  private stateless<K2, V2>(
    kind: string,
    fn: (r: StreamRecord<K, V>, forward: (r: StreamRecord<K2, V2>) => void) => void,
    keyChanges: boolean,
    name?: string,
  ): KStream<K2, V2> {
    const n = name ?? this.builder.nextName(kind)
    this.builder.topology.addProcessor(n, () => new StatelessProcessor(fn), [this.nodeName])
    return new KStream<K2, V2>(this.builder, n, this.keyChanged || keyChanges)
  }

  filter(predicate: (key: K, value: V) => boolean, name?: string): KStream<K, V> {
    return this.stateless('FILTER', (r, f) => predicate(r.key, r.value) && f(r), false, name)
  }

  filterNot(predicate: (key: K, value: V) => boolean, name?: string): KStream<K, V> {
    return this.stateless('FILTER', (r, f) => !predicate(r.key, r.value) && f(r), false, name)
  }

  map<K2, V2>(fn: (key: K, value: V) => KeyValuePair<K2, V2>, name?: string): KStream<K2, V2> {
    return this.stateless<K2, V2>(
      'MAP',
      (r, f) => {
        const [key, value] = fn(r.key, r.value)
        f({ ...r, key, value })
      },
      true,
      name,
    )
  }

  mapValues<V2>(fn: (value: V, key: K) => V2, name?: string): KStream<K, V2> {
    return this.stateless<K, V2>('MAPVALUES', (r, f) => f({ ...r, value: fn(r.value, r.key) }), false, name)
  }

  selectKey<K2>(fn: (key: K, value: V) => K2, name?: string): KStream<K2, V> {
    return this.stateless<K2, V>('KEY-SELECT', (r, f) => f({ ...r, key: fn(r.key, r.value) }), true, name)
  }

  flatMap<K2, V2>(fn: (key: K, value: V) => Iterable<KeyValuePair<K2, V2>>, name?: string): KStream<K2, V2> {
    return this.stateless<K2, V2>(
      'FLATMAP',
      (r, f) => {
        for (const [key, value] of fn(r.key, r.value)) f({ ...r, key, value })
      },
      true,
      name,
    )
  }

  flatMapValues<V2>(fn: (value: V, key: K) => Iterable<V2>, name?: string): KStream<K, V2> {
    return this.stateless<K, V2>(
      'FLATMAPVALUES',
      (r, f) => {
        for (const value of fn(r.value, r.key)) f({ ...r, value })
      },
      false,
      name,
    )
  }

  peek(fn: (key: K, value: V) => void, name?: string): KStream<K, V> {
    return this.stateless<K, V>(
      'PEEK',
      (r, f) => {
        fn(r.key, r.value)
        f(r)
      },
      false,
      name,
    )
  }

  merge(other: KStream<K, V>, name?: string): KStream<K, V> {
    const n = name ?? this.builder.nextName('MERGE')
    this.builder.topology.addProcessor(n, () => new StatelessProcessor<K, V, K, V>((r, f) => f(r)), [
      this.nodeName,
      other.nodeName,
    ])
    return new KStream<K, V>(this.builder, n, this.keyChanged || other.keyChanged)
  }

  /** Low-level escape hatch: a custom processor with access to named stores and punctuation. */
  process<K2 = K, V2 = V>(
    supplier: ProcessorSupplier<K, V, K2, V2>,
    options: { stores?: string[]; name?: string } = {},
  ): KStream<K2, V2> {
    const n = options.name ?? this.builder.nextName('PROCESSOR')
    this.builder.topology.addProcessor(
      n,
      supplier as unknown as ProcessorSupplier<never, never, unknown, unknown>,
      [this.nodeName],
      options.stores ?? [],
    )
    return new KStream<K2, V2>(this.builder, n, true)
  }

  /** Groups by the current key; repartitions first if an earlier step changed the key. */
  groupByKey(this: KStream<string, V>, options: GroupOptions = {}): KGroupedStream<V> {
    return new KGroupedStream<V>(
      this.builder,
      this.nodeName,
      options.repartition ?? this.keyChanged,
      options.name,
    )
  }

  /** Groups by a new key: records are repartitioned through `<applicationId>-<name>-repartition`. */
  groupBy(selector: (key: K, value: V) => string, options: GroupOptions = {}): KGroupedStream<V> {
    const keyed = this.selectKey(selector)
    return new KGroupedStream<V>(this.builder, keyed.nodeName, true, options.name)
  }

  /**
   * Windowed inner join with `other` on the key (Kafka Streams' `join` with `JoinWindows`,
   * engine/join.ts): records at most the window apart are joined, whichever side comes first.
   * A side whose key changed is repartitioned through `<name>-this|other-repartition` first.
   */
  join<VO, VR>(
    this: KStream<string, V>,
    other: KStream<string, VO>,
    joiner: (value: V, otherValue: VO, key: string) => VR,
    windows: JoinWindows,
    joined: StreamJoined,
  ): KStream<string, VR> {
    const b = this.builder
    const side = (s: { nodeName: string; keyChanged: boolean }, name: string) =>
      (joined.repartition ?? s.keyChanged)
        ? new KGroupedStream(b, s.nodeName, true, name).input(name)
        : s.nodeName
    const n = addStreamJoin(
      b.topology,
      (kind) => b.nextName(kind),
      side(this, `${joined.name}-this`),
      side(other, `${joined.name}-other`),
      joiner,
      windows,
      joined,
    )
    return new KStream<string, VR>(b, n, false)
  }

  to(topic: string, options: ToOptions<K, V> = {}): void {
    const n = options.name ?? this.builder.nextName('SINK')
    const keyFn = options.key
    this.builder.topology.addSink(n, topic, [this.nodeName], {
      serde: (options.serde ?? Serdes.json<V>()) as Serde<unknown>,
      key: keyFn ? (k, v) => keyFn(k as K, v as V) : defaultSinkKey,
    })
  }
}

/** Strings as is, Windowed keys → their key (so a windowed result keeps its key's partition), else JSON. */
export function defaultSinkKey(key: unknown): string {
  if (typeof key === 'string') return key
  if (isWindowed(key)) return defaultSinkKey(key.key)
  return JSON.stringify(key)
}

export class KGroupedStream<V> {
  /** @internal */ readonly builder: StreamsBuilder
  /** @internal */ readonly nodeName: string
  /** @internal */ readonly repartition: boolean
  /** @internal */ readonly groupName: string | undefined

  constructor(
    builder: StreamsBuilder,
    nodeName: string,
    repartition: boolean,
    groupName: string | undefined,
  ) {
    this.builder = builder
    this.nodeName = nodeName
    this.repartition = repartition
    this.groupName = groupName
  }

  /** @internal The node that feeds the aggregation: through a repartition topic when needed. */
  input(storeName: string): string {
    if (!this.repartition) return this.nodeName
    const b = this.builder
    const topic = { name: `${this.groupName ?? storeName}-repartition`, internal: 'repartition' as const }
    const sink = b.nextName('REPARTITION-SINK')
    const source = b.nextName('REPARTITION-SOURCE')
    b.topology.addSink(sink, topic, [this.nodeName], { serde: Serdes.json(), key: defaultSinkKey })
    b.topology.addSource(source, [topic], { serde: Serdes.json() })
    return source
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<V> {
    return new TimeWindowedKStream<V>(this, windows, Emitted.onUpdate())
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: string, value: V, aggregate: VA) => VA,
    materialized: Materialized<VA>,
  ): KTable<string, VA> {
    const b = this.builder
    const spec = Stores.keyValue<VA>(
      materialized.name,
      materialized.serde ? { serde: materialized.serde } : {},
    )
    const input = this.input(spec.name)
    const n = b.nextName('AGGREGATE')
    b.topology.addStateStore(spec as KeyValueStoreSpec)
    b.topology.addProcessor(
      n,
      () => new KeyValueAggregateProcessor<V, VA>(spec.name, initializer, aggregator),
      [input],
      [spec.name],
    )
    return new KTable<string, VA>(b, n, spec.name)
  }

  reduce(reducer: (aggregate: V, value: V) => V, materialized: Materialized<V>): KTable<string, V> {
    return this.aggregate<V | undefined>(
      () => undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      materialized as Materialized<V | undefined>,
    ) as KTable<string, V>
  }

  count(materialized: Materialized<number>): KTable<string, number> {
    return this.aggregate<number>(
      () => 0,
      (_k, _v, n) => n + 1,
      materialized,
    )
  }
}

export class TimeWindowedKStream<V> {
  private readonly grouped: KGroupedStream<V>
  readonly windows: TimeWindows
  readonly emit: EmitStrategy

  constructor(grouped: KGroupedStream<V>, windows: TimeWindows, emit: EmitStrategy) {
    this.grouped = grouped
    this.windows = windows
    this.emit = emit
  }

  /** `Emitted.onUpdate()` (default) or `Emitted.onWindowClose()`. */
  emitStrategy(emit: EmitStrategy): TimeWindowedKStream<V> {
    return new TimeWindowedKStream<V>(this.grouped, this.windows, emit)
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: string, value: V, aggregate: VA) => VA,
    materialized: WindowedMaterialized<VA>,
  ): KTable<Windowed<string>, VA> {
    const b = this.grouped.builder
    const w = this.windows
    const retentionMs = Math.max(materialized.retentionMs ?? 86_400_000, w.sizeMs + w.graceMs)
    const spec = Stores.window<VA>(materialized.name, {
      windowSizeMs: w.sizeMs,
      retentionMs,
      ...(materialized.serde ? { serde: materialized.serde } : {}),
    })
    const input = this.grouped.input(spec.name)
    const n = b.nextName('WINDOW-AGGREGATE')
    const emit = this.emit
    const late = materialized.lateRecords ?? 'drop'
    b.topology.addStateStore(spec as WindowStoreSpec)
    b.topology.addProcessor(
      n,
      () => new WindowAggregateProcessor<V, VA>(spec.name, w, emit, late, initializer, aggregator),
      [input],
      [spec.name],
    )
    return new KTable<Windowed<string>, VA>(b, n, spec.name)
  }

  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: WindowedMaterialized<V>,
  ): KTable<Windowed<string>, V> {
    return this.aggregate<V | undefined>(
      () => undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      materialized as WindowedMaterialized<V | undefined>,
    ) as KTable<Windowed<string>, V>
  }

  count(materialized: WindowedMaterialized<number>): KTable<Windowed<string>, number> {
    return this.aggregate<number>(
      () => 0,
      (_k, _v, n) => n + 1,
      materialized,
    )
  }
}

export class KTable<K, V> {
  /** @internal */ readonly builder: StreamsBuilder
  /** @internal */ readonly nodeName: string
  /** The store to query through `streams.store(name)`. */
  readonly queryableStoreName: string

  constructor(builder: StreamsBuilder, nodeName: string, storeName: string) {
    this.builder = builder
    this.nodeName = nodeName
    this.queryableStoreName = storeName
  }

  /** The table's changes as a stream (for windowed tables: per the emit strategy). */
  toStream(): KStream<K, V> {
    return new KStream<K, V>(this.builder, this.nodeName, false)
  }
}
