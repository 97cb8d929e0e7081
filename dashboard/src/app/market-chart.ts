import {
  ChangeDetectionStrategy,
  Component,
  computed,
  effect,
  inject,
  type OnDestroy,
  signal,
  untracked,
} from '@angular/core'
import type { ECharts, EChartsCoreOption } from 'echarts/core'
import { NgxEchartsDirective } from 'ngx-echarts'
import { Api } from './api'
import { applyLive, hasHole, merge } from './candles'
import { colors } from './echarts'
import { axisLabel, compact, dateTime, fmt } from './format'
import { ema, macd, rsi, sma } from './indicators'
import { Market } from './market'
import { type Interval, intervalMs, intervals, type Kline } from './model'
import { StatusBadge } from './status'

// Candlesticks + volume, SMA/EMA overlays, an RSI or MACD panel, zoom/pan with a slider.
// The chart is built once per market; live ticks change only the series data (one setOption per
// animation frame with the changed series), never the whole option.

const PAGE = 500
const VISIBLE = 120
const TICK_MS = 100
type Sub = 'RSI' | 'MACD'

/** Binance kline rows of /api/v3/klines → Kline (for 1m history, which /ohlc does not page). */
function fromRow(symbol: string, r: (string | number)[], closed: boolean): Kline {
  return {
    symbol,
    interval: '1m',
    openTime: Number(r[0]),
    open: String(r[1]),
    high: String(r[2]),
    low: String(r[3]),
    close: String(r[4]),
    volume: String(r[5]),
    closeTime: Number(r[6]),
    quoteVolume: String(r[7]),
    trades: Number(r[8]),
    closed,
  }
}

@Component({
  selector: 'cs-market-chart',
  imports: [NgxEchartsDirective, StatusBadge],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="toolbar">
      <div class="group" role="group" aria-label="timeframe">
        @for (iv of intervals; track iv) {
          <button type="button" class="tf" [class.on]="iv === market.route().interval" [attr.data-interval]="iv"
            (click)="market.go(market.route().symbol, iv)">{{ iv }}</button>
        }
      </div>
      <div class="group" role="group" aria-label="indicators">
        <button type="button" [class.on]="showSma()" (click)="toggle('sma')" title="SMA 20 / 50">SMA</button>
        <button type="button" [class.on]="showEma()" (click)="toggle('ema')" title="EMA 20 / 50">EMA</button>
        <button type="button" [class.on]="sub() === 'RSI'" (click)="sub.set('RSI')" title="RSI 14">RSI</button>
        <button type="button" [class.on]="sub() === 'MACD'" (click)="sub.set('MACD')" title="MACD 12 26 9">MACD</button>
      </div>
      <span class="spacer"></span>
      <cs-status class="desk-status" />
    </div>
    <div class="chart-box">
      <div class="chart" echarts [options]="options" [autoResize]="true" (chartInit)="onInit($event)"
        (chartDataZoom)="onZoom($event)" data-testid="market-chart" [attr.data-count]="count()"
        [attr.data-symbol]="loadedKey()"></div>
      <div class="legend" data-testid="legend">{{ legend() }}</div>
      <div class="sub-label muted">
        {{ sub() === 'RSI' ? 'RSI 14' : 'MACD 12 26 9' }}
        @if (count() > 0 && count() < (sub() === 'RSI' ? 15 : 34)) { · needs {{ sub() === 'RSI' ? 15 : 34 }} candles, {{ count() }} loaded }
      </div>
      @if (state() !== 'ready') {
        <div class="overlay" data-testid="chart-state">
          @switch (state()) {
            @case ('loading') { loading {{ market.route().symbol }} {{ market.route().interval }} candles… }
            @case ('empty') { waiting for the first {{ market.route().interval }} candle of {{ market.route().symbol }}… }
            @case ('error') { {{ error() }} }
          }
        </div>
      }
      @if (loadingOlder()) { <div class="older muted">loading older candles…</div> }
    </div>
  `,
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; height: 100%; }
    .toolbar { display: flex; align-items: center; gap: 12px; padding: 4px 8px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
    .group { display: flex; gap: 2px; }
    .spacer { flex: 1; }
    .legend { position: absolute; left: 10px; top: 4px; z-index: 1; font-family: var(--mono); font-size: 11px; color: var(--text); pointer-events: none; right: 80px; }
    @media (max-width: 900px) { .desk-status { display: none; } .legend { font-size: 10px; } }
    .chart-box { position: relative; flex: 1; min-height: 0; }
    .chart { position: absolute; inset: 0; }
    .overlay { position: absolute; inset: 0; display: grid; place-items: center; color: var(--muted); pointer-events: none; text-align: center; padding: 16px; }
    .sub-label { position: absolute; left: 10px; top: calc(74% - 16px); font-size: 10px; pointer-events: none; }
    .older { position: absolute; left: 60px; top: 8px; font-size: 11px; }
  `,
})
export class MarketChart implements OnDestroy {
  readonly market = inject(Market)
  private readonly api = inject(Api)
  readonly intervals = intervals
  readonly showSma = signal(true)
  readonly showEma = signal(false)
  readonly sub = signal<Sub>('RSI')
  readonly state = signal<'loading' | 'empty' | 'ready' | 'error'>('loading')
  readonly error = signal('')
  readonly count = signal(0)
  readonly loadedKey = signal('')
  readonly loadingOlder = signal(false)
  readonly legend = signal('')

