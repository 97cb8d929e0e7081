import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setLogLevel } from '../common/log.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams, StreamsBuilder } from '../engine/index.ts'
import { type Bar, barOf, LOOKBACK } from '../processors/features.ts'
import {
  forecast,
  HORIZON_MS,
  hitOf,
  type Model,
  POOLED,
  type Sample,
  samplesOf,
  trainModel,
} from '../processors/model.ts'
import { ModelRegistry } from '../processors/model-store.ts'
import { dates, SYMBOLS_2024, spotDay } from '../processors/testdata.ts'
import { trainModels } from '../scripts/train.ts'
import { klines1m } from '../topologies/candles.ts'
import { addPredictions } from '../topologies/predictions.ts'
import { figure, openBench, perSecond, produceKlines, runToEnd } from './setup.ts'

// Walk-forward evaluation of the 5-minute forecast on the recorded Binance 1m klines, with the
// same features, training and calibration as the train job and the stream:
//   BTCUSDT: train on 30 days, test on the next (unseen) day, roll one day; training targets
//            that reach into the test day are dropped (embargo).
//   17 symbols, 2024-01-01..10 (all the multi-symbol data there is): an expanding window of
//            ≥ 5 days, test on the next day; per-symbol models and the pooled model.
// Each against the baselines "no change" (price stays; direction a coin flip, Brier 0.25) and
// "last 5-minute return's sign" (its confidence: its hit rate in the training window).
//
//   node bench/predictions.ts [--from 2024-01-01] [--to 2025-11-30] [--train-days 30] [--no-multi]
//                             [--no-stream] [--transport embedded|kafka]
// The last part runs the prediction topology itself (17 symbols, one day of closed 1m klines).
// Days without a recorded file are skipped; a day is tested only when all `train-days` days
// before it are recorded (the repository's sample: 2024-01..02 and 2025-02-21..08-06; point
// CS_BINANCE_DATA at the full set for all ~700 days).

const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: '2024-01-01' },
    to: { type: 'string', default: '2025-11-30' },
    'train-days': { type: 'string', default: '30' },
    'no-multi': { type: 'boolean', default: false },
    'no-stream': { type: 'boolean', default: false },
    transport: { type: 'string', default: 'embedded' },
  },
})
setLogLevel('warn')
const DAY = 86_400_000
const out = (s = '') => process.stdout.write(`${s}\n`)
const started = performance.now()

/** Everything measured on one set of test predictions. */
class Tally {
  n = 0
  directional = 0
  hits = 0
  brier = 0
  absError = 0
  /** |error| / price, for averages across symbols of different price scales. */
  relError = 0
  momHits = 0
  momDirectional = 0
  momBrier = 0
  momAbsError = 0
  momRelError = 0
  ncAbsError = 0
  ncRelError = 0
  /** Reliability: per confidence bin [count, sum of confidence, hits]. */
  bins = RELIABILITY_EDGES.map(() => [0, 0, 0])

  /** Per test day (and symbol): [model hits, model directional, baseline hits, baseline directional]. */
  clusters = new Map<string, [number, number, number, number]>()

