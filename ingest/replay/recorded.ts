import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'

// Recorded data.binance.vision 1m klines, loaded one UTC day at a time on first use (BTCUSDT
// alone has 700 days) and kept in a small LRU. Timestamps are normalized to milliseconds: the
// files switched to microseconds on 2025-01-01 (16 digits, close = open + 59_999_999).

/** One 1m kline: the 11 meaningful columns of a data.binance.vision row, decimals as printed. */
export interface Row {
  t: number
  T: number
  o: string
  h: string
  l: string
  c: string
  v: string
  q: string
  n: number
  V: string
  Q: string
}

export const DAY_MS = 86_400_000
export const dayString = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

const ms = (x: string): number => {
  const v = Number(x)
  return v > 1e14 ? Math.floor(v / 1000) : v
}

export function parseRow(line: string): Row {
  const c = line.split(',')
  if (c.length < 11) throw new Error(`kline row with ${c.length} columns`)
  return {
    t: ms(c[0]!),
    o: c[1]!,
    h: c[2]!,
    l: c[3]!,
    c: c[4]!,
    v: c[5]!,
    T: ms(c[6]!),
    q: c[7]!,
    n: Number(c[8]),
    V: c[9]!,
    Q: c[10]!,
  }
}

export class Recordings {
  private readonly dir: string
  private readonly available = new Map<string, Set<string>>()
  private readonly cache = new Map<string, Row[]>()
  private readonly maxDays: number

  /** `maxDays`: recorded days kept parsed (LRU; about 0.7 MB each as rows). */
  constructor(dataDir: string, maxDays = 96) {
    this.dir = join(dataDir, 'klines', 'spot')
    this.maxDays = maxDays
  }

  /** Recorded days held in memory. */
  get daysCached(): number {
    return this.cache.size
  }

  /** UTC days ("2024-01-01") recorded for `source`. */
  days(source: string): Set<string> {
    let d = this.available.get(source)
    if (!d) {
      d = new Set()
      try {
        for (const f of readdirSync(join(this.dir, source, '1m'))) {
          const m = /-1m-(\d{4}-\d{2}-\d{2})\.csv\.gz$/.exec(f)
          if (m) d.add(m[1]!)
        }
      } catch {
        // no recording for this symbol: simulated
      }
      this.available.set(source, d)
    }
    return d
  }

  /** The 1440 rows of a recorded day, or undefined when that day is not recorded. */
  day(source: string, day: string): Row[] | undefined {
    const key = `${source}/${day}`
    const hit = this.cache.get(key)
    if (hit) {
      this.cache.delete(key) // LRU: re-insert as newest
      this.cache.set(key, hit)
      return hit
    }
    if (!this.days(source).has(day)) return undefined
    const file = join(this.dir, source, '1m', `${source}-1m-${day}.csv.gz`)
    const rows = gunzipSync(readFileSync(file)).toString().trim().split('\n').map(parseRow)
    this.cache.set(key, rows)
    if (this.cache.size > this.maxDays) this.cache.delete(this.cache.keys().next().value!)
    return rows
  }
}
