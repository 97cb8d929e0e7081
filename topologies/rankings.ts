import type { Kline } from '../common/records.ts'
import { topics } from '../common/topics.ts'
import type { KStream, Processor, ProcessorContext, StreamRecord, StreamsBuilder } from '../engine/index.ts'
import { Stores } from '../engine/index.ts'
import { RecordCache } from '../engine/record-cache.ts'
import {
  DAY_MS,
  type DecimalTickerState,
  type LegacyTickerState,
  MINUTE_MS,
  mergeTick,
  type Ranking,
  rank,
  type Ticker24h,
  type TickerState,
  type TickMinute,
  tickerOf,
} from '../processors/ranking.ts'
import type { LevelWindowStore } from '../state/window-store.ts'
import { BUCKET_MS, type Bucket, TaskTickerStores } from './ticker-stores.ts'

// crypto_kline_1m → rolling 24 h ticker per symbol (store `ticker-24h`: summary keyed by symbol;
// `ticker-24h-buckets`: the window's minutes, one entry per symbol and 15 minutes) →
// one partition-wide key `all` → latest ticker of every symbol (store `ranking-24h`, key `all`)
// → crypto_ranking: the full gainers/losers ranking, recomputed on every 1m kline that changes
// something.

export const TICKER_STORE = 'ticker-24h'
/**
 * The window's minutes in buckets of BUCKET_MS per symbol (slot = minute within the bucket; a
 * removed minute is null, an empty bucket is deleted). One entry per minute, as before, cost a
 * changelog record, a LevelDB write and a delete a day later for every 1m kline (two thirds of
 * the platform topology's changelog records); a bucket is rewritten once per commit instead.
 */
export const BUCKETS_STORE = 'ticker-24h-buckets'
/** Earlier layout, one entry per minute: still read (and emptied as the window passes), never written. */
export const MINUTES_STORE = 'ticker-24h-minutes'
export const RANKING_STORE = 'ranking-24h'
export const RANKING_KEY = 'all'

export class TickerProcessor implements Processor<string, Kline, string, Ticker24h> {
  private ctx!: ProcessorContext<string, Ticker24h>
  private stores!: TaskTickerStores
  private readonly emitEveryMs: number | undefined
  /**
   * With a thinned ranking: the latest state per symbol waits here (fewer repartition records);
   * its ticker is computed when it goes out.
   */
  private cache: RecordCache<string, Ticker24h, TickerState> | undefined

  constructor(emitEveryMs?: number) {
    this.emitEveryMs = emitEveryMs
  }

  init(ctx: ProcessorContext<string, Ticker24h>): void {
    this.ctx = ctx
    if (this.emitEveryMs)
      this.cache = new RecordCache(ctx, { maxEmitIntervalMs: this.emitEveryMs, toOutput: tickerOf })
    this.stores = new TaskTickerStores(
      ctx.getStateStore<TickerState | DecimalTickerState | LegacyTickerState>(TICKER_STORE),
      ctx.getWindowStore<Bucket>(BUCKETS_STORE),
      // minutes of the earlier layout (restored from its changelog) are read until the window passes them
      ctx.getWindowStore<TickMinute>(MINUTES_STORE) as LevelWindowStore<TickMinute>,
    )
  }

  process(r: StreamRecord<string, Kline>): void {
    const k = r.value
    if (k.interval !== '1m') return
    if (!mergeTick(this.stores, k)) return
    // mergeTick changes the symbol's state in place: the cache holds the latest, as it should.
    const state = this.stores.getState(k.symbol) as TickerState
    if (this.cache) this.cache.put(k.symbol, { key: RANKING_KEY, value: state, timestamp: r.timestamp })
    else this.ctx.forward({ key: RANKING_KEY, value: tickerOf(state), timestamp: r.timestamp })
  }

  flush(): void {
    this.cache?.flush()
  }
}

export interface RankingsOptions {
  topicPrefix?: string
  /** Entries per list (default 10; `Infinity` for every symbol). */
  top?: number
  /**
   * Emit the latest ranking at most this often (wall clock); default: on every change. The
   * `ranking-24h` store is always current; only the topic is thinned.
   */
  rankingEveryMs?: number
}

/**
 * Keeps the latest record per key and forwards it on a wall-clock tick. A full ranking on every
 * 1m update (15 symbols × one every 2 s, or far more in a fast replay) is more than any
 * subscriber can use; the last state is never held back longer than one tick, nor past a commit
 * (so a clean close or a revocation never loses it; a crash replays the uncommitted input).
 */
class LatestEvery<V> implements Processor<string, V, string, V> {
  private readonly everyMs: number
  private readonly pending = new Map<string, StreamRecord<string, V>>()

  constructor(everyMs: number) {
    this.everyMs = everyMs
  }

  private ctx!: ProcessorContext<string, V>

  init(ctx: ProcessorContext<string, V>): void {
    this.ctx = ctx
    ctx.schedule(this.everyMs, 'wall-clock', () => this.flush())
  }

  /** Also called by the task before every commit: what is committed has been forwarded. */
  flush(): void {
    for (const r of this.pending.values()) this.ctx.forward(r)
    this.pending.clear()
  }

  process(r: StreamRecord<string, V>): void {
    this.pending.set(r.key, r)
  }
}

export function addRankings(
  builder: StreamsBuilder,
  source: KStream<string, Kline>,
  options: RankingsOptions = {},
): KStream<string, Ranking> {
  builder.addStateStore(Stores.keyValue<TickerState>(TICKER_STORE))
  // The processor deletes minutes as the window passes them; retention only bounds the spec.
  builder.addStateStore(
    Stores.window<Bucket>(BUCKETS_STORE, { windowSizeMs: BUCKET_MS, retentionMs: DAY_MS + 3_600_000 }),
  )
  builder.addStateStore(
    Stores.window<TickMinute>(MINUTES_STORE, { windowSizeMs: MINUTE_MS, retentionMs: DAY_MS + 3_600_000 }),
  )
  const top = options.top ?? 10
  const every = options.rankingEveryMs
  const latest = source
    // a thinned ranking reads tickers at most every rankingEveryMs: coalesce them per symbol for
    // up to 100 ms of that before the repartition (a replay at speed sends one per symbol, not one per kline)
    .process<string, Ticker24h>(() => new TickerProcessor(every ? Math.min(every, 100) : undefined), {
      stores: [TICKER_STORE, BUCKETS_STORE, MINUTES_STORE],
      name: 'ticker-24h',
    })
    .groupByKey({ name: RANKING_STORE })
    .aggregate<Record<string, Ticker24h>>(
      () => ({}),
      (_k, t, all) => {
        all[t.symbol] = t
        return all
      },
      { name: RANKING_STORE },
    )
    .toStream()
  // Thinned before ranking: rank() is a pure function of the latest tickers, so ranking only what
  // goes out gives the same records, and a whole market (1,400 symbols, a 1m update every 2 s
  // each) does not sort every symbol on every update.
  const thinned = every
    ? latest.process(() => new LatestEvery<Record<string, Ticker24h>>(every), { name: 'ranking-every' })
    : latest
  const out = thinned.mapValues((all) => rank(Object.values(all), top), 'ranking-24h-rank')
  out.to((options.topicPrefix ?? '') + topics.ranking, { name: 'ranking-sink' })
  return out
}
