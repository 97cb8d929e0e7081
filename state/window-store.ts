import type { Window } from '../engine/window.ts'
import { LevelStore } from './level-store.ts'
import type { ScanOptions, WindowEntry, WindowStore, WindowStoreSpec } from './types.ts'

// Window store: LevelDB key = `<key>\0<window start, 16 digits>`, so the windows of one key are
// contiguous and ordered by time (range queries are one seek). Metadata (stream time, emitted
// mark) sits under `\u0001meta:` keys and goes through the changelog like data.
// An in-memory index start → keys (rebuilt on open) serves expiry and emit-on-close without scans.

const SEP = '\u0000'
const META = '\u0001meta:'
const pad = (t: number) => String(t).padStart(16, '0')
export const windowDbKey = (key: string, start: number) => `${key}${SEP}${pad(start)}`

export function parseWindowDbKey(dbKey: string): [string, number] {
  const i = dbKey.lastIndexOf(SEP)
  return [dbKey.slice(0, i), Number(dbKey.slice(i + 1))]
}

interface DbKeys {
  start: number
  dbKey: string
  prevStart: number
  prevDbKey: string
}
const DB_KEYS_HELD = 100_000

export class LevelWindowStore<V> extends LevelStore<V> implements WindowStore<V> {
  private readonly index = new Map<number, Set<string>>()
  private sortedStarts: number[] | null = []
  /** The index holds every window of LevelDB (loaded): a window it lacks does not exist. */
  private indexed = false

  get name(): string {
    return this.spec.name
  }

  get windowSizeMs(): number {
    return (this.spec as WindowStoreSpec).windowSizeMs
  }

  get retentionMs(): number {
    return (this.spec as WindowStoreSpec).retentionMs
  }

  /** Rebuilds the start → keys index from LevelDB (after restore). */
  async loadIndex(): Promise<void> {
    this.index.clear()
    this.sortedStarts = null
    for await (const k of this.db.keys({ lt: '\u0001' })) {
      const [key, start] = parseWindowDbKey(k)
      this.indexAdd(key, start)
    }
    for await (const k of this.db.keys({ gt: '\u0001\uffff' })) {
      const [key, start] = parseWindowDbKey(k)
      this.indexAdd(key, start)
    }
    this.indexed = true
  }

  /** Adds the window to the index; false if it was there. */
  private indexAdd(key: string, start: number): boolean {
    let keys = this.index.get(start)
    if (!keys) {
      keys = new Set()
      this.index.set(start, keys)
      // In-order input adds starts at the end: keep the sorted list instead of sorting again.
      const sorted = this.sortedStarts
      if (sorted && (sorted.length === 0 || start > sorted[sorted.length - 1]!)) sorted.push(start)
      else this.sortedStarts = null
    } else if (keys.has(key)) return false
    keys.add(key)
    return true
  }

  private starts(): number[] {
    if (!this.sortedStarts) this.sortedStarts = [...this.index.keys()].sort((a, b) => a - b)
    return this.sortedStarts
  }

  fetch(key: string, windowStart: number): V | undefined {
    // A brand-new window (most fetches of an aggregation's first update) needs no LevelDB read.
    if (this.indexed && !this.index.get(windowStart)?.has(key)) return undefined
    return this.getDb(this.dbKey(key, windowStart))
  }

  put(key: string, windowStart: number, value: V): void {
    // A window the (loaded) index lacked is in neither LevelDB nor a batch being written, unless
    // deleted since the last commit (putNewDb sees its staged tombstone).
    if (this.indexAdd(key, windowStart) && this.indexed) this.putNewDb(this.dbKey(key, windowStart), value)
    else this.putDb(this.dbKey(key, windowStart), value)
  }

  /**
   * Per key, the db keys of its two latest windows: an aggregation's inputs for many keys
   * interleave (BTC 00:01, ETH 00:01, …, BTC 00:02) and hit the same window again and again, and a
   * db key reused is a string already flattened and hashed (building one per call was ~5 % of the
   * platform topology). Two: a rolling window touches its newest and its oldest window in turn.
   */
  private readonly dbKeys = new Map<string, DbKeys>()

