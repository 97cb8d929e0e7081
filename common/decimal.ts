import Big from 'big.js'

// Exact decimal arithmetic on Binance's price/quantity strings as BigInt fixed-point: a value is
// (units, scale) with value = units / 10^scale. Sums keep the larger input scale, so "0.10000000"
// + "0.20000000" prints "0.30000000" exactly as Binance prints it (PEPE volumes keep 2 decimals).
// BigInt over big.js: adds and compares are the hot path of candle merging; only division
// (percentages) goes through big.js.

export interface Dec {
  units: bigint
  scale: number
}

const pow10: bigint[] = []
function p10(n: number): bigint {
  let v = pow10[n]
  if (v === undefined) {
    v = 10n ** BigInt(n)
    pow10[n] = v
  }
  return v
}

export function parseDec(s: string): Dec {
  const dot = s.indexOf('.')
  if (dot < 0) return { units: BigInt(s), scale: 0 }
  return { units: BigInt(s.slice(0, dot) + s.slice(dot + 1)), scale: s.length - dot - 1 }
}

export function formatDec(d: Dec): string {
  if (d.scale === 0) return d.units.toString()
  const neg = d.units < 0n
  const digits = (neg ? -d.units : d.units).toString().padStart(d.scale + 1, '0')
  const cut = digits.length - d.scale
  return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  if (a.scale === b.scale) return [a.units, b.units, a.scale]
  if (a.scale > b.scale) return [a.units, b.units * p10(a.scale - b.scale), a.scale]
  return [a.units * p10(b.scale - a.scale), b.units, b.scale]
}

export function addDec(a: Dec, b: Dec): Dec {
  const [x, y, scale] = align(a, b)
  return { units: x + y, scale }
}

export function subDec(a: Dec, b: Dec): Dec {
  const [x, y, scale] = align(a, b)
  return { units: x - y, scale }
}

export function cmpDec(a: Dec, b: Dec): number {
  const [x, y] = align(a, b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Sum of decimal strings, printed at the largest input scale. */
export function add(a: string, b: string): string {
  return formatDec(addDec(parseDec(a), parseDec(b)))
}

export function sub(a: string, b: string): string {
  return formatDec(subDec(parseDec(a), parseDec(b)))
}

export function cmp(a: string, b: string): number {
  return cmpDec(parseDec(a), parseDec(b))
}

export function max(a: string, b: string): string {
  return cmp(a, b) >= 0 ? a : b
}

export function min(a: string, b: string): string {
  return cmp(a, b) <= 0 ? a : b
}

/** Numeric equality regardless of printed scale ("98505.0" equals "98505.00000000"). */
export function eq(a: string, b: string): boolean {
  return cmp(a, b) === 0
}

/** 100 × (a − b) / b rounded half-up to `dp` decimals (Binance prints priceChangePercent with 3). */
export function percentChange(a: string, b: string, dp = 3): string {
  if (cmp(b, '0') === 0) return (0).toFixed(dp)
  return new Big(a).minus(b).times(100).div(b).toFixed(dp, Big.roundHalfUp)
}

/** a / b at `dp` decimals (weighted average price and the like). */
export function div(a: string, b: string, dp = 8): string {
  if (cmp(b, '0') === 0) return (0).toFixed(dp)
  return new Big(a).div(b).toFixed(dp, Big.roundHalfUp)
}
