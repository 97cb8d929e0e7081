import { type DepthDiff, type Level, SyntheticBook } from './book.ts'
import type { Faults } from './faults.ts'
import type { History } from './history.ts'
import { bucketStart, INTERVAL_NAMES, nextStart } from './intervals.ts'
import { type Market, MINUTE } from './market.ts'
import type { Row } from './recorded.ts'
import { toTicks } from './simulator.ts'
import { aggTradePayload, klinePayload, type TradeEvent, tradePayload } from './streams.ts'
import type { SymbolSpec } from './symbols.ts'
import {
  avgPriceEvent,
  type MarketView,
  miniTickerEvent,
  tickerEvent,
  WINDOW_MS,
  windowTickerEvent,
} from './tickers.ts'
import { type MinuteTrades, partial, synthesize } from './trades.ts'

// The market as it unfolds in virtual time, in 100 ms slots. Per slot and symbol: the trades
// whose time has come, an open-kline update every 2 s (x:false, from the trades sent so far),
// the closed kline when the minute ends (x:true, the recorded row exactly), and a book step
// with its diff every `depthMs`. Everything derives from (seed, symbol, minute) and the slot
// sequence since `from`, so a run is reproducible; frames are only built for streams someone
// subscribed to.

export const SLOT_MS = 100

export interface FrameSink {
  /** Anyone subscribed to this stream? */
  wants(stream: string): boolean
  /** Anyone subscribed to this type of stream (`kline_1h`, `ticker`, `!ticker@arr`) of any symbol? */
  wantsType(type: string): boolean
  /** `payload` is the raw event; the sink wraps it for combined-stream clients. */
  emit(stream: string, payload: string): void
}

export interface FeedOptions {
  specs: SymbolSpec[]
  market: Market
  seed: number
  from: number
  tradeCap: number
  depthMs: number
  bookLevels: number
  /** Keep the top 20 of the last N update ids per symbol, for `bookAt` in tests (0 = off). */
  bookHistory: number
  faults: Faults
  history: History
}

interface SymbolState {
  spec: SymbolSpec
  lower: string
  minute: number
  trades: MinuteTrades
  sent: number
  firstId: number
  nextId: number
  lastTicks: number
  book: SyntheticBook
  /** Changes since the last 1000 ms diff (for `@depth`), and its first U. */
  slowU: number
  slowB: Map<string, string>
  slowA: Map<string, string>
  topKey: string
  /** The last trade sent (tickers' lastPrice/lastQty); REST trades rebuild from the minutes. */
  last: TradeEvent | undefined
  history: Map<number, string>
  /** Stream names built once (the slot loop runs 60 000 times a wall second at speed 6000). */
  names: StreamNames
}

interface StreamNames {
  k1s: string
  k1m: string
  larger: [interval: string, name: string][]
  ticker: string
  mini: string
  windows: [window: string, name: string, all: string][]
  avg: string
}

const LARGER = INTERVAL_NAMES.filter((i) => i !== '1s' && i !== '1m')
const LARGER_TYPES = LARGER.map((iv) => `kline_${iv}`)
const TICKER_TYPES = [
  'ticker',
  'miniTicker',
  'avgPrice',
  ...Object.keys(WINDOW_MS).flatMap((w) => [`ticker_${w}`, `!ticker_${w}@arr`]),
  '!ticker@arr',
  '!miniTicker@arr',
]

function streamNames(lower: string): StreamNames {
  return {
    k1s: `${lower}@kline_1s`,
    k1m: `${lower}@kline_1m`,
    larger: LARGER.map((iv) => [iv, `${lower}@kline_${iv}`]),
    ticker: `${lower}@ticker`,
    mini: `${lower}@miniTicker`,
    windows: Object.keys(WINDOW_MS).map((w) => [w, `${lower}@ticker_${w}`, `!ticker_${w}@arr`]),
    avg: `${lower}@avgPrice`,
  }
}

