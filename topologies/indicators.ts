import { type Kline, parseKline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { KStream, Processor, ProcessorContext, StreamRecord, StreamsBuilder } from '../engine/index.ts'
import { Stores } from '../engine/index.ts'
import {
  IndicatorBook,
  type IndicatorState,
  type Indicators,
  initIndicators,
} from '../processors/indicators.ts'
import { type CandleInterval, candleTopic } from './candles.ts'

// Closed candles (5m/1h/4h/1d) → RSI(14), MACD(12,26,9), SMA/EMA(20,50) → crypto_indicators,
// keyed by symbol. Store `indicators` (key `<symbol>|<interval>`) holds the last closes; the
// technicalindicators producers are rebuilt from it after a restart.

export const INDICATOR_STORE = 'indicators'

class IndicatorProcessor implements Processor<string, Kline, string, Indicators> {
  private ctx!: ProcessorContext<string, Indicators>
  private store!: ReturnType<ProcessorContext['getStateStore']>
  private readonly book = new IndicatorBook()

  init(ctx: ProcessorContext<string, Indicators>): void {
    this.ctx = ctx
    this.store = ctx.getStateStore<IndicatorState>(INDICATOR_STORE)
  }

  process(r: StreamRecord<string, Kline>): void {
    const c = r.value
    if (!c.closed) return
    const id = `${c.symbol}|${c.interval}`
    const s = (this.store.get(id) as IndicatorState | undefined) ?? initIndicators(c.symbol, c.interval)
    const out = this.book.update(s, c.openTime, Number(c.close))
    this.store.put(id, s)
    this.ctx.forward({ key: c.symbol, value: out, timestamp: r.timestamp })
  }
}

/** Indicators over `candles` (default: the four candle topics). */
export function addIndicators(
  builder: StreamsBuilder,
  candles?: KStream<string, Kline>[],
  topicPrefix = '',
): KStream<string, Indicators> {
  builder.addStateStore(Stores.keyValue<IndicatorState>(INDICATOR_STORE))
  const inputs = candles ?? [
    builder.stream<Kline>(
      (['5m', '1h', '4h', '1d'] as CandleInterval[]).map((iv) => topicPrefix + candleTopic[iv]),
      { parse: parseKline, timestamp: (k) => k.openTime, name: 'candles-source' },
    ),
  ]
  const [first, ...rest] = inputs as [KStream<string, Kline>, ...KStream<string, Kline>[]]
  const merged = rest.reduce((a, b) => a.merge(b), first)
  const out = merged.process<string, Indicators>(() => new IndicatorProcessor(), {
    stores: [INDICATOR_STORE],
    name: 'indicators',
  })
  out.to(topicPrefix + topics.indicators, { name: 'indicators-sink' })
  return out
}
