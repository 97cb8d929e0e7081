import { computed, Injectable, inject, signal } from '@angular/core'
import { Api } from './api'
import { decimalsOf, inferDecimals } from './format'
import { type Interval, intervals, type Ranking, type SymbolInfo } from './model'

// What the whole screen shares: the selected market (from the URL hash, `#/BTCUSDT/1h`), the
// exchange precision of every symbol, and the live 24 h ranking (ticker bar + markets table).

export interface Route {
  symbol: string
  interval: Interval
}

const DEFAULT: Route = { symbol: 'BTCUSDT', interval: '1m' }

export function parseHash(hash: string): Route {
  const [sym, iv] = hash.replace(/^#\/?/, '').split('/')
  const symbol = (sym ?? '').toUpperCase()
  return {
    symbol: /^[A-Z0-9]{2,20}$/.test(symbol) ? symbol : DEFAULT.symbol,
    interval: intervals.includes(iv as Interval) ? (iv as Interval) : DEFAULT.interval,
  }
}

@Injectable({ providedIn: 'root' })
export class Market {
  private readonly api = inject(Api)
  readonly route = signal<Route>(parseHash(location.hash))
  readonly symbols = signal<SymbolInfo[] | null>(null)
  readonly symbolsError = signal<string | null>(null)
  readonly ranking = signal<Ranking | null>(null)
  readonly replay = signal<string | null>(null)
  /** Decimals learnt from the data when exchangeInfo gave none. */
  private readonly seen = new Map<string, { price: number; size: number }>()

  readonly known = computed(() => {
    const list = this.symbols()
    return list === null ? null : new Set(list.map((s) => s.symbol))
  })
  /** The symbol in the URL is not one the platform serves. */
  readonly unknownSymbol = computed(() => {
    const known = this.known()
    return known !== null && known.size > 0 && !known.has(this.route().symbol)
  })
  readonly entry = computed(
    () => this.ranking()?.gainers.find((e) => e.symbol === this.route().symbol) ?? null,
  )

  constructor() {
    addEventListener('hashchange', () => this.route.set(parseHash(location.hash)))
    void this.loadSymbols()
    void this.loadReplay()
    this.api.subscribe<Ranking | null, Ranking>(
      { stream: 'ranking' },
      { initial: (r) => r && this.ranking.set(r), update: (r) => this.ranking.set(r) },
    )
  }

  go(symbol: string, interval: Interval = this.route().interval): void {
    const hash = `#/${symbol}/${interval}`
    if (location.hash !== hash) location.hash = hash
    this.route.set({ symbol, interval })
  }

  info(symbol: string): SymbolInfo | undefined {
    return this.symbols()?.find((s) => s.symbol === symbol)
  }

  priceDecimals(symbol: string): number {
    const i = this.info(symbol)
    return decimalsOf(i?.tickSize) ?? i?.pricePrecision ?? this.seen.get(symbol)?.price ?? 2
  }

  sizeDecimals(symbol: string): number {
    const i = this.info(symbol)
    return decimalsOf(i?.stepSize) ?? i?.quantityPrecision ?? this.seen.get(symbol)?.size ?? 4
  }

  /** Records the decimals a symbol's data uses, for symbols without exchange filters. */
  learn(symbol: string, prices: string[], sizes: string[]): void {
    const i = this.info(symbol)
    if (i?.tickSize && i.stepSize) return
    const old = this.seen.get(symbol) ?? { price: 0, size: 0 }
    this.seen.set(symbol, {
      price: Math.max(old.price, inferDecimals(prices)),
      size: Math.max(old.size, inferDecimals(sizes)),
    })
  }

  private async loadSymbols(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.api.get<{ symbols: SymbolInfo[] }>('/symbols')
        this.symbols.set(r.symbols)
        this.symbolsError.set(null)
        return
      } catch (e) {
        this.symbolsError.set((e as Error).message)
        await new Promise((r) => setTimeout(r, Math.min(5000, 1000 * (attempt + 1))))
      }
    }
  }

  private clock: { wall: number; market: number }[] = []

  /**
   * Market time seen in live data (trade times). When it runs faster than the wall clock or far
   * behind it, the source is a replay: its speed is shown unless /health already named it.
   */
  observe(marketTime: number): void {
    const wall = Date.now()
    const c = this.clock
    if (c.length > 0 && wall - c[c.length - 1].wall < 250) return
    c.push({ wall, market: marketTime })
    while (c.length > 2 && wall - c[0].wall > 10_000) c.shift()
    if (c.length < 5 || this.replayFromHealth) return
    const speed = (marketTime - c[0].market) / (wall - c[0].wall)
    const behind = wall - marketTime > 3_600_000
    if ((speed > 1.5 || behind) && Number.isFinite(speed) && speed > 0) {
      const shown = speed >= 10 ? Math.round(speed / 10) * 10 : Math.round(speed)
      this.replay.set(`~${shown}×`)
    } else this.replay.set(null)
  }

  private replayFromHealth = false

  /** Replay speed, when the health report names a replay source (`60×`). */
  private async loadReplay(): Promise<void> {
    try {
      // the body names the dependencies also while starting (503)
      const h = (await (await fetch('/health')).json()) as { dependencies?: Record<string, unknown> }
      const text = JSON.stringify(h.dependencies ?? {})
      const m = /replay[^}]*?(?:speed|×)[^0-9a-z]*([0-9.]+|max)/i.exec(text)
      if (m) {
        this.replayFromHealth = true
        this.replay.set(m[1] === 'max' ? 'max' : `${m[1]}×`)
      }
    } catch {
      // unreachable: the status badge shows the connection state anyway
    }
  }
}
