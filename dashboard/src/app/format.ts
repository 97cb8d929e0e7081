// Number formatting with the symbol's exchange precision: prices to the tick size, sizes to the
// step size, thousands separators. Values arrive as decimal strings; formatting rounds to the
// precision, so float noise (0.30000000000000004) can never reach the screen.

const formatters = new Map<number, Intl.NumberFormat>()

function formatter(decimals: number): Intl.NumberFormat {
  let f = formatters.get(decimals)
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    formatters.set(decimals, f)
  }
  return f
}

/** Decimals of a tick or step size: "0.01000000" → 2, "1.00000000" → 0, 1e-8 → 8. */
export function decimalsOf(step: string | number | undefined | null): number | undefined {
  if (step === undefined || step === null || step === '') return undefined
  const n = Number(step)
  if (!Number.isFinite(n) || n <= 0) return undefined
  const s = typeof step === 'string' && !/e/i.test(step) ? step : n.toFixed(12)
  const frac = s.split('.')[1] ?? ''
  const trimmed = frac.replace(/0+$/, '')
  return trimmed.length
}

/** Fallback when no exchange filters are known: the decimals the data itself uses (Binance pads to 8). */
export function inferDecimals(values: Iterable<string | number>, cap = 8): number {
  let d = 0
  for (const v of values) {
    const s = typeof v === 'string' ? v : String(v)
    const frac = (s.split('.')[1] ?? '').replace(/0+$/, '')
    if (frac.length > d) d = frac.length
    if (d >= cap) return cap
  }
  return d
}

export function fmt(value: string | number | null | undefined, decimals: number): string {
  if (value === null || value === undefined || value === '') return '—'
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isFinite(n)) return '—'
  return formatter(decimals).format(n)
}

/** Percent with 2 decimals and a sign: +1.92%, −0.40%. */
export function pct(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const n = Number(value)
  if (!Number.isFinite(n)) return '—'
  const s = formatter(2).format(Math.abs(n))
  return `${n > 0 ? '+' : n < 0 ? '−' : ''}${s}%`
}

/** Signed value at a precision: +812.40 / −3.10. */
export function signed(value: string | number | null | undefined, decimals: number): string {
  if (value === null || value === undefined || value === '') return '—'
  const n = Number(value)
  if (!Number.isFinite(n)) return '—'
  return `${n > 0 ? '+' : n < 0 ? '−' : ''}${formatter(decimals).format(Math.abs(n))}`
}

/** Large volumes compactly: 1.23M, 45.6K. */
export function compact(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const n = Number(value)
  if (!Number.isFinite(n)) return '—'
  const a = Math.abs(n)
  if (a >= 1e9) return `${formatter(2).format(n / 1e9)}B`
  if (a >= 1e6) return `${formatter(2).format(n / 1e6)}M`
  if (a >= 1e4) return `${formatter(1).format(n / 1e3)}K`
  return formatter(a >= 100 ? 0 : 2).format(n)
}

const zone = (() => {
  const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(new Date())
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? ''
})()

/** The viewer's zone name (shown beside times). */
export const localZone = zone

const timeFmt = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})
const dayFmt = new Intl.DateTimeFormat('en-GB', { month: 'short', day: '2-digit' })
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})

export const time = (ms: number): string => timeFmt.format(ms)
export const dateTime = (ms: number): string => `${dateTimeFmt.format(ms)} ${zone}`
/** Axis labels: time of day within a day, the date at day and longer intervals. */
export const axisLabel = (ms: number, intervalMs: number): string =>
  intervalMs >= 86_400_000 ? dayFmt.format(ms) : `${dayFmt.format(ms)} ${timeFmt.format(ms).slice(0, 5)}`
