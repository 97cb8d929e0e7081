import { formatDec, parseDec } from '../../common/decimal.ts'
import type { Row } from './recorded.ts'
import { gauss, type Rng, rng } from './rng.ts'
import { fmt8, pow10, toTicks } from './simulator.ts'
import type { SymbolSpec } from './symbols.ts'

// Trades synthesized from a 1m kline so that they add up to it exactly: the first trade is at
// the open (at the minute's first millisecond), the path touches the high and the low, the last
// trade is at the close, quantities (BigInt units, printed at the kline volume's scale) sum to
// v and the taker-buy ones to V. At most `cap` trades per minute: when the recorded n is larger
// the kline keeps its recorded n (and q, Q), so n then counts real trades, not the ones sent.

export interface MinuteTrades {
  row: Row
  count: number
  price: string[]
  ticks: number[]
  qty: string[]
  units: bigint[]
  time: number[]
  /** Binance's m: the buyer was the maker, i.e. the taker sold. */
  maker: boolean[]
}

interface Plan {
  unit: bigint
  scale: number
  buyUnits: bigint
  sellUnits: bigint
  kb: number
  ks: number
}

/** How a minute is split into trades: no randomness, so counts (and trade ids) are cheap. */
function plan(row: Row, spec: SymbolSpec, cap: number): Plan | undefined {
  const v = parseDec(row.v)
  const vb = parseDec(row.V)
  // quantities are split in lot steps when the volume is on the step grid, else in printed units
  const f = v.scale > spec.stepDec ? pow10(v.scale - spec.stepDec) : 1n
  const exact = v.units % f === 0n && vb.units % f === 0n
  const unit = exact ? f : 1n
  const total = v.units / unit
  const buyUnits = vb.units / unit
  const sellUnits = total - buyUnits
  if (row.n === 0 || total <= 0n) return undefined

  const k = Math.max(Math.min(row.n, cap), Math.min(row.n, 4))
  let kb = buyUnits > 0n ? Math.round((k * Number(buyUnits)) / Number(total)) : 0
  if (buyUnits > 0n) kb = Math.max(1, Math.min(kb, k, Number(buyUnits > 1_000_000n ? 1_000_000n : buyUnits)))
  let ks = k - kb
  if (sellUnits === 0n) ks = 0
  else if (ks === 0) {
    ks = 1
    if (kb > 1) kb--
  }
  if (BigInt(ks) > sellUnits) ks = Number(sellUnits)
  return { unit, scale: v.scale, buyUnits, sellUnits, kb, ks }
}

/** Number of trades `synthesize` makes of this minute. */
export function tradeCount(row: Row, spec: SymbolSpec, cap: number): number {
  const p = plan(row, spec, cap)
  return p ? p.kb + p.ks : 0
}

export function synthesize(row: Row, spec: SymbolSpec, seed: number, cap: number): MinuteTrades {
  const r = rng(seed, 'trades', spec.symbol, row.t)
  const out: MinuteTrades = { row, count: 0, price: [], ticks: [], qty: [], units: [], time: [], maker: [] }
  const pl = plan(row, spec, cap)
  if (!pl) return out
  const { unit, buyUnits, sellUnits, kb, ks } = pl
  const k = kb + ks
  const v = { scale: pl.scale }

  const buyQty = split(buyUnits, kb, r)
  const sellQty = split(sellUnits, ks, r)
  const sides = shuffle([...Array<boolean>(kb).fill(true), ...Array<boolean>(ks).fill(false)], r)
  const ticks = path(row, spec, k, r)
  const span = 60_000 / k
  for (let i = 0; i < k; i++) {
    const buy = sides[i]!
    const u = (buy ? buyQty.pop() : sellQty.pop())! * unit
    out.ticks.push(ticks[i]!)
    out.price.push(fmt8(BigInt(ticks[i]!), spec.tickDec))
    out.units.push(u)
    out.qty.push(formatDec({ units: u, scale: v.scale }))
    out.time.push(i === 0 ? row.t : Math.min(row.t + 59_999, row.t + Math.floor(i * span + r() * span)))
    out.maker.push(!buy)
  }
  out.count = k
  return out
}

