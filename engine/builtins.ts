import type { KeyValueStore } from '../state/types.ts'
import type { LevelWindowStore } from '../state/window-store.ts'
import type { Processor, ProcessorContext, StreamRecord } from './processor.ts'
import { RecordCache } from './record-cache.ts'
import type { EmitStrategy, TimeWindows, Windowed } from './window.ts'

// The processors the DSL compiles into. Each is a plain Processor: the DSL has no powers the
// low-level API lacks.

export class StatelessProcessor<K, V, K2, V2> implements Processor<K, V, K2, V2> {
  private readonly fn: (r: StreamRecord<K, V>, forward: (r: StreamRecord<K2, V2>) => void) => void
  private forward!: (r: StreamRecord<K2, V2>) => void

  constructor(fn: (r: StreamRecord<K, V>, forward: (r: StreamRecord<K2, V2>) => void) => void) {
    this.fn = fn
  }

  init(ctx: ProcessorContext<K2, V2>): void {
    this.forward = (r) => ctx.forward(r)
  }

  process(record: StreamRecord<K, V>): void {
    this.fn(record, this.forward)
  }
}

/** Latest value per key; a null value deletes the key. Forwards every change. */
export class TableSourceProcessor<V> implements Processor<string, V | null, string, V | null> {
  private readonly storeName: string
  private ctx!: ProcessorContext<string, V | null>
  private store!: KeyValueStore<V>

  constructor(storeName: string) {
    this.storeName = storeName
  }

  init(ctx: ProcessorContext<string, V | null>): void {
    this.ctx = ctx
    this.store = ctx.getStateStore<V>(this.storeName)
  }

  process(r: StreamRecord<string, V | null>): void {
    if (r.value === null || r.value === undefined) this.store.delete(r.key)
    else this.store.put(r.key, r.value)
    this.ctx.forward(r)
  }
}

export class KeyValueAggregateProcessor<V, VA> implements Processor<string, V, string, VA> {
  private readonly storeName: string
  private readonly init0: () => VA
  private readonly aggregator: (key: string, value: V, aggregate: VA) => VA
  private ctx!: ProcessorContext<string, VA>
  private store!: KeyValueStore<VA>

  constructor(storeName: string, init: () => VA, aggregator: (key: string, value: V, aggregate: VA) => VA) {
    this.storeName = storeName
    this.init0 = init
    this.aggregator = aggregator
  }

  init(ctx: ProcessorContext<string, VA>): void {
    this.ctx = ctx
    this.store = ctx.getStateStore<VA>(this.storeName)
  }

  process(r: StreamRecord<string, V>): void {
    if (r.value === null || r.value === undefined) return // Kafka Streams skips null values too
    const prev = this.store.get(r.key)
    const next = this.aggregator(r.key, r.value, prev === undefined ? this.init0() : prev)
    this.store.put(r.key, next)
    this.ctx.forward({ key: r.key, value: next, timestamp: r.timestamp })
  }
}

const META_OBSERVED = 'observedStreamTime'
const META_EMITTED = 'emittedUpTo'
const META_FINAL = 'final:'
const finalName = (key: string, start: number) => `${META_FINAL}${start}:${key}`

/**
 * Windowed aggregation over event time. A window [start, end) accepts records while
 * end + grace > close watermark; later records are counted (and optionally dead-lettered) and
 * never merged. The close watermark is this processor's observed stream time, or, with
 * onWindowClose and idleCloseMs, stream time pushed forward by the wall clock while the task
 * receives no input at all (ProcessorContext.inputIdleMs). Stream time and the emitted mark live in the store, so they survive restarts.
 */
export class WindowAggregateProcessor<V, VA> implements Processor<string, V, Windowed<string>, VA> {
  private readonly storeName: string
  private readonly windows: TimeWindows
  private readonly emit: EmitStrategy
  private readonly deadLetter: boolean
  private readonly init0: () => VA
  private readonly aggregator: (key: string, value: V, aggregate: VA) => VA
  private ctx!: ProcessorContext<Windowed<string>, VA>
  /** onUpdate with maxEmitIntervalMs: the latest update per window waits here. */
  private cache: RecordCache<Windowed<string>, VA> | undefined
  private store!: LevelWindowStore<VA>
  private observed = Number.NEGATIVE_INFINITY
  private watermark = Number.NEGATIVE_INFINITY
  private emittedUpTo = Number.NEGATIVE_INFINITY
  /** Windows closed early by finalWhen, until the watermark closes them: `<start>:<key>`. */
  private readonly closedEarly = new Set<string>()

