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
import { Api } from './api'
import { fmt, localZone, time } from './format'
import { Market } from './market'
import type { Trade } from './model'

// Latest trades, newest on top: buys (taker bought) green, sells red.

const KEEP = 60

@Component({
  selector: 'cs-trades-tape',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="head"><span>Time ({{ zone }})</span><span>Price</span><span>Size</span></div>
    @if (trades().length > 0) {
      <div class="rows" data-testid="trades" [attr.data-last]="trades()[0].id">
        @for (t of trades(); track t.id) {
          <div class="row" [class.buy]="!t.buyerIsMaker" [class.sell]="t.buyerIsMaker">
            <span class="muted">{{ time(t.time) }}</span><span class="p">{{ fmt(t.price, dp()) }}</span><span>{{ fmt(t.qty, ds()) }}</span>
          </div>
        }
      </div>
    } @else {
      <div class="empty muted" data-testid="trades-empty">waiting for {{ market.route().symbol }} trades…</div>
    }
  `,
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; font-family: var(--mono); font-size: 12px; }
    .head, .row { display: grid; grid-template-columns: 1fr 1.1fr 1fr; padding: 0 8px; text-align: right; }
    .head span:first-child, .row span:first-child { text-align: left; }
    .head { color: var(--muted); font-size: 11px; padding-top: 4px; padding-bottom: 2px; }
    .rows { flex: 1; min-height: 0; overflow: hidden; }
    .row { line-height: 17px; }
    .buy .p { color: var(--up); } .sell .p { color: var(--down); }
    .empty { flex: 1; display: grid; place-items: center; }
  `,
})
export class TradesTape implements OnDestroy {
  private readonly api = inject(Api)
  readonly market = inject(Market)
  readonly fmt = fmt
  readonly time = time
  readonly zone = localZone
  readonly trades = signal<Trade[]>([])
  readonly dp = computed(() => this.market.priceDecimals(this.market.route().symbol))
  readonly ds = computed(() => this.market.sizeDecimals(this.market.route().symbol))
  private unsubscribe: (() => void) | null = null

  constructor() {
    effect(() => {
      const { symbol } = this.market.route()
      if (this.market.unknownSymbol()) return
      untracked(() => this.follow(symbol))
    })
  }

  ngOnDestroy(): void {
    this.unsubscribe?.()
  }

  private follow(symbol: string): void {
    this.unsubscribe?.()
    this.trades.set([])
    this.unsubscribe = this.api.subscribe<Trade[], Trade>(
      { stream: 'trades', symbol, limit: KEEP },
      {
        initial: (list) => {
          this.trades.set(list.slice(0, KEEP))
          this.market.learn(
            symbol,
            list.slice(0, 20).map((t) => t.price),
            list.slice(0, 20).map((t) => t.qty),
          )
        },
        update: (t) => {
          const list = this.trades()
          if (list.length > 0 && t.id <= list[0].id) return
          this.market.observe(t.time)
          this.trades.set([t, ...list.slice(0, KEEP - 1)])
        },
      },
    )
  }
}
