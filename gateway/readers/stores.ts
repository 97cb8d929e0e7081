import { StreamsError } from '../../common/errors.ts'
import { type Book, intervalMs, type Kline, type Trade } from '../../common/records.ts'
import type { KafkaStreams, ReadOnlyWindowStore } from '../../engine/index.ts'
import type { IndicatorState } from '../../processors/indicators.ts'
import { rank, type Ticker24h } from '../../processors/ranking.ts'
import type { StoredCandle } from '../../topologies/candles.ts'
import {
  candleStore,
  INDICATOR_STORE,
  KLINES_1M_STORE,
  ORDERBOOK_STORE,
  ohlcStore,
  PREDICTIONS_STORE,
  RANKING_KEY,
  RANKING_STORE,
  TRADES_STORE,
} from '../../topologies/index.ts'
import { type CandleQuery, type MarketReader, type Prediction, selectCandles } from '../reader.ts'
import { indicatorSeries } from './indicators.ts'

// MarketReader over the engine's state stores (interactive queries): what the one-command run
// serves with no database at all. Stores of topologies that are not running (serving, predictions)
// read as empty rather than failing.

async function optional<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read()
  } catch (e) {
    if (e instanceof StreamsError && e.code === 'ENGINE_UNKNOWN_STORE') return fallback
    throw e
  }
}

export class StoreReader implements MarketReader {
  readonly kind = 'stores'
  private readonly streams: KafkaStreams
  private lean = true

  constructor(streams: KafkaStreams) {
    this.streams = streams
  }

  async candles(q: CandleQuery): Promise<Kline[]> {
    if (q.interval === '1m')
      return optional(() => this.windowed(this.streams.windowStore<Kline>(KLINES_1M_STORE), q, (v) => v), [])
    // the serving topology's lean candles; without it, the candle stores (which carry their inputs)
    if (this.lean) {
      try {
        return await this.windowed(this.streams.windowStore<Kline>(ohlcStore(q.interval)), q, (v) => v)
      } catch (e) {
        if (!(e instanceof StreamsError && e.code === 'ENGINE_WRONG_STORE_KIND')) throw e
        this.lean = false
      }
    }
    const store = this.streams.windowStore<StoredCandle>(candleStore(q.interval))
    return this.windowed(store, q, (v) => v.candle)
  }

  /**
   * Reads only the windows the answer can hold (a 1h candle's stored state carries its 60
   * minutes), widening to the whole key when gaps leave fewer than `limit`.
   */
  private async windowed<V>(store: ReadOnlyWindowStore<V>, q: CandleQuery, candle: (v: V) => Kline) {
    const size = intervalMs[q.interval]
    const span = (q.limit - 1) * size
    const end = q.endTime ?? Number.MAX_SAFE_INTEGER
    let from: number
    let to: number
    if (q.startTime !== undefined) {
      from = q.startTime
      to = Math.min(end, Math.ceil(q.startTime / size) * size + span)
    } else {
      const latest = await store.get(q.symbol)
      if (!latest) return []
      to = Math.min(end, latest.window.start)
      from = Math.max(0, to - (to % size) - span)
    }
    let rows = await store.range(q.symbol, from, to)
    if (rows.length < q.limit) rows = await store.range(q.symbol, q.startTime ?? 0, end)
    return selectCandles(
      rows.map((r) => candle(r.value)),
      q,
    )
  }

  async latest(symbol: string): Promise<Kline | undefined> {
    return optional(
      async () => (await this.streams.windowStore<Kline>(KLINES_1M_STORE).get(symbol))?.value,
      undefined,
    )
  }

  async orderbook(symbol: string): Promise<Book | undefined> {
    return optional(() => this.streams.keyValueStore<Book>(ORDERBOOK_STORE).get(symbol), undefined)
  }

  async trades(symbol: string, limit: number): Promise<Trade[]> {
    const list = await optional(
      () => this.streams.keyValueStore<Trade[]>(TRADES_STORE).get(symbol),
      undefined,
    )
    return (list ?? []).slice(-limit).reverse()
  }

  async ranking() {
    const all = await this.streams.keyValueStore<Record<string, Ticker24h>>(RANKING_STORE).get(RANKING_KEY)
    return all ? rank(Object.values(all)) : undefined
  }

  async prediction(symbol: string): Promise<Prediction | undefined> {
    return optional(() => this.streams.keyValueStore<Prediction>(PREDICTIONS_STORE).get(symbol), undefined)
  }

  async indicators(symbol: string, interval: '5m' | '1h' | '4h' | '1d', limit: number) {
    const s = await this.streams.keyValueStore<IndicatorState>(INDICATOR_STORE).get(`${symbol}|${interval}`)
    return indicatorSeries(symbol, interval, s?.closes ?? [], limit)
  }

  async health() {
    const state = this.streams.state
    return { engine: { ok: state === 'running', detail: state } }
  }

  async close(): Promise<void> {}
}
