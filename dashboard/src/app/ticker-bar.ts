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
import { compact, fmt, pct, signed } from './format'
import { Market } from './market'
import type { Kline } from './model'

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
        <span class="kv" [class.up]="+e.priceChange > 0" [class.down]="+e.priceChange < 0"><span class="muted wide">24h chg</span>
          <span class="wide">{{ signed(e.priceChange, dp()) }}</span> <span>{{ pct(e.priceChangePercent) }}</span></span>
        @if (range(); as r) {
          <span class="kv wide"><span class="muted">24h high</span> {{ fmt(max(r.high, +e.lastPrice), dp()) }}</span>
          <span class="kv wide"><span class="muted">low</span> {{ fmt(min(r.low, +e.lastPrice), dp()) }}</span>
        }
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
export class TickerBar implements OnDestroy {
  readonly market = inject(Market)
  private readonly api = inject(Api)
  readonly max = Math.max
  readonly min = Math.min
  /** 24 h high and low from the last 1440 one-minute candles, re-read every minute. */
  readonly range = signal<{ high: number; low: number } | null>(null)
  private rangeTimer: ReturnType<typeof setInterval> | undefined
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
      const { symbol } = this.market.route()
      untracked(() => {
        this.range.set(null)
        clearInterval(this.rangeTimer)
        void this.loadRange(symbol)
        this.rangeTimer = setInterval(() => void this.loadRange(symbol), 60_000)
      })
    })
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

  ngOnDestroy(): void {
    clearInterval(this.rangeTimer)
  }

  private async loadRange(symbol: string): Promise<void> {
    try {
      const r = await this.api.get<{ candles: Kline[] }>('/ohlc/realtime', { symbol, limit: 1440 })
      if (symbol !== this.market.route().symbol || r.candles.length === 0) return
      let high = Number.NEGATIVE_INFINITY
      let low = Number.POSITIVE_INFINITY
      for (const k of r.candles) {
        high = Math.max(high, +k.high)
        low = Math.min(low, +k.low)
      }
      this.range.set({ high, low })
    } catch {
      // unknown or not yet served: the bar shows the rest
    }
  }
}
