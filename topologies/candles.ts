import { type Interval, intervalMs, type Kline, parseKline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import { Emitted, type KStream, type StreamsBuilder, TimeWindows, type Windowed } from '../engine/index.ts'
import {
  type CandleInterval,
  type CandleState,
  candleOf,
  initCandle,
  mergeMinute,
} from '../processors/candles.ts'

// crypto_kline_1m → crypto_kline_5m / 1h / 4h / 1d, every change emitted (closed=false while the
// window is open, then the final with closed=true once its last input arrived closed).
// 5m and 1h aggregate 1m klines; 4h and 1d aggregate the 1h candles (same rule, exact, and a
// 1d window holds 24 entries instead of 1440). Stores `candles-<interval>` are window stores
// keyed by symbol: value `.candle` is the Kline, the rest is the merge state.

export interface StoredCandle extends CandleState {
  candle: Kline
  /** false when the last input was a duplicate: nothing is emitted then. */
  changed: boolean
}

export const candleStore = (interval: CandleInterval): string => `candles-${interval}`
export const candleTopic: Record<CandleInterval, string> = {
  '5m': topics.kline5m,
  '1h': topics.kline1h,
  '4h': topics.kline4h,
  '1d': topics.kline1d,
}

export interface CandlesOptions {
  /** Prefix for every topic name (benches and tests on a shared broker); default none. */
  topicPrefix?: string
  /** Late inputs after window end + grace are dropped (counted); default 1 h. */
  graceMs?: number
  /** How long closed windows stay queryable per interval. */
  retentionMs?: Partial<Record<CandleInterval, number>>
}

const DEFAULT_RETENTION: Record<CandleInterval, number> = {
  '5m': 2 * 86_400_000,
  '1h': 30 * 86_400_000,
  '4h': 90 * 86_400_000,
  '1d': 400 * 86_400_000,
}

function windowed(
  input: KStream<string, Kline>,
  interval: CandleInterval,
  stepMs: number,
  options: CandlesOptions,
): KStream<string, Kline> {
  const size = intervalMs[interval]
  const store = candleStore(interval)
  return (
    input
      // inputs are keyed by symbol already (1m source, or 1h candles whose Windowed key was mapped
      // back to the symbol in the same task): no repartition topic
      .groupByKey({ name: store, repartition: false })
      .windowedBy(TimeWindows.ofSizeAndGrace(size, options.graceMs ?? 3_600_000))
      .emitStrategy(Emitted.onUpdate())
      .aggregate<StoredCandle | null>(
        () => null,
        (symbol, k, agg) => {
          const s =
            agg ??
            ({
              ...initCandle(symbol, interval, size, k.openTime - (k.openTime % size), stepMs),
            } as StoredCandle)
          s.changed = mergeMinute(s, k)
          if (s.changed) s.candle = candleOf(s) as Kline
          return s
        },
        { name: store, retentionMs: options.retentionMs?.[interval] ?? DEFAULT_RETENTION[interval] },
      )
      .toStream()
      .filter((_k: Windowed<string>, v) => v?.changed === true)
      .map((k: Windowed<string>, v) => [k.key, (v as StoredCandle).candle], `candles-${interval}-out`)
  )
}

/** Adds the candle chain to `builder`; returns the four output streams (keyed by symbol). */
export function addCandles(
  builder: StreamsBuilder,
  options: CandlesOptions = {},
  source: KStream<string, Kline> = klines1m(builder, options.topicPrefix),
): Record<CandleInterval, KStream<string, Kline>> {
  const oneMinute = source.filter((_s, k) => k.interval === '1m', 'candles-1m-only')
  const out = {
    '5m': windowed(oneMinute, '5m', 60_000, options),
    '1h': windowed(oneMinute, '1h', 60_000, options),
  } as Record<CandleInterval, KStream<string, Kline>>
  out['4h'] = windowed(out['1h'], '4h', 3_600_000, options)
  out['1d'] = windowed(out['1h'], '1d', 3_600_000, options)
  for (const iv of Object.keys(out) as CandleInterval[])
    out[iv].to(candleTopic[iv], { name: `candles-${iv}-sink` })
  return out
}

/** The 1m kline source (keyed by symbol, event time = openTime). */
export function klines1m(builder: StreamsBuilder, topicPrefix = ''): KStream<string, Kline> {
  return builder.stream<Kline>(topicPrefix + topics.kline1m, {
    parse: parseKline,
    timestamp: (k) => k.openTime,
    name: 'klines-1m-source',
  })
}

export const candleIntervalsOf = (x: string): x is CandleInterval =>
  x === '5m' || x === '1h' || x === '4h' || x === '1d'
export type { CandleInterval, Interval }