export class Feed {
  private readonly o: FeedOptions
  private readonly states = new Map<string, SymbolState>()
  private readonly view: MarketView
  /** Virtual time up to which every event has been generated. */
  cursor: number

  constructor(o: FeedOptions) {
    this.o = o
    this.cursor = Math.floor(o.from / SLOT_MS) * SLOT_MS
    this.view = { feed: this, market: o.market, history: o.history, now: () => this.cursor }
    for (const spec of o.specs) {
      const minute = this.cursor - (this.cursor % MINUTE)
      const row = this.row(spec, minute)
      const trades = synthesize(row, spec, o.seed, o.tradeCap)
      // trades up to `from` already happened: not sent, but part of the open kline
      let sent = 0
      while (sent < trades.count && trades.time[sent]! <= this.cursor) sent++
      const lastTicks = sent > 0 ? trades.ticks[sent - 1]! : toTicks(row.o, spec.tickDec)
      const book = new SyntheticBook(spec, o.seed, lastTicks, o.bookLevels)
      const st: SymbolState = {
        spec,
        lower: spec.symbol.toLowerCase(),
        minute,
        trades,
        sent,
        firstId: 100_000_000,
        nextId: 100_000_000 + sent,
        lastTicks,
        book,
        slowU: book.lastUpdateId + 1,
        slowB: new Map(),
        slowA: new Map(),
        topKey: '',
        last: undefined,
        history: new Map(),
        names: streamNames(spec.symbol.toLowerCase()),
      }
      this.remember(st)
      this.states.set(spec.symbol, st)
    }
  }

  private row(spec: SymbolSpec, minute: number): Row {
    const r = this.o.market.row(spec, minute)
    if (!r) throw new Error(`no data for ${spec.symbol} at ${new Date(minute).toISOString()}`)
    return r
  }

  /** Generate every event up to virtual time `to`. */
  advance(to: number, sink: FrameSink): void {
    for (let t = this.cursor + SLOT_MS; t <= to; t += SLOT_MS) {
      for (const st of this.states.values()) this.slot(st, t, sink)
      this.cursor = t
      if (t % 1000 === 0 && TICKER_TYPES.some((x) => sink.wantsType(x))) this.tickers(t, sink)
    }
  }

  private slot(st: SymbolState, t: number, sink: FrameSink): void {
    const s = st.spec.symbol
    if (t >= st.minute + MINUTE) {
      this.sendTrades(st, st.minute + MINUTE - 1, sink)
      const k = `${st.lower}@kline_1m`
      if (sink.wants(k))
        sink.emit(k, klinePayload(s, st.trades.row, t, st.firstId, st.nextId - 1, true, '1m'))
      if (this.larger(sink)) this.closeLarger(st, st.minute + MINUTE, t, sink)
      st.minute += MINUTE
      st.trades = synthesize(this.row(st.spec, st.minute), st.spec, this.o.seed, this.o.tradeCap)
      st.sent = 0
      st.firstId = st.nextId
    }
    this.sendTrades(st, t, sink)
    if (t % 1000 === 0 && sink.wantsType('kline_1s')) {
      const k1 = st.names.k1s
      if (sink.wants(k1)) {
        const sec = t - 1000
        const r = this.o.history.seconds(st.spec, sec - (sec % MINUTE), undefined, t).at(-1)
        if (r) {
          const f = this.firstIdAt(st, sec)
          sink.emit(k1, klinePayload(s, r, t, f, f + r.n - 1, true, '1s'))
        }
      }
    }
    if (t % 2000 === 0 && t !== st.minute) {
      const k = st.names.k1m
      if (sink.wants(k)) {
        const r = partial(st.trades, st.sent)
        sink.emit(k, klinePayload(s, r, t, st.firstId, st.nextId - 1, false, '1m'))
      }
      if (this.larger(sink)) this.openLarger(st, t, sink)
    }
    if (t % this.o.depthMs === 0) this.bookStep(st, t, sink)
  }

