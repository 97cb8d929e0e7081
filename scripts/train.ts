import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import { type Kline, parseKline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { Transport } from '../engine/index.ts'
import { type Bar, barOf } from '../processors/features.ts'
import { type Model, POOLED, type Sample, samplesOf, trainModel } from '../processors/model.ts'
import { ModelRegistry, publishModels } from '../processors/model-store.ts'

// The training job: 1m history → one ridge model per symbol plus a pooled fallback → the
// compacted crypto_models topic. History comes from crypto_kline_1m (closed klines) or from the
// recorded data.binance.vision CSV files.
//
//   node scripts/cli.ts train --symbols BTCUSDT,ETHUSDT --days 30 [--source csv|topic] [--to YYYY-MM-DD]
//   (scripts/commands/train.ts)
//
// startModelScheduler() runs it inside the platform: at start when no model exists, then again
// whenever event time has moved `everyMs` (a day) past the newest model's training window.

const log = createLogger('train')
const DAY = 86_400_000

export interface TrainModelsOptions {
  symbols: string[]
  /** Training window length in days (ending at `to`). */
  days?: number
  source?: 'csv' | 'topic'
  /** csv: last UTC day of the window (default: the newest recorded day of each symbol). */
  to?: string
  /** Where the topic source reads and where models are published (omit: train only). */
  transport?: Transport
  topicPrefix?: string
  /** Preloaded history per symbol (oldest first): skips reading a source. */
  history?: Map<string, Bar[]>
  /** A symbol needs this many samples for its own model (else the pooled one serves it). */
  minRows?: number
  createdAt?: Date
}

export interface TrainResult {
  version: string
  models: Model[]
  skipped: { symbol: string; reason: string }[]
}

export const versionOf = (d: Date): string => `v${d.toISOString().replace(/[-:.]/g, '')}`

// The recorded files are read only when asked for (a deployment without them must still start).
const recorded = () => import('../processors/testdata.ts')

/** Newest recorded 1m day of a symbol in the CSV set, or undefined. */
export async function lastRecordedDay(symbol: string): Promise<string | undefined> {
  const dir = join((await recorded()).SPOT, symbol, '1m')
  if (!existsSync(dir)) return undefined
  return readdirSync(dir)
    .map((f) => /(\d{4}-\d{2}-\d{2})\.csv\.gz$/.exec(f)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort()
    .at(-1)
}

export async function csvHistory(symbol: string, days: number, to?: string): Promise<Bar[]> {
  const { dates, spotDay } = await recorded()
  const last = to ?? (await lastRecordedDay(symbol))
  if (!last) return []
  const from = new Date(Date.parse(last) - (days - 1) * DAY).toISOString().slice(0, 10)
  return dates(from, last).flatMap((d) => spotDay(symbol, '1m', d).map(barOf))
}

/**
 * One symbol's bars in openTime order as six Float64Array columns (48 bytes a bar): the scheduler
 * keeps 30 days of every symbol for the whole run, and as `Bar` objects in a Map each one took
 * ~220 bytes (145 MB for 15 symbols at 30 days).
 */
export class BarColumns {
  private cols: Float64Array[] = []
  private head = 0
  private end = 0

  get size(): number {
    return this.end - this.head
  }

  /** Bytes held by the columns (capacity, not only the bars in use). */
  get bytes(): number {
    return this.cols.reduce((n, c) => n + c.byteLength, 0)
  }

  /** Adds or replaces (same openTime) a bar; out-of-order bars are inserted in place. */
  set(b: Bar): void {
    let i = this.find(b.openTime)
    if (i === this.end || this.cols[0]![i] !== b.openTime) {
      this.reserve() // may move the bars to the front
      i = this.find(b.openTime)
      for (const c of this.cols) c.copyWithin(i + 1, i, this.end)
      this.end++
    }
    const c = this.cols
    c[0]![i] = b.openTime
    c[1]![i] = b.close
    c[2]![i] = b.high
    c[3]![i] = b.low
    c[4]![i] = b.volume
    c[5]![i] = b.takerBuyBase
  }

  /** Index of the first bar with openTime ≥ `t` (`end` if none). */
  private find(t: number): number {
    const times = this.cols[0]
    if (!times || this.end === this.head || times[this.end - 1]! < t) return this.end
    let lo = this.head
    let hi = this.end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (times[mid]! < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Drops bars with openTime ≤ `cut`. */
  trim(cut: number): void {
    const t = this.cols[0]
    while (t && this.head < this.end && t[this.head]! <= cut) this.head++
  }

  bars(): Bar[] {
    const [t, close, high, low, volume, buy] = this.cols
    const out: Bar[] = []
    for (let i = this.head; i < this.end; i++)
      out.push({
        openTime: t![i]!,
        close: close![i]!,
        high: high![i]!,
        low: low![i]!,
        volume: volume![i]!,
        takerBuyBase: buy![i]!,
      })
    return out
  }

  /**
   * Room for one more bar at `end`: moves the live bars to the front, or grows by half when that
   * would free less than an eighth (so a full window settles at ≤ 1.7× its bars).
   */
  private reserve(): void {
    const cap = this.cols[0]?.length ?? 0
    if (this.end < cap) return
    const n = this.size
    const grow = n >= cap * 0.875
    const next = grow ? Math.max(1024, Math.ceil(cap * 1.5)) : cap
    this.cols =
      this.cols.length === 0
        ? Array.from({ length: 6 }, () => new Float64Array(next))
        : this.cols.map((c) => {
            const to = grow ? new Float64Array(next) : c
            to.set(c.subarray(this.head, this.end))
            return to
          })
    this.head = 0
    this.end = n
  }
}

/** Closed 1m klines of crypto_kline_1m, read incrementally; keeps the last `days` of each symbol. */
export class KlineHistory {
  private readonly bars = new Map<string, BarColumns>()
  private readonly next = new Map<number, number>()
  private readonly topic: string
  private readonly keepMs: number
  newest = Number.NEGATIVE_INFINITY

  constructor(days: number, topicPrefix = '') {
    this.topic = topicPrefix + topics.kline1m
    this.keepMs = days * DAY
  }

  async update(transport: Transport): Promise<void> {
    const n = (await transport.partitions(this.topic)) ?? 0
    for (let p = 0; p < n; p++)
      for await (const batch of transport.read({ topic: this.topic, partition: p }, this.next.get(p) ?? 0))
        for (const r of batch) {
          this.next.set(p, r.offset + 1)
          if (r.tombstone || !r.value.includes('"closed":true')) continue // open updates: most records
          let k: Kline
          try {
            k = parseKline(JSON.parse(r.value))
          } catch {
            continue // the engine dead-letters it; training just skips it
          }
          this.add(k)
        }
    this.trim()
  }

  /** Keeps a closed 1m kline (others are ignored). */
  add(k: Kline): void {
    if (!k.closed || k.interval !== '1m') return
    let m = this.bars.get(k.symbol)
    if (!m) {
      m = new BarColumns()
      this.bars.set(k.symbol, m)
    }
    m.set(barOf(k))
    if (k.openTime > this.newest) this.newest = k.openTime
  }

  /** Drops what is older than `days` before the newest kline. */
  trim(): void {
    const cut = this.newest - this.keepMs
    for (const m of this.bars.values()) m.trim(cut)
  }

  /** Bars kept of every symbol, and the bytes they take. */
  get stats(): { bars: number; bytes: number } {
    let bars = 0
    let bytes = 0
    for (const m of this.bars.values()) {
      bars += m.size
      bytes += m.bytes
    }
    return { bars, bytes }
  }

  history(symbols?: string[]): Map<string, Bar[]> {
    const out = new Map<string, Bar[]>()
    for (const [s, m] of this.bars) if (!symbols || symbols.includes(s)) out.set(s, m.bars())
    return out
  }
}

/** Trains per-symbol models and the pooled fallback; publishes them when a transport is given. */
export async function trainModels(o: TrainModelsOptions): Promise<TrainResult> {
  const days = o.days ?? 30
  const created = o.createdAt ?? new Date()
  const version = versionOf(created)
  let history = o.history
  if (!history) {
    if ((o.source ?? 'csv') === 'topic') {
      if (!o.transport) throw new ConfigError('INVALID', 'train --source topic needs a transport')
      const h = new KlineHistory(days, o.topicPrefix)
      await h.update(o.transport)
      history = h.history(o.symbols)
    } else {
      history = new Map()
      for (const s of o.symbols) history.set(s, await csvHistory(s, days, o.to))
    }
  }
  const minRows = o.minRows ?? 1000
  const models: Model[] = []
  const skipped: TrainResult['skipped'] = []
  const pooled: Sample[] = []
  for (const symbol of o.symbols) {
    // ~0.5 s of CPU per symbol and month: let the engine in the same process run in between
    await new Promise((resolve) => setImmediate(resolve))
    const rows = samplesOf(history.get(symbol) ?? [])
    for (const r of rows) pooled.push(r)
    if (rows.length < minRows) {
      skipped.push({ symbol, reason: `${rows.length} samples < ${minRows}` })
      continue
    }
    models.push(trainModel(rows, { version, symbol, createdAt: created.toISOString() }))
  }
  if (pooled.length >= minRows)
    models.push(trainModel(pooled, { version, symbol: POOLED, createdAt: created.toISOString() }))
  else skipped.push({ symbol: POOLED, reason: `${pooled.length} samples < ${minRows}` })
  if (o.transport && models.length > 0)
    await publishModels(o.transport, models, (o.topicPrefix ?? '') + topics.models)
  log.info('trained', {
    version,
    models: models.map((m) => ({
      symbol: m.symbol,
      rows: m.metrics.trainRows,
      oosHitRate: round(m.metrics.hitRate),
    })),
    skipped,
  })
  return { version, models, skipped }
}

const round = (v: number) => Math.round(v * 10_000) / 10_000

export interface SchedulerOptions {
  transport: Transport
  symbols: string[]
  /** Shared with addPredictions (it is refreshed here). Default: a new one. */
  registry?: ModelRegistry
  days?: number
  /** Retrain when event time is this far past the newest model's training window (1 day). */
  everyMs?: number
  /** How often to look (wall clock, 60 s). */
  checkMs?: number
  /** When the topic holds too little history for a first model: train from the CSV files up to this day. */
  csvFallbackTo?: string
  topicPrefix?: string
  minRows?: number
}

/**
 * Keeps a model in crypto_models: trains at start when none usable exists (from crypto_kline_1m,
 * or the recorded CSVs when the topic is still too short), then whenever event time has moved
 * `everyMs` past the newest model's window; refreshes the registry after each run. Models trained
 * on data newer than the stream's newest candle are not usable (they would see its future).
 */
export function startModelScheduler(o: SchedulerOptions): {
  registry: ModelRegistry
  /** Runs a check now (after any running one); resolves when it is done. */
  checkNow(): Promise<void>
  stop(): Promise<void>
} {
  const registry = o.registry ?? new ModelRegistry((o.topicPrefix ?? '') + topics.models)
  const days = o.days ?? 30
  const everyMs = o.everyMs ?? DAY
  const history = new KlineHistory(days, o.topicPrefix)
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  const check = async () => {
    await registry.refresh(o.transport)
    await history.update(o.transport)
    // A model trained past the stream's newest candle (e.g. on later recorded days while a replay
    // plays older ones) would only ever be skipped as future-model: it does not count.
    const usable = registry
      .all()
      .filter((m) => history.newest === Number.NEGATIVE_INFINITY || m.trainedTo <= history.newest)
    const newestModel = Math.max(...usable.map((m) => m.trainedTo), Number.NEGATIVE_INFINITY)
    const none = usable.length === 0
    if (!none && history.newest - newestModel < everyMs) return
    const base = { symbols: o.symbols, days, transport: o.transport, minRows: o.minRows ?? 1000 }
    let r = await trainModels({ ...base, history: history.history(o.symbols), ...pick(o.topicPrefix) })
    if (r.models.length === 0 && none && o.csvFallbackTo)
      r = await trainModels({ ...base, source: 'csv', to: o.csvFallbackTo, ...pick(o.topicPrefix) })
    if (r.models.length > 0) await registry.refresh(o.transport)
  }
  const tick = () => {
    running = running
      .then(() => (stopped ? undefined : check()))
      .catch((e: Error) => log.warn('model training failed', { error: e.message }))
    return running
  }
  tick()
  const timer = setInterval(tick, o.checkMs ?? 60_000)
  timer.unref()
  return {
    registry,
    checkNow: tick,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}

const pick = (topicPrefix: string | undefined) => (topicPrefix ? { topicPrefix } : {})

/** One JSON line per model (and per skipped symbol) on stdout. */
export function printTrainResult(r: TrainResult): void {
  for (const m of r.models)
    process.stdout.write(
      `${JSON.stringify({
        version: m.version,
        symbol: m.symbol,
        trainedFrom: new Date(m.trainedFrom).toISOString(),
        trainedTo: new Date(m.trainedTo).toISOString(),
        rows: m.metrics.trainRows,
        oosHitRate: round(m.metrics.hitRate),
        oosMomentumHitRate: round(m.metrics.momentumHitRate),
        oosBrier: round(m.metrics.brier),
      })}\n`,
    )
  for (const s of r.skipped)
    process.stdout.write(`${JSON.stringify({ skipped: s.symbol, reason: s.reason })}\n`)
}
