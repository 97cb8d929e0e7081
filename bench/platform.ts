import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8'
import { io, type Socket } from 'socket.io-client'
import { WebSocket } from 'ws'
import { loadConfig } from '../common/config.ts'
import { setLogLevel } from '../common/log.ts'
import type { Kline } from '../common/records.ts'
import { SYMBOLS_2024 } from '../processors/testdata.ts'
import { relaunchWithPlatformFlags } from '../scripts/commands/platform-flags.ts'
import { startPlatform } from '../scripts/platform.ts'
import { traceStages } from './platform-stages.ts'
import { figure } from './setup.ts'

// The one-command run (embedded log, replay server, no sinks) with N symbols: end-to-end latency
// of 1m kline updates from the replay server's WebSocket send to a Socket.IO client's `update`
// (one client subscribed to every symbol), p50/p99, and the process RSS once H hours of market
// time were replayed (sampled along the way: flat after warm-up or not).
//   node bench/platform.ts [--symbols 15] [--speed 10|max] [--seconds 60] [--hours 0] [--warmup-s 10]
// Latency at a real-time multiple: --speed 10 --seconds 60. Memory: --speed max --hours 24.

const { values: args } = parseArgs({
  options: {
    symbols: { type: 'string', default: '15' },
    speed: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    hours: { type: 'string', default: '0' },
    from: { type: 'string', default: '2024-01-02T00:00:00Z' },
    'warmup-s': { type: 'string', default: '10' },
    // memory: one JSON line per sample to this file; heap snapshots at these replayed hours
    'mem-log': { type: 'string' },
    'snapshot-at': { type: 'string', default: '' },
    stages: { type: 'boolean', default: false },
  },
})
// the heap limits `node scripts/cli.ts platform` runs under (NODE_OPTIONS with heap flags: those)
relaunchWithPlatformFlags()
setLogLevel('warn')
const symbols = SYMBOLS_2024.slice(0, Number(args.symbols))
const now = () => performance.timeOrigin + performance.now()
const keyOf = (s: string, t: number, n: number, c: string, v: string) => `${s}|${t}|${n}|${c}|${v}`

// Send times of every 1m kline frame the replay server writes (server-side sockets are ws's
// WebSocket too; the ingest client only sends its subscription).
const sent = new Map<string, number>()
const send = WebSocket.prototype.send
WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
  if (typeof data === 'string' && data.includes('@kline_1m')) {
    const m = JSON.parse(data) as { data: { s: string; k: { t: number; n: number; c: string; v: string } } }
    const k = m.data.k
    sent.set(keyOf(m.data.s, k.t, k.n, k.c, k.v), now())
  }
  return (send as (...a: unknown[]) => void).call(this, data, ...rest)
} as typeof WebSocket.prototype.send

// --stages: where the latency goes (bench/platform-stages.ts)
const stages = args.stages ? traceStages(Number(args['warmup-s']) * 1000) : undefined

const dir = mkdtempSync(join(tmpdir(), 'cs-bench-platform-'))
const config = loadConfig(
  {},
  { dataDir: dir, symbols, replayPort: 0, gatewayPort: 0, replaySpeed: args.speed, replayFrom: args.from },
)
const t0 = now()
const warmupMs = Number(args['warmup-s']) * 1000 // start-up: model training, backfill
const platform = await startPlatform(config, {}, { env: {} })
// Latencies in 1 % wide buckets (bounded memory: a 24 h run at max speed delivers ~600k updates)
const buckets = new Map<number, number>()
let delivered = 0
let maxMs = Number.NaN
const BUCKET = Math.log(1.01)
const record = (ms: number) => {
  const b = Math.round(Math.log(Math.max(ms, 0.01)) / BUCKET)
  buckets.set(b, (buckets.get(b) ?? 0) + 1)
  delivered++
  if (!(ms <= maxMs)) maxMs = ms
}
const socket: Socket = io(platform.gateway.url, { transports: ['websocket'] })
socket.on('update', (m: { data: Kline }) => {
  const k = m.data
  const at = sent.get(keyOf(k.symbol, k.openTime, k.trades, k.close, k.volume))
  if (at !== undefined && now() - t0 > warmupMs) record(now() - at)
  stages?.delivered(k)
})
for (const symbol of symbols)
  await socket.emitWithAck('subscribe', { stream: 'kline', symbol, interval: '1m', limit: 1 })

