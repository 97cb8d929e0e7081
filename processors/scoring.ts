import { hitOf } from './model.ts'

// Live scoring of forecasts against the candle at their horizon, beside two baselines:
//   no change     — predicted price = last close; no direction, so its confidence is a coin
//                   flip (Brier 0.25) and it has no hit rate;
//   last 5m sign  — the last 5-minute return continues: its sign is the direction, the return
//                   itself the predicted return, its confidence the hit rate it had on the model's
//                   held-out training tail (a calibrated constant).
// A minute whose price did not move has no direction to be right about: it counts for MAE but
// not for hit rate or Brier.

export interface Prediction {
  symbol: string
  /** When the forecast was made: the 1m candle's close (closeTime + 1). */
  time: number
  /** openTime of that candle. */
  openTime: number
  horizonMs: number
  /** openTime of the candle whose close is forecast (openTime + horizonMs). */
  targetOpenTime: number
  lastClose: number
  predictedPrice: number
  /** Log return lastClose → predicted close. */
  predictedReturn: number
  direction: 'up' | 'down'
  /** Calibrated probability that `direction` is right. */
  confidence: number
  modelVersion: string
  /** The symbol's own model, or the pooled fallback. */
  model: 'symbol' | 'pooled'
  /** For the baseline scored beside it: log return of the last 5 minutes, and its confidence. */
  lastReturn5m: number
  momentumConfidence: number
}

export interface BaselineScore {
  predictedPrice: number
  absError: number
  hit: 0 | 1 | null
  brier: number | null
}

export interface Score {
  symbol: string
  time: number
  openTime: number
  targetOpenTime: number
  modelVersion: string
  lastClose: number
  actualPrice: number
  actualReturn: number
  predictedPrice: number
  predictedReturn: number
  direction: 'up' | 'down'
  confidence: number
  absError: number
  hit: 0 | 1 | null
  brier: number | null
  baselines: { noChange: BaselineScore; last5mSign: BaselineScore }
}

export function score(p: Prediction, actualPrice: number): Score {
  const actualReturn = Math.log(actualPrice / p.lastClose)
  const hit = hitOf(p.predictedReturn, actualReturn)
  const mom = hitOf(p.lastReturn5m, actualReturn)
  const momPrice = p.lastClose * Math.exp(p.lastReturn5m)
  return {
    symbol: p.symbol,
    time: p.time,
    openTime: p.openTime,
    targetOpenTime: p.targetOpenTime,
    modelVersion: p.modelVersion,
    lastClose: p.lastClose,
    actualPrice,
    actualReturn,
    predictedPrice: p.predictedPrice,
    predictedReturn: p.predictedReturn,
    direction: p.direction,
    confidence: p.confidence,
    absError: Math.abs(p.predictedPrice - actualPrice),
    hit,
    brier: hit === null ? null : (p.confidence - hit) ** 2,
    baselines: {
      noChange: {
        predictedPrice: p.lastClose,
        absError: Math.abs(p.lastClose - actualPrice),
        hit: null,
        brier: hit === null ? null : 0.25,
      },
      last5mSign: {
        predictedPrice: momPrice,
        absError: Math.abs(momPrice - actualPrice),
        hit: mom,
        brier: mom === null ? null : (p.momentumConfidence - mom) ** 2,
      },
    },
  }
}

/** Running sums since the version's first score, plus exponentially weighted means (≈ last day). */
export interface Stats {
  n: number
  /** Scores with a direction (price moved). */
  directional: number
  hits: number
  absError: number
  brier: number
  ewmaHit: number | null
  ewmaAbsError: number | null
  ewmaBrier: number | null
}

export interface VersionBoard {
  model: Stats
  noChange: Stats
  momentum: Stats
  /** openTime of the newest prediction scored (duplicates of its outcome are not scored again). */
  lastOpenTime: number
}

export interface ScoreBoard {
  symbol: string
  modelVersion: string
  updatedAt: number
  versions: Record<string, VersionBoard>
}

