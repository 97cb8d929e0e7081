import { describe, expect, it } from 'vitest'
import { add, cmp, div, eq, max, min, percentChange, sub } from './decimal.ts'

describe('decimal', () => {
  it('sums exactly at the larger printed scale', () => {
    expect(add('0.10000000', '0.20000000')).toBe('0.30000000')
    expect(add('83834530814.00', '1172087806.00')).toBe('85006618620.00')
    expect(add('0', '0.00000116')).toBe('0.00000116')
    expect(sub('0.00000115', '0.00000116')).toBe('-0.00000001')
    expect(sub('1', '0.5')).toBe('0.5')
  })

  it('compares across scales', () => {
    expect(eq('98505.0', '98505.00000000')).toBe(true)
    expect(cmp('-0.5', '-0.25')).toBe(-1)
    expect(max('0.00000116', '0.00000115')).toBe('0.00000116')
    expect(min('42283.58000000', '42283.5800001')).toBe('42283.58000000')
  })

  it('percentages half-up at 3 decimals, as Binance prints them', () => {
    expect(percentChange('110', '100')).toBe('10.000')
    expect(percentChange('0.00000104', '0.00000116')).toBe('-10.345')
    expect(percentChange('1', '0')).toBe('0.000')
    expect(div('1', '3')).toBe('0.33333333')
  })
})
