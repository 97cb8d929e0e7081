import { describe, expect, it } from 'vitest'
import { add, percentChange as bigPercent } from '../common/decimal.ts'
import { addTo, FixedSums, formatSum, greater, percentChange, type Sum, scanInto, zeroSum } from './fixed.ts'

const sum = (...xs: string[]): string => {
  const s: Sum = zeroSum()
  for (const x of xs) addTo(s, x)
  return formatSum(s)
}

describe('fixed-point sums', () => {
  it('print at the largest input scale, exactly as common/decimal add', () => {
    expect(sum()).toBe('0')
    expect(sum('0.10000000', '0.20000000')).toBe('0.30000000')
    expect(sum('83834530814.00', '1172087806.00')).toBe('85006618620.00')
    expect(sum('0', '0.00000116')).toBe('0.00000116')
    expect(sum('12', '0.5', '0.75')).toBe('13.25')
    expect(sum('0.99999999', '0.00000001')).toBe('1.00000000')
  })

  it('fall back to BigInt strings past 2^53, beyond 8 decimals or with a sign: same result', () => {
    const big = ['999999999999999.5', '9007199254740991', '1.25']
    expect(sum(...big)).toBe(big.reduce((a, b) => add(a, b), '0'))
    expect(sum('1.5', '0.000000001', '2')).toBe('3.500000001')
    expect(sum('1.5', '-0.25')).toBe('1.25')
    expect(sum('12345678901234567890', '1.1')).toBe('12345678901234567891.1')
  })

  it('order prices exactly, also where their Numbers are equal', () => {
    const a = '0.10000000000000001'
    const b = '0.1'
    expect(Number(a)).toBe(Number(b))
    expect(greater(a, Number(a), b, Number(b))).toBe(true)
    expect(greater(b, Number(b), a, Number(a))).toBe(false)
    expect(greater('98505.0', 98505, '98505.00000000', 98505)).toBe(false)
    expect(greater('2', 2, '10', 10)).toBe(false)
  })

  it('percent change equals the big.js version (random prices, ties, signs, zero)', () => {
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const price = () => (rnd() * 10 ** Math.floor(rnd() * 7)).toFixed(Math.floor(rnd() * 9))
    const cases: [string, string][] = [
      ['100.05', '100'],
      ['99.9995', '100'],
      ['100.0005', '100'],
      ['0', '5'],
      ['5', '0'],
      ['42000.00000000', '42000.00000000'],
      ['0.00000001', '0.00000003'],
    ]
    for (let i = 0; i < 20_000; i++) cases.push([price(), price()])
    for (const [a, b] of cases) expect(percentChange(a, b), `${a} ${b}`).toBe(bigPercent(a, b))
    expect(percentChange('1', '3', 8)).toBe(bigPercent('1', '3', 8))
  })
})

/** Deterministic generator (tests must not flake): uniform in [0, 1). */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

/** A Binance-style decimal: 1..`maxWhole` integer digits (no leading zero), 0..8 decimals. */
function decimal(rnd: () => number, maxWhole = 15): string {
  const whole = 1 + Math.floor(rnd() * maxWhole)
  let s = rnd() < 0.3 ? '0' : String(1 + Math.floor(rnd() * 9))
  if (s !== '0') for (let i = 1; i < whole; i++) s += Math.floor(rnd() * 10)
  const d = Math.floor(rnd() * 9)
  if (d === 0) return s
  s += '.'
  for (let i = 0; i < d; i++) s += Math.floor(rnd() * 10)
  return s
}

const fixedSum = (xs: string[]): FixedSums => {
  const s = new FixedSums(1)
  const p = new Float64Array(3)
  for (const x of xs) s.add(0, x, p, 0, scanInto(x, p, 0))
  return s
}