  add(m: Model, s: Sample, price: number, momConf: number, cluster: string): void {
    let c = this.clusters.get(cluster)
    if (!c) {
      c = [0, 0, 0, 0]
      this.clusters.set(cluster, c)
    }
    const f = forecast(m, s.x)
    const actual = price * Math.exp(s.y)
    const pred = price * Math.exp(f.predictedReturn)
    const ret5 = s.x[2]! // ret_5
    const mom = price * Math.exp(ret5)
    this.n++
    this.absError += Math.abs(pred - actual)
    this.relError += Math.abs(pred - actual) / actual
    this.momAbsError += Math.abs(mom - actual)
    this.momRelError += Math.abs(mom - actual) / actual
    this.ncAbsError += Math.abs(price - actual)
    this.ncRelError += Math.abs(price - actual) / actual
    const h = hitOf(f.predictedReturn, s.y)
    if (h !== null) {
      this.directional++
      this.hits += h
      c[0] += h
      c[1]++
      this.brier += (f.confidence - h) ** 2
      const b = this.bins[RELIABILITY_EDGES.findIndex((e) => f.confidence < e)]!
      b[0]!++
      b[1]! += f.confidence
      b[2]! += h
    }
    const hm = hitOf(ret5, s.y)
    if (hm !== null) {
      this.momDirectional++
      this.momHits += hm
      c[2] += hm
      c[3]++
      this.momBrier += (momConf - hm) ** 2
    }
  }
}
const RELIABILITY_EDGES = [0.5, 0.51, 0.52, 0.53, 0.55, 0.6, Number.POSITIVE_INFINITY]
const BIN_NAMES = ['< 0.50', '0.50–0.51', '0.51–0.52', '0.52–0.53', '0.53–0.55', '0.55–0.60', '≥ 0.60']

/**
 * 95 % Wilson interval for a hit rate. Consecutive 1-minute forecasts of 5-minute returns
 * overlap, so neighbouring outcomes are correlated: the interval uses n / 5 (effective size).
 */
function wilson(hits: number, n: number): [number, number] {
  const ne = n / 5
  if (ne <= 0) return [Number.NaN, Number.NaN]
  const p = hits / n
  const z = 1.96
  const d = 1 + (z * z) / ne
  const c = (p + (z * z) / (2 * ne)) / d
  const h = (z * Math.sqrt((p * (1 - p)) / ne + (z * z) / (4 * ne * ne))) / d
  return [c - h, c + h]
}

/**
 * 95 % interval clustered by test day (and symbol): the hit rate's standard error from the
 * spread of the per-day results, so correlation within a day (overlapping horizons, regimes)
 * widens it as it should.
 */
function clustered(cs: [number, number][]): [number, number] {
  const hits = cs.reduce((a, c) => a + c[0], 0)
  const n = cs.reduce((a, c) => a + c[1], 0)
  const p = hits / n
  const g = cs.length
  const v = (cs.reduce((a, [h, k]) => a + (h - p * k) ** 2, 0) / (n * n)) * (g / (g - 1))
  return [p - 1.96 * Math.sqrt(v), p + 1.96 * Math.sqrt(v)]
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`
const f4 = (v: number) => v.toFixed(4)

function report(title: string, t: Tally, priceUnit: 'USDT' | 'bps'): void {
  const [lo, hi] = wilson(t.hits, t.directional)
  const [mlo, mhi] = wilson(t.momHits, t.momDirectional)
  const cs = [...t.clusters.values()]
  const [clo, chi] = clustered(cs.map((c) => [c[0], c[1]]))
  const [cmlo, cmhi] = clustered(cs.map((c) => [c[2], c[3]]))
  const mae = (abs: number, rel: number) =>
    priceUnit === 'USDT' ? `${(abs / t.n).toFixed(2)} USDT` : `${((rel / t.n) * 1e4).toFixed(2)} bps`
  out(`### ${title}`)
  out()
  out(
    `${t.n.toLocaleString('en-US')} test forecasts (${t.directional.toLocaleString('en-US')} with a price move)`,
  )
  out()
  out(
    `| forecast | directional accuracy | 95 % CI (n / 5) | 95 % CI (clustered, ${cs.length} day groups) | MAE of predicted price | Brier |`,
  )
  out('| --- | --- | --- | --- | --- | --- |')
  out(
    `| ridge model | ${pct(t.hits / t.directional)} | ${pct(lo)} – ${pct(hi)} | ${pct(clo)} – ${pct(chi)} | ${mae(t.absError, t.relError)} | ${f4(t.brier / t.directional)} |`,
  )
  out(`| no change | — (no direction) | | | ${mae(t.ncAbsError, t.ncRelError)} | 0.2500 |`)
  out(
    `| last 5-minute return's sign | ${pct(t.momHits / t.momDirectional)} | ${pct(mlo)} – ${pct(mhi)} | ${pct(cmlo)} – ${pct(cmhi)} | ${mae(t.momAbsError, t.momRelError)} | ${f4(t.momBrier / t.momDirectional)} |`,
  )
  out()
  out('Reliability of the stated confidence (ridge model):')
  out()
  out('| confidence | forecasts | mean confidence | observed hit rate |')
  out('| --- | --- | --- | --- |')
  t.bins.forEach(([n, c, h], i) => {
    if (n! > 0) out(`| ${BIN_NAMES[i]} | ${n!.toLocaleString('en-US')} | ${pct(c! / n!)} | ${pct(h! / n!)} |`)
  })
  out()
}

