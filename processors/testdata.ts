import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { binanceDataDir } from '../common/data.ts'
import type { Candle } from './candles.ts'

// Readers for the recorded Binance files (tests and benches only; common/data.ts finds them).

export const DATA_DIR = binanceDataDir()
export const SPOT = join(DATA_DIR, 'klines', 'spot')

export const SYMBOLS_2024 = [
  'BTCUSDT',
  'ETHUSDT',
  'SOLUSDT',
  'XRPUSDT',
  'DOTUSDT',
  'MATICUSDT',
  'AVAXUSDT',
  'UNIUSDT',
  'ATOMUSDT',
  'ARBUSDT',
  'NEARUSDT',
  'OPUSDT',
  'PEPEUSDT',
  'SEIUSDT',
  'SUIUSDT',
  'TIAUSDT',
  'WLDUSDT',
]

/** Epoch ms; data.binance.vision files from 2025 print microseconds. */
const ms = (t: number): number => (t > 1e14 ? Math.floor(t / 1000) : t)

/** Parses one data.binance.vision kline CSV (12 columns, no header). */
export function parseCsv(text: string, symbol: string, interval: string): Candle[] {
  const out: Candle[] = []
  for (const line of text.split('\n')) {
    if (line.length === 0) continue
    const c = line.split(',')
    out.push({
      symbol,
      interval,
      openTime: ms(Number(c[0])),
      closeTime: ms(Number(c[6])),
      open: c[1] as string,
      high: c[2] as string,
      low: c[3] as string,
      close: c[4] as string,
      volume: c[5] as string,
      quoteVolume: c[7] as string,
      trades: Number(c[8]),
      takerBuyBase: c[9] as string,
      takerBuyQuote: c[10] as string,
      closed: true,
    })
  }
  return out
}

export const day = (t: number): string => new Date(t).toISOString().slice(0, 10)

export function dates(from: string, to: string): string[] {
  const out: string[] = []
  for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) out.push(day(t))
  return out
}

/** Daily spot file of `symbol`/`interval` for a date, or [] when it is not recorded. */
export function spotDay(symbol: string, interval: string, date: string): Candle[] {
  const f = join(SPOT, symbol, interval, `${symbol}-${interval}-${date}.csv.gz`)
  if (!existsSync(f)) return []
  return parseCsv(gunzipSync(readFileSync(f)).toString('utf8'), symbol, interval)
}

export function spotRange(symbol: string, interval: string, from: string, to: string): Candle[] {
  return dates(from, to).flatMap((d) => spotDay(symbol, interval, d))
}

/** klines/rest JSON (REST /api/v3/klines arrays). */
export function restKlines(file: string, symbol: string, interval: string): Candle[] {
  const rows = JSON.parse(readFileSync(join(DATA_DIR, 'klines', 'rest', file), 'utf8')) as (
    | string
    | number
  )[][]
  return rows.map((r) => ({
    symbol,
    interval,
    openTime: Number(r[0]),
    closeTime: Number(r[6]),
    open: String(r[1]),
    high: String(r[2]),
    low: String(r[3]),
    close: String(r[4]),
    volume: String(r[5]),
    quoteVolume: String(r[7]),
    trades: Number(r[8]),
    takerBuyBase: String(r[9]),
    takerBuyQuote: String(r[10]),
    closed: true,
  }))
}

export interface Ohlcv {
  openTime: number
  open: string
  high: string
  low: string
  close: string
  volume: string
}

/** klines/rocketalerts CSV (Date,Open,High,Low,Close,Volume; naive UTC), without its unclosed last row. */
export function rocketalerts(file: string): Ohlcv[] {
  const lines = readFileSync(join(DATA_DIR, 'klines', 'rocketalerts', file), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
  lines.pop()
  return lines.map((l) => {
    const [d, open, high, low, close, volume] = l.split(',') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ]
    return {
      openTime: Date.parse(`${d.length === 10 ? `${d}T00:00:00` : d.replace(' ', 'T')}Z`),
      open,
      high,
      low,
      close,
      volume,
    }
  })
}

/**
 * BTCUSDT 1m klines of 2018-01-04, a day with an exchange outage: Binance has no minutes
 * 03:01–05:05, so its 4h candle at 00:00 holds 181 of 240 minutes. The data.binance.vision daily
 * file, as copied in Jan-Kluger/backtest_and_deploy (SOURCES.md section 1), kept in the repository
 * (processors/fixtures/) because the shared set starts in 2024.
 */
export function outageDay(): Candle[] {
  const f = new URL('./fixtures/BTCUSDT-1m-2018-01-04.csv.gz', import.meta.url)
  return parseCsv(gunzipSync(readFileSync(f)).toString('utf8'), 'BTCUSDT', '1m')
}

/**
 * A synthetic BTCUSDT 1m update `i` minutes after `t0`: fixed prices, volume `v` (`v` trades,
 * quote volume 100 × `v`), so a candle's volume tells which updates it merged.
 */
export const minuteUpdate = (t0: number, i: number, v: number, closed: boolean): Candle => ({
  symbol: 'BTCUSDT',
  interval: '1m',
  openTime: t0 + i * 60_000,
  closeTime: t0 + i * 60_000 + 59_999,
  open: '100.00',
  high: '101.00',
  low: '99.00',
  close: '100.50',
  volume: `${v}.00`,
  quoteVolume: `${v * 100}.00`,
  trades: v,
  takerBuyBase: '0.00',
  takerBuyQuote: '0.00',
  closed,
})
