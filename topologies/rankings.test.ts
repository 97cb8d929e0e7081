import { afterAll, describe, expect, it } from 'vitest'
import { topics } from '../common/topics.ts'
import { TestBed } from '../engine/testing.ts'
import type { Ranking } from '../processors/ranking.ts'
import { spotDay } from '../processors/testdata.ts'
import { rankingsTopology } from './index.ts'

// The same klines through the ranking topology twice: on every change, and thinned to one
// ranking per wall-clock tick. The thinned topic ends on exactly the same ranking.
describe('rankingEveryMs', () => {
  const bed = new TestBed('cs-rank-')
  afterAll(() => bed.close())

  it('emits fewer rankings and its last one equals the last of the unthinned run', async () => {
    const klines = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']
      .flatMap((s) => spotDay(s, '1m', '2024-01-03').slice(0, 400))
      .sort((a, b) => a.openTime - b.openTime)
    const runs = { all: undefined as Ranking[] | undefined, thin: undefined as Ranking[] | undefined }
    for (const [name, every] of [
      ['all', undefined],
      ['thin', 40],
    ] as const) {
      const prefix = `${name}.`
      await bed.topic(prefix + topics.kline1m)
      await bed.produce(
        prefix + topics.kline1m,
        klines.map((k) => ({ key: k.symbol, value: { ...k, interval: '1m' }, timestamp: k.openTime })),
      )
      const streams = await bed.start(rankingsTopology({ topicPrefix: prefix, rankingEveryMs: every }), {
        applicationId: `rank-${name}`,
      })
      await streams.flush()
      await new Promise((r) => setTimeout(r, 200)) // at least one tick after the last input
      await bed.stop(streams)
      runs[name] = await bed.values<Ranking>(prefix + topics.ranking)
    }
    const all = runs.all!
    const thin = runs.thin!
    expect(all.length).toBeGreaterThan(1000)
    expect(thin.length).toBeGreaterThan(0)
    expect(thin.length).toBeLessThan(all.length / 10)
    expect(thin.at(-1)).toEqual(all.at(-1))
    expect(thin.at(-1)!.symbols).toBe(3)
  })
})