/** Weight of the newest score in the EWMA (1/1440: about one day of minutes). */
export const EWMA_ALPHA = 1 / 1440
/** Versions kept per symbol (older ones are dropped). */
export const KEEP_VERSIONS = 5

const emptyStats = (): Stats => ({
  n: 0,
  directional: 0,
  hits: 0,
  absError: 0,
  brier: 0,
  ewmaHit: null,
  ewmaAbsError: null,
  ewmaBrier: null,
})

export const emptyBoard = (symbol: string): ScoreBoard => ({
  symbol,
  modelVersion: '',
  updatedAt: 0,
  versions: {},
})

const ewma = (prev: number | null, v: number) => (prev === null ? v : prev + EWMA_ALPHA * (v - prev))

function add(s: Stats, absError: number, hit: 0 | 1 | null, brier: number | null): void {
  s.n++
  s.absError += absError
  s.ewmaAbsError = ewma(s.ewmaAbsError, absError)
  if (hit === null) {
    if (brier !== null) throw new Error('brier without a direction')
  } else {
    s.directional++
    s.hits += hit
    s.ewmaHit = ewma(s.ewmaHit, hit)
  }
  if (brier !== null) {
    s.brier += brier
    s.ewmaBrier = ewma(s.ewmaBrier, brier)
  }
}

/** Adds a score; false (board unchanged) when its prediction was scored already. */
export function updateBoard(board: ScoreBoard, s: Score): boolean {
  let v = board.versions[s.modelVersion]
  if (v && s.openTime <= v.lastOpenTime) return false
  if (!v) {
    v = {
      model: emptyStats(),
      noChange: emptyStats(),
      momentum: emptyStats(),
      lastOpenTime: Number.NEGATIVE_INFINITY,
    }
    board.versions[s.modelVersion] = v
    const names = Object.keys(board.versions).sort()
    for (const old of names.slice(0, Math.max(0, names.length - KEEP_VERSIONS))) delete board.versions[old]
  }
  v.lastOpenTime = s.openTime
  add(v.model, s.absError, s.hit, s.brier)
  const nc = s.baselines.noChange
  // no-change has no direction: it is scored for MAE and as a coin flip for Brier
  v.noChange.n++
  v.noChange.absError += nc.absError
  v.noChange.ewmaAbsError = ewma(v.noChange.ewmaAbsError, nc.absError)
  if (nc.brier !== null) {
    v.noChange.directional++
    v.noChange.brier += nc.brier
    v.noChange.ewmaBrier = ewma(v.noChange.ewmaBrier, nc.brier)
  }
  const m = s.baselines.last5mSign
  add(v.momentum, m.absError, m.hit, m.brier)
  if (s.modelVersion > board.modelVersion) board.modelVersion = s.modelVersion
  board.updatedAt = Math.max(board.updatedAt, s.time)
  return true
}

export interface Summary {
  n: number
  /** null: no direction (no change), or nothing scored yet. */
  hitRate: number | null
  mae: number | null
  brier: number | null
  ewmaHitRate: number | null
  ewmaMae: number | null
  ewmaBrier: number | null
}

const summary = (s: Stats, directional: boolean): Summary => ({
  n: s.n,
  hitRate: directional && s.directional > 0 ? s.hits / s.directional : null,
  mae: s.n > 0 ? s.absError / s.n : null,
  brier: s.directional > 0 ? s.brier / s.directional : null,
  ewmaHitRate: directional ? s.ewmaHit : null,
  ewmaMae: s.ewmaAbsError,
  ewmaBrier: s.ewmaBrier,
})

/** Hit rate, MAE (price) and Brier of a version's model and baselines (the gateway's view). */
export function summarize(board: ScoreBoard, version = board.modelVersion) {
  const v = board.versions[version]
  if (!v) return undefined
  return {
    symbol: board.symbol,
    modelVersion: version,
    updatedAt: board.updatedAt,
    model: summary(v.model, true),
    noChange: summary(v.noChange, false),
    last5mSign: summary(v.momentum, true),
  }
}