  private chart: ECharts | null = null
  private klines: Kline[] = []
  private unsubscribe: (() => void) | null = null
  private frame = 0
  private full = true
  private zoom = { start: 0, end: 100 }
  private keepRange: { from: number; to: number } | null = null
  private exhaustedAt = 0
  private generation = 0
  /** Chart updates applied (the e2e test reports it beside the frame time). */
  applied = 0

  readonly options: EChartsCoreOption = this.baseOptions()

  constructor() {
    effect(() => {
      const { symbol, interval } = this.market.route()
      if (this.market.unknownSymbol()) return
      untracked(() => this.load(symbol, interval))
    })
    effect(() => {
      this.showSma()
      this.showEma()
      this.sub()
      untracked(() => this.schedule(false))
    })
    ;(window as unknown as { csMarketChart: MarketChart }).csMarketChart = this
  }

  ngOnDestroy(): void {
    this.unsubscribe?.()
    cancelAnimationFrame(this.frame)
    clearTimeout(this.timer)
  }

  onInit(chart: ECharts): void {
    this.chart = chart
    this.schedule(true)
  }

  toggle(which: 'sma' | 'ema'): void {
    const s = which === 'sma' ? this.showSma : this.showEma
    s.set(!s())
  }

  /**
   * What the chart draws, read back from ECharts: [openTime, open, high, low, close, volume] per
   * candle (the browser test compares it with /ohlc).
   */
  drawn(): { key: string; candles: number[][] } {
    const o = this.chart?.getOption() as
      | { xAxis: { data: number[] }[]; series: { id: string; data: number[][] }[] }
      | undefined
    if (!o) return { key: this.loadedKey(), candles: [] }
    const times = o.xAxis[0].data
    const k = o.series.find((s) => s.id === 'k')?.data ?? []
    const v = o.series.find((s) => s.id === 'vol')?.data ?? []
    return {
      key: this.loadedKey(),
      candles: times.map((t, i) => [Number(t), k[i][0], k[i][3], k[i][2], k[i][1], v[i][1]]),
    }
  }

