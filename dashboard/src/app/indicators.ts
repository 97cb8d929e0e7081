// Chart overlays computed from the candles on screen, so they cover exactly the loaded history
// (including older pages loaded by panning) at every timeframe. null where not yet defined.

export type Series = (number | null)[]

export function sma(values: number[], n: number): Series {
  const out: Series = new Array(values.length).fill(null)
  let sum = 0
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!
    if (i >= n) sum -= values[i - n]!
    if (i >= n - 1) out[i] = sum / n
  }
  return out
}

export function ema(values: number[], n: number): Series {
  const out: Series = new Array(values.length).fill(null)
  if (values.length < n) return out
  const k = 2 / (n + 1)
  let e = 0
  for (let i = 0; i < n; i++) e += values[i]!
  e /= n
  out[n - 1] = e
  for (let i = n; i < values.length; i++) {
    e = values[i]! * k + e * (1 - k)
    out[i] = e
  }
  return out
}

/** Wilder's RSI. */
export function rsi(values: number[], n = 14): Series {
  const out: Series = new Array(values.length).fill(null)
  if (values.length <= n) return out
  let gain = 0
  let loss = 0
  for (let i = 1; i <= n; i++) {
    const d = values[i]! - values[i - 1]!
    if (d > 0) gain += d
    else loss -= d
  }
  gain /= n
  loss /= n
  out[n] = loss === 0 ? 100 : 100 - 100 / (1 + gain / loss)
  for (let i = n + 1; i < values.length; i++) {
    const d = values[i]! - values[i - 1]!
    gain = (gain * (n - 1) + Math.max(d, 0)) / n
    loss = (loss * (n - 1) + Math.max(-d, 0)) / n
    out[i] = loss === 0 ? 100 : 100 - 100 / (1 + gain / loss)
  }
  return out
}

export interface Macd {
  macd: Series
  signal: Series
  histogram: Series
}

export function macd(values: number[], fast = 12, slow = 26, signalN = 9): Macd {
  const f = ema(values, fast)
  const s = ema(values, slow)
  const line: Series = values.map((_, i) => (f[i] !== null && s[i] !== null ? f[i]! - s[i]! : null))
  const start = line.findIndex((v) => v !== null)
  const signal: Series = new Array(values.length).fill(null)
  if (start >= 0) {
    const tail = ema(line.slice(start) as number[], signalN)
    for (let i = 0; i < tail.length; i++) signal[start + i] = tail[i] ?? null
  }
  const histogram: Series = line.map((v, i) => (v !== null && signal[i] !== null ? v - signal[i]! : null))
  return { macd: line, signal, histogram }
}
