import { parseArgs } from 'node:util'
import { loadConfig } from '../common/config.ts'
import { ConfigError } from '../common/errors.ts'
import { type Kline, parseKline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { Transport } from '../engine/index.ts'
import { openTransport } from '../engine/open.ts'
import { type CandleInterval, candleIntervals } from '../processors/candles.ts'
import { IndicatorBook, initIndicators } from '../processors/indicators.ts'
import { rollupFinals } from '../processors/rollup.ts'
import { dates, spotDay } from '../processors/testdata.ts'
import { candleTopic } from '../topologies/candles.ts'

// Backfill / reprocess: rebuild the derived topics (crypto_kline_5m/1h/4h/1d finals and
// crypto_indicators) for one symbol and a UTC date range, from the raw topic crypto_kline_1m or
// from the recorded data.binance.vision CSV files. The same pure processors as the live
// topologies, so the output equals what they emit; consumers key candles by (symbol, interval,
// openTime), so re-emitting a final replaces it. Indicators restart their warm-up at `--from`.
//
//   node scripts/cli.ts backfill --symbol BTCUSDT --from 2024-01-01 --to 2024-01-10 [--source topic|csv] [--write-raw]

export interface BackfillOptions {
  symbol: string
  from: string
  to: string
  source: 'topic' | 'csv'
  /** With --source csv: also produce the 1m klines to crypto_kline_1m. */
  writeRaw: boolean
  topicPrefix: string
}

/** A progress bar on stderr (redrawn in place on a TTY, one line per 10 % otherwise). */
export function progress(label: string, total: number): (done: number) => void {
  let lastPct = -1
  return (done) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
    if (pct === lastPct) return
    lastPct = pct
    const width = 30
    const fill = Math.round((pct / 100) * width)
    const bar = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${total}`
    if (process.stderr.isTTY) process.stderr.write(`\r${bar}${pct === 100 ? '\n' : ''}`)
    else if (pct % 10 === 0) process.stderr.write(`${bar}\n`)
  }
}

async function fromTopic(t: Transport, o: BackfillOptions, start: number, end: number): Promise<Kline[]> {
  const topic = o.topicPrefix + topics.kline1m
  const n = (await t.partitions(topic)) ?? 0
  const out: Kline[] = []
  for (let p = 0; p < n; p++) {
    const bar = progress(`read ${topic}[${p}]`, 1)
    for await (const batch of t.read({ topic, partition: p }, 0))
      for (const r of batch) {
        if (r.key !== o.symbol || r.tombstone) continue
        const k = parseKline(JSON.parse(r.value))
        if (k.interval === '1m' && k.openTime >= start && k.openTime < end) out.push(k)
      }
    bar(1)
  }
  return out
}

export async function backfill(o: BackfillOptions, transport?: Transport): Promise<Record<string, number>> {
  const start = Date.parse(`${o.from}T00:00:00Z`)
  const end = Date.parse(`${o.to}T00:00:00Z`) + 86_400_000
  if (!(start < end)) throw new ConfigError('INVALID', `backfill: bad range ${o.from}..${o.to}`)
  const t = transport ?? (await openTransport(loadConfig()))
  const counts: Record<string, number> = {}
  try {
    let klines: Kline[]
    if (o.source === 'csv') {
      const days = dates(o.from, o.to)
      const bar = progress(`read csv ${o.symbol}`, days.length)
      klines = []
      days.forEach((d, i) => {
        klines.push(
          ...(spotDay(o.symbol, '1m', d) as Kline[]).map((k) => ({ ...k, interval: '1m' as const })),
        )
        bar(i + 1)
      })
    } else klines = await fromTopic(t, o, start, end)
    const producer = t.producer()
    const send = async (topic: string, records: { key: string; value: unknown; timestamp: number }[]) => {
      const bar = progress(`write ${topic}`, records.length)
      for (let i = 0; i < records.length; i += 5000) {
        await producer.send(
          records
            .slice(i, i + 5000)
            .map((r) => ({ topic, key: r.key, value: JSON.stringify(r.value), timestamp: r.timestamp })),
        )
        bar(Math.min(records.length, i + 5000))
      }
      if (records.length === 0) bar(0)
      counts[topic] = records.length
    }
    if (o.source === 'csv' && o.writeRaw)
      await send(
        o.topicPrefix + topics.kline1m,
        klines.map((k) => ({ key: k.symbol, value: k, timestamp: k.openTime })),
      )
    const book = new IndicatorBook()
    const indicators: { key: string; value: unknown; timestamp: number }[] = []
    // complete windows, and those whose last minute never came (an outage): closed by grace;
    // every interval from one pass over the minutes
    const finalsBy = rollupFinals(klines, candleIntervals)
    for (const iv of candleIntervals as CandleInterval[]) {
      const closed = finalsBy[iv] ?? []
      await send(
        o.topicPrefix + candleTopic[iv],
        closed.map((c) => ({ key: c.symbol, value: c, timestamp: c.openTime })),
      )
      const st = initIndicators(o.symbol, iv)
      for (const c of closed)
        indicators.push({
          key: c.symbol,
          value: book.update(st, c.openTime, Number(c.close)),
          timestamp: c.openTime,
        })
    }
    await send(o.topicPrefix + topics.indicators, indicators)
    await producer.close()
  } finally {
    if (!transport) await t.close()
  }
  return counts
}

export function parseBackfillArgs(argv: string[]): BackfillOptions {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      symbol: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      source: { type: 'string', default: 'topic' },
      'write-raw': { type: 'boolean', default: false },
      'topic-prefix': { type: 'string', default: '' },
    },
  })
  if (!a.symbol || !a.from || !a.to)
    throw new ConfigError(
      'INVALID',
      'usage: backfill --symbol SYM --from YYYY-MM-DD --to YYYY-MM-DD [--source topic|csv] [--write-raw]',
    )
  if (a.source !== 'topic' && a.source !== 'csv')
    throw new ConfigError('INVALID', '--source must be topic or csv')
  return {
    symbol: a.symbol.toUpperCase(),
    from: a.from,
    to: a.to,
    source: a.source,
    writeRaw: a['write-raw'] ?? false,
    topicPrefix: a['topic-prefix'] ?? '',
  }
}