  /** Id of the first trade at or after `time` (for 1s klines' f/L). */
  private firstIdAt(st: SymbolState, time: number): number {
    const minute = time - (time % MINUTE)
    const m = this.o.history.minuteTrades(st.spec, minute)
    let i = 0
    while (m && i < m.count && m.time[i]! < time) i++
    return this.o.history.firstId(st.spec, minute) + i
  }

  private larger(sink: FrameSink): boolean {
    return LARGER_TYPES.some((x) => sink.wantsType(x))
  }

  /** Open-kline updates of the intervals above 1m (every 2 s, like 1m). */
  private openLarger(st: SymbolState, t: number, sink: FrameSink): void {
    for (const [iv, name] of st.names.larger) {
      if (!sink.wants(name)) continue
      const start = bucketStart(iv, st.minute)
      const end = nextStart(iv, start)
      const r = this.o.market.candle(st.spec, start, end, st.minute, partial(st.trades, st.sent))
      if (r) {
        const f = this.o.history.firstId(st.spec, start)
        sink.emit(name, klinePayload(st.spec.symbol, r, t, f, st.nextId - 1, false, iv))
      }
    }
  }

  /** The closed kline of every interval above 1m that ends at `end` (x: true). */
  private closeLarger(st: SymbolState, end: number, t: number, sink: FrameSink): void {
    for (const [iv, name] of st.names.larger) {
      if (!sink.wants(name) || bucketStart(iv, end) !== end) continue
      const start = bucketStart(iv, end - 1)
      const r = this.o.market.candle(st.spec, start, end, end, st.trades.row)
      if (r) {
        const f = this.o.history.firstId(st.spec, start)
        sink.emit(name, klinePayload(st.spec.symbol, r, t, f, st.nextId - 1, true, iv))
      }
    }
  }

  /** Ticker streams, every second. */
  private tickers(t: number, sink: FrameSink): void {
    const full: unknown[] = []
    const mini: unknown[] = []
    const wantFull = sink.wants('!ticker@arr')
    const wantMini = sink.wants('!miniTicker@arr')
    const windows = new Map<string, unknown[]>()
    for (const st of this.states.values()) {
      const sp = st.spec
      const tk = st.names.ticker
      if (wantFull || sink.wants(tk)) {
        const ev = tickerEvent(this.view, sp, t)
        if (sink.wants(tk)) sink.emit(tk, JSON.stringify(ev))
        if (wantFull) full.push(ev)
      }
      const mt = st.names.mini
      if (wantMini || sink.wants(mt)) {
        const ev = miniTickerEvent(this.view, sp, t)
        if (sink.wants(mt)) sink.emit(mt, JSON.stringify(ev))
        if (wantMini) mini.push(ev)
      }
      for (const [w, name, arr] of st.names.windows) {
        const all = sink.wants(arr)
        if (!all && !sink.wants(name)) continue
        const ev = windowTickerEvent(this.view, sp, w, t)
        if (sink.wants(name)) sink.emit(name, JSON.stringify(ev))
        if (all) windows.set(w, [...(windows.get(w) ?? []), ev])
      }
      const ap = st.names.avg
      if (sink.wants(ap)) sink.emit(ap, JSON.stringify(avgPriceEvent(this.view, sp, t)))
    }
    if (wantFull) sink.emit('!ticker@arr', JSON.stringify(full))
    if (wantMini) sink.emit('!miniTicker@arr', JSON.stringify(mini))
    for (const [w, list] of windows) sink.emit(`!ticker_${w}@arr`, JSON.stringify(list))
  }