  private load(symbol: string, interval: Interval): void {
    // keep the visible time range across a timeframe switch where it can
    const same = this.klines[0]?.symbol === symbol
    this.keepRange = same && this.klines.length > 0 ? this.visibleRange() : null
    this.unsubscribe?.()
    this.generation++
    const gen = this.generation
    this.klines = []
    this.exhaustedAt = 0
    this.gapFrom = null
    this.state.set('loading')
    this.pendingKey = ''
    this.loadedKey.set('')
    this.count.set(0)
    this.schedule(true)
    this.unsubscribe = this.api.subscribe<Kline[], Kline>(
      { stream: 'kline', symbol, interval, limit: PAGE },
      {
        initial: (list) => {
          if (gen !== this.generation) return
          // after a reconnect: keep the older pages already loaded, replace the rest
          const first = list[0]?.openTime ?? Number.POSITIVE_INFINITY
          const older = this.klines.filter((k) => k.openTime < first)
          this.klines = [...older, ...list]
          this.learn(list)
          this.pendingKey = `${symbol}/${interval}`
          this.state.set(this.klines.length > 0 ? 'ready' : 'empty')
          this.schedule(true)
        },
        update: (k) => {
          if (gen !== this.generation) return
          this.apply(k)
        },
      },
    )
  }

  private apply(k: Kline): void {
    const gapFrom = applyLive(this.klines, k, intervalMs[k.interval])
    if (gapFrom !== null) this.markGap(gapFrom)
    if (this.state() !== 'ready') this.state.set('ready')
    this.schedule(false)
  }

  private learn(list: Kline[]): void {
    const tail = list.slice(-50)
    if (tail.length > 0)
      this.market.learn(
        tail[0].symbol,
        tail.map((k) => k.close),
        tail.map((k) => k.volume),
      )
  }

  onZoom(e: { start?: number; end?: number; batch?: { start?: number; end?: number }[] }): void {
    const p = e.batch?.[0] ?? e
    if (p.start === undefined || p.end === undefined) return
    this.zoom = { start: p.start, end: p.end }
    if (p.start <= 0.5) void this.loadOlder()
  }

  /** Paging state, for a test's failure message. */
  pagingState(): object {
    return {
      candles: this.klines.length,
      zoom: this.zoom,
      exhaustedAt: this.exhaustedAt,
      loading: this.loadingOlder(),
    }
  }

  private markGap(from: number): void {
    this.gapFrom = Math.min(this.gapFrom ?? from, from)
    void this.repair()
  }

