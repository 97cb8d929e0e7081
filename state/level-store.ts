import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { ProducedRecord } from '../engine/transport.ts'
import { syncDir } from './fsync.ts'
import type { StoreSpec } from './types.ts'

// One LevelDB per store per task. Writes are staged in memory (last write per key wins) and
// reach LevelDB in one batch at commit, after their changelog records are durable. Reads see
// staged writes first. LevelDB keys and values are the changelog's keys and values, so a restore
// copies records without decoding them.
// The store's checkpoint (the changelog offset its data includes) is a LevelDB key written in the
// same batch as the data it describes, so the two can never disagree: a store directory that is
// lost, or replaced by an older copy, carries its own truth. A newly created store is marked
// "no checkpoint" before anything else, so it is restored in full whatever files lie around it.

const DELETED = Symbol('deleted')
/** Per store: LevelDB's block cache and memtable (write buffer) sizes. */
export const LEVEL_CACHE_BYTES = 1024 * 1024
export const LEVEL_WRITE_BUFFER_BYTES = 512 * 1024
/** Metadata keys (JSON values, never V) start with U+0001. */
const isMeta = (k: string) => k.charCodeAt(0) === 1
/** The store's checkpoint: a changelog offset, or `null` (created, nothing restored yet). Never in the changelog. */
const CHECKPOINT = '\u0001checkpoint'
type Staged<V> = V | typeof DELETED

export class LevelStore<V> {
  readonly spec: StoreSpec
  readonly db: ClassicLevel<string, string>
  readonly dir: string
  protected staged = new Map<string, Staged<V> | unknown>()
  /** The batch being written at commit: still visible to queries until LevelDB has it. */
  protected flushing: Map<string, Staged<V> | unknown> | null = null
  /** Changelog offset the flushed data includes (set by the restore; undefined: no changelog). */
  checkpointOffset: number | undefined
  /** Changelog records produced for the staged writes (they move the checkpoint at flush). */
  private producedForStaged = 0
  /** Those records, in staged order: their values are what LevelDB gets (serialized once). */
  private producedRecords: ProducedRecord[] | undefined

