import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { addCandles } from '../topologies/candles.ts'
import { EmbeddedTransport } from './embedded/transport.ts'
import { StreamsBuilder, type Topology } from './index.ts'
import { partitionFor as partitionOf } from './partitioner.ts'
import { KafkaStreams, type ProcessingGuarantee } from './streams.ts'
import type { ProducedRecord, Transport } from './transport.ts'

// The fault drill (issue #13): a topology with a plain count, a sum and the candle chain runs as
// child processes (drill-instance.fixture.ts) that are SIGKILLed at random points, and on Kafka
// one of two instances is also SIGSTOPped past its session timeout and resumed, while the input
// keeps arriving. Two applications run side by side in every instance, one exactly-once and one
// at-least-once, so one fault hits both. The outputs are then compared with an uninterrupted run
// of the same topology over the same input (embedded, in this process):
//   exactly-once:  every output topic holds, per key (per symbol and window for candles), exactly
//                  the sequence of values the uninterrupted run wrote: same counts, sums and
//                  candles, and not one committed duplicate;
//   at-least-once: the last candle per (interval, symbol, open time) equals the uninterrupted
//                  run's (counts and sums may be higher: replayed input is applied again).
// `node engine/drill.ts [--transport kafka|embedded] [--kills N] [--minutes M] [--seed S]`.

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT']
export const PARTITIONS = 3
const BASE = Date.UTC(2024, 0, 2) // a day boundary: 4h and 1d windows start here
export const COUNT = 'drill-count'
export const SUM = 'drill-sum'
export const CANDLES: string[] = [topics.kline5m, topics.kline1h, topics.kline4h, topics.kline1d]

export interface DrillApp {
  applicationId: string
  guarantee: ProcessingGuarantee
  /** Prefix of its output topics. */
  out: string
}

/** Deterministic 1m klines: per minute and symbol an open update, then the closed kline. */
export function drillKlines(minutes: number, seed = 1): Kline[] {
  let x = seed >>> 0 || 1
  const rnd = () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
  const price = new Map(SYMBOLS.map((s, i) => [s, 100 + 50 * i]))
  const out: Kline[] = []
  for (let m = 0; m < minutes; m++) {
    const openTime = BASE + m * 60_000
    for (const symbol of SYMBOLS) {
      const open = price.get(symbol)!
      const close = Math.max(1, open + (rnd() - 0.5) * 2)
      const high = Math.max(open, close) + rnd()
      const low = Math.min(open, close) - rnd()
      price.set(symbol, close)
      const volume = 1 + Math.floor(rnd() * 1000)
      const trades = 1 + Math.floor(rnd() * 50)
      const k = (part: number, closed: boolean): Kline => ({
        symbol,
        interval: '1m',
        openTime,
        closeTime: openTime + 59_999,
        open: open.toFixed(2),
        high: high.toFixed(2),
        low: low.toFixed(2),
        close: close.toFixed(2),
        volume: (volume * part).toFixed(1),
        quoteVolume: (volume * part * close).toFixed(2),
        trades: Math.max(1, Math.round(trades * part)),
        takerBuyBase: ((volume * part) / 2).toFixed(2),
        takerBuyQuote: ((volume * part * close) / 2).toFixed(2),
        closed,
      })
      out.push(k(0.5, false), k(1, true))
    }
  }
  return out
}

export const inputRecords = (topic: string, klines: Kline[]): ProducedRecord[] =>
  klines.map((k) => ({ topic, key: k.symbol, value: JSON.stringify(k), timestamp: k.openTime }))

/** Count, sum of trades of closed minutes, and the candle chain, outputs prefixed by `out`. */
export function drillTopology(input: string, out: string): Topology {
  const b = new StreamsBuilder()
  const src = b.stream<Kline>(input, { timestamp: (k) => k.openTime, name: 'drill-source' })
  src
    .groupByKey()
    .count({ name: 'drill-count' })
    .toStream()
    .to(out + COUNT)
  src
    .filter((_s, k) => k.closed)
    .groupByKey()
    .aggregate(
      () => 0,
      (_s, k, sum) => sum + k.trades,
      { name: 'drill-sum' },
    )
    .toStream()
    .to(out + SUM)
  addCandles(b, { topicPrefix: out }, src)
  return b.build()
}

