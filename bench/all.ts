import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { FIGURE_ENV, FIGURE_MARK } from './setup.ts'

// `npm run bench`: runs every benchmark, one process each, and prints one table of their figures
// (collected from the `@figure` lines that bench/setup.ts figure() prints under this runner).
// The default sizes keep the whole run to a few minutes; --full runs each bench at its own
// defaults. Kafka rows need a broker (--kafka, KAFKA_BROKERS), the sink rows Redis and a
// MongoDB-wire server (--servers, REDIS_URL, MONGO_URL).
//   npm run bench [-- --full] [--kafka] [--servers] [--only candles,engine] [--timeout-s 600]

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    kafka: { type: 'boolean', default: false },
    servers: { type: 'boolean', default: false },
    only: { type: 'string' },
    'timeout-s': { type: 'string', default: '600' },
  },
})

interface Run {
  /** Short name for --only. */
  name: string
  file: string
  quick: string[]
  full?: string[]
  needs?: 'kafka' | 'servers'
}

const runs: Run[] = [
  { name: 'engine', file: 'bench/engine.ts', quick: ['--records', '300000', '--restore-keys', '300000'] },
  {
    name: 'engine-kafka',
    file: 'bench/engine.ts',
    quick: ['--transport', 'kafka', '--partitions', '6', '--records', '300000', '--restore-keys', '100000'],
    full: ['--transport', 'kafka', '--partitions', '6'],
    needs: 'kafka',
  },
  { name: 'cleaner', file: 'bench/cleaner.ts', quick: ['--keys', '200000'] },
  { name: 'ingest', file: 'bench/ingest.ts', quick: ['--messages', '100000'] },
  {
    name: 'ingest-kafka',
    file: 'bench/ingest.ts',
    quick: ['--transport', 'kafka', '--messages', '100000'],
    full: ['--transport', 'kafka'],
    needs: 'kafka',
  },
  { name: 'replay', file: 'ingest/replay/bench.ts', quick: ['3'], full: ['10'] },
  {
    name: 'candles',
    file: 'bench/candles.ts',
    quick: ['--days', '2'],
    full: ['--emit-every', '100', '--days', '10', '--runs', '3'],
  },
  { name: 'candle-task', file: 'bench/candle-task.ts', quick: ['--repeat', '2'], full: ['--repeat', '5'] },
  {
    name: 'ticker-24h',
    file: 'bench/ticker-24h.ts',
    quick: ['--days', '2', '--repeat', '3'],
    full: ['--repeat', '9'],
  },
  {
    name: 'candles-kafka',
    file: 'bench/candles.ts',
    quick: ['--transport', 'kafka', '--days', '1'],
    full: ['--transport', 'kafka', '--emit-every', '100', '--days', '10', '--runs', '3'],
    needs: 'kafka',
  },
  { name: 'market', file: 'bench/market.ts', quick: ['--symbols', '200', '--seconds', '20'], full: [] },
  { name: 'kafka-clients', file: 'bench/kafka-clients.ts', quick: ['--records', '100000'], needs: 'kafka' },
  {
    name: 'gateway',
    file: 'bench/gateway.ts',
    quick: ['--clients', '200', '--updates', '40', '--seconds', '3'],
  },
  {
    name: 'predictions',
    file: 'bench/predictions.ts',
    quick: ['--from', '2024-01-01', '--to', '2024-01-10', '--train-days', '5', '--no-multi'],
  },
  { name: 'sinks', file: 'sinks/bench.ts', quick: ['--batch', '2000'], full: [], needs: 'servers' },
  { name: 'platform', file: 'bench/platform.ts', quick: ['--seconds', '20', '--warmup-s', '5'], full: [] },
]

interface Row {
  bench: string
  name: string
  value: number
  unit: string
}

const only = args.only ? new Set(args.only.split(',')) : undefined
const selected = runs.filter((r) => {
  if (!existsSync(r.file)) return false
  if (only) return only.has(r.name)
  if (r.needs === 'kafka') return args.kafka
  if (r.needs === 'servers') return args.servers
  return true
})

function runOne(r: Run): Promise<{ rows: Row[]; code: number | null; ms: number }> {
  const argv = args.full ? (r.full ?? []) : r.quick
  const t0 = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [r.file, ...argv], {
      env: { ...process.env, [FIGURE_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const timer = setTimeout(() => child.kill('SIGTERM'), Number(args['timeout-s']) * 1000)
    const rows: Row[] = []
    let rest = ''
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith(FIGURE_MARK)) {
          const f = JSON.parse(line.slice(FIGURE_MARK.length)) as Omit<Row, 'bench'>
          rows.push({ bench: `node ${r.file} ${argv.join(' ')}`.trim(), ...f })
        } else process.stderr.write(`  ${line}\n`)
      }
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ rows, code, ms: performance.now() - t0 })
    })
  })
}

const fmt = (v: number) =>
  Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumSignificantDigits: 3 })
const cpu = cpus()
const machine = `${cpu.length}-core ${cpu[0]?.model.trim() ?? ''}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg()[0]!.toFixed(1)}`
const date = new Date().toISOString().slice(0, 10)
const all: Row[] = []
const failed: string[] = []
for (const r of selected) {
  process.stderr.write(`▶ ${r.name}: node ${r.file} ${(args.full ? (r.full ?? []) : r.quick).join(' ')}\n`)
  const { rows, code, ms } = await runOne(r)
  process.stderr.write(`  (${(ms / 1000).toFixed(1)} s, exit ${code})\n`)
  if (code !== 0) failed.push(`${r.name} (exit ${code})`)
  all.push(...rows)
}
const out = (s: string) => process.stdout.write(`${s}\n`)
out('')
out('| command | figure | value | unit | machine | date |')
out('| --- | --- | ---: | --- | --- | --- |')
for (const r of all)
  out(`| \`${r.bench}\` | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${machine} | ${date} |`)
if (failed.length > 0) {
  out(`\nfailed: ${failed.join(', ')}`)
  process.exitCode = 1
}
