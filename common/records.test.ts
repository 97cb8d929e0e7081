import { describe, expect, it } from 'vitest'
import { isDecimal, parseKline, SchemaError } from './records.ts'

// The char-code checks stand for these patterns: same answer on every string.
const DECIMAL = /^-?\d{1,30}(\.\d{1,18})?$/
const SYMBOL = /^[A-Z0-9]{2,20}$/

function randomString(alphabet: string, maxLength: number, rnd: () => number): string {
  let s = ''
  const n = Math.floor(rnd() * (maxLength + 1))
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)]
  return s
}

function lcg(seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

const kline = {
  symbol: 'BTCUSDT',
  interval: '1m',
  openTime: 1704067200000,
  closeTime: 1704067259999,
  open: '42283.58000000',
  high: '42298.62000000',
  low: '42261.02000000',
  close: '42298.61000000',
  volume: '35.92724000',
  quoteVolume: '1519031.69451920',
  trades: 1327,
  takerBuyBase: '23.18766000',
  takerBuyQuote: '980394.71034560',
  closed: true,
}

describe('record checks', () => {
  it('isDecimal agrees with the decimal pattern', () => {
    const rnd = lcg(7)
    const edge = ['', '-', '.', '0', '-0', '0.', '.5', '1.5.', '1e5', ' 1', '1 ', '+1', '٣']
    edge.push('1'.repeat(30), '1'.repeat(31), `1.${'0'.repeat(18)}`, `1.${'0'.repeat(19)}`, '--1', '1-')
    for (const s of edge) expect([s, isDecimal(s)]).toEqual([s, DECIMAL.test(s)])
    let accepted = 0
    for (let i = 0; i < 50_000; i++) {
      const s = randomString('-0123456789.9a', i % 2 ? 8 : 52, rnd)
      expect([s, isDecimal(s)]).toEqual([s, DECIMAL.test(s)])
      if (DECIMAL.test(s)) accepted++
    }
    expect(accepted).toBeGreaterThan(1000) // the random strings reach both answers
  })

  it('a kline symbol must match the symbol pattern', () => {
    const rnd = lcg(11)
    for (let i = 0; i < 20_000; i++) {
      const s = randomString('AZ09a-_', 24, rnd)
      const ok = (() => {
        try {
          parseKline({ ...kline, symbol: s })
          return true
        } catch (err) {
          expect(err).toBeInstanceOf(SchemaError)
          return false
        }
      })()
      expect([s, ok]).toEqual([s, SYMBOL.test(s)])
    }
  })

  it('a kline with a bad price names the field', () => {
    expect(() => parseKline({ ...kline, high: '42298.62000000 ' })).toThrow(/kline\.high: invalid value/)
    expect(parseKline(kline)).toEqual(kline)
  })
})
