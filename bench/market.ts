import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { registry } from '../common/metrics.ts'
import { topics } from '../common/topics.ts'
import { KafkaStreams } from '../engine/index.ts'
import { BookSync } from '../ingest/binance/book/sync.ts'
import { normalize } from '../ingest/binance/normalize.ts'
import { BatchSink } from '../ingest/binance/sink.ts'
import { platformTopology } from '../topologies/index.ts'
import { figure, openBench } from './setup.ts'

// The whole spot market on one machine, embedded: N symbols (Binance lists ≈ 1,400) each sending
// at real-time rate (× --load) a kline_1m update every 2 s, --trades trades/s and a depth@100ms
// diff every 100 ms, as Binance combined-stream frames. Ingest's own code parses, normalizes,
// keeps the books (published every 100 ms, as ingest does) and produces; the platform topology
// as the platform runs it (candles, rankings every 1 s, indicators, serving stores) processes
// in the same process. The frames are made in-process: the replay server serves only its 24
// listed symbols (ingest/replay/bench.ts measures its frame rate alone).
// Per load step: messages/s offered and held (a generator that falls behind schedule means
// the process is saturated), CPU (cores), consumer lag of the topology (records and seconds of
// input), event-loop delay p99, RSS. With --ramp the load doubles until it falls behind.
//   node bench/market.ts [--symbols 1400] [--seconds 30] [--load 1] [--ramp] [--trades 2]

const { values: args } = parseArgs({
  options: {
    symbols: { type: 'string', default: '1400' },
    seconds: { type: 'string', default: '30' },
    load: { type: 'string', default: '1' },
    ramp: { type: 'boolean', default: false },
    trades: { type: 'string', default: '2' },
  },
})
const S = Number(args.symbols)
const SECONDS = Number(args.seconds)
const TRADES = Number(args.trades)
const bench = await openBench('embedded', 'cs-bench-market-')
const { run, dir, transport, out } = bench
const prefix = `${run}.`
const symbols = Array.from({ length: S }, (_, i) => `M${String(i).padStart(4, '0')}USDT`)
const known = new Set(
  symbols.flatMap((s) => [
    `${s.toLowerCase()}@trade`,
    `${s.toLowerCase()}@depth@100ms`,
    `${s.toLowerCase()}@kline_1m`,
  ]),
)
const fx = (n: number) => n.toFixed(8)
const books = new Map(symbols.map((s) => [s, new BookSync({ symbol: s })]))
symbols.forEach((s, i) => {
  const b = books.get(s)!
  const mid = 100 + (i % 50) // the book stays on a fixed grid around it (trades move the price)
  b.onSnapshot({
    lastUpdateId: 1000,
    bids: [[fx(mid - 1), '1.00000000']],
    asks: [[fx(mid + 1), '1.00000000']],
  })
  b.snapshotRequested()
})

// Per symbol: the running minute (open, high, low, volume) and the book's update id.
interface Sim {
  price: number
  open: number
  high: number
  low: number
  volume: number
  trades: number
  minute: number
  nextId: number
  tradeId: number
}
const sims = symbols.map((_, i) => ({
  price: 100 + (i % 50),
  open: 0,
  high: 0,
  low: 0,
  volume: 0,
  trades: 0,
  minute: -1,
  nextId: 1001,
  tradeId: 1,
}))
const T0 = Date.parse('2024-01-01T00:00:50Z') // a minute closes 10 s into the run

function klineFrame(s: string, m: Sim, t: number, closed: boolean): string {
  const q = m.volume * m.price
  return JSON.stringify({
    stream: `${s.toLowerCase()}@kline_1m`,
    data: {
      e: 'kline',
      E: t,
      s,
      k: {
        t: m.minute,
        T: m.minute + 59_999,
        s,
        i: '1m',
        f: 1,
        L: m.trades,
        o: fx(m.open),
        c: fx(m.price),
        h: fx(m.high),
        l: fx(m.low),
        v: fx(m.volume),
        n: m.trades,
        x: closed,
        q: fx(q),
        V: fx(m.volume / 2),
        Q: fx(q / 2),
        B: '0',
      },
    },
  })
}

