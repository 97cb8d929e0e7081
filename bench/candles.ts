import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Big from 'big.js'
import { add } from '../common/decimal.ts'
import { setLogLevel } from '../common/log.ts'
import { registry } from '../common/metrics.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams } from '../engine/index.ts'
import { KafkaTransport } from '../engine/kafka/index.ts'
import { aggregate, type Candle } from '../processors/candles.ts'
import { rollup } from '../processors/rollup.ts'
import { dates, SYMBOLS_2024, spotDay } from '../processors/testdata.ts'
import { platformTopology } from '../topologies/index.ts'
import { runInstances } from './candles-instance.ts'
import { figure, median, openBench, perSecond, produceKlines, runToEnd, traceTransport } from './setup.ts'

const { values: args } = parseArgs({
  options: {
    transport: { type: 'string', default: 'embedded' },
    /** Days of 1m klines (the sample records 10; past them its days come again, later in time). */
    days: { type: 'string', default: '2' },
    symbols: { type: 'string', default: '17' },
    /** As the platform runs it (scripts/platform.ts); 0: a ranking on every 1m kline. */
    'ranking-every': { type: 'string', default: '1000' },
    /** Candle updates coalesced per window for this long (0: every change emitted, the default of the topology). */
    'emit-every': { type: 'string', default: '0' },
    /** The engine's commit interval (ms; default the engine's). */
    'commit-every': { type: 'string' },
    /** Through Kafka: this many instances of the application (child processes, as pods), sharing its partitions. */
    instances: { type: 'string', default: '1' },
    /** Runs of the platform topology over the same input, each a fresh application (state, offsets); the median is reported. */
    runs: { type: 'string', default: '1' },
    /** Only the pure aggregation (no transport, no platform topology). */
    pure: { type: 'boolean', default: false },
    /** Pure part: also time the previous way (aggregate per interval) in the same run. */
    baseline: { type: 'boolean', default: false },
    /** Pure part: runs per variant (the median is reported). */
    repeat: { type: 'string', default: '5' },
    /** Pure part's input: 'records' (decoded from JSON in feed order, as the topology's source gets them) or 'csv' (the file reader's strings). */
    input: { type: 'string', default: 'records' },
  },
})
setLogLevel('warn')
const kind = args.transport === 'kafka' ? 'kafka' : 'embedded'
const instances = Math.max(1, Number(args.instances) || 1)
if (instances > 1 && kind !== 'kafka')
  throw new Error('--instances needs --transport kafka (the embedded log is one process)')
const rankingEvery = Number(args['ranking-every']) || undefined
const emitEvery = Number(args['emit-every']) || undefined
const label = `${kind}${emitEvery ? `, candles coalesced ${emitEvery} ms` : ''}`
const recorded = dates('2024-01-01', '2024-01-10')
const dayCount = Math.max(1, Number(args.days) || 1)
const symbols = SYMBOLS_2024.slice(0, Number(args.symbols))
const out = (s: string) => process.stdout.write(`${s}\n`)

const klines: Candle[] = []
// A replay longer than the sample: its days again, each shifted by the days before it (a month
// is the sample three times over, at 2024-01-11.. and 2024-01-21..; prices jump at the seams).
for (let i = 0; i < dayCount; i++) {
  const shift = Math.floor(i / recorded.length) * recorded.length * 86_400_000
  for (const s of symbols)
    for (const k of spotDay(s, '1m', recorded[i % recorded.length]!))
      klines.push(shift ? { ...k, openTime: k.openTime + shift, closeTime: k.closeTime + shift } : k)
}
klines.sort((a, b) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1))
const N = klines.length

// Both parts below are functions: what they allocate is gone once they return (as blocks of the
// module's body their locals stayed alive on its suspended frame: a second live copy of the input
// that every full GC of the platform runs traced, ~200 MB for 10 days).
decimalSums()
pureAggregation()

