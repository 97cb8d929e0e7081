import { describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import { addDec, cmpDec, parseDec } from '../../common/decimal.ts'
import { Recordings } from './recorded.ts'
import { SYMBOLS } from './symbols.ts'
import { partial, synthesize } from './trades.ts'

// Every recorded minute of a day, every recorded symbol: the synthesized trades add up exactly.
describe('trades synthesized from a kline', () => {
  it('sum to v and V, start at o, end at c, touch h and l, for every minute of 2024-01-01', () => {
    const rec = new Recordings(binanceDataDir())
    let minutes = 0
    for (const spec of SYMBOLS) {
      const rows = rec.day(spec.source, '2024-01-01')
      if (!rows) continue
      for (const row of rows) {
        const m = synthesize(row, spec, 1, 100)
        if (row.n === 0) {
          expect(m.count).toBe(0)
          continue
        }
        const sum = (f: (i: number) => boolean) =>
          m.qty.filter((_, i) => f(i)).reduce((a, q) => addDec(a, parseDec(q)), parseDec('0'))
        expect(
          cmpDec(
            sum(() => true),
            parseDec(row.v),
          ),
        ).toBe(0)
        expect(
          cmpDec(
            sum((i) => !m.maker[i]),
            parseDec(row.V),
          ),
        ).toBe(0)
        expect([m.price[0], m.price.at(-1)]).toEqual([row.o, row.c])
        expect(m.price).toContain(row.h)
        expect(m.price).toContain(row.l)
        expect(m.time[0]).toBe(row.t)
        expect(m.time.every((t, i) => t <= row.T && (i === 0 || t >= m.time[i - 1]!))).toBe(true)
        expect(partial(m, m.count)).toEqual(row)
        minutes++
      }
    }
    expect(minutes).toBeGreaterThan(17 * 1400)
  })
})
