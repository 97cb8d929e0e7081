import { CholeskyDecomposition, Matrix } from 'ml-matrix'
import { type Bar, FEATURE_NAMES, featureRows, forwardReturn, LOOKBACK, MINUTE } from './features.ts'

// The 5-minute forecast: ridge-regularized least squares on standardized features, target the
// log return from a candle's close to the close 5 minutes later. Direction = sign of the
// prediction. Confidence = probability that the direction is right, from a logistic (Platt)
// calibration of hit ~ |prediction| / residual sd, fitted on out-of-sample predictions: blocked
// cross-validation over the training window (purged where targets or features overlap a block).

export const HORIZON_MIN = 5
export const HORIZON_MS = HORIZON_MIN * MINUTE
/** Ridge penalties tried (× rows, on standardized features); cross-validation picks one. */
export const LAMBDA_GRID = [0, 1e-4, 1e-3, 1e-2, 0.1, 1]
export const POOLED = 'POOLED'

export interface Sample {
  /** openTime of the candle the features belong to. */
  t: number
  x: number[]
  /** Forward log return over the horizon. */
  y: number
}

export interface Ridge {
  intercept: number
  /** Coefficients on standardized features ((x - mean) / scale). */
  coefficients: number[]
  mean: number[]
  scale: number[]
  lambda: number
}

export interface Calibration {
  /** p(direction right) = 1 / (1 + exp(-(a + b · |ŷ| / sigma))). */
  a: number
  b: number
  sigma: number
}

export interface ModelMetrics {
  trainRows: number
  /** Rows with an out-of-sample prediction (blocked cross-validation); the figures below are on them: */
  outOfSampleRows: number
  hitRate: number
  brier: number
  maeReturn: number
  /** Baselines on the same rows: sign of the last 5-minute return; no change (MAE of 0). */
  momentumHitRate: number
  noChangeMaeReturn: number
}

export interface Model {
  /** Training run (shared by every model of one run). */
  version: string
  /** Symbol, or POOLED (fallback trained on every symbol). */
  symbol: string
  horizonMs: number
  features: string[]
  lookback: number
  ridge: Ridge
  calibration: Calibration
  /** openTime of the first and last training candle (the window the model saw, targets included). */
  trainedFrom: number
  trainedTo: number
  createdAt: string
  metrics: ModelMetrics
}

/** Samples of a series (oldest first): features at each candle with a known forward return. */
export function samplesOf(bars: readonly Bar[], horizonMin = HORIZON_MIN): Sample[] {
  const rows = featureRows(bars)
  const out: Sample[] = []
  for (let i = LOOKBACK - 1; i < bars.length; i++) {
    const x = rows[i]
    if (!x) continue
    const y = forwardReturn(bars, i, horizonMin)
    if (y === null) continue
    out.push({ t: bars[i]!.openTime, x, y })
  }
  return out
}

interface Moments {
  n: number
  mean: number[]
  scale: number[]
  ybar: number
  /** Z'Z and Z'(y - ȳ) with Z the standardized features. */
  zz: number[][]
  zy: number[]
}

function moments(rows: readonly Sample[]): Moments {
  const n = rows.length
  const d = rows[0]!.x.length
  const mean = new Array<number>(d).fill(0)
  let ybar = 0
  for (const r of rows) {
    for (let j = 0; j < d; j++) mean[j]! += r.x[j]!
    ybar += r.y
  }
  for (let j = 0; j < d; j++) mean[j]! /= n
  ybar /= n
  const scale = new Array<number>(d).fill(0)
  for (const r of rows) for (let j = 0; j < d; j++) scale[j]! += (r.x[j]! - mean[j]!) ** 2
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]! / n) || 1
  const zz = Array.from({ length: d }, () => new Array<number>(d).fill(0))
  const zy = new Array<number>(d).fill(0)
  const z = new Array<number>(d)
  for (const r of rows) {
    for (let j = 0; j < d; j++) z[j] = (r.x[j]! - mean[j]!) / scale[j]!
    const yc = r.y - ybar
    for (let j = 0; j < d; j++) {
      const zj = z[j]!
      zy[j]! += zj * yc
      const row = zz[j]!
      for (let k = j; k < d; k++) row[k]! += zj * z[k]!
    }
  }
  for (let j = 0; j < d; j++) for (let k = 0; k < j; k++) zz[j]![k] = zz[k]![j]!
  return { n, mean, scale, ybar, zz, zy }
}