/** Why common/decimal is BigInt fixed-point: the sum of Binance strings, both ways. */
function decimalSums(): void {
  const xs = klines.map((k) => k.quoteVolume)
  let t0 = performance.now()
  let a = '0'
  for (const x of xs) a = add(a, x)
  const bigint = performance.now() - t0
  t0 = performance.now()
  let b = '0'
  for (const x of xs) b = new Big(b).plus(x).toFixed(8)
  const bigjs = performance.now() - t0
  out(
    `decimal string sums: BigInt ${perSecond(xs.length, bigint)}/s, big.js ${perSecond(xs.length, bigjs)}/s (equal: ${a === b})`,
  )
}

function pureAggregation(): void {
  // Pure aggregation: Kline records (Binance's decimal strings) in, every candle of 5m/1h/4h/1d out,
  // printed. Scanning the strings is part of the work; reading the files and the transport are not.
  // By default the klines are decoded from JSON in feed order, as the topology's source decodes each
  // record just before it is aggregated (its strings are hot in cache). --input csv keeps the file
  // reader's strings, laid out file by file: interleaved by time, each kline reads cold memory
  // (scanning its decimals costs ~3× more; per symbol in file order it costs the same as JSON).
  const input: Candle[] = args.input === 'csv' ? klines : JSON.parse(JSON.stringify(klines))
  const ivs = ['5m', '1h', '4h', '1d']
  const runs = Math.max(1, Number(args.repeat))
  const time = (name: string, f: () => void): number => {
    const rs: { ms: number; cpuMs: number }[] = []
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      f()
      const c = process.cpuUsage(c0)
      rs.push({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 })
    }
    const first = rs[0] as { ms: number }
    const { ms, cpuMs } = median(rs, (r) => r.ms)
    out(
      `pure aggregation 1m → 5m+1h+4h+1d, ${name}: ${perSecond(N, ms)} 1m klines/s wall, ${perSecond(N, cpuMs)} per CPU-second ` +
        `(${args.input} input, median of ${runs} runs over ${N} klines; first run ${perSecond(N, first.ms)}/s wall)`,
    )
    return ms
  }
  if (args.baseline) {
    const ms = time('aggregate per interval (before)', () => {
      for (const iv of ivs) aggregate(input, iv)
    })
    figure(
      'pure candle aggregation 1m → 5m+1h+4h+1d, before (aggregate per interval)',
      Math.round((N / ms) * 1000),
      '1m klines/s',
    )
  }
  const ms = time('one-pass rollup', () => rollup(input, ivs))
  figure('pure candle aggregation 1m → 5m+1h+4h+1d', Math.round((N / ms) * 1000), '1m klines/s')
  out(
    `  load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
}
if (args.pure) process.exit(0)

const { run, dir, transport, done } = await openBench(kind, 'cs-bench-candles-')
const prefix = `${run}.`
try {
  // Two partitions per instance: 17 symbols hash 6/11 onto 2 partitions, 2+7 / 4+4 onto 4.
  await transport.createTopics([
    { name: prefix + topics.kline1m, partitions: instances > 1 ? 2 * instances : 2 },
  ])
  await produceKlines(transport, prefix + topics.kline1m, klines, 20_000)
  // The input is in the log now: the engine's collector should not trace a bench's copy of it.
  klines.length = 0
  if (instances > 1) {
    const { ms, cpuMs } = await runInstances(instances, {
      run,
      prefix,
      rankingEveryMs: rankingEvery,
      emitEveryMs: emitEvery,
      commitIntervalMs: Number(args['commit-every']) || undefined,
    })
    out(
      `platform topology (kafka, ${instances} instances, ${symbols.length} symbols × ${dayCount} days, candles ${emitEvery ? `coalesced ${emitEvery} ms` : 'every change'}): ${perSecond(N, ms)} 1m klines/s wall, ` +
        `${perSecond(N, cpuMs)} per CPU-second (${N} klines, ${Math.round(ms)} ms; load average ${loadavg()[0]!.toFixed(2)})`,
    )
    figure(`platform topology (${label}, ${instances} instances)`, Math.round((N / ms) * 1000), '1m klines/s')
  } else {
    // The first run includes the JIT's warm-up (a replay of weeks or a live feed pays it once).
    const n = Math.max(1, Number(args.runs) || 1)
    const rates: { wall: number; cpu: number; thread: number }[] = []
    for (let i = 0; i < n; i++) rates.push(await runOne(n > 1 ? `${run}r${i}` : run))
    const med = (f: (r: (typeof rates)[number]) => number) => f(median(rates, f))
    if (n > 1)
      out(
        `median of ${n} runs: ${med((r) => r.wall).toLocaleString('en-US')} 1m klines/s wall, ${med((r) => r.cpu).toLocaleString('en-US')} per CPU-second, ` +
          `${med((r) => r.thread).toLocaleString('en-US')} per stream-thread CPU-second (first run ${rates[0]!.wall.toLocaleString('en-US')} wall; load average ${loadavg()[0]!.toFixed(2)})`,
      )
    figure(
      `platform topology (${label})`,
      med((r) => r.wall),
      '1m klines/s',
    )
    figure(
      `platform topology (${label}), per CPU-second`,
      med((r) => r.cpu),
      '1m klines/s',
    )
  }
} finally {
  await done()
}

/** One instance in this process, with the transport's waits and (Kafka) its round trips per commit cycle. */
async function runOne(app: string): Promise<{ wall: number; cpu: number; thread: number }> {
  const kafkaTrace = transport instanceof KafkaTransport ? transport.trace : undefined
  kafkaTrace?.reset()
  const traced = traceTransport(transport)
  const streams = new KafkaStreams(
    platformTopology({ topicPrefix: prefix, rankingEveryMs: rankingEvery, emitEveryMs: emitEvery }),
    {
      applicationId: app,
      transport: traced.transport,
      stateDir: join(dir, `state-${app}`),
      ...(args['commit-every'] ? { commitIntervalMs: Number(args['commit-every']) } : {}),
    },
  )
  const { ms, cpuMs, mainCpuMs, gcMs } = await runToEnd(streams)
  await streams.close()
  out(
    `platform topology (${kind}, ${symbols.length} symbols × ${dayCount} days, ranking ${rankingEvery ? `every ${rankingEvery} ms` : 'on every kline'}, candles ${emitEvery ? `coalesced ${emitEvery} ms` : 'every change'}): ${perSecond(N, ms)} 1m klines/s ` +
      `wall, ${perSecond(N, cpuMs)} per CPU-second (${N} klines, ${Math.round(ms)} ms)`,
  )
  const waits = [...traced.waits].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v)} ms`)
  out(`  waiting on the transport (wall): ${waits.join(', ')}; CPU ${Math.round(cpuMs)} ms`)
  out(
    `  stream thread CPU ${Math.round(mainCpuMs)} ms: ${perSecond(N, mainCpuMs)} 1m klines per its CPU-second; GC pauses ${Math.round(gcMs)} ms (${Math.round((100 * gcMs) / ms)} % of the wall)`,
  )
  const pause = (await registry.getSingleMetric('cs_engine_commit_pause_seconds')?.get())?.values.filter(
    (v) => v.labels.app === app && v.labels.kind === 'interval',
  )
  const sum = pause?.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0
  const count = pause?.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0
  out(`  stream thread standing still in interval commits: ${Math.round(sum * 1000)} ms in ${count} commits`)
  if (kafkaTrace) {
    // Broker round trips per commit cycle (engine/kafka/trace.ts); they overlap, so they do not add up to the wall.
    const cycles = kafkaTrace.phases.get('commit')?.calls ?? kafkaTrace.phases.get('txn.end')?.calls ?? 0
    out(`  Kafka round trips, ${cycles} commit cycles (${Math.round(ms / Math.max(1, cycles))} ms each):`)
    for (const line of kafkaTrace.summary(cycles)) out(`    ${line}`)
  }
  const rate = (t: number) => Math.round((N / t) * 1000)
  return { wall: rate(ms), cpu: rate(cpuMs), thread: rate(mainCpuMs) }
}
