import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Big from 'big.js'
import { add } from '../common/decimal.ts'
import { setLogLevel } from '../common/log.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams } from '../engine/index.ts'
import { aggregate, type Candle } from '../processors/candles.ts'
import { dates, SYMBOLS_2024, spotDay } from '../processors/testdata.ts'
import { platformTopology } from '../topologies/index.ts'
import { figure, openBench, traceTransport } from './setup.ts'

const { values: args } = parseArgs({
  options: {
    transport: { type: 'string', default: 'embedded' },
    days: { type: 'string', default: '2' },
    symbols: { type: 'string', default: '17' },
    /** As the platform runs it (scripts/platform.ts); 0: a ranking on every 1m kline. */
    'ranking-every': { type: 'string', default: '1000' },
    /** Candle updates coalesced per window for this long (0: every change emitted, the default of the topology). */
    'emit-every': { type: 'string', default: '0' },
  },
})
setLogLevel('warn')
const kind = args.transport === 'kafka' ? 'kafka' : 'embedded'
const rankingEvery = Number(args['ranking-every']) || undefined
const emitEvery = Number(args['emit-every']) || undefined
const label = `${kind}${emitEvery ? `, candles coalesced ${emitEvery} ms` : ''}`
const days = dates('2024-01-01', '2024-01-10').slice(0, Number(args.days))
const symbols = SYMBOLS_2024.slice(0, Number(args.symbols))
const out = (s: string) => process.stdout.write(`${s}\n`)
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US')

const klines: Candle[] = []
for (const d of days) for (const s of symbols) klines.push(...spotDay(s, '1m', d))
klines.sort((a, b) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1))
const N = klines.length

{
  // why common/decimal is BigInt fixed-point: the sum of Binance strings, both ways
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
    `decimal string sums: BigInt ${rate(xs.length, bigint)}/s, big.js ${rate(xs.length, bigjs)}/s (equal: ${a === b})`,
  )
}

{
  const t0 = performance.now()
  for (const iv of ['5m', '1h', '4h', '1d']) aggregate(klines, iv)
  const ms = performance.now() - t0
  out(`pure aggregation 1m → 5m+1h+4h+1d: ${rate(N, ms)} 1m klines/s (${N} klines)`)
  figure('pure candle aggregation 1m → 5m+1h+4h+1d', Math.round((N / ms) * 1000), '1m klines/s')
}

const { run, dir, transport, done } = await openBench(kind, 'cs-bench-candles-')
const prefix = `${run}.`
try {
  await transport.createTopics([{ name: prefix + topics.kline1m, partitions: 2 }])
  const producer = transport.producer()
  for (let i = 0; i < N; i += 20_000)
    await producer.send(
      klines.slice(i, i + 20_000).map((k) => ({
        topic: prefix + topics.kline1m,
        key: k.symbol,
        value: JSON.stringify(k),
        timestamp: k.openTime,
      })),
    )
  await producer.close()
  const traced = traceTransport(transport)
  const streams = new KafkaStreams(
    platformTopology({ topicPrefix: prefix, rankingEveryMs: rankingEvery, emitEveryMs: emitEvery }),
    {
      applicationId: run,
      transport: traced.transport,
      stateDir: join(dir, 'state'),
    },
  )
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await streams.start()
  await streams.flush(600_000)
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  await streams.close()
  out(
    `platform topology (${kind}, ${symbols.length} symbols × ${days.length} days, ranking ${rankingEvery ? `every ${rankingEvery} ms` : 'on every kline'}, candles ${emitEvery ? `coalesced ${emitEvery} ms` : 'every change'}): ${rate(N, ms)} 1m klines/s ` +
      `wall, ${rate(N, (cpu.user + cpu.system) / 1000)} per CPU-second (${N} klines, ${Math.round(ms)} ms)`,
  )
  const waits = [...traced.waits].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v)} ms`)
  out(
    `  waiting on the transport (wall): ${waits.join(', ')}; CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
  )
  figure(`platform topology (${label})`, Math.round((N / ms) * 1000), '1m klines/s')
  figure(
    `platform topology (${label}), per CPU-second`,
    Math.round((N / (cpu.user + cpu.system)) * 1e6),
    '1m klines/s',
  )
} finally {
  await done()
}