function solveRidge(m: Moments, lambda: number): Ridge {
  const d = m.zy.length
  const a = new Matrix(m.zz.map((r) => [...r]))
  for (let j = 0; j < d; j++) a.set(j, j, a.get(j, j) + lambda * m.n + 1e-12 * m.n)
  const beta = new CholeskyDecomposition(a).solve(Matrix.columnVector(m.zy)).getColumn(0)
  return { intercept: m.ybar, coefficients: beta, mean: m.mean, scale: m.scale, lambda }
}

/** Ridge least squares of y on x (intercept unpenalized, features standardized). */
export function fitRidge(rows: readonly Sample[], lambda: number): Ridge {
  if (rows.length < 2) throw new Error('ridge needs at least 2 rows')
  return solveRidge(moments(rows), lambda)
}

export function predictReturn(r: Ridge, x: readonly number[]): number {
  let y = r.intercept
  for (let j = 0; j < x.length; j++) y += r.coefficients[j]! * ((x[j]! - r.mean[j]!) / r.scale[j]!)
  return y
}

/** Coefficients on the original feature scale, with the matching intercept. */
export function rawCoefficients(r: Ridge): { intercept: number; coefficients: number[] } {
  const coefficients = r.coefficients.map((b, j) => b / r.scale[j]!)
  const intercept = r.intercept - coefficients.reduce((a, b, j) => a + b * r.mean[j]!, 0)
  return { intercept, coefficients }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v))

/**
 * Calibrated probability that the forecast's direction is right, never below even odds: where the
 * out-of-sample record says forecasts of this size were right less often than not, the model has
 * no usable edge there and says 0.5 rather than stating a direction it believes less than its
 * opposite.
 */
export function confidence(c: Calibration, predicted: number): number {
  return Math.max(0.5, sigmoid(c.a + (c.b * Math.abs(predicted)) / c.sigma))
}

/** Logistic regression of hit on z by Newton's method (tiny L2 keeps it finite when separable). */
export function fitPlatt(z: readonly number[], hit: readonly number[]): { a: number; b: number } {
  let a = 0
  let b = 0
  const l2 = 1e-3
  for (let it = 0; it < 50; it++) {
    let ga = 0
    let gb = -l2 * b
    let haa = 0
    let hab = 0
    let hbb = l2
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(a + b * z[i]!)
      const e = hit[i]! - p
      const w = p * (1 - p)
      ga += e
      gb += e * z[i]!
      haa += w
      hab += w * z[i]!
      hbb += w * z[i]! * z[i]!
    }
    const det = haa * hbb - hab * hab
    if (!(det > 0)) break
    const da = (hbb * ga - hab * gb) / det
    const db = (haa * gb - hab * ga) / det
    a += da
    b += db
    if (Math.abs(da) + Math.abs(db) < 1e-10) break
  }
  return { a, b }
}

/** Direction right? null when the price did not move (no direction to be right about). */
export const hitOf = (predicted: number, actual: number): 0 | 1 | null =>
  actual === 0 ? null : predicted >= 0 === actual > 0 ? 1 : 0

const RET5 = FEATURE_NAMES.indexOf('ret_5')

export interface TrainOptions {
  version: string
  symbol: string
  createdAt?: string
  /** Contiguous time blocks for the out-of-sample predictions (penalty and calibration). */
  folds?: number
  lambdas?: number[]
}

