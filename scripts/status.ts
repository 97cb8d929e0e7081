import { registry } from '../common/metrics.ts'

// The one-line status the `platform` command prints every few seconds, read from the metrics
// registry: symbols live, records/s into ingest and out of the engine, engine lag, replay clock.

/** Counter and gauge values the line is made of, as of one moment. */
export interface StatusSample {
  at: number
  /** Ingest messages received per symbol (all its streams). */
  inBySymbol: Map<string, number>
  /** Records the engine wrote to its output topics (received by its sink nodes). */
  out: number
  /** Records between the engine's committed position and the input ends. */
  lag: number
}

type Values = { labels: Record<string, string | number>; value: number }[]

const values = async (name: string): Promise<Values> => {
  const m = registry.getSingleMetric(name)
  return m ? ((await m.get()).values as Values) : []
}

/** Reads the sample; `sinkNodes` are the engine's sink node names (its writes to output topics). */
export async function sampleStatus(sinkNodes: ReadonlySet<string>, now = Date.now()): Promise<StatusSample> {
  const inBySymbol = new Map<string, number>()
  for (const v of await values('cs_ingest_messages_in_total')) {
    // stream label: btcusdt@kline_1m, btcusdt@trade, btcusdt@depth@100ms
    const symbol = String(v.labels.stream ?? '')
      .split('@')[0]!
      .toUpperCase()
    if (symbol) inBySymbol.set(symbol, (inBySymbol.get(symbol) ?? 0) + v.value)
  }
  let out = 0
  for (const v of await values('cs_engine_records_in_total'))
    if (sinkNodes.has(String(v.labels.node))) out += v.value
  let lag = 0
  for (const v of await values('cs_engine_consumer_lag')) lag += v.value
  return { at: now, inBySymbol, out, lag }
}

/** `live 15/15 symbols · in 1234/s · out 567/s · lag 12 · replay 2024-01-02 03:04` */
export function statusLine(prev: StatusSample, cur: StatusSample, symbols: number, clock?: number): string {
  const secs = Math.max(0.001, (cur.at - prev.at) / 1000)
  let live = 0
  let inDelta = 0
  for (const [s, n] of cur.inBySymbol) {
    const d = n - (prev.inBySymbol.get(s) ?? 0)
    if (d > 0) live++
    inDelta += d
  }
  const parts = [
    `live ${live}/${symbols} symbols`,
    `in ${Math.round(inDelta / secs)}/s`,
    `out ${Math.round((cur.out - prev.out) / secs)}/s`,
    `lag ${cur.lag}`,
  ]
  if (clock !== undefined)
    parts.push(`replay ${new Date(clock).toISOString().slice(0, 16).replace('T', ' ')}`)
  return parts.join(' · ')
}

/** Prints a status line every `everyMs` until stopped. */
export function startStatusLine(o: {
  everyMs: number
  symbols: number
  sinkNodes: ReadonlySet<string>
  clock?: () => number
  write: (line: string) => void
}): { stop(): void } {
  let prev: StatusSample | undefined
  let busy = false
  const tick = async () => {
    if (busy) return
    busy = true
    try {
      const cur = await sampleStatus(o.sinkNodes)
      if (prev) o.write(statusLine(prev, cur, o.symbols, o.clock?.()))
      prev = cur
    } finally {
      busy = false
    }
  }
  void tick()
  const timer = setInterval(() => void tick(), o.everyMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
