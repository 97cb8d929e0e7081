import type { Kline } from '../../common/records.ts'
import { parseKline } from '../../common/records.ts'
import type { DepthSnapshot } from './book/sync.ts'
import { IngestError } from './errors.ts'

// The three REST calls ingest needs, against a base URL (Binance or the local replay server).
export class BinanceRest {
  private readonly base: string

  constructor(base: string) {
    this.base = base.replace(/\/$/, '')
  }

  private async get(path: string): Promise<unknown> {
    const url = `${this.base}${path}`
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok)
      throw new IngestError('REST', `GET ${url} → ${res.status} ${(await res.text()).slice(0, 200)}`)
    return res.json()
  }

  async symbols(): Promise<Set<string>> {
    const info = (await this.get('/api/v3/exchangeInfo')) as { symbols?: { symbol: string }[] }
    return new Set((info.symbols ?? []).map((s) => s.symbol))
  }

  async depth(symbol: string, limit: number): Promise<DepthSnapshot> {
    return (await this.get(`/api/v3/depth?symbol=${symbol}&limit=${limit}`)) as DepthSnapshot
  }

  /** One page (≤ 1000) of 1m klines from `startTime` (or the latest ones without it). */
  async klines1m(symbol: string, startTime?: number, endTime?: number, limit = 1000): Promise<Kline[]> {
    let q = `/api/v3/klines?symbol=${symbol}&interval=1m&limit=${limit}`
    if (startTime !== undefined) q += `&startTime=${startTime}`
    if (endTime !== undefined) q += `&endTime=${endTime}`
    const rows = (await this.get(q)) as unknown[][]
    if (!Array.isArray(rows)) throw new IngestError('REST', 'klines: expected an array')
    return rows.map((r) =>
      parseKline({
        symbol,
        interval: '1m',
        openTime: r[0],
        closeTime: r[6],
        open: r[1],
        high: r[2],
        low: r[3],
        close: r[4],
        volume: r[5],
        quoteVolume: r[7],
        trades: r[8],
        takerBuyBase: r[9],
        takerBuyQuote: r[10],
        closed: true,
      }),
    )
  }
}
