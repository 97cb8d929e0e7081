import { add, cmp, parseDec, sub } from '../common/decimal.ts'

// Exact fixed-point numbers for the candle state, parsed once when a minute joins a fold and
// printed once per emitted candle. Binance prints prices and quantities with at most 8 decimals,
// so a non-negative decimal with ≤ 15 integer digits is two exact JS integers: the whole part and
// the fraction in units of 1e-8. Sums keep the largest input scale (as common/decimal.ts does),
// so they print exactly as before. Anything else (more decimals, a sign, a sum past 2^53) falls
// back to common/decimal's BigInt strings: same result, slower.

/** Exact running sum: [whole, fraction × 1e8, scale], or [decimal string, 0, scale] (fallback). */
export type Sum = [number | string, number, number]

const E8 = 100_000_000
/** 10^(8 - d): a fraction of d digits in units of 1e-8. */
const UNIT = [1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1]
const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000']

export const zeroSum = (): Sum => [0, 0, 0]

const scratch = new Float64Array(3)

/** Adds the decimal string `x` to `s`, in place. */
export function addTo(s: Sum, x: string): void {
  if (typeof s[0] === 'number' && scanInto(x, scratch, 0)) {
    let frac = s[1] + (scratch[1] as number)
    let whole = s[0] + (scratch[0] as number)
    if (frac >= E8) {
      frac -= E8
      whole += 1
    }
    if (whole <= Number.MAX_SAFE_INTEGER) {
      setSum(s, whole, frac)
      return
    }
  }
  slow(s, add(formatSum(s), x), x)
}

/** addTo with `x` already scanned into p[at..at+2] (scanInto's layout). */
export function addScanned(s: Sum, p: Float64Array, at: number, x: string): void {
  if (typeof s[0] === 'number') {
    let frac = s[1] + (p[at + 1] as number)
    let whole = s[0] + (p[at] as number)
    if (frac >= E8) {
      frac -= E8
      whole += 1
    }
    if (whole <= Number.MAX_SAFE_INTEGER) {
      s[0] = whole
      s[1] = frac
      if ((p[at + 2] as number) > s[2]) s[2] = p[at + 2] as number
      return
    }
  }
  slow(s, add(formatSum(s), x), x)
}

/**
 * Subtracts the decimal string `x` from `s`, in place. A result below zero, or an input that does
 * not scan, turns the sum into a common/decimal string for good (as a sum past 2^53 does).
 */
export function takeFrom(s: Sum, x: string): void {
  if (typeof s[0] === 'number' && scanInto(x, scratch, 0)) {
    let frac = s[1] - (scratch[1] as number)
    let whole = s[0] - (scratch[0] as number)
    if (frac < 0) {
      frac += E8
      whole -= 1
    }
    if (whole >= 0) {
      setSum(s, whole, frac)
      return
    }
  }
  slow(s, sub(formatSum(s), x), x)
}

/** Fast path: the new exact value; the scale grows to the input's (scratch[2], from scanInto). */
function setSum(s: Sum, whole: number, frac: number): void {
  s[0] = whole
  s[1] = frac
  if ((scratch[2] as number) > s[2]) s[2] = scratch[2] as number
}

/** Fallback: the sum as a common/decimal string from now on, at the largest input scale. */
function slow(s: Sum, value: string, x: string): void {
  s[0] = value
  s[1] = 0
  const dot = x.indexOf('.')
  const d = dot < 0 ? 0 : x.length - dot - 1
  if (d > s[2]) s[2] = d
}

/** The sum printed at the largest input scale ("0" while nothing was added). */
export function formatSum(s: Sum): string {
  if (typeof s[0] === 'string') return s[0]
  if (s[2] === 0) return String(s[0])
  const f = String(s[1] / (UNIT[s[2]] as number)) // every input had ≤ s[2] decimals
  return `${s[0]}.${ZEROS[s[2] - f.length]}${f}`
}

/**
 * Reads `x` into out[at] = whole part, out[at + 1] = fraction in units of 1e-8, out[at + 2] =
 * decimals, for a non-negative decimal with ≤ 15 integer digits and ≤ 8 decimals (every Binance
 * price and quantity). False for anything else (a sign, an exponent, more digits, not a number):
 * the caller falls back to BigInt. Writes into a Float64Array so nothing is allocated.
 */
export function scanInto(x: string, out: Float64Array, at: number): boolean {
  const n = x.length
  let i = 0
  let w = 0
  for (; i < n; i++) {
    const c = x.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    w = w * 10 + c
  }
  if (i === 0 || i > 15) return false
  let f = 0
  let d = 0
  if (i < n) {
    d = n - i - 1
    if (x.charCodeAt(i) !== 46 || d > 8) return false
    for (let j = i + 1; j < n; j++) {
      const c = x.charCodeAt(j) - 48
      if (c < 0 || c > 9) return false
      f = f * 10 + c
    }
  }
  out[at] = w
  out[at + 1] = f * (UNIT[d] as number)
  out[at + 2] = d
  return true
}

