import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import { aggregate, type Candle } from '../processors/candles.ts'
import { IndicatorBook, type Indicators, initIndicators } from '../processors/indicators.ts'
import type { Ranking } from '../processors/ranking.ts'
import { restKlines, spotDay, spotRange } from '../processors/testdata.ts'
import type { StoredCandle } from './candles.ts'
import { candleStore, platformTopology } from './index.ts'

// A day of BTCUSDT (2024-01-15) and ETHUSDT (2024-01-06) 1m klines through the platform topology
// on the embedded transport: the final candles equal Binance's own.

const strip = ({ interval: _i, ...c }: Candle | Kline) => c
const finals = (all: Kline[], interval: string, symbol: string): Kline[] =>
  all.filter((k) => k.interval === interval && k.symbol === symbol && k.closed)

describe('platform topology (embedded)', () => {
  const bed = new TestBed('cs-topo-')
  const btc = spotDay('BTCUSDT', '1m', '2024-01-15')
  const eth = spotDay('ETHUSDT', '1m', '2024-01-06')
  let out: Record<string, Kline[]> = {}
  let streams: Awaited<ReturnType<TestBed['start']>>

  beforeAll(async () => {
    await bed.topic(topics.kline1m, 2)
    const input = [...btc, ...eth].sort((a, b) => a.openTime - b.openTime)
    // a re-delivery of an hour of minutes must change nothing
    const dup = btc.slice(600, 660)
    await bed.produce(
      topics.kline1m,
      [...input, ...dup].map((k) => ({
        key: k.symbol,
        value: { ...k, interval: '1m' },
        timestamp: k.openTime,
      })),
    )
    streams = await bed.start(platformTopology(), { applicationId: 'topo-test' })
    await streams.flush()
    out = {}
    for (const t of [topics.kline5m, topics.kline1h, topics.kline4h, topics.kline1d])
      out[t] = await bed.values<Kline>(t)
  }, 120_000)
  afterAll(() => bed.close())

  it('BTCUSDT final 1h and 1d equal Binance REST; ETHUSDT final 4h equal Binance files', () => {
    const h = restKlines('BTCUSDT-1h-2024-01-15.klines.json', 'BTCUSDT', '1h')
    const d = restKlines('BTCUSDT-1d-2024-01-04_2024-01-15.klines.json', 'BTCUSDT', '1d').slice(-1)
    expect(finals(out[topics.kline1h]!, '1h', 'BTCUSDT').map(strip)).toEqual(h.map(strip))
    expect(finals(out[topics.kline1d]!, '1d', 'BTCUSDT').map(strip)).toEqual(d.map(strip))
    expect(finals(out[topics.kline4h]!, '4h', 'ETHUSDT').map(strip)).toEqual(
      spotDay('ETHUSDT', '4h', '2024-01-06').map(strip),
    )
    expect(finals(out[topics.kline5m]!, '5m', 'ETHUSDT')).toEqual(
      aggregate(eth, '5m'.slice(0)).map((c) => ({ ...c, interval: '5m' })),
    )
  })

  it('live updates precede each final; the duplicate hour emitted nothing', () => {
    const all = out[topics.kline1h]!.filter((k) => k.symbol === 'BTCUSDT')
    expect(all.length).toBe(1440) // one update per minute, the last of each hour closed
    expect(all.filter((k) => !k.closed).length).toBe(1440 - 24)
  })

  it('stores are queryable by symbol and time range', async () => {
    const store = streams.windowStore<StoredCandle>(candleStore('1h'))
    const from = Date.parse('2024-01-15T10:00:00Z')
    const rows = await store.range('BTCUSDT', from, from + 2 * 3_600_000)
    expect(rows.map((r) => r.value.candle.openTime)).toEqual([from, from + 3_600_000, from + 7_200_000])
  })

  it('ranking and indicators come out', async () => {
    const ranking = await bed.values<Ranking>(topics.ranking)
    const last = ranking[ranking.length - 1]!
    expect(last.symbols).toBe(2)
    expect(last.gainers.map((e) => e.symbol)).toHaveLength(2)
    const ind = await bed.values<Indicators>(topics.indicators)
    const h = ind.filter((x) => x.symbol === 'BTCUSDT' && x.interval === '1h')
    expect(h).toHaveLength(24)
    expect(h[23]!.rsi14).not.toBeNull()
  })
})

describe('restart with the local state deleted (restore from changelogs)', () => {
  const bed = new TestBed('cs-topo-restart-')
  afterAll(() => bed.close())

  it('finals and indicators equal an uninterrupted run', async () => {
    const btc = spotRange('BTCUSDT', '1m', '2024-01-14', '2024-01-15')
    const msg = (k: Candle) => ({ key: k.symbol, value: { ...k, interval: '1m' }, timestamp: k.openTime })
    await bed.topic(topics.kline1m, 1)
    await bed.produce(topics.kline1m, btc.slice(0, 1700).map(msg)) // stops mid-hour, mid-day
    let s = await bed.start(platformTopology(), { applicationId: 'topo-restart' })
    await s.flush()
    await bed.stop(s)
    rmSync(bed.stateDir, { recursive: true, force: true })
    await bed.produce(topics.kline1m, btc.slice(1700).map(msg))
    s = await bed.start(platformTopology(), { applicationId: 'topo-restart' })
    await s.flush()
    const h1 = (await bed.values<Kline>(topics.kline1h)).filter((k) => k.closed)
    const golden = restKlines('BTCUSDT-1h-2024-01-15.klines.json', 'BTCUSDT', '1h')
    expect(h1.slice(-24).map(strip)).toEqual(golden.map(strip))
    const d1 = (await bed.values<Kline>(topics.kline1d)).filter((k) => k.closed)
    expect(d1.map(strip)).toEqual(
      restKlines('BTCUSDT-1d-2024-01-04_2024-01-15.klines.json', 'BTCUSDT', '1d').slice(-2).map(strip),
    )
    const ind = (await bed.values<Indicators>(topics.indicators)).filter((x) => x.interval === '1h')
    const book = new IndicatorBook()
    const st = initIndicators('BTCUSDT', '1h')
    const expected = aggregate(btc, '1h').map((c) => book.update(st, c.openTime, Number(c.close)))
    expect(ind).toEqual(expected)
  }, 120_000)
})