  private dbKey(key: string, start: number): string {
    let c = this.dbKeys.get(key)
    if (c === undefined) {
      if (this.dbKeys.size >= DB_KEYS_HELD) this.dbKeys.clear() // many keys: a cache, not a copy of the store
      c = { start: Number.NaN, dbKey: '', prevStart: Number.NaN, prevDbKey: '' }
      this.dbKeys.set(key, c)
    }
    if (c.start === start) return c.dbKey
    if (c.prevStart === start) return c.prevDbKey
    c.prevStart = c.start
    c.prevDbKey = c.dbKey
    c.start = start
    c.dbKey = windowDbKey(key, start)
    return c.dbKey
  }

  delete(key: string, windowStart: number): void {
    this.deleteDb(this.dbKey(key, windowStart))
    const keys = this.index.get(windowStart)
    if (keys?.delete(key) && keys.size === 0) {
      this.index.delete(windowStart)
      // Expiry deletes the oldest start: drop it from the front instead of sorting again.
      const sorted = this.sortedStarts
      if (sorted && sorted[0] === windowStart) sorted.shift()
      else this.sortedStarts = null
    }
  }

  getMeta(name: string): unknown {
    return this.getMetaDb(META + name)
  }

  putMeta(name: string, value: unknown): void {
    this.putMetaDb(META + name, value)
  }

  deleteMeta(name: string): void {
    this.deleteDb(META + name)
  }

  /** Names of committed metadata entries starting with `prefix` (staged ones are the caller's). */
  async metaNames(prefix: string): Promise<string[]> {
    const from = META + prefix
    const out: string[] = []
    for await (const k of this.db.keys({ gte: from, lt: `${from}\uffff` })) out.push(k.slice(META.length))
    return out
  }

  /** [key, start] of live windows with fromExclusive < start ≤ toInclusive, oldest first. */
  windowsByStart(fromExclusive: number, toInclusive: number): [string, number][] {
    const out: [string, number][] = []
    const starts = this.starts()
    // First start > fromExclusive (binary search: this runs whenever stream time moves).
    let lo = 0
    let hi = starts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (starts[mid]! <= fromExclusive) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < starts.length && starts[i]! <= toInclusive; i++) {
      const s = starts[i]!
      for (const k of this.index.get(s)!) out.push([k, s])
    }
    return out
  }

  /** Deletes windows whose end ≤ streamTime - retention. */
  expire(streamTime: number): void {
    const limit = streamTime - this.retentionMs - this.windowSizeMs
    const starts = this.starts()
    if (starts.length === 0 || starts[0]! > limit) return
    for (const [k, s] of this.windowsByStart(Number.NEGATIVE_INFINITY, limit)) this.delete(k, s)
  }

  private entry(dbKey: string, value: V): WindowEntry<V> {
    const [key, start] = parseWindowDbKey(dbKey)
    const window: Window = { start, end: start + this.windowSizeMs }
    return { key, window, value }
  }

  async range(key: string, fromTime: number, toTime: number): Promise<WindowEntry<V>[]> {
    const rows = await this.scanDb(
      windowDbKey(key, Math.max(0, fromTime)),
      windowDbKey(key, Math.max(0, toTime)),
    )
    return rows.map(([k, v]) => this.entry(k, v))
  }

  read(key: string, windowStart: number): Promise<V | undefined> {
    return this.readDb(windowDbKey(key, windowStart))
  }

  async latest(key: string): Promise<WindowEntry<V> | undefined> {
    const row = await this.lastDb(windowDbKey(key, 0), windowDbKey(key, Number.MAX_SAFE_INTEGER))
    return row && this.entry(row[0], row[1])
  }

  async all(options: ScanOptions & { fromTime?: number; toTime?: number } = {}): Promise<WindowEntry<V>[]> {
    const p = options.prefix ?? ''
    const from = options.fromTime ?? Number.NEGATIVE_INFINITY
    const to = options.toTime ?? Number.POSITIVE_INFINITY
    const rows = await this.scanDb(p, `${p}\uffff`)
    const out: WindowEntry<V>[] = []
    for (const [k, v] of rows) {
      if (k.startsWith('\u0001')) continue
      const e = this.entry(k, v)
      if (e.window.start < from || e.window.start > to) continue
      out.push(e)
      if (options.limit !== undefined && out.length >= options.limit) break
    }
    return out
  }

  async count(): Promise<number> {
    return (await this.countKeys('', '\u0001')) + (await this.countKeys('\u0001\uffff', '\uffff'))
  }
}