const startClock = Date.parse(args.from)
const hours = Number(args.hours)
const mb = () => Math.round(process.memoryUsage().rss / 1e6)
const rss: { replayedH: number; mb: number }[] = []
const replayedH = () => (platform.replay!.now() - startClock) / 3_600_000
const snapshotAt = args['snapshot-at'] ? args['snapshot-at'].split(',').map(Number) : []
const cpu0 = process.cpuUsage()
/** Resident anonymous (heap, malloc) and file-backed (code, mmapped LevelDB tables) memory, MB (Linux). */
const procStatus = (): Record<string, number> => {
  try {
    const text = readFileSync('/proc/self/status', 'utf8')
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN)
    return { rssAnon: Math.round(kb('RssAnon') / 1000), rssFile: Math.round(kb('RssFile') / 1000) }
  } catch {
    return {}
  }
}
const loopDelay = monitorEventLoopDelay({ resolution: 20 })
loopDelay.enable()
for (;;) {
  await new Promise((r) => setTimeout(r, 5000))
  rss.push({ replayedH: replayedH(), mb: mb() })
  if (args['mem-log']) {
    const m = process.memoryUsage()
    const c = process.cpuUsage(cpu0)
    const sample = {
      wallS: Math.round((now() - t0) / 1000),
      cpuS: Math.round((c.user + c.system) / 1e6),
      replayedH: +replayedH().toFixed(2),
      ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v / 1e6)])),
      heapLimit: Math.round(getHeapStatistics().heap_size_limit / 1e6),
      // V8's resident heap pages and its own malloc, and per space the resident MB
      heapPhysical: Math.round(getHeapStatistics().total_physical_size / 1e6),
      v8Malloc: Math.round(getHeapStatistics().malloced_memory / 1e6),
      spaces: Object.fromEntries(
        getHeapSpaceStatistics().map((s) => [
          s.space_name.replace(/_space$/, ''),
          Math.round(s.physical_space_size / 1e6),
        ]),
      ),
      loopMaxMs: Math.round(loopDelay.max / 1e6), // longest the event loop stood still in the sample
      ...procStatus(),
    }
    loopDelay.reset()
    appendFileSync(args['mem-log'], `${JSON.stringify(sample)}\n`)
  }
  while (snapshotAt.length > 0 && replayedH() >= snapshotAt[0]!)
    process.stderr.write(
      `heap snapshot ${writeHeapSnapshot(`platform-${snapshotAt.shift()}h.heapsnapshot`)}\n`,
    )
  sent.clear() // bounded: a frame not delivered within 5 s is not counted
  stages?.prune(now() - 5000)
  const done = hours > 0 ? replayedH() >= hours : now() - t0 >= Number(args.seconds) * 1000
  if (done) break
}
socket.close()
stages?.stop()
const wall = (now() - t0) / 1000
await platform.close()
rmSync(dir, { recursive: true, force: true })

const sortedBuckets = [...buckets].sort((a, b) => a[0] - b[0])
const q = (p: number) => {
  let seen = 0
  for (const [b, n] of sortedBuckets) {
    seen += n
    if (seen > p * delivered) return Math.exp(b * BUCKET)
  }
  return Number.NaN
}
const last = rss.at(-1)!
const warm = rss.find((r) => r.replayedH >= last.replayedH / 4) ?? rss[0]!
console.log(
  `${symbols.length} symbols, speed ${args.speed}, ${last.replayedH.toFixed(1)} h replayed in ${wall.toFixed(0)} s`,
)
console.log(
  `kline 1m replay send → Socket.IO update: p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${maxMs.toFixed(1)} ms (${delivered} updates)`,
)
console.log(
  `RSS ${last.mb} MB after ${last.replayedH.toFixed(1)} h replayed (${warm.mb} MB at ${warm.replayedH.toFixed(1)} h, max ${Math.max(...rss.map((r) => r.mb))} MB)`,
)
if (stages) console.log(stages.report(t0 + warmupMs))
figure(`platform e2e latency p50 (${symbols.length} symbols, speed ${args.speed})`, q(0.5), 'ms')
figure(`platform e2e latency p99 (${symbols.length} symbols, speed ${args.speed})`, q(0.99), 'ms')
figure(
  `platform RSS after ${last.replayedH.toFixed(0)} h replayed (${symbols.length} symbols)`,
  last.mb,
  'MB',
)
