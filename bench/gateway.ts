import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import autocannon from 'autocannon'
import { io, type Socket } from 'socket.io-client'
import { setLogLevel } from '../common/log.ts'
import type { Kline } from '../common/records.ts'
import { GatewayBed, recordedMarket, splitMarket } from '../gateway/testing.ts'
import { figure } from './setup.ts'

// Gateway figures on recorded data (two days of BTCUSDT and ETHUSDT through the platform
// topology, embedded log): REST requests/s and p99 latency for /ohlc and /api/v3/klines
// (autocannon, in this process), then N concurrent Socket.IO clients (in `--workers` worker
// threads, so the clients' own parsing does not queue behind the server) subscribed to BTCUSDT
// 1m klines while live updates are written to the raw topic: delivery latency from the write
// (durable send) to each client's `update` event, p50/p99/max over every delivery.
//   node bench/gateway.ts [--clients 1000] [--workers 2] [--updates 240] [--rate 20] [--seconds 10] [--connections 50] [--no-rest]

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    updates: { type: 'string', default: '240' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '2' },
    'no-rest': { type: 'boolean', default: false },
  },
})
const now = () => performance.timeOrigin + performance.now()

if (!isMainThread) {
  // a client worker: subscribe `count` clients, then report (openTime, receive time) per delivery
  const { url, count } = workerData as { url: string; count: number }
  const got: [number, number][] = []
  let initials = 0
  const sockets: Socket[] = []
  for (let i = 0; i < count; i++) {
    const s = io(url, { transports: ['websocket'], forceNew: true })
    s.on('initial', () => {
      if (++initials === count) parentPort!.postMessage({ ready: true })
    })
    s.on('update', (m: { data: Kline }) => got.push([m.data.openTime, now()]))
    s.on('connect', () =>
      s.emit('subscribe', { stream: 'kline', symbol: 'BTCUSDT', interval: '1m', limit: 10 }),
    )
    sockets.push(s)
  }
  parentPort!.on('message', (m: { expected: number }) => {
    const check = () => {
      if (got.length >= m.expected * count) finish()
      else setTimeout(check, 50)
    }
    const finish = () => {
      for (const s of sockets) s.disconnect()
      parentPort!.postMessage({ got })
      process.exit(0)
    }
    setTimeout(finish, 60_000)
    check()
  })
} else {
  setLogLevel('warn')
  const out = (s: string) => process.stdout.write(`${s}\n`)
  const CLIENTS = Number(args.clients)
  const UPDATES = Number(args.updates)
  const RATE = Number(args.rate)
  const WARMUP = 10

  const days = ['2024-01-08', '2024-01-09']
  const liveFrom = Date.parse('2024-01-10T00:00:00Z') - UPDATES * 60_000
  const [btc, btcLive] = splitMarket(recordedMarket('BTCUSDT', days, 60), liveFrom)
  const [eth] = splitMarket(recordedMarket('ETHUSDT', days, 60), liveFrom)
  const g = await new GatewayBed().start([btc, eth], { symbols: ['BTCUSDT', 'ETHUSDT'] })
  const url = g.gateway.url

  async function rest(path: string): Promise<void> {
    const r = await autocannon({
      url: `${url}${path}`,
      connections: Number(args.connections),
      duration: Number(args.seconds),
    })
    const bad = r.non2xx + r.errors
    out(
      `REST ${path}: ${Math.round(r.requests.average).toLocaleString('en-US')} req/s, ` +
        `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (${r.connections} connections, ${bad} errors)`,
    )
    figure(`REST ${path}: requests`, Math.round(r.requests.average), 'req/s')
    figure(`REST ${path}: p99`, r.latency.p99, 'ms')
  }

  if (!args['no-rest']) {
    await rest('/ohlc?symbol=BTCUSDT&interval=1h&limit=500')
    await rest('/ohlc?symbol=BTCUSDT&interval=5m&limit=100')
    await rest('/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=500')
  }

  // Socket.IO fan-out
  const W = Math.max(1, Number(args.workers))
  const sentAt = new Map<number, number>()
  const workers = Array.from(
    { length: W },
    (_, i) =>
      new Worker(new URL(import.meta.url), {
        workerData: { url, count: Math.floor(CLIENTS / W) + (i < CLIENTS % W ? 1 : 0) },
      }),
  )
  const t0 = performance.now()
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
  out(
    `Socket.IO: ${CLIENTS} clients (${W} worker threads) connected and subscribed in ${Math.round(performance.now() - t0)} ms`,
  )

  // CPU of the server's thread (the gateway, the engine, the feed) while it fans the updates out:
  // what the fan-out costs whatever the machine's load (the clients run in the worker threads)
  const cpu0 = process.threadCpuUsage()
  const fanOutStart = performance.now()
  for (const k of btcLive.klines) {
    const next = performance.now() + 1000 / RATE
    sentAt.set(k.openTime, now())
    await g.produce([{ klines: [k], trades: [], books: [] }])
    const wait = next - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  const cpu = process.threadCpuUsage(cpu0)
  const serverCpuMs = (cpu.user + cpu.system) / 1000
  const fanOutMs = performance.now() - fanOutStart
  const results = await Promise.all(
    workers.map(
      (w) =>
        new Promise<[number, number][]>((r) => {
          w.once('message', (m: { got: [number, number][] }) => r(m.got))
          w.postMessage({ expected: btcLive.klines.length })
        }),
    ),
  )
  // the first WARMUP updates warm the JIT and the connections; the figures are over the rest
  const measured = new Set(btcLive.klines.slice(WARMUP).map((k) => k.openTime))
  const latencies = results
    .flat()
    .filter(([openTime]) => measured.has(openTime))
    .map(([openTime, at]) => at - sentAt.get(openTime)!)
  const expected = CLIENTS * measured.size
  latencies.sort((a, b) => a - b)
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1)
  out(
    `Socket.IO: ${measured.size} updates (after ${WARMUP} warm-up) at ${RATE}/s to ${CLIENTS} clients: ` +
      `${latencies.length.toLocaleString('en-US')}/${expected.toLocaleString('en-US')} delivered, ` +
      `latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`,
  )
  out(
    `Socket.IO server thread: ${serverCpuMs.toFixed(0)} ms CPU in ${(fanOutMs / 1000).toFixed(1)} s of updates, ` +
      `${(((serverCpuMs / btcLive.klines.length) * 1000) / CLIENTS).toFixed(1)} µs per update per client`,
  )
  figure(
    `Socket.IO ${CLIENTS} clients: server CPU per update per client`,
    ((serverCpuMs / btcLive.klines.length) * 1000) / CLIENTS,
    'µs',
  )
  figure(`Socket.IO ${CLIENTS} clients: delivered`, latencies.length / expected, 'fraction')
  figure(`Socket.IO ${CLIENTS} clients: latency p99`, Number(q(0.99)), 'ms')
  await g.close()
  process.exit(0)
}