/** The frames symbol `i` sends in the 100 ms step `step` (virtual time t). */
function framesOf(i: number, step: number, t: number, load: number, emit: (f: string) => void): void {
  const s = symbols[i]!
  const m = sims[i]!
  const minute = t - (t % 60_000)
  if (m.minute !== minute) {
    if (m.minute >= 0) emit(klineFrame(s, m, t, true))
    Object.assign(m, { minute, open: m.price, high: m.price, low: m.price, volume: 0, trades: 0 })
  }
  for (let k = 0; k < load; k++) {
    const u = m.nextId
    m.nextId += 2
    const lv = (p: number) => [fx(p), fx(((step + k) % 9) + 1)]
    emit(
      JSON.stringify({
        stream: `${s.toLowerCase()}@depth@100ms`,
        data: {
          e: 'depthUpdate',
          E: t,
          s,
          U: u,
          u: u + 1,
          b: [lv(100 + (i % 50) - 0.5)],
          a: [lv(100 + (i % 50) + 0.5)],
        },
      }),
    )
  }
  // trades: TRADES × load per second, spread over the steps
  const due = Math.floor(((step + 1) * TRADES * load) / 10) - Math.floor((step * TRADES * load) / 10)
  for (let k = 0; k < due; k++) {
    m.price = Math.max(1, m.price + (((i * 31 + step * 7 + k) % 5) - 2) * 0.01)
    m.high = Math.max(m.high, m.price)
    m.low = Math.min(m.low, m.price)
    m.volume += 0.5
    m.trades++
    emit(
      JSON.stringify({
        stream: `${s.toLowerCase()}@trade`,
        data: {
          e: 'trade',
          E: t,
          s,
          t: m.tradeId++,
          p: fx(m.price),
          q: '0.50000000',
          T: t,
          m: k % 2 === 0,
          M: true,
        },
      }),
    )
  }
  // a kline update every 2 s per symbol, symbols spread over the 20 steps
  if ((step + i) % (20 / Math.min(load, 20)) === 0 || load >= 20) emit(klineFrame(s, m, t, false))
}

const inputs = [topics.kline1m, topics.trades, topics.orderbook].map((t) => prefix + t)
await transport.createTopics(inputs.map((name) => ({ name, partitions: 3 })))
const producer = transport.producer()
let errors = 0
const sink = new BatchSink(producer, () => errors++, { maxBatch: 5000 })
const streams = new KafkaStreams(
  platformTopology({
    topicPrefix: prefix,
    rankingEveryMs: 1000,
    serving: true,
    top: Number.POSITIVE_INFINITY,
  }),
  { applicationId: run, transport, stateDir: join(dir, 'state') },
)
await streams.start()

async function lagRecords(): Promise<number> {
  const m = await registry.getSingleMetric('cs_engine_consumer_lag')?.get()
  return (m?.values ?? [])
    .filter((v) => v.labels.app === run && inputs.includes(String(v.labels.topic)))
    .reduce((a, v) => a + v.value, 0)
}

