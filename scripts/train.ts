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

/** Closed 1m klines of crypto_kline_1m, read incrementally; keeps the last `days` of each symbol. */
export class KlineHistory {
  private readonly bars = new Map<string, Map<number, Bar>>()
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
          if (!k.closed || k.interval !== '1m') continue
          const m = this.bars.get(k.symbol) ?? new Map<number, Bar>()
          this.bars.set(k.symbol, m)
          m.set(k.openTime, barOf(k))
          if (k.openTime > this.newest) this.newest = k.openTime
        }
    const cut = this.newest - this.keepMs
    for (const m of this.bars.values()) for (const t of m.keys()) if (t <= cut) m.delete(t)
  }

  history(symbols?: string[]): Map<string, Bar[]> {
    const out = new Map<string, Bar[]>()
    for (const [s, m] of this.bars)
      if (!symbols || symbols.includes(s))
        out.set(
          s,
          [...m.values()].sort((a, b) => a.openTime - b.openTime),
        )
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
