import { describe, expect, it } from 'vitest'
import { type StatusSample, statusLine } from './status.ts'

describe('status line', () => {
  it('rates over the interval, symbols that received anything, lag and the replay clock', () => {
    const prev: StatusSample = { at: 0, inBySymbol: new Map([['BTCUSDT', 100]]), out: 10, lag: 5 }
    const cur: StatusSample = {
      at: 2000,
      inBySymbol: new Map([
        ['BTCUSDT', 100],
        ['ETHUSDT', 400],
      ]),
      out: 50,
      lag: 3,
    }
    expect(statusLine(prev, cur, 15, Date.parse('2024-01-02T03:04:59Z'))).toBe(
      'live 1/15 symbols · in 200/s · out 20/s · lag 3 · replay 2024-01-02 03:04',
    )
    expect(statusLine(prev, cur, 15)).not.toContain('replay')
  })
})