  private sendTrades(st: SymbolState, upTo: number, sink: FrameSink): void {
    const m = st.trades
    const wantT = sink.wants(`${st.lower}@trade`)
    const wantA = sink.wants(`${st.lower}@aggTrade`)
    while (st.sent < m.count && m.time[st.sent]! <= upTo) {
      const i = st.sent++
      const ev: TradeEvent = {
        id: st.nextId++,
        price: m.price[i]!,
        qty: m.qty[i]!,
        time: m.time[i]!,
        maker: m.maker[i]!,
      }
      st.lastTicks = m.ticks[i]!
      st.last = ev
      if (wantT) sink.emit(`${st.lower}@trade`, tradePayload(st.spec.symbol, ev))
      if (wantA) sink.emit(`${st.lower}@aggTrade`, aggTradePayload(st.spec.symbol, ev))
    }
  }

  private bookStep(st: SymbolState, t: number, sink: FrameSink): void {
    const d = st.book.step(st.lastTicks)
    this.remember(st)
    const s = st.spec.symbol
    const fast = `${st.lower}@depth@100ms`
    if (sink.wants(fast) && !this.o.faults.skipDiff(s)) sink.emit(fast, depthPayload(s, t, d))
    for (const [p, q] of d.b) st.slowB.set(p, q)
    for (const [p, q] of d.a) st.slowA.set(p, q)
    if (t % 1000 === 0) {
      const slow: DepthDiff = { U: st.slowU, u: d.u, b: [...st.slowB], a: [...st.slowA] }
      for (const name of [`${st.lower}@depth`, `${st.lower}@depth@1000ms`])
        if (sink.wants(name)) sink.emit(name, depthPayload(s, t, slow))
      st.slowU = d.u + 1
      st.slowB.clear()
      st.slowA.clear()
    }
    const bt = `${st.lower}@bookTicker`
    if (sink.wants(bt)) {
      const b = st.book.bestBid()
      const a = st.book.bestAsk()
      const key = `${b}|${a}`
      if (key !== st.topKey && b && a) {
        st.topKey = key
        sink.emit(bt, JSON.stringify({ u: d.u, s, b: b[0], B: b[1], a: a[0], A: a[1] }))
      }
    }
    for (const n of [5, 10, 20]) {
      for (const name of [`${st.lower}@depth${n}`, `${st.lower}@depth${n}@100ms`]) {
        if (name.endsWith('100ms') || t % 1000 === 0) {
          if (sink.wants(name)) {
            const snap = st.book.snapshot(n)
            sink.emit(name, JSON.stringify(snap))
          }
        }
      }
    }
  }

  private remember(st: SymbolState): void {
    if (this.o.bookHistory <= 0) return
    const { bids, asks, lastUpdateId } = st.book.snapshot(20)
    st.history.set(lastUpdateId, JSON.stringify({ bids, asks }))
    if (st.history.size > this.o.bookHistory) st.history.delete(st.history.keys().next().value!)
  }

  // --- what REST and tests read ---

  spec(symbol: string): SymbolSpec | undefined {
    return this.states.get(symbol)?.spec
  }

  /** The open minute and its kline as of the cursor (consistent with the trades sent). */
  openKline(symbol: string): { minute: number; row: Row; sent: number } {
    const st = this.states.get(symbol)!
    return { minute: st.minute, row: partial(st.trades, st.sent), sent: st.sent }
  }

  book(symbol: string): SyntheticBook {
    return this.states.get(symbol)!.book
  }

  lastTrade(symbol: string): TradeEvent | undefined {
    return this.states.get(symbol)!.last
  }

  lastTradeId(symbol: string): number {
    return this.states.get(symbol)!.nextId - 1
  }

  bookAt(symbol: string, updateId: number): { bids: Level[]; asks: Level[] } | undefined {
    const h = this.states.get(symbol)?.history.get(updateId)
    return h === undefined ? undefined : JSON.parse(h)
  }
}

function depthPayload(s: string, E: number, d: DepthDiff): string {
  return JSON.stringify({ e: 'depthUpdate', E, s, U: d.U, u: d.u, b: d.b, a: d.a })
}
