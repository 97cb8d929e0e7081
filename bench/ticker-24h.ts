import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Kline } from '../common/records.ts'
import type { ProcessorContext, StreamRecord } from '../engine/index.ts'
import { dates, SYMBOLS_2024, spotDay } from '../processors/testdata.ts'
import { LevelKeyValueStore } from '../state/kv-store.ts'
import type { LevelStore } from '../state/level-store.ts'
import { Stores } from '../state/stores.ts'
import { LevelWindowStore } from '../state/window-store.ts'
import { BUCKETS_STORE, MINUTES_STORE, TICKER_STORE, TickerProcessor } from '../topologies/rankings.ts'
import { BUCKET_MS } from '../topologies/ticker-stores.ts'
import { figure, median, perSecond } from './setup.ts'

// The rolling 24 h ticker alone (topologies/rankings.ts TickerProcessor: the rankings path's cost
// per 1m kline), on real task stores: staged writes, a commit (processor flush, changelog records
// serialized, LevelDB batch written) every `--commit-every` klines (the platform bench commits
// about every 70k), its record cache flushed every 100 ms of wall clock as the platform runs it.
// The klines are decoded from JSON, as the source decodes them. Prints the medians of `--repeat`
// runs, each on fresh stores, and the CPU a kline without the commits (best and median run: the
// steadiest figure on a shared machine).
//   node bench/ticker-24h.ts [--days 10] [--symbols 17] [--repeat 5] [--commit-every 80000]

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '10' },
    symbols: { type: 'string', default: '17' },
    repeat: { type: 'string', default: '5' },
    'commit-every': { type: 'string', default: '80000' },
  },
})
const days = dates('2024-01-01', '2024-01-10').slice(0, Number(args.days))
const symbols = SYMBOLS_2024.slice(0, Number(args.symbols))
const commitEvery = Number(args['commit-every'])
const raw: Kline[] = []
for (const d of days) for (const s of symbols) raw.push(...(spotDay(s, '1m', d) as Kline[]))
raw.sort((a, b) => a.openTime - b.openTime || (a.symbol < b.symbol ? -1 : 1))
const N = raw.length

async function once(): Promise<{
  ms: number
  cpuMs: number
  out: number
  commitCpuMs: number
  staged: number
}> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-ticker-'))
  const retentionMs = 86_400_000 + 3_600_000
  const stores = new Map<string, LevelStore<unknown>>([
    [TICKER_STORE, new LevelKeyValueStore(Stores.keyValue(TICKER_STORE), join(dir, TICKER_STORE))],
    [
      BUCKETS_STORE,
      new LevelWindowStore(
        Stores.window(BUCKETS_STORE, { windowSizeMs: BUCKET_MS, retentionMs }),
        join(dir, BUCKETS_STORE),
      ),
    ],
    [
      MINUTES_STORE,
      new LevelWindowStore(
        Stores.window(MINUTES_STORE, { windowSizeMs: 60_000, retentionMs }),
        join(dir, MINUTES_STORE),
      ),
    ],
  ])
  for (const s of stores.values()) {
    await s.open()
    if (s instanceof LevelWindowStore) await s.loadIndex()
  }
  let out = 0
  let commitCpuMs = 0
  let staged = 0
  const ticks: { every: number; next: number; f: (t: number) => void }[] = []
  const ctx = {
    forward: () => void out++,
    getStateStore: (name: string) => stores.get(name),
    getWindowStore: (name: string) => stores.get(name),
    schedule: (every: number, _type: string, f: (t: number) => void) => {
      ticks.push({ every, next: performance.now() + every, f })
      return { cancel() {} }
    },
  } as unknown as ProcessorContext<string, never>
  const p = new TickerProcessor(100)
  p.init(ctx as never)
  const input = JSON.parse(JSON.stringify(raw)) as Kline[]
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    const k = input[i] as Kline
    p.process({ key: k.symbol, value: k, timestamp: k.openTime } as StreamRecord<string, Kline>)
    if ((i & 1023) === 0) {
      const now = performance.now()
      for (const t of ticks)
        if (now >= t.next) {
          t.next = now + t.every
          t.f(now)
        }
    }
    if ((i + 1) % commitEvery === 0 || i === N - 1) {
      const c1 = process.cpuUsage()
      p.flush()
      const flushes = [...stores.values()].map((s) => {
        staged += s.pendingWrites
        s.changelogRecords('changelog', 0, Date.now())
        return s.beginFlush()
      })
      await Promise.all(flushes.map((f) => f()))
      const c2 = process.cpuUsage(c1)
      commitCpuMs += (c2.user + c2.system) / 1000
    }
  }
  const c = process.cpuUsage(c0)
  const ms = performance.now() - t0
  for (const s of stores.values()) await s.close()
  rmSync(dir, { recursive: true, force: true })
  return { ms, cpuMs: (c.user + c.system) / 1000, out, commitCpuMs, staged }
}

const runs = []
for (let i = 0; i < Math.max(1, Number(args.repeat)); i++) runs.push(await once())
const ns = (ms: number) => Math.round((ms * 1e6) / N)
const { ms, cpuMs, out, staged } = median(runs, (r) => r.ms)
const procNs = runs.map((r) => ns(r.cpuMs - r.commitCpuMs)).sort((a, b) => a - b)
process.stdout.write(
  `ticker-24h processor (${symbols.length} symbols × ${days.length} days, commit every ${commitEvery}): ` +
    `${perSecond(N, ms)} 1m klines/s wall, ${perSecond(N, cpuMs)} per CPU-second (medians of ${runs.length} runs); ` +
    `CPU a kline without commits: best ${procNs[0]} ns, median ${procNs[procNs.length >> 1]} ns; ` +
    `commits (${staged} store writes) ${ns(median(runs, (r) => r.commitCpuMs).commitCpuMs)} ns a kline (${out} tickers out; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})\n`,
)
figure('ticker-24h processor', Math.round((N / ms) * 1000), '1m klines/s')
figure('ticker-24h processor, CPU ns a kline without commits (best run)', procNs[0]!, 'ns')
