import { messagesConflated, messagesDropped, messagesOut } from './metrics.ts'

// One client's outgoing messages. While the connection keeps up, messages go straight out; when
// its write buffer is full they wait here, where a newer update of the same thing (a candle by
// openTime, a symbol's order book, the ranking) replaces the pending one, and past `maxPending`
// new updates are dropped (trades) — counted either way. Nothing here ever waits on one client,
// so a slow client never delays the others.

export interface ClientLink {
  readonly kind: 'socketio' | 'ws'
  /** True while the transport can take more without queueing in memory. */
  writable(): boolean
  send(event: string, payload: unknown): void
}

export interface OutboxLimits {
  /** Pending messages per client before updates are dropped (default 1000). */
  maxPending?: number
}

interface Pending {
  event: string
  stream: string
  payload: unknown
}

let unique = 0

export class Outbox {
  private readonly link: ClientLink
  private readonly maxPending: number
  private readonly pending = new Map<string, Pending>()

  constructor(link: ClientLink, limits: OutboxLimits = {}) {
    this.link = link
    this.maxPending = limits.maxPending ?? 1000
  }

  /**
   * Queues or sends. `key` names what the message is the latest state of (undefined: a message
   * that cannot be replaced, such as a trade or an initial snapshot).
   */
  push(event: string, stream: string, payload: unknown, key?: string): void {
    if (this.pending.size === 0 && this.link.writable()) {
      this.out(event, stream, payload)
      return
    }
    if (key !== undefined && this.pending.has(key)) {
      this.pending.set(key, { event, stream, payload })
      messagesConflated.inc({ kind: this.link.kind, stream })
      return
    }
    if (this.pending.size >= this.maxPending && event === 'update') {
      messagesDropped.inc({ kind: this.link.kind, stream })
      return
    }
    this.pending.set(key ?? `#${++unique}`, { event, stream, payload })
  }

  /** Sends what waits while the transport can take it; call when the connection drains. */
  flush(): void {
    for (const [k, m] of this.pending) {
      if (!this.link.writable()) return
      this.pending.delete(k)
      this.out(m.event, m.stream, m.payload)
    }
  }

  get size(): number {
    return this.pending.size
  }

  private out(event: string, stream: string, payload: unknown): void {
    this.link.send(event, payload)
    messagesOut.inc({ kind: this.link.kind, stream })
  }
}
