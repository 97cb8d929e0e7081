import { describe, expect, it } from 'vitest'
import { emptyBoard, KEEP_VERSIONS, type Prediction, score, summarize, updateBoard } from './scoring.ts'

const pred = (openTime: number, predictedReturn: number, version = 'v1'): Prediction => ({
  symbol: 'BTCUSDT',
  time: openTime + 60_000,
  openTime,
  horizonMs: 300_000,
  targetOpenTime: openTime + 300_000,
  lastClose: 100,
  predictedPrice: 100 * Math.exp(predictedReturn),
  predictedReturn,
  direction: predictedReturn >= 0 ? 'up' : 'down',
  confidence: 0.6,
  modelVersion: version,
  model: 'symbol',
  lastReturn5m: -0.001,
  momentumConfidence: 0.48,
})

describe('live scoring', () => {
  it('scores direction, price error and Brier beside both baselines', () => {
    const s = score(pred(0, 0.001), 101)
    expect(s.hit).toBe(1)
    expect(s.brier).toBeCloseTo(0.16, 12) // (0.6 - 1)²
    expect(s.absError).toBeCloseTo(Math.abs(100 * Math.exp(0.001) - 101), 12)
    expect(s.baselines.noChange).toEqual({ predictedPrice: 100, absError: 1, hit: null, brier: 0.25 })
    expect(s.baselines.last5mSign.hit).toBe(0) // it said down
    expect(s.baselines.last5mSign.brier).toBeCloseTo(0.48 ** 2, 12)
  })

  it('a minute whose price did not move has no direction: MAE only', () => {
    const s = score(pred(0, 0.001), 100)
    expect(s.hit).toBeNull()
    expect(s.brier).toBeNull()
    expect(s.baselines.noChange.brier).toBeNull()
    const board = emptyBoard('BTCUSDT')
    updateBoard(board, s)
    const sum = summarize(board)!
    expect(sum.model).toMatchObject({ n: 1, hitRate: null, brier: null })
    expect(sum.model.mae).toBeCloseTo(s.absError, 12)
  })

  it('running hit rate, MAE and Brier per version; a duplicate outcome is not counted twice', () => {
    const board = emptyBoard('BTCUSDT')
    expect(updateBoard(board, score(pred(0, 0.001), 101))).toBe(true) // hit
    expect(updateBoard(board, score(pred(60_000, 0.001), 99))).toBe(true) // miss
    expect(updateBoard(board, score(pred(60_000, 0.001), 99))).toBe(false) // duplicate
    const sum = summarize(board)!
    expect(sum.model.n).toBe(2)
    expect(sum.model.hitRate).toBe(0.5)
    expect(sum.model.brier).toBeCloseTo((0.16 + 0.36) / 2, 12)
    expect(sum.noChange).toMatchObject({ n: 2, hitRate: null, mae: 1, brier: 0.25 })
    expect(sum.last5mSign.hitRate).toBe(0.5)
  })

  it('a new version starts its own figures; only the newest versions are kept', () => {
    const board = emptyBoard('BTCUSDT')
    for (let v = 1; v <= KEEP_VERSIONS + 2; v++)
      updateBoard(board, score(pred(v * 60_000, 0.001, `v${v}`), 101))
    expect(board.modelVersion).toBe(`v${KEEP_VERSIONS + 2}`)
    expect(Object.keys(board.versions)).toHaveLength(KEEP_VERSIONS)
    expect(board.versions.v1).toBeUndefined()
    expect(summarize(board)!.model.n).toBe(1)
  })
})
