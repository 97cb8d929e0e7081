import { type Rng, rng } from './rng.ts'

// Fault injection, seeded apart from the market so that turning faults on does not change the
// data. Rates: `dropRate` and `junkRate` are probabilities per virtual minute, `gapRate` per
// depth diff and symbol, `restErrorRate` per REST request. Tests also trigger faults on demand.

export interface FaultOptions {
  /** Drop every WebSocket connection (probability per virtual minute). */
  dropRate?: number
  /** Send a malformed / truncated / huge / unknown-stream frame (per virtual minute). */
  junkRate?: number
  /** Skip a `@depth@100ms` diff: a sequence gap for the client (per diff and symbol). */
  gapRate?: number
  /** Answer a REST request with 503 or 429 + Retry-After (per request). */
  restErrorRate?: number
}

export interface FaultStats {
  drops: number
  junk: number
  gaps: number
  restErrors: number
}

export const JUNK_KINDS = [
  'bad_record',
  'truncated',
  'unknown_stream',
  'huge',
  'not_envelope',
  'not_json',
] as const

export function junkFrame(kind: (typeof JUNK_KINDS)[number], stream: string): string {
  switch (kind) {
    case 'bad_record':
      return `{"stream":"${stream}","data":{"e":"kline","k":{"t":"oops"}}}`
    case 'truncated':
      return `{"stream":"${stream}","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"1`
    case 'unknown_stream':
      return '{"stream":"evil@stream","data":{}}'
    case 'huge':
      // over the 1 MiB a careful client accepts, under ws's default 100 MiB frame limit
      return `{"stream":"${stream}","data":{"p":"${'9'.repeat(1_100_000)}"}}`
    case 'not_envelope':
      return '[1,2,3]'
    default:
      return 'not json at all'
  }
}

export class Faults {
  readonly o: FaultOptions
  readonly stats: FaultStats = { drops: 0, junk: 0, gaps: 0, restErrors: 0 }
  private readonly r: Rng
  private readonly forcedGaps = new Map<string, number>()
  private forcedRest: { status: number; n: number } | undefined

  constructor(o: FaultOptions, seed: number) {
    this.o = o
    this.r = rng(seed, 'faults')
  }

  /** Called once per virtual minute: what to do to the connections. */
  minute(): { drop: boolean; junk: (typeof JUNK_KINDS)[number] | undefined } {
    const drop = this.r() < (this.o.dropRate ?? 0)
    const junk =
      this.r() < (this.o.junkRate ?? 0) ? JUNK_KINDS[Math.floor(this.r() * JUNK_KINDS.length)] : undefined
    return { drop, junk }
  }

  injectGap(symbol: string, n = 1): void {
    this.forcedGaps.set(symbol, (this.forcedGaps.get(symbol) ?? 0) + n)
  }

  skipDiff(symbol: string): boolean {
    const forced = this.forcedGaps.get(symbol) ?? 0
    if (forced > 0) this.forcedGaps.set(symbol, forced - 1)
    const skip = forced > 0 || this.r() < (this.o.gapRate ?? 0)
    if (skip) this.stats.gaps++
    return skip
  }

  failRest(status: number, n = 1): void {
    this.forcedRest = { status, n }
  }

  /** A status to fail this REST request with, or undefined. */
  restFailure(): number | undefined {
    if (this.forcedRest && this.forcedRest.n > 0) {
      this.forcedRest.n--
      this.stats.restErrors++
      return this.forcedRest.status
    }
    if (this.r() < (this.o.restErrorRate ?? 0)) {
      this.stats.restErrors++
      return this.r() < 0.5 ? 503 : 429
    }
    return undefined
  }
}
