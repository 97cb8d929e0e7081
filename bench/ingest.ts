import { parseArgs } from 'node:util'
import { BookSync } from '../ingest/binance/book/sync.ts'
import { normalize } from '../ingest/binance/normalize.ts'
import { BatchSink } from '../ingest/binance/sink.ts'
import { figure, openBench } from './setup.ts'

const { values: args } = parseArgs({
  options: {
    transport: { type: 'string', default: 'embedded' },
    messages: { type: 'string', default: '300000' },
  },
})
const N = Number(args.messages)
const { run, config, transport, out, done } = await openBench(args.transport, 'cs-bench-ingest-')
const kind = config.transport

const symbols = config.symbols
const topic = { kline: `${run}_kline_1m`, trades: `${run}_trades`, book: `${run}_orderbook` }
await transport.createTopics(Object.values(topic).map((name) => ({ name, partitions: 3 })))

// Frames, generated up front (the WebSocket is not part of the figure).
const frames: string[] = []
const seq = new Map<string, number>()
for (let i = 0; i < N; i++) {
  const s = symbols[i % symbols.length]!
  const l = s.toLowerCase()
  const r = (i * 7919) % 100
  const price = (42_000 + (i % 500) / 100).toFixed(8)
  if (r < 50) {
    frames.push(
      JSON.stringify({
        stream: `${l}@trade`,
        data: {
          e: 'trade',
          E: 1_704_067_200_000 + i,
          s,
          t: i,
          p: price,
          q: '0.00150000',
          T: 1_704_067_200_000 + i,
          m: r % 2 === 0,
          M: true,
        },
      }),
    )
  } else if (r < 80) {
    const U = (seq.get(s) ?? 1000) + 1
    seq.set(s, U + 2)
    const lv = (k: number) => [
      (41_990 + ((i + k) % 20)).toFixed(8),
      k === 0 ? '0.00000000' : `${(i % 9) + 1}.25000000`,
    ]
    frames.push(
      JSON.stringify({
        stream: `${l}@depth@100ms`,
        data: {
          e: 'depthUpdate',
          E: 1_704_067_200_000 + i,
          s,
          U,
          u: U + 2,
          b: [lv(0), lv(1), lv(2)],
          a: [[(42_010 + (i % 20)).toFixed(8), '1.50000000']],
        },
      }),
    )
  } else {
    const t = 1_704_067_200_000 + Math.floor(i / 1000) * 60_000
    frames.push(
      JSON.stringify({
        stream: `${l}@kline_1m`,
        data: {
          e: 'kline',
          E: t + 1,
          s,
          k: {
            t,
            T: t + 59_999,
            s,
            i: '1m',
            f: 1,
            L: 2,
            o: price,
            c: price,
            h: price,
            l: price,
            v: '12.50000000',
            n: 100,
            x: false,
            q: '525000.00000000',
            V: '6.00000000',
            Q: '252000.00000000',
            B: '0',
          },
        },
      }),
    )
  }
}
const known = new Set(
  symbols.flatMap((s) => [
    `${s.toLowerCase()}@trade`,
    `${s.toLowerCase()}@depth@100ms`,
    `${s.toLowerCase()}@kline_1m`,
  ]),
)
const books = new Map(symbols.map((s) => [s, new BookSync({ symbol: s })]))
for (const [s, b] of books) {
  b.onSnapshot({
    lastUpdateId: 1000,
    bids: [['41990.00000000', '1.00000000']],
    asks: [['42010.00000000', '1.00000000']],
  })
  b.snapshotRequested()
  void s
}

const producer = transport.producer()
let errors = 0
const sink = new BatchSink(producer, () => errors++, { maxBatch: 5000 })
const cpu0 = process.cpuUsage()
const t0 = performance.now()
let produced = 0
let lastBookPublish = 0
const CHUNK = 5000
for (let i = 0; i < frames.length; i += CHUNK) {
  for (let j = i; j < Math.min(i + CHUNK, frames.length); j++) {
    const n = normalize(frames[j]!, known)
    if (n.kind === 'trade')
      sink.fire({
        topic: topic.trades,
        key: n.record.symbol,
        value: JSON.stringify(n.record),
        timestamp: n.record.time,
      })
    else if (n.kind === 'kline')
      sink.fire({
        topic: topic.kline,
        key: n.record.symbol,
        value: JSON.stringify(n.record),
        timestamp: n.record.openTime,
      })
    else if (n.kind === 'depth') books.get(n.symbol)!.onEvent(n.event)
    else errors++
    produced += n.kind === 'depth' ? 0 : 1
  }
  // books are published on a 100 ms timer in ingest; here once per 100 ms of bench time
  const now = performance.now()
  if (now - lastBookPublish >= 100) {
    lastBookPublish = now
    for (const b of books.values()) {
      const book = b.take()
      if (book) {
        sink.fire({ topic: topic.book, key: book.symbol, value: JSON.stringify(book), timestamp: book.time })
        produced++
      }
    }
  }
  // let the producer run (backpressure: at most one chunk waiting)
  await sink.flush()
}
await sink.flush()
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
const cpuS = (cpu.user + cpu.system) / 1e6
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US')
out(
  `ingest ${kind}: ${N.toLocaleString('en-US')} frames → ${produced.toLocaleString('en-US')} records in ${ms.toFixed(0)} ms`,
)
out(
  `ingest ${kind}: ${rate(N, ms / 1000)} msgs/s wall, ${rate(N, cpuS)} msgs per CPU-second (parse + validate + normalize + book + produce)`,
)
const resyncs = [...books.values()].reduce(
  (a, b) => a + Object.values(b.resyncs).reduce((x, y) => x + y, 0),
  0,
)
figure(`ingest ${kind}: frames parsed, normalized, produced`, Math.round(N / (ms / 1000)), 'msgs/s')
if (errors > 0 || resyncs > 0) out(`ingest ${kind}: ${errors} errors, ${resyncs} book resyncs (expected 0)`)

// normalize alone, for reference
const t1 = performance.now()
for (const f of frames) normalize(f, known)
out(`normalize only: ${rate(N, (performance.now() - t1) / 1000)} msgs/s`)

await producer.close()
await done()