/**
 * Fits a model on `rows`: blocked cross-validation over time (each block predicted by a ridge
 * fitted on the other blocks, minus the rows whose target or features overlap it) gives
 * out-of-sample predictions over the whole window; they choose the penalty and fit the
 * calibration. Then the ridge is fitted on every row with that penalty.
 */
export function trainModel(rows: readonly Sample[], o: TrainOptions): Model {
  const sorted = [...rows].sort((p, q) => p.t - q.t)
  if (sorted.length < 200) throw new Error(`${o.symbol}: ${sorted.length} training rows, need ≥ 200`)
  const k = o.folds ?? 5
  const lambdas = o.lambdas ?? LAMBDA_GRID
  const bounds = Array.from({ length: k + 1 }, (_, i) => Math.floor((i * sorted.length) / k))
  // oos[l][i]: out-of-sample prediction of row i with penalty lambdas[l]
  const oos = lambdas.map(() => new Array<number>(sorted.length))
  for (let f = 0; f < k; f++) {
    const lo = sorted[bounds[f]!]!.t
    const hi = sorted[bounds[f + 1]! - 1]!.t
    // purge: targets reaching into the block, features reading it
    const train = sorted.filter((r) => r.t + HORIZON_MS < lo || r.t > hi + LOOKBACK * MINUTE)
    const m = moments(train)
    lambdas.forEach((lambda, l) => {
      const r = solveRidge(m, lambda)
      for (let i = bounds[f]!; i < bounds[f + 1]!; i++) oos[l]![i] = predictReturn(r, sorted[i]!.x)
    })
  }
  const mses = oos.map((ps) => ps.reduce((acc, p, i) => acc + (p - sorted[i]!.y) ** 2, 0) / sorted.length)
  const best = mses.indexOf(Math.min(...mses))
  const preds = oos[best]!
  const sigma = Math.sqrt(mses[best]!) || 1e-9
  const z: number[] = []
  const hits: number[] = []
  let mom = 0
  let momN = 0
  preds.forEach((p, i) => {
    const row = sorted[i]!
    const h = hitOf(p, row.y)
    if (h === null) return
    z.push(Math.abs(p) / sigma)
    hits.push(h)
    const hm = hitOf(row.x[RET5]!, row.y)
    if (hm !== null) {
      mom += hm
      momN++
    }
  })
  const { a, b } = fitPlatt(z, hits)
  const calibration = { a, b, sigma }
  const brier =
    z.reduce((acc, zi, i) => acc + (confidence(calibration, zi * sigma) - hits[i]!) ** 2, 0) /
    Math.max(1, z.length)
  const final = solveRidge(moments(sorted), lambdas[best]!)
  return {
    version: o.version,
    symbol: o.symbol,
    horizonMs: HORIZON_MS,
    features: [...FEATURE_NAMES],
    lookback: LOOKBACK,
    ridge: final,
    calibration,
    trainedFrom: sorted[0]!.t,
    trainedTo: sorted[sorted.length - 1]!.t + HORIZON_MS,
    createdAt: o.createdAt ?? new Date().toISOString(),
    metrics: {
      trainRows: sorted.length,
      outOfSampleRows: sorted.length,
      hitRate: hits.reduce((acc, h) => acc + h, 0) / Math.max(1, hits.length),
      brier,
      maeReturn: preds.reduce((acc, p, i) => acc + Math.abs(p - sorted[i]!.y), 0) / sorted.length,
      momentumHitRate: mom / Math.max(1, momN),
      noChangeMaeReturn: sorted.reduce((acc, r) => acc + Math.abs(r.y), 0) / sorted.length,
    },
  }
}

export interface Forecast {
  predictedReturn: number
  direction: 'up' | 'down'
  confidence: number
}

export function forecast(model: Model, x: readonly number[]): Forecast {
  const predictedReturn = predictReturn(model.ridge, x)
  return {
    predictedReturn,
    direction: predictedReturn >= 0 ? 'up' : 'down',
    confidence: confidence(model.calibration, predictedReturn),
  }
}
