import { describe, expect, it } from 'vitest'
import type { Kline, Trade } from '../common/records.ts'
import { appendTrade, newerMinute } from './serving.ts'

const k = (close: string, closed: boolean) => ({ openTime: 0, close, closed }) as Kline
const t = (id: number, time: number) => ({ id, time }) as Trade

describe('serving stores', () => {
  it('a minute keeps its newest version, never an open update over the closed one', () => {
    expect(newerMinute(null, k('1', false))).toEqual(k('1', false))
    expect(newerMinute(k('1', false), k('2', false))).toEqual(k('2', false))
    expect(newerMinute(k('1', false), k('2', true))).toEqual(k('2', true))
    expect(newerMinute(k('2', true), k('3', false))).toEqual(k('2', true))
    expect(newerMinute(k('2', true), k('4', true))).toEqual(k('4', true)) // a correction
  })

  it('recent trades stay in (time, id) order, bounded, without duplicates', () => {
    let list: Trade[] = []
    for (const x of [t(1, 10), t(3, 20), t(2, 20), t(3, 20), t(4, 15), t(5, 30)])
      list = appendTrade(list, x, 4)
    expect(list.map((x) => x.id)).toEqual([4, 2, 3, 5])
  })
})
