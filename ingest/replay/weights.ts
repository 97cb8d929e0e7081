// Request weight per IP and wall-clock minute, as Binance counts it: every response carries the
// weight used so far (`X-MBX-USED-WEIGHT-1M`); a request that would go past the limit gets 429
// `-1003` with `Retry-After` (seconds to the next minute). Wall time, not virtual time: the limit
// is about how fast a client calls, whatever the replay speed. Bans (418) are not modelled.

export class WeightLimiter {
  readonly limit: number
  private minute = -1
  private readonly used = new Map<string, number>()

  constructor(limit: number) {
    this.limit = limit
  }

  /** Count `weight` for `ip` at wall time `now`: the weight used, or the seconds to wait. */
  take(ip: string, weight: number, now = Date.now()): { used: number; retryAfter?: number } {
    const m = Math.floor(now / 60_000)
    if (m !== this.minute) {
      this.minute = m
      this.used.clear()
    }
    const used = this.used.get(ip) ?? 0
    if (used + weight > this.limit)
      return { used, retryAfter: Math.max(1, Math.ceil(((m + 1) * 60_000 - now) / 1000)) }
    this.used.set(ip, used + weight)
    return { used: used + weight }
  }
}
