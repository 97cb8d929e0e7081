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

/** One row as a data.binance.vision line (the 11 columns parseRow reads), for DayRows.of. */
const lineOf = (r: Row): string =>
  `${r.t},${r.o},${r.h},${r.l},${r.c},${r.v},${r.T},${r.q},${r.n},${r.V},${r.Q}`

/**
 * The 1m rows of one UTC day, kept as the day's CSV text and each line's start; a Row is parsed
 * when asked for. As Row objects a day took ~0.75 MB of heap (an object, 8 strings and 2 heap
 * numbers a row, and the file's text that the strings were cut from), as text ~0.2 MB; the feed
 * reads a handful of rows per symbol and replayed minute, so parsing on use costs next to nothing.
 */
export class DayRows {
  private readonly text: string
  /** Start of line i; starts[length] is one past the text's end. */
  private readonly starts: Uint32Array
  readonly length: number

  constructor(text: string) {
    const body = text.trim()
    let count = body.length === 0 ? 0 : 1
    for (let i = body.indexOf('\n'); i >= 0; i = body.indexOf('\n', i + 1)) count++
    const starts = new Uint32Array(count + 1)
    for (let i = 0, k = 1; k < count; k++) starts[k] = i = body.indexOf('\n', i) + 1
    starts[count] = body.length + 1
    this.text = body
    this.starts = starts
    this.length = count
  }

  /** Simulated rows in the same form (their strings are the same when parsed back). */
  static of(rows: Row[]): DayRows {
    return new DayRows(rows.map(lineOf).join('\n'))
  }

  /** Row i (0 = 00:00 UTC), or undefined outside the day. */
  at(i: number): Row | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return undefined
    return parseRow(this.text.slice(this.starts[i], this.starts[i + 1]! - 1))
  }

  last(): Row | undefined {
    return this.at(this.length - 1)
  }

  *[Symbol.iterator](): Iterator<Row> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!
  }
}

export class Recordings {
  private readonly dir: string
  private readonly available = new Map<string, Set<string>>()
  private readonly cache = new Map<string, DayRows>()
  private readonly maxDays: number

  /** `maxDays`: recorded days kept (LRU; about 0.2 MB each, DayRows). */
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
  day(source: string, day: string): DayRows | undefined {
    const key = `${source}/${day}`
    const hit = this.cache.get(key)
    if (hit) {
      this.cache.delete(key) // LRU: re-insert as newest
      this.cache.set(key, hit)
      return hit
    }
    if (!this.days(source).has(day)) return undefined
    const file = join(this.dir, source, '1m', `${source}-1m-${day}.csv.gz`)
    const rows = new DayRows(gunzipSync(readFileSync(file)).toString())
    this.cache.set(key, rows)
    if (this.cache.size > this.maxDays) this.cache.delete(this.cache.keys().next().value!)
    return rows
  }
}
