import {
  type DecimalTickerState,
  type LegacyTickerState,
  MINUTE_MS,
  type TickerState,
  type TickerStores,
  type TickMinute,
} from '../processors/ranking.ts'
import type { KeyValueStore, WindowStore } from '../state/types.ts'
import type { LevelWindowStore } from '../state/window-store.ts'

// The rolling ticker's stores as its task processor uses them (topologies/rankings.ts). Per 1m
// kline the ticker reads its symbol's summary, the minute leaving the window and the new first
// one (the oldest bucket) and writes the new minute (the newest bucket): each symbol's summary
// and its two buckets in use are held here, so that this reads no store, and a value already put
// since the last commit is not put again (the store stages the object itself, so its later
// changes are in the batch the next commit writes).
// What is held is what the stores hold: the processor is their only writer, every change is put
// (at least once per commit: a value put while its store's stagedGeneration is unchanged is still
// the staged object), and the processor is made anew when its task's stores are opened and
// restored.

export const BUCKET_MS = 15 * MINUTE_MS
/** A symbol's minutes of one BUCKET_MS window, by slot (minute within it); null: none. */
export type Bucket = (TickMinute | null)[]
type StoredState = TickerState | DecimalTickerState | LegacyTickerState

const SLOTS = BUCKET_MS / MINUTE_MS
/**
 * Minute `t`'s slot in its bucket. `t` is on the minute grid (mergeTick ignores the rest), so
 * t / MINUTE_MS is an exact whole number, below 2^31 until the year 6053: an int32 remainder
 * instead of a double one (a call to fmod, ~8 ns; a 1m kline takes 6).
 */
const slot = (t: number) => ((t / MINUTE_MS) | 0) % SLOTS
const startOf = (t: number) => t - slot(t) * MINUTE_MS

/** No minute left in `b` but at slot `i` (minutes leave in order: the next slot is looked at first). */
function emptyBut(b: Bucket, i: number): boolean {
  for (let j = i + 1; j < b.length; j++) if (b[j]) return false
  for (let j = 0; j < i; j++) if (b[j]) return false
  return true
}

/** One symbol: its summary and its two buckets in use (the newest, where minutes join, and the oldest, where they leave). */
interface Held {
  state: StoredState | undefined
  /** The states store's stagedGeneration when `state` was last put (-1: not since it was read). */
  statePut: number
  /** The most recently used bucket (undefined: none in the store). */
  start: number
  bucket: Bucket | undefined
  bucketPut: number
  otherStart: number
  other: Bucket | undefined
  otherPut: number
}

export class TaskTickerStores implements TickerStores {
  private readonly states: KeyValueStore<StoredState>
  private readonly buckets: WindowStore<Bucket>
  /** Minutes of the earlier layout (one entry each), read until the window has passed them all. */
  private legacy: LevelWindowStore<TickMinute> | undefined
  private legacyLeft: number
  private readonly held = new Map<string, Held>()
  private lastSymbol = ''
  private last: Held | undefined

  constructor(
    states: KeyValueStore<StoredState>,
    buckets: WindowStore<Bucket>,
    legacy: LevelWindowStore<TickMinute>,
  ) {
    this.states = states
    this.buckets = buckets
    this.legacyLeft = legacy.windowsByStart(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY).length
    this.legacy = this.legacyLeft > 0 ? legacy : undefined
  }

  private of(symbol: string): Held {
    if (symbol === this.lastSymbol && this.last !== undefined) return this.last
    let h = this.held.get(symbol)
    if (h === undefined) {
      h = {
        state: undefined,
        statePut: -1,
        start: Number.NaN,
        bucket: undefined,
        bucketPut: -1,
        otherStart: Number.NaN,
        other: undefined,
        otherPut: -1,
      }
      this.held.set(symbol, h)
    }
    this.lastSymbol = symbol
    this.last = h
    return h
  }

  getState(symbol: string): StoredState | undefined {
    const h = this.of(symbol)
    if (h.state === undefined) {
      h.state = this.states.get(symbol)
      h.statePut = -1
    }
    return h.state
  }

  putState(s: TickerState): void {
    const h = this.of(s.symbol)
    const generation = this.states.stagedGeneration
    if (h.state === s && h.statePut === generation) return
    this.states.put(s.symbol, s)
    h.state = s
    h.statePut = generation
  }

  getMinute(symbol: string, t: number): TickMinute | undefined {
    return this.bucket(this.of(symbol), symbol, t)?.[slot(t)] ?? this.legacy?.fetch(symbol, t)
  }

  putMinute(symbol: string, m: TickMinute): void {
    const h = this.of(symbol)
    const t = m[0]
    let b = this.bucket(h, symbol, t)
    if (b === undefined) {
      b = []
      h.bucket = b
      h.bucketPut = -1
    }
    const i = slot(t)
    for (let j = b.length; j < i; j++) b[j] = null
    b[i] = m
    this.putBucket(h, symbol, t, b)
  }

  takeMinute(symbol: string, t: number): TickMinute | undefined {
    const h = this.of(symbol)
    let m: TickMinute | undefined
    const b = this.bucket(h, symbol, t)
    const i = slot(t)
    const x = b?.[i]
    if (b && x) {
      m = x
      b[i] = null
      if (emptyBut(b, i)) {
        // deleted: the other bucket (the newest) becomes the most recently used, so that moving
        // on to the next oldest bucket does not push it out
        this.buckets.delete(symbol, startOf(t))
        h.start = h.otherStart
        h.bucket = h.other
        h.bucketPut = h.otherPut
        h.otherStart = Number.NaN
        h.other = undefined
        h.otherPut = -1
      } else this.putBucket(h, symbol, t, b)
    }
    const legacy = this.legacy
    if (legacy) {
      const y = legacy.fetch(symbol, t)
      if (y !== undefined) {
        m ??= y
        legacy.delete(symbol, t)
        if (--this.legacyLeft === 0) this.legacy = undefined
      }
    }
    return m
  }

  /** The bucket holding minute `t` (undefined: none yet), made the most recently used. */
  private bucket(h: Held, symbol: string, t: number): Bucket | undefined {
    const start = startOf(t)
    if (h.start === start) return h.bucket
    let b: Bucket | undefined
    let put: number
    if (h.otherStart === start) {
      b = h.other
      put = h.otherPut
    } else {
      b = this.buckets.fetch(symbol, start)
      put = -1
    }
    h.otherStart = h.start
    h.other = h.bucket
    h.otherPut = h.bucketPut
    h.start = start
    h.bucket = b
    h.bucketPut = put
    return b
  }

  /** Puts the most recently used bucket `b` (of minute `t`) unless it is staged already. */
  private putBucket(h: Held, symbol: string, t: number, b: Bucket): void {
    const generation = this.buckets.stagedGeneration
    if (h.bucketPut === generation) return
    this.buckets.put(symbol, startOf(t), b)
    h.bucketPut = generation
  }
}
