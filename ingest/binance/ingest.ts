import type { Config } from '../../common/config.ts'
import { createLogger } from '../../common/log.ts'
import type { Kline } from '../../common/records.ts'
import { deadLetterTopic, topics } from '../../common/topics.ts'
import type { ProducedRecord, Transport } from '../../engine/transport.ts'
import { BookSync } from './book/sync.ts'
import { StreamConnection } from './connection.ts'
import { IngestError } from './errors.ts'
import { KlineGate } from './klines.ts'
import { backfilledKlines, bookResyncs, deadLetters, messagesIn } from './metrics.ts'
import { normalize } from './normalize.ts'
import { recoverLastClosed } from './recover.ts'
import { BinanceRest } from './rest.ts'
import { BatchSink } from './sink.ts'

// Binance spot → crypto_kline_1m / crypto_trades / crypto_orderbook (keyed by symbol, record
// timestamp = event time), malformed input → crypto_ingest.dlq. See ingest/README.md.

const log = createLogger('ingest')
export const DLQ_TOPIC = deadLetterTopic('crypto_ingest')

/** Creates the raw topics ingest writes (and its dead-letter topic) where they are missing. */
export async function createIngestTopics(transport: Transport, partitions: number): Promise<void> {
  const missing: string[] = []
  for (const name of [topics.kline1m, topics.trades, topics.orderbook, DLQ_TOPIC])
    if ((await transport.partitions(name)) === undefined) missing.push(name)
  if (missing.length > 0) await transport.createTopics(missing.map((name) => ({ name, partitions })))
}

export interface IngestOptions {
  /** Staleness watchdog: a stream silent this long forces a reconnect (default 60 s). */
  staleMs?: number
  /** Rotate each connection after this long, before Binance's 24 h cut-off (default 23 h). */
  rotateMs?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Streams per connection (Binance allows 1024). */
  maxStreamsPerConnection?: number
  /** Order-book publish period (default 100 ms) and levels (default 20). */
  bookPublishMs?: number
  bookDepth?: number
  /** REST snapshot depth (default 1000; Binance allows up to 5000 at a higher weight). */
  snapshotLimit?: number
  /**
   * Closed klines fetched at first start, when the topic has none (default 60), from the start of
   * their UTC day (`initialAlignMs`, default 1 day): the first candles are whole, not their tail.
   */
  initialMinutes?: number
  initialAlignMs?: number
  /** Partitions for topics ingest creates (default 1). */
  partitions?: number
}

export interface IngestHandle {
  /** Resolves once symbols are validated, the tail recovered and the start-up backfill done. */
  ready: Promise<void>
  close(): Promise<void>
}

export const streamsFor = (symbol: string): string[] => {
  const s = symbol.toLowerCase()
  // @trade, not @aggTrade: one record per real trade with Binance's trade id, so trade counts
  // and volumes reconcile with the kline's `n` and `v`; aggTrade merges fills of one taker order.
  return [`${s}@kline_1m`, `${s}@trade`, `${s}@depth@100ms`]
}