  /** Re-reads candles from `gapFrom` until the chart has no hole (the store may still catch up). */
  private async repair(): Promise<void> {
    if (this.repairing) return
    this.repairing = true
    const gen = this.generation
    try {
      for (let attempt = 0; this.gapFrom !== null && attempt < 20; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 500))
        const from = this.gapFrom
        const { symbol, interval } = this.market.route()
        const got = await this.fetch(symbol, interval, { startTime: from, limit: 1000 }).catch(() => [])
        if (gen !== this.generation) return
        this.merge(got)
        if (!this.hasHole(from)) this.gapFrom = null
      }
      this.gapFrom = null
    } finally {
      this.repairing = false
    }
  }

  private merge(got: Kline[]): void {
    this.klines = merge(this.klines, got)
    this.schedule(false)
  }

  private hasHole(from: number): boolean {
    return hasHole(this.klines, from, intervalMs[this.market.route().interval])
  }

  private async fetch(
    symbol: string,
    interval: Interval,
    range: { startTime?: number; endTime?: number; limit: number },
  ): Promise<Kline[]> {
    // /ohlc pages 5m..1d; 1m history is paged through the Binance-compatible klines route
    if (interval === '1m')
      // rows do not say whether a candle is final: only the newest may still be open
      return (
        await this.api.get<(string | number)[][]>('/api/v3/klines', { symbol, interval, ...range })
      ).map((r, i, rows) => fromRow(symbol, r, range.endTime !== undefined || i < rows.length - 1))
    return (await this.api.get<{ candles: Kline[] }>('/ohlc', { symbol, interval, ...range })).candles
  }

  private async loadOlder(): Promise<void> {
    // nothing older a moment ago: the store may still be filling (a backfill at start)
    if (this.loadingOlder() || Date.now() - this.exhaustedAt < 5_000 || this.klines.length === 0) return
    const { symbol, interval } = this.market.route()
    const gen = this.generation
    const endTime = this.klines[0].openTime - 1
    this.loadingOlder.set(true)
    try {
      const older = await this.fetch(symbol, interval, { endTime, limit: PAGE })
      if (gen !== this.generation) return
      const fresh = older.filter((k) => k.openTime < this.klines[0].openTime)
      if (fresh.length === 0) {
        this.exhaustedAt = Date.now()
        return
      }
      // the same candles stay in view: shift the zoom window by the candles put in front
      const n = this.klines.length
      const m = fresh.length
      const from = (this.zoom.start / 100) * n + m
      const to = (this.zoom.end / 100) * n + m
      this.klines = [...fresh, ...this.klines]
      this.zoom = { start: (from / (n + m)) * 100, end: (to / (n + m)) * 100 }
      this.schedule(true, true)
    } catch {
      // unreachable or refused: the next pan to the edge tries again
    } finally {
      this.loadingOlder.set(false)
    }
  }

  private visibleRange(): { from: number; to: number } | null {
    const n = this.klines.length
    if (n === 0) return null
    const a = Math.max(0, Math.floor((this.zoom.start / 100) * (n - 1)))
    const b = Math.min(n - 1, Math.ceil((this.zoom.end / 100) * (n - 1)))
    return { from: this.klines[a].openTime, to: this.klines[b].openTime }
  }

  /**
   * Coalesces changes into one chart update per animation frame, and live ticks into at most one
   * per TICK_MS: ECharts redraws the whole canvas on each update, and 10 a second keeps the
   * open candle visibly live at any replay speed.
   */
  private schedule(full: boolean, keepZoom = false): void {
    this.full ||= full
    if (full && !keepZoom) this.zoomPending = true
    if (this.frame) return
    if (this.timer && !full) return
    clearTimeout(this.timer)
    const go = () => {
      this.timer = undefined
      this.frame = requestAnimationFrame(() => {
        this.frame = 0
        this.lastFlush = performance.now()
        this.flush()
      })
    }
    const wait = this.lastFlush + TICK_MS - performance.now()
    if (wait > 0 && !this.full) this.timer = setTimeout(go, wait)
    else go()
  }

  private timer: ReturnType<typeof setTimeout> | undefined
  private lastFlush = 0

  private zoomPending = true
  private pendingKey = ''
  private gapFrom: number | null = null
  private repairing = false
  private axisLength = -1

  private flush(): void {
    const chart = this.chart
    if (!chart) return
    const list = this.klines
    const symbol = list[0]?.symbol ?? this.market.route().symbol
    const interval = (list[0]?.interval ?? this.market.route().interval) as Interval
    const closes = list.map((k) => +k.close)
    const series: object[] = [
      { id: 'k', data: list.map((k) => [+k.open, +k.close, +k.low, +k.high]) },
      { id: 'vol', data: list.map((k, i) => [i, +k.volume, +k.close >= +k.open ? 1 : -1]) },
      { id: 'sma20', data: this.showSma() ? sma(closes, 20) : [] },
      { id: 'sma50', data: this.showSma() ? sma(closes, 50) : [] },
      { id: 'ema20', data: this.showEma() ? ema(closes, 20) : [] },
      { id: 'ema50', data: this.showEma() ? ema(closes, 50) : [] },
    ]
    if (this.sub() === 'RSI') {
      series.push(
        { id: 'rsi', data: rsi(closes) },
        { id: 'macd', data: [] },
        { id: 'signal', data: [] },
        { id: 'hist', data: [] },
      )
    } else {
      const m = macd(closes)
      series.push(
        { id: 'rsi', data: [] },
        { id: 'macd', data: m.macd },
        { id: 'signal', data: m.signal },
        { id: 'hist', data: m.histogram.map((v, i) => (v === null ? null : [i, v])) },
      )
    }
    const update: Record<string, unknown> = { series }
    if (!this.full && list.length !== this.axisLength) {
      // a new candle: the category axes get the new times
      const times = list.map((k) => k.openTime)
      update.xAxis = [
        { id: 'x0', data: times },
        { id: 'x1', data: times },
      ]
    }
    this.axisLength = list.length
    if (this.full) {
      const times = list.map((k) => k.openTime)
      const step = intervalMs[interval]
      const dp = this.market.priceDecimals(symbol)
      const label = { formatter: (v: string) => axisLabel(Number(v), step), color: colors.muted }
      update.xAxis = [
        { id: 'x0', data: times, axisLabel: { ...label, show: false } },
        { id: 'x1', data: times, axisLabel: label },
      ]
      update.yAxis = [
        { id: 'price', axisLabel: { color: colors.muted, formatter: (v: number) => fmt(v, dp) } },
      ]
      if (this.zoomPending) {
        this.zoomPending = false
        this.zoom = this.initialZoom(times)
        this.keepRange = null
      }
      update.dataZoom = [
        { id: 'in', start: this.zoom.start, end: this.zoom.end },
        { id: 'slider', start: this.zoom.start, end: this.zoom.end },
      ]
      this.full = false
    }
    chart.setOption(update, { lazyUpdate: false })
    // the key names what the chart now draws (set only once these candles are in it)
    this.loadedKey.set(this.pendingKey)
    this.applied++
    this.count.set(list.length)
    const k = list[list.length - 1]
    if (k) {
      const dp = this.market.priceDecimals(symbol)
      this.legend.set(
        `${dateTime(k.openTime)}  O ${fmt(k.open, dp)}  H ${fmt(k.high, dp)}  L ${fmt(k.low, dp)}  C ${fmt(k.close, dp)}  V ${compact(k.volume)}${k.closed ? '' : ' · open'}`,
      )
    } else this.legend.set('')
  }

  private initialZoom(times: number[]): { start: number; end: number } {
    const n = times.length
    if (n < 2) return { start: 0, end: 100 }
    const r = this.keepRange
    if (r) {
      const a = times.findIndex((t) => t >= r.from)
      let b = times.length - 1
      while (b > 0 && times[b] > r.to) b--
      // only when the new timeframe shows a useful number of candles in that range
      if (a >= 0 && b - a >= 10) return { start: (a / (n - 1)) * 100, end: (b / (n - 1)) * 100 }
    }
    return { start: Math.max(0, ((n - VISIBLE) / n) * 100), end: 100 }
  }

  private baseOptions(): EChartsCoreOption {
    const axisLine = { lineStyle: { color: colors.grid } }
    const split = { lineStyle: { color: colors.grid } }
    const line = (id: string, color: string, x = 0, y = 0) => ({
      id,
      type: 'line',
      xAxisIndex: x,
      yAxisIndex: y,
      data: [],
      showSymbol: false,
      smooth: false,
      lineStyle: { width: 1, color },
      itemStyle: { color },
      animation: false,
      z: 3,
    })
    return {
      backgroundColor: 'transparent',
      animation: false,
      textStyle: { fontFamily: 'var(--mono)' },
      axisPointer: { link: [{ xAxisIndex: 'all' }], label: { backgroundColor: '#2b3139' } },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'cross' },
        backgroundColor: 'rgba(18,22,28,0.92)',
        borderColor: colors.grid,
        textStyle: { color: colors.text, fontSize: 11 },
        formatter: (params: unknown) => this.tooltip(params),
      },
      grid: [
        { id: 'g0', left: 8, right: 72, top: 22, bottom: '30%' },
        { id: 'g1', left: 8, right: 72, top: '74%', bottom: 44 },
      ],
      xAxis: [
        {
          id: 'x0',
          type: 'category',
          gridIndex: 0,
          data: [],
          boundaryGap: true,
          axisLine,
          axisTick: { show: false },
          axisLabel: { show: false },
          axisPointer: { label: { show: false } },
        },
        {
          id: 'x1',
          type: 'category',
          gridIndex: 1,
          data: [],
          boundaryGap: true,
          axisLine,
          axisTick: { show: false },
          axisPointer: { label: { formatter: (p: { value: string }) => dateTime(Number(p.value)) } },
        },
      ],
      yAxis: [
        { id: 'price', scale: true, gridIndex: 0, position: 'right', splitLine: split, axisLine },
        {
          id: 'volume',
          scale: false,
          gridIndex: 0,
          position: 'right',
          max: (v: { max: number }) => v.max * 4,
          axisLabel: { show: false },
          splitLine: { show: false },
          axisPointer: { show: false },
        },
        {
          id: 'sub',
          scale: true,
          gridIndex: 1,
          position: 'right',
          splitNumber: 2,
          splitLine: split,
          axisLine,
          axisLabel: {
            color: colors.muted,
            formatter: (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)),
          },
        },
      ],
      dataZoom: [
        {
          id: 'in',
          type: 'inside',
          xAxisIndex: [0, 1],
          zoomOnMouseWheel: true,
          moveOnMouseMove: true,
          minValueSpan: 10,
        },
        {
          id: 'slider',
          type: 'slider',
          xAxisIndex: [0, 1],
          bottom: 8,
          height: 22,
          borderColor: colors.grid,
          textStyle: { color: colors.muted },
          labelFormatter: '',
          dataBackground: { lineStyle: { color: colors.muted }, areaStyle: { color: '#2b3139' } },
          minValueSpan: 10,
        },
      ],
      series: [
        {
          id: 'k',
          name: 'candles',
          type: 'candlestick',
          xAxisIndex: 0,
          yAxisIndex: 0,
          data: [],
          itemStyle: {
            color: colors.up,
            color0: colors.down,
            borderColor: colors.up,
            borderColor0: colors.down,
          },
          animation: false,
          large: true,
          largeThreshold: 2000,
        },
        {
          id: 'vol',
          name: 'volume',
          type: 'bar',
          xAxisIndex: 0,
          yAxisIndex: 1,
          data: [],
          encode: { x: 0, y: 1 },
          itemStyle: {
            color: (p: { data: number[] }) =>
              p.data[2] > 0 ? 'rgba(14,203,129,0.35)' : 'rgba(246,70,93,0.35)',
          },
          animation: false,
        },
        line('sma20', '#f0b90b'),
        line('sma50', '#c99400'),
        line('ema20', '#7d5cf5'),
        line('ema50', '#3d8bfd'),
        {
          ...line('rsi', '#c084fc', 1, 2),
          markLine: {
            silent: true,
            symbol: 'none',
            label: { show: false },
            lineStyle: { color: colors.muted, type: 'dashed' },
            data: [{ yAxis: 70 }, { yAxis: 30 }],
          },
        },
        line('macd', '#3d8bfd', 1, 2),
        line('signal', '#f0b90b', 1, 2),
        {
          id: 'hist',
          type: 'bar',
          xAxisIndex: 1,
          yAxisIndex: 2,
          data: [],
          encode: { x: 0, y: 1 },
          itemStyle: { color: (p: { data: number[] }) => (p.data[1] >= 0 ? colors.up : colors.down) },
          animation: false,
        },
      ],
    }
  }

  private tooltip(params: unknown): string {
    const list = params as { dataIndex: number; seriesId: string }[]
    const i = list[0]?.dataIndex
    const k = i === undefined ? undefined : this.klines[i]
    if (!k) return ''
    const dp = this.market.priceDecimals(k.symbol)
    const ds = this.market.sizeDecimals(k.symbol)
    const dir = +k.close >= +k.open ? colors.up : colors.down
    return `<div style="font-family:var(--mono)">${dateTime(k.openTime)}<br/>
      O <b style="color:${dir}">${fmt(k.open, dp)}</b> H <b style="color:${dir}">${fmt(k.high, dp)}</b><br/>
      L <b style="color:${dir}">${fmt(k.low, dp)}</b> C <b style="color:${dir}">${fmt(k.close, dp)}</b><br/>
      V ${fmt(k.volume, ds)}${k.closed ? '' : ' (open)'}</div>`
  }

  readonly intervalLabel = computed(() => this.market.route().interval)
}
