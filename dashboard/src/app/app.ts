import { ChangeDetectionStrategy, Component, effect, inject, signal, untracked } from '@angular/core'
import { Api } from './api'
import { Market } from './market'
import { MarketChart } from './market-chart'
import { OrderBook } from './order-book'
import { PredictionPanel } from './prediction'
import { RankingTable } from './ranking'
import { StatusBadge } from './status'
import { TickerBar } from './ticker-bar'
import { TradesTape } from './trades-tape'

// The trading screen: ticker bar; markets | chart + prediction | order book + trades.
// Below 900 px wide the three columns become tabs (Chart · Book · Trades · Markets).

type Tab = 'chart' | 'book' | 'trades' | 'markets'

@Component({
  selector: 'cs-root',
  imports: [TickerBar, MarketChart, OrderBook, TradesTape, RankingTable, PredictionPanel, StatusBadge],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header>
      <cs-ticker-bar />
      <span class="phone-status"><cs-status /></span>
    </header>
    @if (api.link() === 'reconnecting') {
      <div class="banner" data-testid="banner">{{ api.lastError() }} — retrying in {{ api.retryIn() }} s</div>
    }
    <nav class="tabs" role="tablist">
      @for (t of tabs; track t.id) {
        <button type="button" role="tab" [class.on]="tab() === t.id" (click)="tab.set(t.id)" [attr.data-tab]="t.id">{{ t.label }}</button>
      }
    </nav>
    @if (market.unknownSymbol()) {
      <main class="unknown" data-testid="unknown-symbol">
        <p>Unknown symbol <b>{{ market.route().symbol }}</b> — this platform serves:</p>
        <p class="links">
          @for (s of market.symbols() ?? []; track s.symbol) { <a [href]="'#/' + s.symbol + '/' + market.route().interval">{{ s.symbol }}</a> }
        </p>
      </main>
    } @else {
      <main [attr.data-tab]="tab()">
        <section class="markets panel" [class.show]="tab() === 'markets'"><cs-ranking /></section>
        <section class="center panel" [class.show]="tab() === 'chart'">
          <cs-market-chart />
          <cs-prediction />
        </section>
        <section class="right">
          <div class="book panel" [class.show]="tab() === 'book'"><div class="title">Order book</div><cs-order-book /></div>
          <div class="tape panel" [class.show]="tab() === 'trades'"><div class="title">Trades</div><cs-trades-tape /></div>
        </section>
      </main>
    }
  `,
  styles: `
    :host { display: flex; flex-direction: column; height: 100vh; }
    header { display: flex; align-items: center; border-bottom: 1px solid var(--line); background: var(--panel); }
    header cs-ticker-bar { flex: 1; min-width: 0; }
    .phone-status { display: none; padding-right: 10px; }
    .banner { background: #3a2a00; color: var(--accent); padding: 4px 12px; font-size: 12px; }
    .tabs { display: none; }
    main { flex: 1; min-height: 0; display: grid; grid-template-columns: 300px minmax(0, 1fr) 290px; grid-template-rows: minmax(0, 1fr); }
    main > section { min-height: 0; overflow: hidden; }
    .markets { border-right: 1px solid var(--line); overflow: auto; }
    .center { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
    .center cs-market-chart { flex: 1; min-height: 0; }
    .right { border-left: 1px solid var(--line); display: grid; grid-template-rows: 62% 38%; min-height: 0; }
    .book, .tape { display: flex; flex-direction: column; min-height: 0; }
    .book cs-order-book, .tape cs-trades-tape { flex: 1; min-height: 0; }
    .tape { border-top: 1px solid var(--line); }
    .title { font-size: 11px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); padding: 4px 8px 0; }
    .unknown { display: block; padding: 32px; }
    .links a { margin-right: 10px; }
    @media (max-width: 900px) {
      .phone-status { display: block; }
      .tabs { display: flex; border-bottom: 1px solid var(--line); }
      .tabs button { flex: 1; border-radius: 0; padding: 8px 0; border: none; border-bottom: 2px solid transparent; }
      .tabs button.on { border-bottom-color: var(--accent); background: transparent; }
      main { display: flex; flex-direction: column; }
      .right { display: contents; }
      .panel { display: none !important; flex: 1; min-height: 0; border: none; }
      .panel.show { display: flex !important; flex-direction: column; }
      .markets.show { display: block !important; }
    }
  `,
})
export class App {
  readonly api = inject(Api)
  readonly market = inject(Market)
  readonly tab = signal<Tab>('chart')
  readonly tabs: { id: Tab; label: string }[] = [
    { id: 'chart', label: 'Chart' },
    { id: 'book', label: 'Book' },
    { id: 'trades', label: 'Trades' },
    { id: 'markets', label: 'Markets' },
  ]

  constructor() {
    // opening a market from the list on a phone shows its chart
    let previous = this.market.route().symbol
    effect(() => {
      const symbol = this.market.route().symbol
      if (symbol !== previous && untracked(this.tab) === 'markets') this.tab.set('chart')
      previous = symbol
    })
  }
}
