import { createLogger } from '../common/log.ts'

// The configured symbols with their price tick and quantity step (exchangeInfo PRICE_FILTER and
// LOT_SIZE): the dashboard formats prices and sizes with them. Read once from the Binance REST
// base (the replay server in the one-command run); while it cannot be reached the sizes are null
// and the next request after `retryMs` tries again.

const log = createLogger('gateway.symbols')

export interface SymbolInfo {
  symbol: string
  baseAsset: string
  quoteAsset: string
  tickSize: string | null
  stepSize: string | null
  /** Decimals of tickSize / stepSize. */
  pricePrecision: number | null
  quantityPrecision: number | null
}

interface ExchangeSymbol {
  symbol: string
  baseAsset: string
  quoteAsset: string
  filters: { filterType: string; tickSize?: string; stepSize?: string }[]
}

/** "0.01000000" → 2, "1.00000000" → 0. */
export function decimalsOf(size: string): number {
  const frac = size.split('.')[1]?.replace(/0+$/, '') ?? ''
  return frac.length
}

const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY']

function guess(symbol: string): SymbolInfo {
  const quote = QUOTES.find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? ''
  return {
    symbol,
    baseAsset: symbol.slice(0, symbol.length - quote.length),
    quoteAsset: quote,
    tickSize: null,
    stepSize: null,
    pricePrecision: null,
    quantityPrecision: null,
  }
}

export class SymbolCatalog {
  readonly symbols: readonly string[]
  private readonly restUrl: string | undefined
  private readonly retryMs: number
  private known: SymbolInfo[] | undefined
  private triedAt = Number.NEGATIVE_INFINITY

  constructor(symbols: readonly string[], restUrl?: string, retryMs = 30_000) {
    this.symbols = symbols
    this.restUrl = restUrl?.replace(/\/$/, '')
    this.retryMs = retryMs
  }

  async list(): Promise<SymbolInfo[]> {
    if (this.known) return this.known
    if (this.restUrl && Date.now() - this.triedAt >= this.retryMs) {
      this.triedAt = Date.now()
      try {
        this.known = await this.fetch(this.restUrl)
        return this.known
      } catch (e) {
        log.warn('exchangeInfo unavailable; sizes unknown for now', { error: (e as Error).message })
      }
    }
    return this.symbols.map(guess)
  }

  private async fetch(base: string): Promise<SymbolInfo[]> {
    const q = encodeURIComponent(JSON.stringify(this.symbols))
    const res = await fetch(`${base}/api/v3/exchangeInfo?symbols=${q}`, { signal: AbortSignal.timeout(5000) })
    if (!res.ok) throw new Error(`exchangeInfo → ${res.status}`)
    const info = (await res.json()) as { symbols: ExchangeSymbol[] }
    const bySymbol = new Map(info.symbols.map((s) => [s.symbol, s]))
    return this.symbols.map((symbol) => {
      const s = bySymbol.get(symbol)
      if (!s) return guess(symbol)
      const tick = s.filters.find((f) => f.filterType === 'PRICE_FILTER')?.tickSize ?? null
      const step = s.filters.find((f) => f.filterType === 'LOT_SIZE')?.stepSize ?? null
      return {
        symbol,
        baseAsset: s.baseAsset,
        quoteAsset: s.quoteAsset,
        tickSize: tick,
        stepSize: step,
        pricePrecision: tick === null ? null : decimalsOf(tick),
        quantityPrecision: step === null ? null : decimalsOf(step),
      }
    })
  }
}
