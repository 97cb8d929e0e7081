import { createHash } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { setLogLevel } from '../common/log.ts'
import { topics } from '../common/topics.ts'
import { StreamsBuilder } from '../engine/index.ts'
import { TestBed } from '../engine/testing.ts'
import type { ConsumedRecord } from '../engine/transport.ts'
import type { Candle } from '../processors/candles.ts'
import { dates, SYMBOLS_2024, spotDay } from '../processors/testdata.ts'
import { addCandles } from '../topologies/candles.ts'
import { addIndicators } from '../topologies/indicators.ts'
import { figure } from './setup.ts'

// The candle and indicator processors of the platform topology (1m → 5m/1h/4h/1d, coalesced
// 100 ms, indicators on the closed candles) on one stream task, without the transport's loop and
// without the rankings: records decoded and processed, a wall-clock punctuation every 6,500
// records (100 ms at 65k/s) and a commit's work (flush processors, changelog records, state
// flush) every 80,000, on a clock of its own, so every run does the same work. The figure is the
// main thread's CPU time (process.threadCpuUsage), best of `--repeat` runs: on a shared machine
// far steadier than the wall clock. The output hash shows two versions emit the same records.

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '5' },
  },
})
setLogLevel('warn')
const klines: Candle[] = []
for (const d of dates('2024-01-01', '2024-01-10').slice(0, Number(args.days)))
  for (const s of SYMBOLS_2024) klines.push(...spotDay(s, '1m', d))
klines.sort((a, b) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1))
const records: ConsumedRecord[] = klines.map((k, i) => ({
  topic: topics.kline1m,
  partition: 0,
  offset: i,
  key: k.symbol,
  value: JSON.stringify({ ...k, interval: '1m' }),
  timestamp: k.openTime,
}))
const STORES = ['candles-5m', 'candles-1h', 'candles-4h', 'candles-1d', 'indicators']

async function run(): Promise<{ cpuMs: number; outputs: number; hash: string }> {
  const b = new StreamsBuilder()
  const c = addCandles(b, { emitEveryMs: 100 })
  addIndicators(b, [c['5m'], c['1h'], c['4h'], c['1d']])
  const topology = b.build()
  const bed = new TestBed('cs-bench-candle-task-')
  try {
    await bed.transport.createTopics([
      { name: topics.kline1m, partitions: 1 },
      ...STORES.map((s) => ({ name: `bench-${s}-changelog`, partitions: 1, compacted: true })),
    ])
    const task = await bed.openTask(topology, 'bench')
    const h = createHash('sha256')
    let outputs = 0
    let now = Date.now() + 1_000
    const cpu0 = process.threadCpuUsage()
    for (let i = 0; i < records.length; i++) {
      task.process(records[i] as ConsumedRecord)
      if (i % 6_500 === 6_499) {
        now += 100
        task.punctuate('wall-clock', now)
      }
      if (i % 80_000 === 79_999 || i === records.length - 1) {
        task.flushProcessors()
        for (const r of task.out) h.update(`${r.topic}\u0000${r.value}\n`)
        outputs += task.out.length
        task.out = []
        task.changelogRecords(now)
        await task.beginFlushState()()
      }
    }
    const cpu = process.threadCpuUsage(cpu0)
    await task.close()
    return { cpuMs: (cpu.user + cpu.system) / 1000, outputs, hash: h.digest('hex').slice(0, 16) }
  } finally {
    await bed.close()
  }
}

const runs = []
for (let i = 0; i < Math.max(1, Number(args.repeat)); i++) runs.push(await run())
const best = Math.min(...runs.map((r) => r.cpuMs))
const n = records.length
process.stdout.write(
  `candle + indicator processors, one task (${SYMBOLS_2024.length} symbols × ${args.days} days, ${n} 1m klines): ` +
    `${Math.round((n / best) * 1000).toLocaleString('en')} klines per main-thread CPU-second ` +
    `(best of ${runs.length}: ${Math.round(best)} ms; runs ${runs.map((r) => Math.round(r.cpuMs)).join(', ')} ms; ` +
    `${runs[0]?.outputs} outputs, hash ${runs[0]?.hash}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})\n`,
)
figure(
  'candle + indicator processors, one task, per main-thread CPU-second',
  Math.round((n / best) * 1000),
  '1m klines/s',
)
