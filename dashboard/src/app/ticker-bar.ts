import { ChangeDetectionStrategy, Component, computed, effect, inject, signal } from '@angular/core'
import { compact, fmt, pct, signed } from './format'
import { Market } from './market'

// BTC/USDT  43,215.10 ▲  24h chg +812.40 +1.92%  vol …  — from the live 24 h ranking.
// The last price flashes green/red when it changes.

@Component({
  selector: 'cs-ticker-bar',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="bar" data-testid="ticker">
      <span class="sym">{{ pair() }}</span>
      @if (market.entry(); as e) {
        <span class="last" [class.flash-up]="flash() === 1" [class.flash-down]="flash() === -1"
          [class.up]="+e.priceChange > 0" [class.down]="+e.priceChange < 0" data-testid="last-price">
          {{ fmt(e.lastPrice, dp()) }} {{ +e.priceChange >= 0 ? '▲' : '▼' }}</span>
        <span class="kv"><span class="muted">24h chg</span>
          <span [class.up]="+e.priceChange > 0" [class.down]="+e.priceChange < 0">{{ signed(e.priceChange, dp()) }} {{ pct(e.priceChangePercent) }}</span></span>
        <span class="kv wide"><span class="muted">24h open</span> {{ fmt(e.openPrice, dp()) }}</span>
        <span class="kv wide"><span class="muted">24h vol</span> {{ compact(e.volume) }} {{ base() }}</span>
        <span class="kv wide"><span class="muted">quote vol</span> {{ compact(e.quoteVolume) }} {{ quote() }}</span>
        @if (e.partial) { <span class="muted wide" title="less than 24 h of data so far">partial window</span> }
      } @else {
        <span class="muted">{{ market.symbolsError() ? 'gateway unreachable, retrying…' : 'waiting for the 24 h ticker…' }}</span>
      }
    </div>
  `,
  styles: `
    .bar { display: flex; gap: 18px; align-items: baseline; padding: 6px 12px; font-family: var(--mono); font-size: 12px; white-space: nowrap; overflow: hidden; }
    .sym { font-size: 15px; font-weight: 600; color: var(--text-strong); font-family: var(--sans); }
    .last { font-size: 16px; padding: 0 4px; border-radius: 3px; transition: background-color 0.6s; }
    .flash-up { background: rgba(14, 203, 129, 0.25); transition: none; }
    .flash-down { background: rgba(246, 70, 93, 0.25); transition: none; }
    .kv { display: inline-flex; gap: 6px; }
    @media (max-width: 700px) { .wide { display: none; } .bar { gap: 10px; } }
  `,
})
export class TickerBar {
  readonly market = inject(Market)
  readonly fmt = fmt
  readonly pct = pct
  readonly signed = signed
  readonly compact = compact
  readonly flash = signal(0)
  readonly dp = computed(() => this.market.priceDecimals(this.market.route().symbol))
  private readonly info = computed(() => this.market.info(this.market.route().symbol))
  readonly base = computed(() => this.info()?.baseAsset ?? '')
  readonly quote = computed(() => this.info()?.quoteAsset ?? '')
  readonly pair = computed(() => {
    const i = this.info()
    return i ? `${i.baseAsset}/${i.quoteAsset}` : this.market.route().symbol
  })
  private last: { symbol: string; price: number } | null = null
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor() {
    effect(() => {
      const e = this.market.entry()
      if (!e) return
      const price = Number(e.lastPrice)
      if (this.last?.symbol === e.symbol && price !== this.last.price) {
        this.flash.set(price > this.last.price ? 1 : -1)
        clearTimeout(this.timer)
        this.timer = setTimeout(() => this.flash.set(0), 400)
      }
      this.last = { symbol: e.symbol, price }
    })
  }
}