/**
 * Appends the next `step` records of each input partition, resuming from what the partition already
 * holds (the input topic has no other writer), so a feeder killed mid-way continues without gaps
 * or duplicates. Returns false once everything is in.
 */
export async function feedStep(t: Transport, records: ProducedRecord[], step: number): Promise<boolean> {
  const topic = records[0]!.topic
  const n = (await t.partitions(topic))!
  const byPartition = perPartition(records, n)
  const batch: ProducedRecord[] = []
  let more = false
  for (let p = 0; p < n; p++) {
    const have = await t.endOffset({ topic, partition: p })
    const next = byPartition[p]!.slice(have, have + step)
    if (have + step < byPartition[p]!.length) more = true
    for (const r of next) batch.push({ ...r, partition: p })
  }
  if (batch.length > 0) {
    const producer = t.producer()
    await producer.send(batch)
    await producer.close()
  }
  return more
}

function perPartition(records: ProducedRecord[], n: number): ProducedRecord[][] {
  const out: ProducedRecord[][] = Array.from({ length: n }, () => [])
  for (const r of records) out[partitionOf(r.key, n)]!.push(r)
  return out
}

/** Per output topic, per key (candles: symbol@openTime), the values in offset order. */
export type Outputs = Map<string, Map<string, string[]>>

export async function readOutputs(t: Transport, out: string): Promise<Outputs> {
  const res: Outputs = new Map()
  for (const name of [COUNT, SUM, ...CANDLES]) {
    const topic = out + name
    const perKey = new Map<string, string[]>()
    res.set(name, perKey)
    const n = (await t.partitions(topic)) ?? 0
    for (let partition = 0; partition < n; partition++)
      for await (const batch of t.read({ topic, partition }, 0))
        for (const r of batch) {
          const key = CANDLES.includes(name) ? `${r.key}@${(JSON.parse(r.value) as Kline).openTime}` : r.key
          perKey.set(key, [...(perKey.get(key) ?? []), r.value])
        }
  }
  return res
}

