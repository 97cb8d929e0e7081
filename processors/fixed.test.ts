import { describe, expect, it } from 'vitest'
import { add, percentChange as bigPercent } from '../common/decimal.ts'
import { addTo, formatSum, greater, percentChange, type Sum, zeroSum } from './fixed.ts'

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
