import { gauss, int, type Rng, rng } from './rng.ts'
import { fmtUnits } from './simulator.ts'
import type { SymbolSpec } from './symbols.ts'

// A seeded synthetic order book per symbol on its tick grid, following the last trade price:
// bids at or below it, asks above it (so best bid < best ask always), levels kept within a
// band of about 0.1 % around it. Every step changes a few levels and becomes one diff event
// with Binance's sequencing: U = previous u + 1, u = U + (changed levels) − 1, quantity 0 removes
// a level. Prices are integer ticks, quantities integer lot steps, printed with 8 decimals.

export type Level = [string, string]

export interface DepthDiff {
  U: number
  u: number
  b: Level[]
  a: Level[]
}

/** One side: ticks kept sorted best first, quantities by tick. */
class Side {
  readonly ticks: number[] = []
  readonly qty = new Map<number, number>()
  private readonly desc: boolean

  constructor(desc: boolean) {
    this.desc = desc
  }

  private index(t: number): number {
    let lo = 0
    let hi = this.ticks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const x = this.ticks[mid]!
      if (this.desc ? x > t : x < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  set(t: number, q: number): void {
    const had = this.qty.has(t)
    if (q === 0) {
      if (!had) return
      this.qty.delete(t)
      this.ticks.splice(this.index(t), 1)
    } else {
      if (!had) this.ticks.splice(this.index(t), 0, t)
      this.qty.set(t, q)
    }
  }
}

/** Best level of `s` that `changes` does not remove. */
function top(s: Side, changes: Map<number, number>): number | undefined {
  for (const t of s.ticks) if (changes.get(t) !== 0) return t
  return undefined
}

export class SyntheticBook {
  readonly symbol: string
  private readonly spec: SymbolSpec
  private readonly r: Rng
  private readonly bids = new Side(true)
  private readonly asks = new Side(false)
  private readonly levels: number
  private readonly lotUnits: number
  lastUpdateId: number
  /** One step's changes per side, reused (cleared) every step: a diff per book per 100 ms adds up. */
  private readonly bidChanges = new Map<number, number>()
  private readonly askChanges = new Map<number, number>()

  constructor(spec: SymbolSpec, seed: number, mid: number, levels = 100) {
    this.spec = spec
    this.symbol = spec.symbol
    this.r = rng(seed, 'book', spec.symbol)
    this.levels = levels
    this.lotUnits = Math.max(1, (spec.volume * 10 ** spec.stepDec) / 20)
    this.lastUpdateId = 1_000_000 + int(this.r, 0, 1_000_000)
    this.bids.set(mid, this.size())
    this.asks.set(mid + 1, this.size())
    this.refill(mid, new Map(), new Map())
  }

  /** Never fewer than `levels` per side (bids above price 0): new levels inside the band. */
  private refill(mid: number, b: Map<number, number>, a: Map<number, number>): void {
    const w = this.width(mid)
    const lowest = Math.max(1, mid - w)
    const bidTarget = Math.min(this.levels, mid - lowest + 1)
    while (this.bids.ticks.length < bidTarget) {
      const t = int(this.r, lowest, mid)
      if (this.bids.qty.has(t)) continue
      const q = this.size()
      this.bids.set(t, q)
      b.set(t, q)
    }
    while (this.asks.ticks.length < this.levels) {
      const t = mid + 1 + int(this.r, 0, w)
      if (this.asks.qty.has(t)) continue
      const q = this.size()
      this.asks.set(t, q)
      a.set(t, q)
    }
  }

  /** Band half-width in ticks: ±0.1 %, but room for 2× the levels on coarse tick grids. */
  private width(mid: number): number {
    return Math.max(2 * this.levels, Math.round(mid * 0.001))
  }

  private size(): number {
    return Math.max(1, Math.round(this.lotUnits * Math.exp(gauss(this.r))))
  }

  private trim(side: Side, changes: Map<number, number>, outside: (t: number) => boolean): void {
    let keep = side.ticks.length - changes.size
    for (let i = side.ticks.length - 1; i >= 0 && keep > this.levels; i--) {
      const t = side.ticks[i]!
      if (changes.get(t) === 0) continue
      if (!outside(t)) break
      changes.set(t, 0)
      keep--
    }
  }

  /** Move the book towards `mid` (last trade, in ticks) and change a few levels: one diff. */
  step(mid: number): DepthDiff {
    const w = this.width(mid)
    const b = this.bidChanges
    const a = this.askChanges
    b.clear()
    a.clear()
    // levels the price went through are gone; levels left deep outside the band stay (a real
    // book keeps them) and are trimmed deepest first only beyond `levels`: fewer changes per diff.
    // Sides are sorted best first: those levels are a prefix.
    for (const t of this.bids.ticks) {
      if (t <= mid) break
      b.set(t, 0)
    }
    for (const t of this.asks.ticks) {
      if (t > mid) break
      a.set(t, 0)
    }
    this.trim(this.bids, b, (t) => t < mid - w)
    this.trim(this.asks, a, (t) => t > mid + 1 + w)
    const bb = top(this.bids, b)
    if (bb === undefined || bb < mid - 2) b.set(mid - int(this.r, 0, 1), this.size())
    const ba = top(this.asks, a)
    if (ba === undefined || ba > mid + 3) a.set(mid + 1 + int(this.r, 0, 1), this.size())
    const n = 1 + int(this.r, 0, 2)
    for (let i = 0; i < n; i++) {
      const bid = this.r() < 0.5
      const side = bid ? this.bids : this.asks
      const changes = bid ? b : a
      if (side.ticks.length > this.levels && this.r() < 0.5) {
        changes.set(side.ticks[int(this.r, 0, side.ticks.length - 1)]!, 0)
        continue
      }
      const d = Math.floor(w * this.r() ** 3)
      const tick = bid ? mid - d : mid + 1 + d
      if (tick >= 1) changes.set(tick, this.size())
    }
    // a level that is not in the book cannot be removed: not an update
    for (const [t, q] of b) if (q === 0 && !this.bids.qty.has(t)) b.delete(t)
    for (const [t, q] of a) if (q === 0 && !this.asks.qty.has(t)) a.delete(t)
    for (const [t, q] of b) this.bids.set(t, q)
    for (const [t, q] of a) this.asks.set(t, q)
    this.refill(mid, b, a) // part of the same diff
    const U = this.lastUpdateId + 1
    this.lastUpdateId += Math.max(1, b.size + a.size)
    return { U, u: this.lastUpdateId, b: this.print(b), a: this.print(a) }
  }

  private print(m: Map<number, number>): Level[] {
    const out: Level[] = []
    m.forEach((q, t) => {
      out.push([fmtUnits(t, this.spec.tickDec), fmtUnits(q, this.spec.stepDec)])
    })
    return out
  }

  private side(s: Side, limit: number): Level[] {
    const out: Level[] = []
    for (let i = 0; i < limit && i < s.ticks.length; i++) {
      const t = s.ticks[i]!
      out.push([fmtUnits(t, this.spec.tickDec), fmtUnits(s.qty.get(t)!, this.spec.stepDec)])
    }
    return out
  }

  snapshot(limit: number): { lastUpdateId: number; bids: Level[]; asks: Level[] } {
    return {
      lastUpdateId: this.lastUpdateId,
      bids: this.side(this.bids, limit),
      asks: this.side(this.asks, limit),
    }
  }

  bestBid(): Level | undefined {
    return this.side(this.bids, 1)[0]
  }

  bestAsk(): Level | undefined {
    return this.side(this.asks, 1)[0]
  }

  /** Sanity for tests: best bid strictly below best ask. */
  crossed(): boolean {
    const b = this.bids.ticks[0]
    const a = this.asks.ticks[0]
    return b !== undefined && a !== undefined && b >= a
  }
}