/** `total` units in `k` positive parts (k ≤ total), random sizes. */
function split(total: bigint, k: number, r: Rng): bigint[] {
  if (k === 0) return []
  const w = Array.from({ length: k }, () => BigInt(1 + Math.floor(r() * r() * 1_000_000)))
  const sum = w.reduce((a, b) => a + b, 0n)
  const free = total - BigInt(k)
  const parts = w.map((x) => 1n + (free * x) / sum)
  let rest = total - parts.reduce((a, b) => a + b, 0n)
  for (let i = 0; rest > 0n; i = (i + 1) % k, rest--) parts[i]!++
  return parts
}

function shuffle<T>(a: T[], r: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

/** k prices in ticks: open first, close last, the high and the low touched in between. */
function path(row: Row, spec: SymbolSpec, k: number, r: Rng): number[] {
  const o = toTicks(row.o, spec.tickDec)
  const h = toTicks(row.h, spec.tickDec)
  const l = toTicks(row.l, spec.tickDec)
  const c = toTicks(row.c, spec.tickDec)
  if (k === 1) return [o]
  const anchors = new Map<number, number>([
    [0, o],
    [k - 1, c],
  ])
  const inner: number[] = []
  for (let i = 1; i < k - 1; i++) inner.push(i)
  shuffle(inner, r)
  if (h !== o && h !== c && inner.length > 0) anchors.set(inner.pop()!, h)
  if (l !== o && l !== c && inner.length > 0) anchors.set(inner.pop()!, l)
  const idx = [...anchors.keys()].sort((a, b) => a - b)
  const out: number[] = []
  for (let a = 0; a < idx.length - 1; a++) {
    const i0 = idx[a]!
    const i1 = idx[a + 1]!
    const p0 = anchors.get(i0)!
    const p1 = anchors.get(i1)!
    for (let i = i0; i < i1; i++) {
      if (i === i0) out.push(p0)
      else {
        const base = p0 + ((p1 - p0) * (i - i0)) / (i1 - i0)
        const p = Math.round(base + gauss(r) * (h - l) * 0.15)
        out.push(Math.min(h, Math.max(l, p)))
      }
    }
  }
  out.push(c)
  return out
}

/** The open kline after the first `count` trades: consistent with what was sent so far. */
export function partial(m: MinuteTrades, count: number): Row {
  const row = m.row
  if (count >= m.count) return row
  if (count === 0) {
    const zero = (s: string) => formatDec({ units: 0n, scale: parseDec(s).scale })
    return {
      ...row,
      h: row.o,
      l: row.o,
      c: row.o,
      v: zero(row.v),
      q: zero(row.q),
      n: 0,
      V: zero(row.V),
      Q: zero(row.Q),
    }
  }
  let hi = m.ticks[0]!
  let lo = hi
  let v = 0n
  let vb = 0n
  for (let i = 0; i < count; i++) {
    const t = m.ticks[i]!
    if (t > hi) hi = t
    if (t < lo) lo = t
    v += m.units[i]!
    if (!m.maker[i]) vb += m.units[i]!
  }
  const vt = parseDec(row.v)
  const vbt = parseDec(row.V)
  const q = parseDec(row.q)
  const qb = parseDec(row.Q)
  const p = (i: number) => m.price[i]!
  const share = (x: { units: bigint; scale: number }, num: bigint, den: bigint) =>
    formatDec({ units: den === 0n ? 0n : (x.units * num) / den, scale: x.scale })
  return {
    ...row,
    h: p(m.ticks.indexOf(hi)),
    l: p(m.ticks.indexOf(lo)),
    c: p(count - 1),
    v: formatDec({ units: v, scale: vt.scale }),
    q: share(q, v, vt.units),
    n: m.count === row.n ? count : Math.round((row.n * count) / m.count),
    V: formatDec({ units: vb, scale: vbt.scale }),
    Q: share(qb, vb, vbt.units),
  }
}
