import { setTimeout as sleep } from 'node:timers/promises'
import type { Kline } from '../../common/records.ts'
import { parseKline } from '../../common/records.ts'
import type { DepthSnapshot } from './book/sync.ts'
import { IngestError } from './errors.ts'

// The three REST calls ingest needs, against a base URL (Binance or the local replay server).
// Transient failures (network, 5xx, 429 rate limit, 418 ban) are retried a bounded number of
// times; 429/418 wait what Retry-After says, as Binance requires (hammering on turns a 429
// into a ban), and a wait longer than `maxWaitMs` fails at once with the reason.

export interface RestOptions {
  retries?: number
  backoffMs?: number
  maxWaitMs?: number
}

export class BinanceRest {
  private readonly base: string
  private readonly o: Required<RestOptions>

  constructor(base: string, options: RestOptions = {}) {
    this.base = base.replace(/\/$/, '')
    this.o = { retries: 4, backoffMs: 250, maxWaitMs: 60_000, ...options }
  }

  private async get(path: string): Promise<unknown> {
    const url = `${this.base}${path}`
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.o.retries
      const backoff = Math.min(this.o.maxWaitMs, this.o.backoffMs * 2 ** attempt)
      let res: Response
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
      } catch (e) {
        if (last) throw new IngestError('REST', `GET ${url} failed: ${(e as Error).message}`, { cause: e })
        await sleep(backoff)
        continue
      }
      if (res.ok) return res.json()
      const body = (await res.text()).slice(0, 200)
      const limited = res.status === 429 || res.status === 418
      const wait = limited ? Number(res.headers.get('retry-after') ?? 1) * 1000 : backoff
      if (last || !(limited || res.status >= 500) || wait > this.o.maxWaitMs)
        throw new IngestError(
          limited ? 'RATE_LIMITED' : 'REST',
          `GET ${url} → ${res.status} ${body}${limited ? ` (Retry-After ${wait / 1000} s)` : ''}`,
        )
      await sleep(wait)
    }
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