/**
 * `count` exact running sums of decimal strings, mutable and allocation-free on the fast path:
 * [whole, fraction × 1e8, scale] per sum in one Float64Array (scanInto's layout). A sum whose input
 * does not scan, or whose whole part would pass 2^53, turns into a common/decimal string for good.
 * Printed like formatSum: at the largest input scale, "0" while nothing was added.
 */
export class FixedSums {
  readonly n: Float64Array
  /** Per sum: its decimal string once it fell back, '' while fixed. Null until the first fallback. */
  big: string[] | null = null

  constructor(count: number) {
    this.n = new Float64Array(count * 3)
  }

  reset(): void {
    this.n.fill(0)
    this.big = null
  }

  /** Adds the scanned number at p[at..at+2] (or, when `scanned` is false, the string `x`) to sum `i`. */
  add(i: number, x: string, p: Float64Array, at: number, scanned: boolean): void {
    if (!scanned || !this.addFixed(i, p, at)) this.addBig(i, x)
  }

  /** Adds every sum of `o` (same count) to this one's: folds a finished window into a larger one. */
  addAll(o: FixedSums): void {
    const count = this.n.length / 3
    for (let i = 0; i < count; i++)
      if (!((o.big === null || o.big[i] === '') && this.addFixed(i, o.n, i * 3))) this.addBig(i, o.format(i))
  }

  /** p[at..at+2] added in doubles; false (nothing changed) when sum `i` is a string or would pass 2^53. */
  private addFixed(i: number, p: Float64Array, at: number): boolean {
    if (this.big !== null && this.big[i] !== '') return false
    const k = i * 3
    const n = this.n
    let frac = (n[k + 1] as number) + (p[at + 1] as number)
    let whole = (n[k] as number) + (p[at] as number)
    if (frac >= E8) {
      frac -= E8
      whole += 1
    }
    if (whole > Number.MAX_SAFE_INTEGER) return false
    n[k] = whole
    n[k + 1] = frac
    if ((p[at + 2] as number) > (n[k + 2] as number)) n[k + 2] = p[at + 2] as number
    return true
  }

  private addBig(i: number, x: string): void {
    const sum = add(this.format(i), x)
    if (this.big === null) this.big = new Array<string>(this.n.length / 3).fill('')
    this.big[i] = sum
  }

  format(i: number): string {
    const s = this.big?.[i]
    if (s) return s
    const k = i * 3
    const n = this.n
    const d = n[k + 2] as number
    if (d === 0) return String(n[k])
    // every input had ≤ d decimals, so the fraction is a whole number of 10^-d units
    const f = String((n[k + 1] as number) / (UNIT[d] as number))
    return `${n[k]}.${ZEROS[d - f.length]}${f}`
  }
}

/** Exactly x > y for decimal strings, given Number(x) and Number(y) (rounding keeps order; ties compare exactly). */
export function greater(x: string, xn: number, y: string, yn: number): boolean {
  if (xn > yn) return true
  if (xn < yn) return false
  return x !== y && cmp(x, y) > 0
}

const P20 = 10n ** 20n

/** n / d rounded to the nearest integer, ties away from zero (big.js roundHalfUp). */
function divHalfUp(n: bigint, d: bigint): bigint {
  const neg = n < 0n !== d < 0n
  const an = n < 0n ? -n : n
  const ad = d < 0n ? -d : d
  let q = an / ad
  if (2n * (an % ad) >= ad) q += 1n
  return neg ? -q : q
}

/**
 * 100 × (a − b) / b at `dp` decimals, the same string as common/decimal percentChange (big.js:
 * the quotient rounded half-up to 20 decimals, then to `dp`) in exact BigInt arithmetic, without
 * big.js's per-digit long division (the ranking computes one per 1m kline).
 */
export function percentChange(a: string, b: string, dp = 3): string {
  const x = parseDec(a)
  const y = parseDec(b)
  if (y.units === 0n) return (0).toFixed(dp)
  const scale = Math.max(x.scale, y.scale)
  const xu = x.units * 10n ** BigInt(scale - x.scale)
  const yu = y.units * 10n ** BigInt(scale - y.scale)
  const diff = xu - yu
  const q = divHalfUp(divHalfUp(diff * 100n * P20, yu), 10n ** BigInt(20 - dp))
  const neg = diff !== 0n && diff < 0n !== yu < 0n
  const digits = (q < 0n ? -q : q).toString().padStart(dp + 1, '0')
  const cut = digits.length - dp
  return `${neg ? '-' : ''}${digits.slice(0, cut)}${dp > 0 ? `.${digits.slice(cut)}` : ''}`
}