/** Samples per UTC day index (features use the previous days' candles too). */
function daySamples(bars: Bar[], first: number, nDays: number): Sample[][] {
  const per: Sample[][] = Array.from({ length: nDays }, () => [])
  for (const s of samplesOf(bars)) {
    const d = Math.floor((s.t - first) / DAY)
    if (d >= 0 && d < nDays) per[d]!.push(s)
  }
  return per
}

const momentumHitRate = (rows: Sample[]) => {
  let h = 0
  let n = 0
  for (const r of rows) {
    const x = hitOf(r.x[2]!, r.y)
    if (x === null) continue
    h += x
    n++
  }
  return n > 0 ? h / n : 0.5
}

/** Training rows of test day `d`: days [d - trainDays, d), minus targets that reach into day d. */
function trainRows(per: Sample[][], d: number, trainDays: number, first: number): Sample[] {
  const dayStart = first + d * DAY
  return per
    .slice(Math.max(0, d - trainDays), d)
    .flat()
    .filter((s) => s.t + HORIZON_MS < dayStart)
}

function priceOf(bars: Map<number, number>, s: Sample): number {
  return bars.get(s.t)!
}

// ---- BTCUSDT, train 30 days, test the next day, roll ----
{
  const trainDays = Number(args['train-days'])
  const all = dates(args.from, args.to)
  const bars = all.flatMap((d) => spotDay('BTCUSDT', '1m', d).map(barOf))
  const closes = new Map(bars.map((b) => [b.openTime, b.close]))
  const first = Date.parse(all[0]!)
  const per = daySamples(bars, first, all.length)
  const t = new Tally()
  let tested = 0
  let firstTest: string | undefined
  let lastTest: string | undefined
  for (let d = trainDays; d < all.length; d++) {
    if (per[d]!.length === 0 || per.slice(d - trainDays, d).some((x) => x.length === 0)) continue
    const rows = trainRows(per, d, trainDays, first)
    const m = trainModel(rows, { version: 'wf', symbol: 'BTCUSDT' })
    const mc = momentumHitRate(rows)
    for (const s of per[d]!) t.add(m, s, priceOf(closes, s), mc, all[d]!)
    tested++
    firstTest ??= all[d]
    lastTest = all[d]
  }
  out(
    `## Walk-forward, BTCUSDT ${firstTest} .. ${lastTest} (${tested} test days, train ${trainDays} days, roll 1 day)`,
  )
  out()
  report('BTCUSDT, per-symbol model', t, 'USDT')
}