describe('scanInto and FixedSums (parse once, format once)', () => {
  it('round trip: one Binance decimal scans and prints as itself (20k random, 1..15 integer digits, 0..8 decimals)', () => {
    const rnd = random(11)
    const p = new Float64Array(3)
    for (let i = 0; i < 20_000; i++) {
      const x = decimal(rnd)
      expect(scanInto(x, p, 0), x).toBe(true)
      const s = fixedSum([x])
      expect(s.format(0), x).toBe(x)
      expect(s.big, x).toBeNull()
    }
    for (const x of ['0', '0.00000000', '42283.58000000', '30312858057.00', '999999999999999.99999999'])
      expect(fixedSum([x]).format(0)).toBe(x)
  })

  it('random sums equal common/decimal add and the state fold (fixed.ts addTo)', () => {
    const rnd = random(5)
    for (let n = 0; n < 2_000; n++) {
      const xs = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () =>
        decimal(rnd, 1 + Math.floor(rnd() * 15)),
      )
      const want = xs.reduce((a, b) => add(a, b), '0')
      expect(fixedSum(xs).format(0), xs.join(' ')).toBe(want)
      expect(sum(...xs), xs.join(' ')).toBe(want)
    }
    expect(new FixedSums(2).format(1)).toBe('0')
  })

  it('rejects what is not a plain Binance decimal, and the sum still comes out exact through BigInt', () => {
    const p = new Float64Array(3)
    for (const x of ['', '-1', '+1', '1e5', '.5', '1.123456789', '1234567890123456', 'abc', '1.2.3', ' 1'])
      expect(scanInto(x, p, 0), x).toBe(false)
    expect(scanInto('123456789012345', p, 0)).toBe(true)
    expect(scanInto('5.', p, 0)).toBe(true) // BigInt reads it as 5 too
    const odd = ['1.5', '0.000000001', '-0.25', '1234567890123456', '2']
    const s = fixedSum(odd)
    expect(s.format(0)).toBe(odd.reduce((a, b) => add(a, b), '0'))
    expect(s.big).not.toBeNull()
    expect(() => fixedSum(['1', '1.2.3'])).toThrow(SyntaxError) // as common/decimal: nothing silently wrong
  })

  it('overflow: exact up to 2^53 − 1 in doubles, past it the sum turns into BigInt and stays exact', () => {
    // 9 × 900719925474099 + 900719925474100 = 2^53 − 1 (inputs of ≤ 15 digits scan)
    const toMax = [...Array<string>(9).fill('900719925474099'), '900719925474100']
    const atMax = fixedSum([...toMax, '0.99999999'])
    expect(atMax.format(0)).toBe(`${Number.MAX_SAFE_INTEGER}.99999999`)
    expect(atMax.big).toBeNull() // the boundary itself is still two doubles
    const carry = fixedSum([...toMax, '0.99999999', '0.00000001'])
    expect(carry.format(0)).toBe('9007199254740992.00000000') // the fraction's carry crosses 2^53
    expect(carry.big).not.toBeNull()
    const past = fixedSum([...toMax, '1', '0.5', '7'])
    expect(past.format(0)).toBe('9007199254740999.5')
    expect(past.big).not.toBeNull()
    const xs = [...Array<string>(20).fill('999999999999999.99999999'), '0.5', '123456.789']
    const many = fixedSum(xs)
    expect(many.format(0)).toBe(xs.reduce((a, b) => add(a, b), '0'))
    expect(many.format(0)).toBe('20000000000123457.28899980')
  })

  it('addAll: a sum of sums is exact in doubles, past 2^53 and from a string sum', () => {
    const a = fixedSum(['900719925474099.5', '1.25'])
    const b = fixedSum(['0.75', '7'])
    a.addAll(b)
    expect(a.format(0)).toBe('900719925474108.50')
    const toMax = [...Array<string>(9).fill('900719925474099'), '900719925474100']
    const c = fixedSum(toMax.slice(0, 5))
    c.addAll(fixedSum([...toMax.slice(5), '0.5']))
    expect(c.format(0)).toBe(`${Number.MAX_SAFE_INTEGER}.5`)
    expect(c.big).toBeNull()
    c.addAll(fixedSum(['0.5']))
    expect(c.format(0)).toBe('9007199254740992.0')
    expect(c.big).not.toBeNull()
    const d = fixedSum(['1.5'])
    d.addAll(fixedSum(['-0.25', '0.125']))
    expect(d.format(0)).toBe('1.375')
  })
})
