// Virtual time. A numeric speed maps wall time onto market time (now = from + speed × elapsed)
// and keeps running with no client connected: it is a market, not a tape waiting for a reader.
// 'max' has no wall mapping: the feed moves the clock as fast as clients consume (server.ts).

export type Speed = number | 'max'

export class VirtualClock {
  private readonly from: number
  readonly speed: Speed
  private readonly start = performance.now()
  /** For 'max': the feed's position. */
  cursor: number

  constructor(from: number, speed: Speed) {
    if (speed !== 'max' && !(speed > 0)) throw new Error(`replay speed must be > 0 or 'max', got ${speed}`)
    this.from = from
    this.speed = speed
    this.cursor = from
  }

  now(): number {
    if (this.speed === 'max') return this.cursor
    return Math.floor(this.from + this.speed * (performance.now() - this.start))
  }
}
