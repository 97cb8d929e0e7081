import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { binanceDataDir } from '../../common/data.ts'
import { DAY_MS, DayRows, parseRow, Recordings } from './recorded.ts'
import { simulateDay } from './simulator.ts'
import { specOf } from './symbols.ts'

// Days are kept as text and parsed row by row on use: every row reads back as the file's line
// parsed on its own (recorded) or exactly as generated (simulated).

const lines = (sym: string, day: string): string[] =>
  gunzipSync(readFileSync(join(binanceDataDir(), 'klines', 'spot', sym, '1m', `${sym}-1m-${day}.csv.gz`)))
    .toString()
    .trim()
    .split('\n')

describe('DayRows', () => {
  it('a recorded day: row i is line i of the file, parsed', () => {
    const day = new Recordings(binanceDataDir()).day('BTCUSDT', '2024-01-02')!
    const expected = lines('BTCUSDT', '2024-01-02').map(parseRow)
    expect(day.length).toBe(1440)
    expect([...day]).toEqual(expected)
    expect(day.last()).toEqual(expected.at(-1))
    expect([day.at(-1), day.at(1440), day.at(0.5)]).toEqual([undefined, undefined, undefined])
  })

  it('a simulated day: the rows as generated', () => {
    const rows = simulateDay(specOf('BTCUSDT')!, 1, Date.UTC(2024, 5, 1), 6_000_000, false)
    const day = DayRows.of(rows)
    expect(day.length).toBe(1440)
    expect([...day]).toEqual(rows)
    expect(day.at(1439)!.T).toBe(Date.UTC(2024, 5, 1) + DAY_MS - 1)
  })

  it('an empty text is an empty day', () => {
    expect(new DayRows('').length).toBe(0)
    expect(new DayRows('\n').last()).toBeUndefined()
  })
})