let step = 0
/** Runs `seconds` at `load`; returns whether it kept up. */
async function runLoad(load: number): Promise<boolean> {
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  // nominal: per symbol and second 10 depth diffs, TRADES trades, half a kline update (× load)
  const offered = S * load * (10 + TRADES + 0.5)
  let sent = 0
  let inputRecords = 0
  const kinds = { kline: 0, trade: 0, book: 0 }
  let behindMs = 0
  const steps = SECONDS * 10
  for (let n = 0; n < steps; n++, step++) {
    const t = T0 + step * 100
    const dueAt = wall0 + n * 100
    const wait = dueAt - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    else behindMs = -wait
    for (let i = 0; i < S; i++)
      framesOf(i, step, t, load, (f) => {
        const r = normalize(f, known)
        if (r.kind === 'trade') {
          sink.fire({
            topic: inputs[1]!,
            key: r.record.symbol,
            value: JSON.stringify(r.record),
            timestamp: r.record.time,
          })
          inputRecords++
          kinds.trade++
        } else if (r.kind === 'kline') {
          sink.fire({
            topic: inputs[0]!,
            key: r.record.symbol,
            value: JSON.stringify(r.record),
            timestamp: r.record.openTime,
          })
          inputRecords++
          kinds.kline++
        } else if (r.kind === 'depth') books.get(r.symbol)!.onEvent(r.event)
        else errors++
        sent++
      })
    for (const [s, b] of books) {
      const book = b.take()
      if (book) {
        sink.fire({ topic: inputs[2]!, key: s, value: JSON.stringify(book), timestamp: book.time })
        inputRecords++
        kinds.book++
      }
    }
    if (behindMs > 2000) break // more than 2 s behind schedule: this load is not held
  }
  await sink.flush()
  const wall = (performance.now() - wall0) / 1000
  const lag = await lagRecords() // as of the last commit that reported it (every ≥ 5 s)
  // until the topology has processed and committed everything sent: its lag at the end, and
  // CPU that includes the catch-up (else a topology that falls behind looks cheap)
  const end = performance.now()
  await streams.flush(600_000)
  const catchUp = (performance.now() - end) / 1000
  const cpu = process.cpuUsage(cpu0)
  loop.disable()
  const inRate = inputRecords / wall
  const cores = (cpu.user + cpu.system) / 1e6 / (wall + catchUp)
  const held = sent / wall
  const perCpu = sent / ((cpu.user + cpu.system) / 1e6)
  const ok = behindMs <= 2000 && catchUp < 2 && held >= 0.95 * offered
  const rss = process.memoryUsage().rss / 2 ** 20
  out(
    `market ×${load}: ${S} symbols, ${Math.round(offered).toLocaleString('en-US')} msgs/s offered, ` +
      `${Math.round(held).toLocaleString('en-US')} held (${Math.round(inRate).toLocaleString('en-US')} records/s into the topology: ` +
      `${Object.entries(kinds)
        .map(([k, n]) => `${k} ${Math.round(n / wall).toLocaleString('en-US')}`)
        .join(', ')}), ` +
      `CPU ${cores.toFixed(2)} cores (${Math.round(perCpu).toLocaleString('en-US')} msgs per CPU-second: ×${load} needs ≈ ${(offered / perCpu).toFixed(2)} cores), topology lag at the last lag report ${lag.toLocaleString('en-US')} records, caught up ${catchUp.toFixed(1)} s after the last send (≥ one commit), ` +
      `behind schedule ${Math.round(behindMs)} ms, event-loop p99 ${Math.round(loop.percentile(99) / 1e6)} ms, ` +
      `RSS ${Math.round(rss)} MiB${ok ? '' : ' — FALLS BEHIND'}`,
  )
  figure(`market ×${load} (${S} symbols): messages held`, Math.round(held), 'msgs/s')
  figure(`market ×${load} (${S} symbols): CPU`, Math.round(cores * 100) / 100, 'cores')
  figure(
    `market ×${load} (${S} symbols): CPU needed (msgs ÷ msgs per CPU-second)`,
    Math.round((offered / perCpu) * 100) / 100,
    'cores',
  )
  figure(
    `market ×${load} (${S} symbols): topology caught up after the last send`,
    Math.round(catchUp * 10) / 10,
    's',
  )
  figure(`market ×${load} (${S} symbols): RSS`, Math.round(rss), 'MiB')
  return ok
}

try {
  let load = Number(args.load)
  while ((await runLoad(load)) && args.ramp) load *= 2
  if (errors > 0) out(`errors: ${errors}`)
} finally {
  await streams.close()
  await bench.done()
}
