import type { ProcessorContext, StreamRecord } from './processor.ts'

// The downstream half of Kafka Streams' record cache (KIP-63): a processor that emits every update
// of a key (a window's aggregate) puts its outputs here instead; the latest record per cache key
// waits and is forwarded when the cache is flushed — before every commit (the processor's
// flush() hook), every `maxEmitIntervalMs` of wall clock, and when it holds more than
// `maxEntries` keys (the oldest goes first). A burst (a backfill, a catch-up after downtime) then
// emits about one record per key per interval, while live updates wait at most one interval.
// (Stores and changelogs coalesce already: a store stages the last write per key until commit.)
//
// Output order is the uncached order with superseded versions left out: an updated key moves
// behind the keys updated before it, so a consumer sees each key's versions in order and the
// final of a window after the finals of earlier windows. Nothing is lost: what is committed has
// been forwarded, and a crash replays the uncommitted input.

export interface RecordCacheOptions<H = unknown, V = unknown> {
  /** Wall-clock bound on how long an update waits (e.g. 100 ms). */
  maxEmitIntervalMs: number
  /** Keys held at most; beyond, the least recently updated is forwarded (default 10,000). */
  maxEntries?: number
  /**
   * Held values are turned into the forwarded ones only when forwarded (a derived value — a
   * ticker from its state — is then computed once per key and interval, not on every update).
   */
  toOutput?: (held: H) => V
}

/** `H`: what is held per key (the output value unless `toOutput` derives it when forwarded). */
export class RecordCache<K, V, H = V> {
  /**
   * Held records with the number of their latest put. An update replaces the record in place (one
   * hash lookup, not a delete and an insert); the order of last updates is restored by sorting on
   * the numbers when it was changed, at the forward.
   */
  private readonly pending = new Map<string, Held<K, H>>()
  private readonly forward: (r: StreamRecord<K, H>) => void
  private readonly maxEntries: number
  private seq = 0
  /** An update moved a key behind others since the last forward (insertion order is stale). */
  private reordered = false

  /** Schedules its own wall-clock flush on `ctx`; the processor calls `flush()` from its flush() hook. */
  constructor(ctx: ProcessorContext<K, V>, options: RecordCacheOptions<H, V>) {
    const toOutput = options.toOutput
    this.forward = toOutput
      ? (r) => ctx.forward({ ...r, value: toOutput(r.value) })
      : (r) => ctx.forward(r as unknown as StreamRecord<K, V>)
    this.maxEntries = options.maxEntries ?? 10_000
    ctx.schedule(options.maxEmitIntervalMs, 'wall-clock', () => this.flush())
  }

  get size(): number {
    return this.pending.size
  }

  /** Holds `record` as the latest of `cacheKey` (replacing an earlier one, which is never forwarded). */
  put(cacheKey: string, record: StreamRecord<K, H>): void {
    const seq = ++this.seq
    const held = this.pending.get(cacheKey)
    if (held !== undefined) {
      held.record = record
      if (held.seq !== seq - 1) this.reordered = true
      held.seq = seq
      return
    }
    this.pending.set(cacheKey, { key: cacheKey, record, seq })
    // Over the bound: the least recently updated tenth goes out (one sort, not one per put).
    if (this.pending.size > this.maxEntries) this.forwardOldest(Math.max(1, Math.floor(this.maxEntries / 10)))
  }

  /** Forwards every held record, least recently updated first. */
  flush(): void {
    if (this.pending.size === 0) return
    const held = this.inOrder()
    this.pending.clear()
    this.reordered = false
    for (const h of held) this.forward(h.record)
  }

  private inOrder(): Held<K, H>[] {
    const held = [...this.pending.values()]
    if (this.reordered) held.sort((a, b) => a.seq - b.seq)
    return held
  }

  private forwardOldest(n: number): void {
    const out = this.inOrder().slice(0, n)
    for (const h of out) this.pending.delete(h.key)
    for (const h of out) this.forward(h.record)
  }
}

interface Held<K, H> {
  key: string
  record: StreamRecord<K, H>
  seq: number
}
