import { StreamsError } from '../common/errors.ts'
import { Stores } from '../state/stores.ts'
import type { WindowStoreSpec } from '../state/types.ts'
import type { LevelWindowStore } from '../state/window-store.ts'
import { StatelessProcessor } from './builtins.ts'
import type { Processor, ProcessorContext, StreamRecord } from './processor.ts'
import type { Topology } from './topology.ts'

// Windowed stream-stream inner join (Kafka Streams' KStream.join with JoinWindows). A record of
// this side at time t joins every record of the other side with the same key and a timestamp in
// [t - before, t + after] (the other side sees the mirror window), whichever arrives first; the
// result carries max(t, t'). Both sides are buffered in window stores with changelogs, so a
// restart joins exactly as before. A record whose window closed (t + after + grace < stream time,
// shared by both sides) is not joined and counts as late; buffered records are deleted once no
// acceptable record could still join them (older than stream time - before - after - grace).

export class JoinWindows {
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number

  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    for (const [n, v] of [
      ['before', beforeMs],
      ['after', afterMs],
      ['grace', graceMs],
    ] as const)
      if (!(Number.isInteger(v) && v >= 0))
        throw new StreamsError(
          'ENGINE',
          'INVALID_WINDOW',
          `join window ${n} must be an integer ≥ 0 ms, got ${v}`,
        )
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }

  /** Records at most `diffMs` apart join; out-of-order records up to `graceMs` late still join. */
  static ofTimeDifferenceAndGrace(diffMs: number, graceMs: number): JoinWindows {
    return new JoinWindows(diffMs, diffMs, graceMs)
  }

  static ofTimeDifferenceWithNoGrace(diffMs: number): JoinWindows {
    return new JoinWindows(diffMs, diffMs, 0)
  }

  /** How far before this side's record the other side's records may be. */
  before(ms: number): JoinWindows {
    return new JoinWindows(ms, this.afterMs, this.graceMs)
  }

  /** How far after this side's record the other side's records may be. */
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, ms, this.graceMs)
  }

  /** How long a buffered record may still be joined. */
  get retentionMs(): number {
    return this.beforeMs + this.afterMs + this.graceMs
  }
}

export interface StreamJoined {
  /** Names the buffers `<name>-this` / `<name>-other` (and their changelogs): stable. */
  name: string
  /**
   * false: the caller guarantees both sides are still partitioned by the join key (e.g. after a
   * `process()` that keeps the key), so no repartition topic. Default: repartition a side whose
   * key may have changed.
   */
  repartition?: boolean
}

/** Buffer entries of one bucket: [timestamp, value], in arrival order. */
type Bucket = [number, unknown][]
interface Tagged {
  side: 0 | 1
  value: unknown
}

const META_OBSERVED = 'observedStreamTime'

export const joinStoreNames = (name: string): [string, string] => [`${name}-this`, `${name}-other`]

/**
 * Adds the join to `topology`: a tag on each input, the join processor and its two buffers.
 * Both inputs must be partitioned by the join key. Returns the join node's name.
 */
export function addStreamJoin<V, VO, VR>(
  topology: Topology,
  nextName: (kind: string) => string,
  thisNode: string,
  otherNode: string,
  joiner: (value: V, otherValue: VO, key: string) => VR,
  windows: JoinWindows,
  joined: StreamJoined,
): string {
  // Bucket = the whole join span, so one lookup reads at most two buckets.
  const bucketMs = windows.beforeMs + windows.afterMs + 1
  const names = joinStoreNames(joined.name)
  const specs = names.map((n) =>
    Stores.window<Bucket>(n, {
      windowSizeMs: bucketMs,
      retentionMs: Math.max(bucketMs, windows.retentionMs),
    }),
  )
  for (const s of specs) topology.addStateStore(s as WindowStoreSpec)
  const tag = (side: 0 | 1, parent: string) => {
    const n = nextName(side === 0 ? 'JOINTHIS' : 'JOINOTHER')
    topology.addProcessor(
      n,
      () =>
        new StatelessProcessor<string, unknown, string, Tagged>((r, f) =>
          f({ ...r, value: { side, value: r.value } }),
        ),
      [parent],
    )
    return n
  }
  const inputs = [tag(0, thisNode), tag(1, otherNode)]
  const n = nextName('JOIN')
  topology.addProcessor(
    n,
    () => new StreamJoinProcessor<VR>(names, bucketMs, windows, (a, b, k) => joiner(a as V, b as VO, k)),
    inputs,
    names,
  )
  return n
}

class StreamJoinProcessor<VR> implements Processor<string, Tagged, string, VR> {
  private readonly names: [string, string]
  private readonly bucketMs: number
  private readonly windows: JoinWindows
  private readonly joiner: (a: unknown, b: unknown, key: string) => VR
  private ctx!: ProcessorContext<string, VR>
  private stores!: [LevelWindowStore<Bucket>, LevelWindowStore<Bucket>]
  private observed = Number.NEGATIVE_INFINITY

  constructor(
    names: [string, string],
    bucketMs: number,
    windows: JoinWindows,
    joiner: (a: unknown, b: unknown, key: string) => VR,
  ) {
    this.names = names
    this.bucketMs = bucketMs
    this.windows = windows
    this.joiner = joiner
  }

  init(ctx: ProcessorContext<string, VR>): void {
    this.ctx = ctx
    this.stores = this.names.map((n) => ctx.getWindowStore<Bucket>(n) as LevelWindowStore<Bucket>) as [
      LevelWindowStore<Bucket>,
      LevelWindowStore<Bucket>,
    ]
    this.observed = (this.stores[0].getMeta(META_OBSERVED) as number | undefined) ?? Number.NEGATIVE_INFINITY
  }

  private bucket(t: number): number {
    return Math.floor(t / this.bucketMs) * this.bucketMs
  }

  process(r: StreamRecord<string, Tagged>): void {
    const { side, value } = r.value
    if (value === null || value === undefined || r.key === null || r.key === undefined) return // as Kafka Streams
    const ts = r.timestamp
    const w = this.windows
    if (ts > this.observed) {
      this.observed = ts
      this.stores[0].putMeta(META_OBSERVED, ts)
    }
    // The other side's timestamps this record joins (mirrored for the other side).
    const lo = Math.max(0, side === 0 ? ts - w.beforeMs : ts - w.afterMs)
    const hi = side === 0 ? ts + w.afterMs : ts + w.beforeMs
    if (hi + w.graceMs < this.observed) {
      this.ctx.recordLate(r)
      return
    }
    const own = this.stores[side]
    const start = this.bucket(ts)
    const entries = own.fetch(r.key, start) ?? []
    entries.push([ts, value])
    own.put(r.key, start, entries)

    const other = this.stores[side === 0 ? 1 : 0]
    const matches: [number, unknown][] = []
    for (let s = this.bucket(lo); s <= hi; s += this.bucketMs)
      for (const e of other.fetch(r.key, s) ?? []) if (e[0] >= lo && e[0] <= hi) matches.push(e)
    matches.sort((a, b) => a[0] - b[0])
    for (const [t, v] of matches) {
      const out = side === 0 ? this.joiner(value, v, r.key) : this.joiner(v, value, r.key)
      this.ctx.forward({ key: r.key, value: out, timestamp: Math.max(ts, t) })
    }
    this.stores[0].expire(this.observed)
    this.stores[1].expire(this.observed)
  }
}