export async function startIngest(args: {
  transport: Transport
  config: Pick<Config, 'symbols' | 'binanceWsUrl' | 'binanceRestUrl'>
  options?: IngestOptions
}): Promise<IngestHandle> {
  const { transport, config } = args
  const o = args.options ?? {}
  const symbols = config.symbols.map((s) => s.toUpperCase())
  const rest = new BinanceRest(config.binanceRestUrl)

  const listed = await rest.symbols()
  const unknown = symbols.filter((s) => !listed.has(s))
  if (unknown.length > 0)
    throw new IngestError(
      'UNKNOWN_SYMBOL',
      `unknown Binance symbols: ${unknown.join(', ')} (not in /api/v3/exchangeInfo)`,
    )

  const partitions = o.partitions ?? 1
  await createIngestTopics(transport, partitions)

  const producer = transport.producer()
  const sendError = (e: unknown) => log.error('produce failed', { error: e })
  // the embedded producer appends in call order: a live record need not wait for the last fsync
  const sink = new BatchSink(producer, sendError, { pipelined: transport.kind === 'embedded' })
  const klineRecord = (k: Kline): ProducedRecord => ({
    topic: topics.kline1m,
    key: k.symbol,
    value: JSON.stringify(k),
    timestamp: k.openTime,
  })

  const recovered = await recoverLastClosed(transport, topics.kline1m, new Set(symbols))
  const gate = new KlineGate(
    {
      rest,
      initialMinutes: o.initialMinutes,
      initialAlignMs: o.initialAlignMs,
      emit: (ks, backfilled) => {
        if (backfilled) backfilledKlines.inc(ks.length)
        return sink.push(ks.map(klineRecord))
      },
    },
    recovered,
  )

  const books = new Map(symbols.map((s) => [s, new BookSync({ symbol: s, depth: o.bookDepth ?? 20 })]))
  const lastTradeId = new Map<string, number>()
  let closed = false

  const fetchSnapshot = (sync: BookSync) => {
    sync.snapshotRequested()
    rest.depth(sync.symbol, o.snapshotLimit ?? 1000).then(
      (snap) => {
        if (!closed) sync.onSnapshot(snap)
      },
      (e) => {
        log.warn('depth snapshot failed', { symbol: sync.symbol, error: e })
        setTimeout(() => {
          if (!closed) sync.needSnapshot = true
        }, 1000).unref()
      },
    )
  }
  const resyncCounts = new Map<BookSync, Record<string, number>>()
  const countResyncs = (sync: BookSync) => {
    const before = resyncCounts.get(sync) ?? {}
    for (const [reason, n] of Object.entries(sync.resyncs)) {
      if (n !== before[reason]) bookResyncs.inc({ reason }, n - (before[reason] ?? 0))
    }
    resyncCounts.set(sync, { ...sync.resyncs } as Record<string, number>)
  }

  const deadLetter = (raw: string, stream: string, reason: string, error: string) => {
    deadLetters.inc({ reason })
    sink.fire({
      topic: DLQ_TOPIC,
      key: stream || 'unknown',
      value: JSON.stringify({
        raw: raw.length > 65_536 ? `${raw.slice(0, 65_536)}…` : raw,
        error,
        reason,
      }),
    })
  }

  const known = new Set(symbols.flatMap(streamsFor))
  const allStreams = [...known]
  const perConn = Math.min(o.maxStreamsPerConnection ?? 1024, 1024)
  const conns: StreamConnection[] = []
  const base = config.binanceWsUrl.replace(/\/$/, '')

  const inCounters = new Map<string, { inc(): void }>()
  const onMessage = (conn: StreamConnection) => (raw: string) => {
    if (closed) return // frames still in flight while the socket closes
    const n = normalize(raw, known)
    if (n.kind === 'error') {
      deadLetter(raw, n.stream, n.reason, n.error)
      return
    }
    conn.touch(n.stream)
    let counter = inCounters.get(n.stream)
    if (!counter) {
      counter = messagesIn.labels(n.stream)
      inCounters.set(n.stream, counter)
    }
    counter.inc()
    if (n.kind === 'kline') {
      const k = n.record
      if (k.closed) gate.closed(k).catch(sendError)
      else if (gate.acceptsOpen(k)) sink.fire(klineRecord(k))
    } else if (n.kind === 'trade') {
      const t = n.record
      if (t.id <= (lastTradeId.get(t.symbol) ?? -1)) return // overlap of a rotated connection
      lastTradeId.set(t.symbol, t.id)
      sink.fire({ topic: topics.trades, key: t.symbol, value: JSON.stringify(t), timestamp: t.time })
    } else {
      const sync = books.get(n.symbol)
      if (!sync) return deadLetter(raw, n.stream, 'invalid', `depth for unconfigured symbol ${n.symbol}`)
      sync.onEvent(n.event)
      if (sync.needSnapshot) fetchSnapshot(sync)
    }
  }

  const onGap = () => {
    // Diffs and klines were lost while disconnected: rebuild books, backfill klines.
    for (const sync of books.values()) sync.reset()
    for (const s of symbols) gate.backfill(s).catch(sendError)
  }

  for (let i = 0; i < allStreams.length; i += perConn) {
    const streams = allStreams.slice(i, i + perConn)
    const conn: StreamConnection = new StreamConnection({
      url: `${base}/stream?streams=${streams.join('/')}`,
      streams,
      onMessage: (raw) => handler(raw),
      onGap,
      staleMs: o.staleMs ?? 60_000,
      rotateMs: o.rotateMs ?? 23 * 3600_000,
      backoffBaseMs: o.backoffBaseMs ?? 500,
      backoffMaxMs: o.backoffMaxMs ?? 30_000,
    })
    const handler = onMessage(conn)
    conns.push(conn)
  }

  const publisher = setInterval(() => {
    for (const sync of books.values()) {
      countResyncs(sync)
      const b = sync.take()
      if (b)
        sink.fire({ topic: topics.orderbook, key: b.symbol, value: JSON.stringify(b), timestamp: b.time })
    }
  }, o.bookPublishMs ?? 100)

  for (const c of conns) c.start()
  const ready = Promise.all(symbols.map((s) => gate.backfill(s))).then(() => {
    log.info('ingest ready', { symbols: symbols.length, connections: conns.length })
  })
  ready.catch((e) => log.error('start-up backfill failed', { error: e }))

  return {
    ready,
    async close() {
      closed = true
      clearInterval(publisher)
      for (const c of conns) c.close()
      await ready.catch(() => {})
      await gate.idle()
      await sink.flush()
      await producer.close()
    },
  }
}