/** The uninterrupted run: the same topology and input on a throwaway embedded log. */
export async function referenceRun(records: ProducedRecord[], app: DrillApp): Promise<Outputs> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-drill-ref-'))
  const t = new EmbeddedTransport({ dir: join(dir, 'log') })
  try {
    const topic = records[0]!.topic
    await t.createTopics([{ name: topic, partitions: PARTITIONS }])
    while (await feedStep(t, records, 1_000_000)) {}
    const streams = new KafkaStreams(drillTopology(topic, app.out), {
      applicationId: app.applicationId,
      transport: t,
      stateDir: join(dir, 'state'),
      sinkPartitions: PARTITIONS,
    })
    await streams.start()
    await streams.flush()
    await streams.close()
    return await readOutputs(t, app.out)
  } finally {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface Comparison {
  /** Keys whose value sequence differs (exactly-once) or whose last value differs (candles). */
  differing: string[]
  /** Keys with a value written twice in a row: a committed duplicate. */
  duplicates: string[]
  keys: number
  values: number
}

export function compare(expected: Outputs, got: Outputs, how: 'sequences' | 'last-candle'): Comparison {
  const c: Comparison = { differing: [], duplicates: [], keys: 0, values: 0 }
  for (const [name, exp] of expected) {
    if (how === 'last-candle' && !CANDLES.includes(name)) continue
    const g = got.get(name) ?? new Map<string, string[]>()
    for (const key of new Set([...exp.keys(), ...g.keys()])) {
      c.keys++
      const a = exp.get(key) ?? []
      const b = g.get(key) ?? []
      c.values += b.length
      const same =
        how === 'sequences' ? a.length === b.length && a.every((v, i) => v === b[i]) : a.at(-1) === b.at(-1)
      if (!same) c.differing.push(`${name}/${key}`)
      if (how === 'sequences' && b.some((v, i) => i > 0 && v === b[i - 1]))
        c.duplicates.push(`${name}/${key}`)
    }
  }
  return c
}

// ---- the drill ----

export interface DrillOptions {
  transport: 'kafka' | 'embedded'
  brokers?: string[]
  kills: number
  minutes: number
  seed: number
  /** Kafka: also SIGSTOP one instance past its session timeout once. */
  pause?: boolean
  log?: (line: string) => void
}

export interface DrillResult {
  kills: number
  pauses: number
  inputRecords: number
  seconds: number
  exactlyOnce: Comparison
  atLeastOnce: Comparison
  /** Embedded: transactions a crash left unfinished, aborted on the next open (kills that hit a commit). */
  abortedTransactions?: number
}

const SESSION_MS = 6000

class Instance {
  readonly proc: ChildProcess
  readonly started: Promise<void>
  readonly done: Promise<void>
  readonly exited: Promise<number | null>

  constructor(args: object) {
    this.proc = spawn(
      process.execPath,
      [new URL('./drill-instance.fixture.ts', import.meta.url).pathname, JSON.stringify(args)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CS_LOG_LEVEL: process.env.CS_DRILL_LOG ?? 'error' },
      },
    )
    let started = () => {}
    let done = () => {}
    this.started = new Promise((r) => {
      started = r
    })
    this.done = new Promise((r) => {
      done = r
    })
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      if (l.includes('"started"')) started()
      if (l.includes('"done"')) done()
    })
    this.proc.stderr!.on('data', (d: Buffer) => {
      if (process.env.CS_DRILL_LOG) process.stderr.write(d)
    })
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)))
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal)
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  const say = opts.log ?? (() => {})
  const t0 = Date.now()
  const run = `${Date.now().toString(36)}${process.pid}`
  const dir = mkdtempSync(join(tmpdir(), 'cs-drill-'))
  const input = `drill-${run}-${topics.kline1m}`
  const apps: DrillApp[] = [
    { applicationId: `drill-eos-${run}`, guarantee: 'exactly_once', out: `drill-eos-${run}-` },
    { applicationId: `drill-alos-${run}`, guarantee: 'at_least_once', out: `drill-alos-${run}-` },
  ]
  const records = inputRecords(input, drillKlines(opts.minutes, opts.seed))
  let x = opts.seed * 2654435761
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const base = {
    transport: opts.transport,
    brokers: opts.brokers ?? ['127.0.0.1:19092'],
    logDir: join(dir, 'log'),
    input,
    apps,
    sessionTimeoutMs: SESSION_MS,
    minutes: opts.minutes,
    seed: opts.seed,
  }
  const children = new Set<Instance>()
  const start = (n: number, extra: object = {}) => {
    const i = new Instance({ ...base, stateDir: join(dir, `state-${n}`), ...extra })
    children.add(i)
    void i.exited.then(() => children.delete(i))
    return i
  }
  let kills = 0
  let pauses = 0
  try {
    let admin: Transport
    if (opts.transport === 'kafka') {
      const { KafkaTransport } = await import('./kafka/transport.ts')
      admin = new KafkaTransport({ brokers: base.brokers, clientId: `drill-${run}` })
    } else {
      mkdirSync(base.logDir, { recursive: true })
      admin = new EmbeddedTransport({ dir: base.logDir })
    }
    await admin.createTopics([{ name: input, partitions: PARTITIONS }])
    if (opts.transport === 'kafka') {
      // Two instances share the input; the drill feeds it while it kills them.
      const inst = [start(1), start(2)]
      await Promise.all(inst.map((i) => i.started))
      say(`${Math.round((Date.now() - t0) / 1000)} s: two instances running`)
      // The input arrives in one step per kill: every kill lands while it is being processed.
      const perStep = Math.ceil(records.length / PARTITIONS / (opts.kills + 1))
      for (let k = 0; k < opts.kills; k++) {
        await feedStep(admin, records, perStep)
        await sleep(1000 + rnd() * 2500)
        const n = rnd() < 0.5 ? 0 : 1
        inst[n]!.kill('SIGKILL')
        await inst[n]!.exited
        kills++
        inst[n] = start(n + 1)
        if (opts.pause && k === Math.floor(opts.kills / 2)) {
          // The other instance: paused past its session timeout, then resumed (a zombie).
          const z = inst[1 - n]!
          z.kill('SIGSTOP')
          await sleep(SESSION_MS + 2500)
          z.kill('SIGCONT')
          pauses++
        }
        say(`${Math.round((Date.now() - t0) / 1000)} s: kill ${kills}/${opts.kills} (instance ${n + 1})`)
      }
      while (await feedStep(admin, records, perStep)) {}
      for (const i of inst) i.kill('SIGTERM')
      await Promise.all(inst.map((i) => i.exited))
      await admin.close()
    } else {
      // One process per log: the instance feeds the input itself (resuming after each kill).
      await admin.close()
      for (let k = 0; k < opts.kills; k++) {
        const i = start(1, { feed: true })
        await i.started
        await sleep(100 + rnd() * 900)
        i.kill('SIGKILL')
        await i.exited
        kills++
        say(`kill ${kills}/${opts.kills}`)
      }
    }
    // Catch up with one instance, which feeds what is left (embedded) and flushes both apps.
    say(`${Math.round((Date.now() - t0) / 1000)} s: catching up`)
    const last = start(1, { feed: opts.transport === 'embedded', finish: true })
    await Promise.race([last.done, last.exited])
    say(`${Math.round((Date.now() - t0) / 1000)} s: caught up`)
    last.kill('SIGTERM')
    await last.exited
    const reader: Transport =
      opts.transport === 'kafka'
        ? new (await import('./kafka/transport.ts')).KafkaTransport({
            brokers: base.brokers,
            clientId: `drill-r-${run}`,
          })
        : new EmbeddedTransport({ dir: base.logDir })
    const abortedFile = join(base.logDir, 'txn', 'aborted.json')
    const abortedTransactions = existsSync(abortedFile)
      ? Object.values(JSON.parse(readFileSync(abortedFile, 'utf8')) as Record<string, unknown[]>).reduce(
          (n, ranges) => n + ranges.length,
          0,
        )
      : undefined
    const eosOut = await readOutputs(reader, apps[0]!.out)
    const alosOut = await readOutputs(reader, apps[1]!.out)
    await reader.close()
    const eosRef = await referenceRun(records, apps[0]!)
    const alosRef = await referenceRun(records, apps[1]!)
    return {
      kills,
      pauses,
      inputRecords: records.length,
      seconds: Math.round((Date.now() - t0) / 1000),
      exactlyOnce: compare(eosRef, eosOut, 'sequences'),
      atLeastOnce: compare(alosRef, alosOut, 'last-candle'),
      ...(abortedTransactions !== undefined ? { abortedTransactions } : {}),
    }
  } finally {
    for (const c of children) {
      c.kill('SIGCONT')
      c.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      transport: { type: 'string', default: 'embedded' },
      kills: { type: 'string', default: '20' },
      minutes: { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
    },
  })
  const res = await runDrill({
    transport: values.transport as 'kafka' | 'embedded',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
    kills: Number(values.kills),
    minutes: Number(values.minutes),
    seed: Number(values.seed),
    pause: values.transport === 'kafka',
    log: (l) => console.error(l),
  })
  const brief = (c: Comparison) => ({
    ...c,
    differing: c.differing.slice(0, 5),
    duplicates: c.duplicates.slice(0, 5),
  })
  console.log(
    JSON.stringify(
      { ...res, exactlyOnce: brief(res.exactlyOnce), atLeastOnce: brief(res.atLeastOnce) },
      null,
      1,
    ),
  )
  const ok =
    res.exactlyOnce.differing.length +
      res.exactlyOnce.duplicates.length +
      res.atLeastOnce.differing.length ===
    0
  process.exit(ok ? 0 : 1)
}
