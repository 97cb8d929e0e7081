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
import { Api, readPrediction } from './api'
import { fmt, pct, time } from './format'
import { Market } from './market'
import type { Prediction } from './model'

// The next-5-minutes forecast for the selected symbol with its live skill beside the naive
// baseline; "no model yet" until the predictions topic has a record for the symbol.

@Component({
  selector: 'cs-prediction',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="pred" data-testid="prediction" [attr.data-state]="p() ? 'model' : 'none'">
      <span class="label muted">prediction</span>
      @if (p(); as p) {
        <span class="arrow" [class.up]="p.direction > 0" [class.down]="p.direction < 0">{{ p.direction > 0 ? '▲' : p.direction < 0 ? '▼' : '■' }}</span>
        <span>{{ p.predictedPrice === null ? '—' : fmt(p.predictedPrice, dp()) }}</span>
        <span [class.up]="(p.predictedReturn ?? 0) > 0" [class.down]="(p.predictedReturn ?? 0) < 0">({{ returnPct() }})</span>
        <span class="muted">in {{ horizon() }}</span>
        <span class="sep">·</span>
        <span data-testid="confidence">conf {{ p.confidence === null ? '—' : fmt(p.confidence, 2) }}</span>
        <span class="sep">·</span>
        <span data-testid="hit-rate">hit rate {{ rate(p.hitRate ?? scores().hitRate) }}
          <span class="muted">vs baseline {{ rate(p.baselineHitRate ?? scores().baseline) }}@if (scores().n; as n) { · {{ n }} scored }</span></span>
        <span class="sep">·</span>
        <span class="muted">model {{ p.modelVersion ?? '—' }}</span>
        @if (p.time !== null) { <span class="muted small">at {{ time(p.time) }}</span> }
      } @else {
        <span class="muted" data-testid="no-model">no model yet — predictions appear once a model is trained for {{ market.route().symbol }}</span>
      }
    </div>
  `,
  styles: `
    .pred { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; padding: 6px 10px; font-family: var(--mono); font-size: 12px; border-top: 1px solid var(--line); }
    .label { text-transform: uppercase; font-size: 10px; letter-spacing: 0.05em; }
    .arrow { font-size: 14px; }
    .sep { color: var(--muted); }
    .small { font-size: 11px; }
  `,
})
export class PredictionPanel implements OnDestroy {
  private readonly api = inject(Api)
  readonly market = inject(Market)
  readonly fmt = fmt
  readonly time = time
  readonly p = signal<Prediction | null>(null)
  readonly dp = computed(() => this.market.priceDecimals(this.market.route().symbol))
  readonly returnPct = computed(() => {
    const r = this.p()?.predictedReturn
    // a log return this small is the percent change to well within the 2 decimals shown
    return r === null || r === undefined ? '—' : pct(r * 100)
  })
  readonly horizon = computed(() => `${Math.round((this.p()?.horizonMs ?? 300_000) / 60_000)}m`)
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
    clearInterval(this.scoresTimer)
  }

  rate(v: number | null): string {
    if (v === null) return '—'
    return `${fmt(v <= 1 ? v * 100 : v, 1)}%`
  }

  /**
   * Live hit rate of the model and of the "last 5-minute sign" baseline. The prediction record
   * does not carry them; the scoring topology publishes them as gauges on the same registry the
   * gateway serves (`cs_prediction_hit_rate{symbol, model}`), read here every 15 s.
   */
  private async loadScores(symbol: string): Promise<void> {
    try {
      const res = await fetch('/metrics')
      if (!res.ok || symbol !== this.market.route().symbol) return
      const text = await res.text()
      const gauge = (model: string): number | null => {
        const re = new RegExp(
          `^cs_prediction_hit_rate\\{[^}]*symbol="${symbol}"[^}]*model="${model}"[^}]*\\} (\\S+)`,
          'm',
        )
        const alt = new RegExp(
          `^cs_prediction_hit_rate\\{[^}]*model="${model}"[^}]*symbol="${symbol}"[^}]*\\} (\\S+)`,
          'm',
        )
        const m = re.exec(text) ?? alt.exec(text)
        return m ? Number(m[1]) : null
      }
      const scored = new RegExp(
        `^cs_prediction_scores_total\\{[^}]*symbol="${symbol}"[^}]*\\} (\\S+)`,
        'm',
      ).exec(text)
      this.scores.set({
        hitRate: gauge('ridge'),
        baseline: gauge('last_5m_sign'),
        n: scored ? Number(scored[1]) : null,
      })
    } catch {
      // metrics not served here (a gateway without the engine): the record's own fields, or —
    }
  }

  readonly scores = signal<{ hitRate: number | null; baseline: number | null; n: number | null }>({
    hitRate: null,
    baseline: null,
    n: null,
  })
  private scoresTimer: ReturnType<typeof setInterval> | undefined

  private follow(symbol: string): void {
    this.unsubscribe?.()
    this.p.set(null)
    this.scores.set({ hitRate: null, baseline: null, n: null })
    clearInterval(this.scoresTimer)
    void this.loadScores(symbol)
    this.scoresTimer = setInterval(() => void this.loadScores(symbol), 15_000)
    const take = (x: unknown) => {
      const p = readPrediction(x)
      if (p && (p.symbol === '' || p.symbol === symbol)) this.p.set(p)
    }
    this.unsubscribe = this.api.subscribe<unknown, unknown>(
      { stream: 'prediction', symbol },
      { initial: take, update: take },
    )
  }
}
