import type { Row } from './recorded.ts'
import { gauss, rng } from './rng.ts'
import type { SymbolSpec } from './symbols.ts'

// A seeded market for minutes without a recording: a per-minute log-normal random walk of the
// price (σ ≈ 0.07 % per minute, about 2.6 % a day) on the symbol's tick grid, log-normal volume
// and trade counts around the symbol's typical level. A day is generated from (seed, symbol,
// day) and the previous day's close only, so any day can be rebuilt on demand and REST history
// agrees with the stream. `closeOnly` walks the same random sequence without building rows, for
// chaining far ahead of the recordings cheaply.

const SIGMA = 0.0007

const POW10 = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i))

export function pow10(n: number): bigint {
  return POW10[n] ?? 10n ** BigInt(n)
}

/** Integer units at `dec` decimals → Binance's 8-decimal string. */
export function fmt8(units: bigint, dec: number): string {
  const u = units * pow10(8 - dec)
  const s = u.toString().padStart(9, '0')
  return `${s.slice(0, -8)}.${s.slice(-8)}`
}

/** Like fmt8 for a safe integer (book levels: ticks and lot units), without BigInt. */
export function fmtUnits(units: number, dec: number): string {
  const s = String(units).padStart(dec + 1, '0')
  return `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec).padEnd(8, '0')}`
}

export function toTicks(price: string, tickDec: number): number {
  const [i = '0', f = ''] = price.split('.')
  return Number(i + f.padEnd(tickDec, '0').slice(0, tickDec))
}

export function simulateDay(
  spec: SymbolSpec,
  seed: number,
  dayStart: number,
  prevClose: number,
  closeOnly: true,
): number
export function simulateDay(
  spec: SymbolSpec,
  seed: number,
  dayStart: number,
  prevClose: number,
  closeOnly: false,
): Row[]
export function simulateDay(
  spec: SymbolSpec,
  seed: number,
  dayStart: number,
  prevClose: number,
  closeOnly: boolean,
): Row[] | number {
  const r = rng(seed, 'sim', spec.symbol, dayStart)
  const rows: Row[] = []
  let price = Math.max(prevClose, 1)
  for (let m = 0; m < 1440; m++) {
    // always draw the same six numbers per minute: closeOnly must follow the same sequence
    const z = gauss(r)
    const up = Math.abs(gauss(r))
    const down = Math.abs(gauss(r))
    const vz = gauss(r)
    const nz = gauss(r)
    const buy = 0.3 + 0.4 * r()
    const open = Math.round(price)
    price = Math.max(1, price * Math.exp(SIGMA * z))
    const close = Math.max(1, Math.round(price))
    if (closeOnly) continue
    const high = Math.max(open, close) + Math.round(up * SIGMA * 0.5 * price)
    const low = Math.max(1, Math.min(open, close) - Math.round(down * SIGMA * 0.5 * price))
    const n = Math.max(1, Math.round(spec.trades * Math.exp(0.4 * nz)))
    const stepUnits = 10 ** spec.stepDec
    const vUnits = Math.max(n * 2, Math.round(spec.volume * Math.exp(0.5 * vz) * stepUnits))
    const bUnits = Math.round(vUnits * buy)
    const vwap = (open + high + low + close) / 4 / 10 ** spec.tickDec
    const t = dayStart + m * 60_000
    rows.push({
      t,
      T: t + 59_999,
      o: fmt8(BigInt(open), spec.tickDec),
      h: fmt8(BigInt(high), spec.tickDec),
      l: fmt8(BigInt(low), spec.tickDec),
      c: fmt8(BigInt(close), spec.tickDec),
      v: fmt8(BigInt(vUnits), spec.stepDec),
      q: ((vUnits / stepUnits) * vwap).toFixed(8),
      n,
      V: fmt8(BigInt(bUnits), spec.stepDec),
      Q: ((bUnits / stepUnits) * vwap).toFixed(8),
    })
  }
  return closeOnly ? Math.round(price) : rows
}