  constructor(
    storeName: string,
    windows: TimeWindows,
    emit: EmitStrategy,
    late: 'drop' | 'dead-letter',
    init: () => VA,
    aggregator: (key: string, value: V, aggregate: VA) => VA,
  ) {
    this.storeName = storeName
    this.windows = windows
    this.emit = emit
    this.deadLetter = late === 'dead-letter'
    this.init0 = init
    this.aggregator = aggregator
  }

  async init(ctx: ProcessorContext<Windowed<string>, VA>): Promise<void> {
    this.ctx = ctx
    this.store = ctx.getWindowStore<VA>(this.storeName) as LevelWindowStore<VA>
    this.observed = (this.store.getMeta(META_OBSERVED) as number | undefined) ?? Number.NEGATIVE_INFINITY
    this.emittedUpTo = (this.store.getMeta(META_EMITTED) as number | undefined) ?? Number.NEGATIVE_INFINITY
    this.watermark = Math.max(this.observed, this.emittedUpTo)
    if (this.emit.kind === 'onWindowClose' && this.emit.finalWhen)
      for (const n of await this.store.metaNames(META_FINAL)) this.closedEarly.add(n.slice(META_FINAL.length))
    const emit = this.emit
    if (emit.kind === 'onUpdate' && emit.maxEmitIntervalMs)
      this.cache = new RecordCache(ctx, { maxEmitIntervalMs: emit.maxEmitIntervalMs })
    if (emit.kind === 'onWindowClose' && emit.idleCloseMs > 0) {
      ctx.schedule(Math.min(emit.idleCloseMs, 1000), 'wall-clock', (now) => {
        // Idle = no input at all (not "stream time did not move": records with an old or constant
        // event time still arriving mean the window may still grow).
        const idle = ctx.inputIdleMs(now)
        if (idle > emit.idleCloseMs && this.observed > Number.NEGATIVE_INFINITY) {
          // As if event time had kept pace with the wall clock, minus idleCloseMs of slack.
          this.advanceWatermark(this.observed + idle - emit.idleCloseMs)
        }
      })
    }
  }

  /** Before each commit: coalesced updates go out. */
  flush(): void {
    this.cache?.flush()
  }

  process(r: StreamRecord<string, V>): void {
    if (r.value === null || r.value === undefined) return
    const ts = r.timestamp
    if (ts > this.observed) {
      this.observed = ts
      this.store.putMeta(META_OBSERVED, ts)
    }
    const grace = this.windows.graceMs
    const wins = this.windows.windowsFor(ts)
    let dropped = 0
    const watermark = Math.max(this.watermark, this.observed)
    for (const w of wins) {
      if (w.end + grace <= watermark) {
        dropped++
        continue
      }
      if (this.closedEarly.size > 0 && this.closedEarly.has(`${w.start}:${r.key}`)) {
        dropped++
        continue
      }
      const prev = this.store.fetch(r.key, w.start)
      const next = this.aggregator(r.key, r.value, prev === undefined ? this.init0() : prev)
      this.store.put(r.key, w.start, next)
      const emit = this.emit
      if (emit.kind === 'onUpdate') {
        const out = { key: { key: r.key, window: w }, value: next, timestamp: ts }
        if (this.cache) this.cache.put(`${r.key}\u0000${w.start}`, out)
        else this.ctx.forward(out)
      } else if (emit.finalWhen?.(next, w)) {
        this.closedEarly.add(`${w.start}:${r.key}`)
        this.store.putMeta(finalName(r.key, w.start), 1)
        this.ctx.forward({ key: { key: r.key, window: w }, value: next, timestamp: ts })
      }
    }
    if (dropped > 0) this.ctx.recordLate(r, { deadLetter: this.deadLetter && dropped === wins.length })
    this.advanceWatermark(this.observed)
  }

  private advanceWatermark(t: number): void {
    if (t <= this.watermark) return
    this.watermark = t
    if (this.emit.kind !== 'onWindowClose') {
      this.store.expire(t)
      return
    }
    // Windows closed by this advance: end + grace in (emittedUpTo, t].
    const size = this.windows.sizeMs
    const lag = size + this.windows.graceMs
    const closed = this.store.windowsByStart(this.emittedUpTo - lag, t - lag)
    for (const [key, start] of closed) {
      if (this.closedEarly.delete(`${start}:${key}`)) {
        this.store.deleteMeta(finalName(key, start))
        continue
      }
      const value = this.store.fetch(key, start)
      if (value === undefined) continue
      const window = { start, end: start + size }
      this.ctx.forward({ key: { key, window }, value, timestamp: Math.min(window.end - 1, this.observed) })
    }
    this.emittedUpTo = t
    this.store.putMeta(META_EMITTED, t)
    this.store.expire(t) // after emitting: retention ≥ size + grace, but one jump can pass both
  }
}
