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
import { colors } from './echarts'
import { fmt } from './format'
import { Market } from './market'
import type { Book, Level } from './model'

// 20-level ladder (asks above, bids below, best prices at the spread) with cumulative size bars,
// and a depth chart. The gateway conflates book updates, so a render per update is bounded;
// the depth chart redraws at most 5 times a second.

const LEVELS = 20

interface Row {
  price: string
  qty: string
  sum: number
  share: number
}

function ladder(levels: Level[]): Row[] {
  const rows: Row[] = []
  let sum = 0
  for (const [price, qty] of levels.slice(0, LEVELS)) {
    sum += Number(qty)
    rows.push({ price, qty, sum, share: 0 })
  }
  for (const r of rows) r.share = sum > 0 ? (r.sum / sum) * 100 : 0
  return rows
}

@Component({
  selector: 'cs-order-book',
  imports: [NgxEchartsDirective],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="head"><span>Price</span><span>Size</span><span>Sum</span></div>
    @if (book(); as b) {
      <div class="ladder" data-testid="order-book" [attr.data-update]="b.lastUpdateId">
        <div class="side asks">
          @for (r of asks(); track $index) {
            <div class="row ask" [style.--w.%]="r.share"><span class="p">{{ fmt(r.price, dp()) }}</span><span>{{ fmt(r.qty, ds()) }}</span><span>{{ fmt(r.sum, ds()) }}</span></div>
          }
        </div>
        <div class="spread" data-testid="spread">
          <span class="mid">{{ fmt(mid(), dp()) }}</span>
          <span class="muted">spread {{ fmt(spread(), dp()) }} ({{ spreadPct() }})</span>
        </div>
        <div class="side bids">
          @for (r of bids(); track $index) {
            <div class="row bid" [style.--w.%]="r.share"><span class="p">{{ fmt(r.price, dp()) }}</span><span>{{ fmt(r.qty, ds()) }}</span><span>{{ fmt(r.sum, ds()) }}</span></div>
          }
        </div>
      </div>
    } @else {
      <div class="empty muted" data-testid="book-empty">{{ waiting() }}</div>
    }
    <div class="depth" echarts [options]="options" [autoResize]="true" (chartInit)="onInit($event)"></div>
  `,
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; font-family: var(--mono); font-size: 12px; }
    .head, .row { display: grid; grid-template-columns: 1.1fr 1fr 1fr; padding: 0 8px; text-align: right; }
    .head { color: var(--muted); font-size: 11px; padding-top: 4px; padding-bottom: 2px; }
    .head span:first-child, .row span:first-child { text-align: left; }
    .ladder { flex: 1; min-height: 0; display: flex; flex-direction: column; overflow: hidden; }
    .side { flex: 1; min-height: 0; overflow: hidden; display: flex; flex-direction: column; }
    .asks { justify-content: flex-end; }
    .row { line-height: 17px; position: relative; }
    .row::before { content: ''; position: absolute; top: 1px; bottom: 1px; right: 0; width: var(--w); opacity: 0.16; }
    .ask .p { color: var(--down); } .ask::before { background: var(--down); }
    .bid .p { color: var(--up); } .bid::before { background: var(--up); }
    .spread { display: flex; justify-content: space-between; align-items: baseline; padding: 3px 8px; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
    .mid { font-size: 14px; color: var(--text-strong); }
    .empty { flex: 1; display: grid; place-items: center; }
    .depth { height: 110px; flex: none; border-top: 1px solid var(--line); }
  `,
})
export class OrderBook implements OnDestroy {
  private readonly api = inject(Api)
  private readonly market = inject(Market)
  readonly fmt = fmt
  readonly book = signal<Book | null>(null)
  readonly waiting = signal('waiting for the order book…')
  readonly dp = computed(() => this.market.priceDecimals(this.market.route().symbol))
  readonly ds = computed(() => this.market.sizeDecimals(this.market.route().symbol))
  readonly asks = computed(() => ladder(this.book()?.asks ?? []).reverse())
  readonly bids = computed(() => ladder(this.book()?.bids ?? []))
  private readonly best = computed(() => {
    const b = this.book()
    return { ask: Number(b?.asks[0]?.[0] ?? Number.NaN), bid: Number(b?.bids[0]?.[0] ?? Number.NaN) }
  })
  readonly spread = computed(() => this.best().ask - this.best().bid)
  readonly mid = computed(() => (this.best().ask + this.best().bid) / 2)
  readonly spreadPct = computed(() => `${fmt((this.spread() / this.mid()) * 100, 3)}%`)
  readonly options: EChartsCoreOption = {
    backgroundColor: 'transparent',
    animation: false,
    grid: { left: 4, right: 4, top: 6, bottom: 4 },
    xAxis: { type: 'value', scale: true, show: false },
    yAxis: { type: 'value', show: false },
    series: [
      {
        id: 'bids',
        type: 'line',
        step: 'end',
        showSymbol: false,
        data: [],
        lineStyle: { color: colors.up, width: 1 },
        areaStyle: { color: 'rgba(14,203,129,0.18)' },
      },
      {
        id: 'asks',
        type: 'line',
        step: 'start',
        showSymbol: false,
        data: [],
        lineStyle: { color: colors.down, width: 1 },
        areaStyle: { color: 'rgba(246,70,93,0.18)' },
      },
    ],
  }
  private chart: ECharts | null = null
  private frame = 0
  private unsubscribe: (() => void) | null = null

  constructor() {
    effect(() => {
      const { symbol } = this.market.route()
      if (this.market.unknownSymbol()) return
      untracked(() => this.follow(symbol))
    })
    effect(() => {
      this.book()
      untracked(() => this.scheduleDepth())
    })
  }

  ngOnDestroy(): void {
    this.unsubscribe?.()
    clearTimeout(this.frame)
  }

  onInit(chart: ECharts): void {
    this.chart = chart
    this.scheduleDepth()
  }

  private follow(symbol: string): void {
    this.unsubscribe?.()
    this.book.set(null)
    this.waiting.set(`waiting for the ${symbol} order book…`)
    const take = (b: Book | null) => {
      if (!b || b.symbol !== symbol) return
      this.market.learn(
        symbol,
        b.bids.slice(0, 5).map((l) => l[0]),
        b.bids.slice(0, 5).map((l) => l[1]),
      )
      this.book.set(b)
    }
    this.unsubscribe = this.api.subscribe<Book | null, Book>(
      { stream: 'orderbook', symbol },
      { initial: take, update: take },
    )
  }

  /** The depth chart follows at most 5 times a second (a whole-canvas redraw each time). */
  private scheduleDepth(): void {
    if (this.frame || !this.chart) return
    const wait = Math.max(0, this.lastDepth + 200 - performance.now())
    this.frame = window.setTimeout(() => requestAnimationFrame(() => this.drawDepth()), wait)
  }

  private lastDepth = 0

  private drawDepth(): void {
    this.frame = 0
    this.lastDepth = performance.now()
    const b = this.book()
    const cum = (levels: Level[]) => {
      let s = 0
      return levels.slice(0, LEVELS).map(([p, q]) => {
        s += Number(q)
        return [Number(p), s]
      })
    }
    this.chart?.setOption({
      series: [
        { id: 'bids', data: b ? cum(b.bids).reverse() : [] },
        { id: 'asks', data: b ? cum(b.asks) : [] },
      ],
    })
  }
}