// ---- 17 symbols, 2024-01-01..10: expanding window of ≥ 5 days ----
if (!args['no-multi']) {
  const all = dates('2024-01-01', '2024-01-10')
  const first = Date.parse(all[0]!)
  const per = new Map<string, Sample[][]>()
  const closes = new Map<string, Map<number, number>>()
  for (const s of SYMBOLS_2024) {
    const bars = all.flatMap((d) => spotDay(s, '1m', d).map(barOf))
    per.set(s, daySamples(bars, first, all.length))
    closes.set(s, new Map(bars.map((b) => [b.openTime, b.close])))
  }
  const own = new Tally()
  const pooled = new Tally()
  for (let d = 5; d < all.length; d++) {
    const pooledRows: Sample[] = []
    const models = new Map<string, [Model, number]>()
    for (const s of SYMBOLS_2024) {
      const rows = trainRows(per.get(s)!, d, d, first)
      for (const r of rows) pooledRows.push(r)
      models.set(s, [trainModel(rows, { version: 'wf', symbol: s }), momentumHitRate(rows)])
    }
    const pm = trainModel(pooledRows, { version: 'wf', symbol: POOLED })
    const pmc = momentumHitRate(pooledRows)
    for (const s of SYMBOLS_2024) {
      const [m, mc] = models.get(s)!
      for (const x of per.get(s)![d]!) {
        own.add(m, x, priceOf(closes.get(s)!, x), mc, `${s} ${d}`)
        pooled.add(pm, x, priceOf(closes.get(s)!, x), pmc, `${s} ${d}`)
      }
    }
  }
  out(`## Walk-forward, 17 symbols, test days 2024-01-06 .. 2024-01-10 (train on all earlier days, ≥ 5)`)
  out()
  report('17 symbols, per-symbol models', own, 'bps')
  report('17 symbols, pooled model', pooled, 'bps')
}
// ---- the topology: closed 1m klines → predictions → scores, through the engine ----
if (!args['no-stream']) {
  const b = await openBench(args.transport, 'cs-bench-pred-')
  try {
    const prefix = `${b.run}-`
    const history = new Map(SYMBOLS_2024.map((s) => [s, spotDay(s, '1m', '2024-01-01').map(barOf)]))
    const { models } = await trainModels({
      symbols: SYMBOLS_2024,
      history,
      createdAt: new Date('2024-01-02T00:00:00Z'),
    })
    const registry = new ModelRegistry(prefix + topics.models)
    registry.put(models)
    const klines = SYMBOLS_2024.flatMap((s) => spotDay(s, '1m', '2024-01-02')).sort(
      (x, y) => x.openTime - y.openTime || (x.symbol < y.symbol ? -1 : 1),
    )
    await b.transport.createTopics([{ name: prefix + topics.kline1m, partitions: 4 }])
    await produceKlines(b.transport, prefix + topics.kline1m, klines, 5000)
    const builder = new StreamsBuilder()
    addPredictions(builder, klines1m(builder, prefix), { models: registry, topicPrefix: prefix })
    const streams = new KafkaStreams(builder.build(), {
      applicationId: b.run,
      transport: b.transport,
      stateDir: join(b.dir, 'state'),
    })
    const { ms, cpuMs } = await runToEnd(streams)
    await streams.close()
    const count = async (topic: string) => {
      let n = 0
      for (let p = 0; p < ((await b.transport.partitions(topic)) ?? 0); p++)
        for await (const batch of b.transport.read({ topic, partition: p }, 0)) n += batch.length
      return n
    }
    const written = [await count(prefix + topics.predictions), await count(prefix + topics.predictionScores)]
    out(`## Prediction topology (${b.config.transport}), 17 symbols, 2024-01-02`)
    out()
    out(
      `${klines.length.toLocaleString('en-US')} closed 1m klines → predictions + scores: ${perSecond(klines.length, ms)} klines/s wall, ${perSecond(klines.length, cpuMs)} per CPU-second`,
    )
    figure(`prediction topology (${b.config.transport})`, Math.round((klines.length / ms) * 1000), 'klines/s')
    out(
      `${written[0]!.toLocaleString('en-US')} predictions (${SYMBOLS_2024.length} × ${1440 - LOOKBACK + 1} expected after the 100-minute warm-up), ${written[1]!.toLocaleString('en-US')} scores (5 fewer per symbol: the day's last forecasts have no outcome yet)`,
    )
    out()
  } finally {
    await b.done()
  }
}
out(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