  constructor(spec: StoreSpec, dir: string) {
    this.spec = spec
    this.dir = dir
    // Many small databases (stores × tasks, 20 in the one-command run): bound each one's file
    // handles, block cache and memtable. LevelDB's 4 MB write buffer per store (plus an immutable
    // one while it flushes) was up to ~160 MB of native memory for 20 stores holding ~10 MB of
    // data; with 512 KB the memtables flush sooner into small level-0 tables (compacted in
    // LevelDB's background thread), and reads of recent windows still hit the 1 MB block cache
    // or the OS page cache.
    this.db = new ClassicLevel<string, string>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      maxOpenFiles: 100,
      cacheSize: LEVEL_CACHE_BYTES,
      writeBufferSize: LEVEL_WRITE_BUFFER_BYTES,
    })
  }

  /** Created by this open() and not written since: empty but for its "no checkpoint" mark. */
  private fresh = false

  async open(): Promise<void> {
    const created = !existsSync(join(this.dir, 'CURRENT'))
    await this.db.open()
    if (created) {
      await this.db.put(CHECKPOINT, 'null', { sync: true })
      await syncDir(dirname(this.dir))
    }
    this.fresh = created
  }

  /**
   * The checkpoint kept in LevelDB: an offset; `null` for a store created since (restore it in
   * full); undefined for a store written before checkpoints lived in LevelDB.
   */
  storedCheckpoint(): number | null | undefined {
    const raw = this.db.getSync(CHECKPOINT)
    return raw === undefined ? undefined : (JSON.parse(raw) as number | null)
  }

  /** Sets the checkpoint, durably (with every earlier unsynced write: LevelDB syncs its whole log). */
  async writeCheckpoint(offset: number): Promise<void> {
    this.fresh = false
    await this.db.put(CHECKPOINT, String(offset), { sync: true })
    this.checkpointOffset = offset
  }

  async close(): Promise<void> {
    await this.db.close()
  }

  /**
   * Wipes the local copy (missing/stale checkpoint: the changelog is the truth). A store this
   * process just created holds nothing to wipe: closing, deleting and recreating it cost every new
   * store of a first start 3 more fsyncs, which on a busy disk (the one-command run's ingest
   * appending at 600×) made opening 20 stores take a minute.
   */
  async wipe(): Promise<void> {
    if (this.fresh) return
    await this.db.close()
    await rm(this.dir, { recursive: true, force: true })
    await syncDir(dirname(this.dir))
    await this.open()
  }

  /**
   * Bumped whenever a commit takes the staged writes (beginFlush). A value put while the generation
   * is g stays staged — the object itself, so changes made to it in place reach the next commit —
   * for as long as the generation is g; after that it must be put again.
   */
  get stagedGeneration(): number {
    return this.generation
  }

  private generation = 0

  get pendingWrites(): number {
    return this.staged.size
  }

  protected getDb(dbKey: string): V | undefined {
    let s = this.staged.get(dbKey)
    if (s === undefined && this.flushing) s = this.flushing.get(dbKey)
    if (s !== undefined) return s === DELETED ? undefined : (s as V)
    const raw = this.db.getSync(dbKey)
    return raw === undefined ? undefined : (this.spec.serde.deserialize(raw) as V)
  }

  protected putDb(dbKey: string, value: V): void {
    this.staged.set(dbKey, value)
  }

  /**
   * Keys staged since the last commit that existed nowhere before (not in LevelDB, nor in a batch
   * being written): a delete of one takes it out of the staged writes, leaving no tombstone. A
   * replay expires windows within one commit interval (a second of it spans days of event time):
   * those were two thirds of the changelog records of a month's replay, for keys never written.
   */
  private created = new Set<string>()

  /**
   * A put of a key the caller knows is new (see `created`). A key with a staged tombstone is not:
   * the caller's index lost it to a delete since the last commit, but LevelDB may still hold it.
   */
  protected putNewDb(dbKey: string, value: V): void {
    if (!this.staged.has(dbKey)) this.created.add(dbKey)
    this.staged.set(dbKey, value)
  }

  protected deleteDb(dbKey: string): void {
    if (this.created.delete(dbKey)) this.staged.delete(dbKey)
    else this.staged.set(dbKey, DELETED)
  }

  protected getMetaDb(dbKey: string): unknown {
    let s = this.staged.get(dbKey)
    if (s === undefined && this.flushing) s = this.flushing.get(dbKey)
    if (s !== undefined) return s === DELETED ? undefined : s
    const raw = this.db.getSync(dbKey)
    return raw === undefined ? undefined : JSON.parse(raw)
  }

  protected putMetaDb(dbKey: string, value: unknown): void {
    this.staged.set(dbKey, value)
  }

  /** Async read for queries from outside the task: staged first, then LevelDB. */
  protected async readDb(dbKey: string): Promise<V | undefined> {
    const s = this.staged.get(dbKey) ?? this.flushing?.get(dbKey)
    if (s !== undefined) return s === DELETED ? undefined : (s as V)
    const raw = await this.db.get(dbKey)
    return raw === undefined ? undefined : (this.spec.serde.deserialize(raw) as V)
  }

  /** Entries with gte ≤ key ≤ lte (staged writes applied), in key order. */
  protected async scanDb(gte: string, lte: string, limit = Number.POSITIVE_INFINITY): Promise<[string, V][]> {
    const out = new Map<string, V>()
    const stagedInRange: [string, unknown][] = []
    if (this.flushing)
      for (const [k, v] of this.flushing) if (k >= gte && k <= lte && !isMeta(k)) stagedInRange.push([k, v])
    for (const [k, v] of this.staged) if (k >= gte && k <= lte && !isMeta(k)) stagedInRange.push([k, v])
    const dbLimit = Number.isFinite(limit) ? limit + stagedInRange.length : -1
    for await (const [k, raw] of this.db.iterator({ gte, lte, limit: dbLimit })) {
      if (isMeta(k)) continue
      out.set(k, this.spec.serde.deserialize(raw) as V)
    }
    for (const [k, v] of stagedInRange) {
      if (v === DELETED) out.delete(k)
      else out.set(k, v as V)
    }
    const sorted = [...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    return Number.isFinite(limit) ? sorted.slice(0, limit) : sorted
  }

  /** The entry with the greatest key in [gte, lte] (staged writes applied), without a full scan. */
  protected async lastDb(gte: string, lte: string): Promise<[string, V] | undefined> {
    let best: [string, V] | undefined
    const deleted = new Set<string>()
    for (const m of [this.flushing, this.staged]) {
      if (!m) continue
      for (const [k, v] of m) {
        if (k < gte || k > lte || isMeta(k)) continue
        if (v === DELETED) deleted.add(k)
        else deleted.delete(k)
      }
    }
    for (const m of [this.flushing, this.staged]) {
      if (!m) continue
      for (const [k, v] of m)
        if (k >= gte && k <= lte && !isMeta(k) && v !== DELETED && !deleted.has(k) && (!best || k > best[0]))
          best = [k, (this.staged.has(k) ? this.staged.get(k) : v) as V]
    }
    for await (const [k, raw] of this.db.iterator({ gte, lte, reverse: true })) {
      if (isMeta(k) || deleted.has(k)) continue
      if (!best || k > best[0]) best = [k, this.spec.serde.deserialize(raw) as V]
      break
    }
    return best
  }

  /** Changelog records for the staged writes (step "produce changelog" of the commit). */
  changelogRecords(topic: string, partition: number, timestamp: number): ProducedRecord[] {
    const out: ProducedRecord[] = []
    for (const [k, v] of this.staged) {
      out.push({
        topic,
        partition,
        key: k,
        value: v === DELETED ? null : isMeta(k) ? JSON.stringify(v) : this.spec.serde.serialize(v),
        timestamp,
      })
    }
    this.producedForStaged = out.length
    this.producedRecords = out
    return out
  }

  /** Writes the staged batch to LevelDB (step "flush local state" of the commit). */
  flush(): Promise<void> {
    return this.beginFlush()()
  }

  /**
   * Step "flush local state" in two halves: now (synchronously) the staged writes become the batch
   * being written (reads still see it) and new writes stage anew; the returned function writes the
   * batch and its checkpoint, so processing can go on while a commit's sends are in flight.
   */
  beginFlush(): () => Promise<void> {
    const staged = this.staged
    const produced = this.producedRecords
    this.producedRecords = undefined
    if (staged.size === 0) return async () => {}
    this.fresh = false
    if (this.flushing) throw new Error(`store ${this.spec.name}: a flush is still in progress`)
    const batch = this.db.batch()
    // The changelog records' values, when they cover exactly the staged writes (same order).
    const same = produced?.length === staged.size
    let i = 0
    for (const [k, v] of staged) {
      const r = same ? produced![i++] : undefined
      if (v === DELETED) batch.del(k)
      else if (r && r.key === k && r.value !== null) batch.put(k, r.value)
      else batch.put(k, isMeta(k) ? JSON.stringify(v) : this.spec.serde.serialize(v as V))
    }
    // The changelog already holds these writes (they were produced before the flush).
    const checkpoint =
      this.checkpointOffset === undefined ? undefined : this.checkpointOffset + this.producedForStaged
    if (checkpoint !== undefined) batch.put(CHECKPOINT, String(checkpoint))
    this.producedForStaged = 0
    this.flushing = staged
    this.staged = new Map()
    this.created = new Set()
    this.generation++
    return async () => {
      try {
        // sync: a task checkpoint written next must never claim writes a power loss could take back.
        await batch.write({ sync: true })
      } finally {
        this.flushing = null
      }
      if (checkpoint !== undefined) this.checkpointOffset = checkpoint
    }
  }

  /**
   * Restore: applies raw changelog records (key, value | null) in one LevelDB batch. No checkpoint
   * per batch: one key rewritten in every batch makes all of LevelDB's level-0 tables overlap, so a
   * restore of sorted keys can no longer move tables down without rewriting them (+30 % CPU for 1M
   * keys). An interrupted restore starts again from the old checkpoint (replays are idempotent).
   */
  async applyRaw(records: { key: string; value: string | null }[]): Promise<void> {
    this.fresh = false
    const batch = this.db.batch()
    for (const r of records) {
      if (r.value === null) batch.del(r.key)
      else batch.put(r.key, r.value)
    }
    await batch.write()
  }

  async approximateBytes(): Promise<number> {
    return this.db.approximateSize('', '\uffff')
  }

  async countKeys(gte = '', lt = '\uffff'): Promise<number> {
    let n = 0
    for await (const _ of this.db.keys({ gte, lt })) n++
    for (const [k, v] of this.staged) if (k >= gte && k < lt && !isMeta(k) && v === DELETED) n--
    return n
  }
}

export { DELETED }
