import type { Book, BookLevel } from '../../../common/records.ts'
import { LocalBook } from './local-book.ts'

// Binance's documented diff-depth sync, as a pure state machine (no I/O, no timers):
//   1. buffer diff events; 2. the caller fetches a REST snapshot when `needSnapshot` is set;
//   3. a snapshot older than the first buffered U (lastUpdateId + 1 < U) is too old → fetch again;
//   4. drop events with u ≤ lastUpdateId; the first applied one must straddle
//      (U ≤ lastUpdateId+1 ≤ u); 5. afterwards every U must equal the previous u + 1.
// Anything else is a gap: the working book is discarded and a fresh snapshot requested, while
// `lastGood` keeps serving the last book that was in sync. A book is only ever published from
// the synced state.

export interface DepthEvent {
  U: number
  u: number
  E: number
  b: BookLevel[]
  a: BookLevel[]
}

export interface DepthSnapshot {
  lastUpdateId: number
  bids: BookLevel[]
  asks: BookLevel[]
}

export type ResyncReason = 'gap' | 'stale_snapshot' | 'crossed' | 'buffer_overflow' | 'reset'

export interface SyncOptions {
  symbol: string
  /** Levels per side in published books (default 20). */
  depth?: number
  /** Events buffered while unsynced before the buffer is restarted (default 10,000). */
  maxBuffer?: number
}

export class BookSync {
  readonly symbol: string
  private readonly depth: number
  private readonly maxBuffer: number
  private book: LocalBook | undefined
  private pending: LocalBook | undefined
  private buffer: DepthEvent[] = []
  private good: Book | undefined
  /** Set when the caller should fetch a snapshot (cleared by `snapshotRequested()`). */
  needSnapshot = true
  /** Set whenever the synced book changed since the last `take()`. */
  changed = false
  resyncs: Partial<Record<ResyncReason, number>> = {}

  constructor(o: SyncOptions) {
    this.symbol = o.symbol
    this.depth = o.depth ?? 20
    this.maxBuffer = o.maxBuffer ?? 10_000
  }

  get synced(): boolean {
    return this.book !== undefined
  }

  /** The last book that was in sync (kept while resyncing). */
  get lastGood(): Book | undefined {
    if (this.book && this.changed) this.good = this.book.snapshot(this.symbol, this.depth)
    return this.good
  }

  snapshotRequested(): void {
    this.needSnapshot = false
  }

  onEvent(ev: DepthEvent): void {
    const book = this.book
    if (book) {
      if (ev.u <= book.lastUpdateId) return // duplicate (e.g. overlapping connections)
      if (ev.U !== book.lastUpdateId + 1) this.resync('gap', ev)
      else this.apply(book, ev)
      return
    }
    if (this.buffer.length >= this.maxBuffer) {
      this.buffer = []
      this.bump('buffer_overflow')
      this.pending = undefined
      this.needSnapshot = true
    }
    this.buffer.push(ev)
    if (this.pending) this.tryStart()
  }

  onSnapshot(s: DepthSnapshot): void {
    if (this.book) return // already synced (late answer)
    this.pending = new LocalBook(s)
    this.tryStart()
  }

  /** Forget the live book (e.g. the connection dropped: diffs were lost); keep serving lastGood. */
  reset(): void {
    if (this.book) this.bump('reset')
    this.book = undefined
    this.pending = undefined
    this.buffer = []
    this.needSnapshot = true
  }

  /** The current top-N book if it changed since the last call and is in sync. */
  take(): Book | undefined {
    if (!this.changed || !this.book) return undefined
    this.good = this.book.snapshot(this.symbol, this.depth)
    this.changed = false
    return this.good
  }

  private tryStart(): void {
    const snap = this.pending!
    const lid = snap.lastUpdateId
    const first = this.buffer[0]
    if (!first) return // wait for an event to check the snapshot against
    if (lid + 1 < first.U) {
      // The snapshot predates everything buffered: events in between are missing. (Binance's
      // text says "lastUpdateId < U"; lastUpdateId = U - 1 is still a valid straddle, so accept it.)
      this.pending = undefined
      this.bump('stale_snapshot')
      this.needSnapshot = true
      return
    }
    let i = 0
    while (i < this.buffer.length && this.buffer[i]!.u <= lid) i++
    if (i === this.buffer.length) {
      this.buffer = []
      return // all buffered events are older than the snapshot; wait for the straddling one
    }
    const straddle = this.buffer[i]!
    if (!(straddle.U <= lid + 1 && lid + 1 <= straddle.u)) {
      this.pending = undefined
      this.buffer = this.buffer.slice(i)
      this.bump('stale_snapshot')
      this.needSnapshot = true
      return
    }
    const rest = this.buffer.slice(i)
    this.buffer = []
    this.pending = undefined
    this.book = snap
    snap.time = straddle.E
    for (let j = 0; j < rest.length; j++) {
      const ev = rest[j]!
      if (j > 0 && ev.U !== snap.lastUpdateId + 1) {
        this.resync('gap', ev, rest.slice(j + 1))
        return
      }
      this.apply(snap, ev)
      if (!this.book) return
    }
  }

  private apply(book: LocalBook, ev: DepthEvent): void {
    book.apply(ev.b, ev.a)
    book.lastUpdateId = ev.u
    book.time = ev.E
    if (book.sane()) this.changed = true
    else this.resync('crossed')
  }

  private resync(reason: ResyncReason, ev?: DepthEvent, more: DepthEvent[] = []): void {
    this.bump(reason)
    // A gap leaves the book consistent up to its lastUpdateId: keep that as the last good one.
    // A crossed book is broken: keep the previous good one.
    if (reason === 'gap' && this.book && this.changed) this.good = this.book.snapshot(this.symbol, this.depth)
    this.book = undefined
    this.pending = undefined
    this.changed = false
    this.buffer = ev ? [ev, ...more] : []
    this.needSnapshot = true
  }

  private bump(reason: ResyncReason): void {
    this.resyncs[reason] = (this.resyncs[reason] ?? 0) + 1
  }
}
