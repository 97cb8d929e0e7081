import type { Book, BookLevel } from '../../../common/records.ts'
import { canonical, compareCanonical, isZero } from './decimal.ts'

// One side of a book: levels kept sorted best-first in an array (binary search + splice).
// Binance books have a few thousand levels, so a splice is cheaper than a tree here.
interface Level {
  key: string // canonical price, the sort and identity key
  price: string // as Binance printed it
  qty: string
}

class Side {
  readonly levels: Level[] = []
  private readonly sign: number

  constructor(descending: boolean) {
    this.sign = descending ? -1 : 1
  }

  private find(key: string): { i: number; found: boolean } {
    let lo = 0
    let hi = this.levels.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = this.sign * compareCanonical(this.levels[mid]!.key, key)
      if (c === 0) return { i: mid, found: true }
      if (c < 0) lo = mid + 1
      else hi = mid
    }
    return { i: lo, found: false }
  }

  set(price: string, qty: string): void {
    const key = canonical(price)
    const { i, found } = this.find(key)
    if (isZero(canonical(qty))) {
      if (found) this.levels.splice(i, 1)
      return
    }
    if (found) this.levels[i] = { key, price, qty }
    else this.levels.splice(i, 0, { key, price, qty })
  }

  top(n: number): BookLevel[] {
    const out: BookLevel[] = []
    for (let i = 0; i < n && i < this.levels.length; i++)
      out.push([this.levels[i]!.price, this.levels[i]!.qty])
    return out
  }
}

/** A full local order book (no sequencing logic: that is BookSync's job). */
export class LocalBook {
  readonly bids = new Side(true)
  readonly asks = new Side(false)
  lastUpdateId: number
  time = 0

  constructor(snapshot: { lastUpdateId: number; bids: BookLevel[]; asks: BookLevel[] }) {
    this.lastUpdateId = snapshot.lastUpdateId
    for (const [p, q] of snapshot.bids) this.bids.set(p, q)
    for (const [p, q] of snapshot.asks) this.asks.set(p, q)
  }

  apply(bids: BookLevel[], asks: BookLevel[]): void {
    for (const [p, q] of bids) this.bids.set(p, q)
    for (const [p, q] of asks) this.asks.set(p, q)
  }

  /** True when best bid < best ask (or a side is empty). A crossed book means we lost sync. */
  sane(): boolean {
    const b = this.bids.levels[0]
    const a = this.asks.levels[0]
    return !b || !a || compareCanonical(b.key, a.key) < 0
  }

  snapshot(symbol: string, depth: number): Book {
    return {
      symbol,
      lastUpdateId: this.lastUpdateId,
      bids: this.bids.top(depth),
      asks: this.asks.top(depth),
      time: this.time,
    }
  }
}
