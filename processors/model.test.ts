import { describe, expect, it } from 'vitest'
import { FEATURE_NAMES } from './features.ts'
import {
  confidence,
  fitPlatt,
  fitRidge,
  forecast,
  hitOf,
  predictReturn,
  rawCoefficients,
  type Sample,
  trainModel,
} from './model.ts'

// Deterministic draws (mulberry32; Box-Muller for normals), so the tolerances below are exact facts.
function uniform(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function rng(seed: number): () => number {
  const u = uniform(seed)
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u())
}

const D = FEATURE_NAMES.length
/** y = intercept + x·beta + noise, features on very different scales (as returns vs RSI). */
function synthetic(n: number, beta: number[], intercept: number, noise: number, seed: number): Sample[] {
  const g = rng(seed)
  const scales = beta.map((_, j) => 10 ** ((j % 5) - 3))
  return Array.from({ length: n }, (_, i) => {
    const x = scales.map((s, j) => s * g() + (j === 3 ? 5 * s : 0))
    const y = intercept + x.reduce((a, v, j) => a + v * beta[j]!, 0) + noise * g()
    return { t: i * 60_000, x, y }
  })
}

describe('ridge least squares', () => {
  it('recovers known coefficients and intercept (|error| < 1 % of each coefficient) with a tiny penalty', () => {
    const beta = Array.from(
      { length: D },
      (_, j) => (j % 2 === 0 ? 1 : -1) * (0.5 + j / D) * 10 ** (3 - (j % 5)),
    )
    const rows = synthetic(20_000, beta, 0.002, 0.01, 7)
    const r = fitRidge(rows, 1e-9)
    const raw = rawCoefficients(r)
    raw.coefficients.forEach((b, j) => {
      expect(Math.abs(b - beta[j]!) / Math.abs(beta[j]!)).toBeLessThan(0.01)
    })
    expect(raw.intercept).toBeCloseTo(0.002, 3)
    // predictions on the standardized and the raw form agree
    const x = rows[5]!.x
    expect(predictReturn(r, x)).toBeCloseTo(
      raw.intercept + x.reduce((a, v, j) => a + v * raw.coefficients[j]!, 0),
      10,
    )
  })

  it('a larger penalty shrinks the standardized coefficients toward 0', () => {
    const beta = Array.from({ length: D }, () => 1)
    const rows = synthetic(2_000, beta, 0, 0.01, 3)
    const norm = (l: number) => Math.hypot(...fitRidge(rows, l).coefficients)
    expect(norm(1)).toBeLessThan(norm(0.01))
    expect(norm(0.01)).toBeLessThan(norm(0))
  })
})

describe('calibrated confidence', () => {
  it('Platt fit recovers a known logistic relation', () => {
    const g = rng(11)
    const z: number[] = []
    const hit: number[] = []
    const u = uniform(12)
    for (let i = 0; i < 50_000; i++) {
      const zi = Math.abs(g())
      const p = 1 / (1 + Math.exp(-(0.1 + 0.8 * zi)))
      z.push(zi)
      hit.push(u() < p ? 1 : 0)
    }
    const { a, b } = fitPlatt(z, hit)
    expect(a).toBeCloseTo(0.1, 1)
    expect(b).toBeCloseTo(0.8, 1)
  })

  it('on fresh data, stated confidence matches the observed hit rate per bin (within 3 points)', () => {
    const beta = Array.from({ length: D }, (_, j) => (j < 3 ? 0.3 : 0) * 10 ** (3 - (j % 5)))
    const model = trainModel(synthetic(30_000, beta, 0, 1, 5), { version: 'v1', symbol: 'SYN' })
    const test = synthetic(30_000, beta, 0, 1, 99)
    const bins = [0.5, 0.6, 0.7, 0.8, 1.01].map(() => ({ n: 0, conf: 0, hits: 0 }))
    for (const s of test) {
      const f = forecast(model, s.x)
      const h = hitOf(f.predictedReturn, s.y)
      if (h === null) continue
      const i = [0.6, 0.7, 0.8, 1.01].findIndex((e) => f.confidence < e)
      const bin = bins[i]!
      bin.n++
      bin.conf += f.confidence
      bin.hits += h
    }
    for (const b of bins.filter((x) => x.n > 1000))
      expect(Math.abs(b.conf / b.n - b.hits / b.n)).toBeLessThan(0.03)
    expect(bins.filter((x) => x.n > 1000).length).toBeGreaterThanOrEqual(3)
    expect(model.metrics.hitRate).toBeGreaterThan(0.6)
    expect(confidence(model.calibration, 0)).toBeLessThan(0.56)
  })

  it('never states a direction at less than even odds (a calibration worse than a coin flip says 0.5)', () => {
    // out of sample, forecasts were right 23 % of the time at any size: no edge, not "up at 0.23"
    const c = { a: -1.2, b: 0, sigma: 0.001 }
    for (const r of [0, 0.0001, -0.002, 0.05]) expect(confidence(c, r)).toBe(0.5)
    expect(confidence({ a: -0.5, b: 1, sigma: 0.001 }, 0.002)).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 12)
  })

  it('with no signal at all, confidence stays near 0.5 (no invented skill)', () => {
    const rows = synthetic(20_000, Array(D).fill(0), 0, 1, 21)
    const model = trainModel(rows, { version: 'v1', symbol: 'NOISE' })
    for (const s of synthetic(2_000, Array(D).fill(0), 0, 1, 22))
      expect(Math.abs(forecast(model, s.x).confidence - 0.5)).toBeLessThan(0.05)
  })
})
