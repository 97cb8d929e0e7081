import WebSocket from 'ws'
import { createLogger } from '../../common/log.ts'
import { reconnects } from './metrics.ts'

// One combined-stream WebSocket (≤ 1024 streams, subscribed through the URL so we never send
// control messages: Binance's 5 incoming msgs/s limit is only touched by pongs, which `ws`
// sends automatically in answer to the server's pings, autoPong default).
// Keeps itself alive: per-stream staleness watchdog, exponential backoff with full jitter,
// and rotation before Binance's 24 h cut-off (the replacement opens first, then the old one
// closes, so there is no gap; the overlap's duplicates are dropped downstream).

const log = createLogger('ingest.ws')

export interface ConnectionOptions {
  url: string
  streams: string[]
  onMessage: (raw: string) => void
  /** Called after a connection was lost and a new one opened: data in between is missing. */
  onGap: () => void
  staleMs: number
  rotateMs: number
  backoffBaseMs: number
  backoffMaxMs: number
}

export class StreamConnection {
  private readonly o: ConnectionOptions
  private ws: WebSocket | undefined
  private readonly lastSeen = new Map<string, number>()
  private attempt = 0
  private closed = false
  private lostData = false
  private watchdog: NodeJS.Timeout | undefined
  private rotateTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined

  constructor(o: ConnectionOptions) {
    this.o = o
  }

  start(): void {
    this.open()
    this.watchdog = setInterval(() => this.checkStale(), Math.min(1000, this.o.staleMs / 2))
    this.watchdog.unref()
  }

  /** The caller saw a message of `stream` (it parsed the envelope). */
  touch(stream: string): void {
    this.lastSeen.set(stream, Date.now())
  }

  private open(): void {
    const ws = new WebSocket(this.o.url, { maxPayload: 4 << 20, handshakeTimeout: 10_000 })
    ws.on('message', (data, isBinary) => {
      this.attempt = 0
      this.o.onMessage(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString())
    })
    let opened = false
    ws.on('open', () => {
      opened = true
      const old = this.ws
      this.ws = ws
      const now = Date.now()
      for (const s of this.o.streams) this.lastSeen.set(s, now)
      if (old && old !== ws) old.close(1000, 'rotated')
      clearTimeout(this.rotateTimer)
      this.rotateTimer = setTimeout(() => this.rotate(), this.o.rotateMs)
      this.rotateTimer.unref()
      if (this.lostData) {
        this.lostData = false
        this.o.onGap()
      }
    })
    ws.on('error', (e) => log.warn('websocket error', { error: e.message }))
    ws.on('close', (code) => {
      if (this.closed) return
      if (this.ws !== undefined && ws !== this.ws) {
        // a rotated-away connection, or a replacement that never opened: try rotating again later
        if (!opened) this.rotateTimer = setTimeout(() => this.rotate(), this.o.backoffMaxMs).unref()
        return
      }
      reconnects.inc({ reason: code === 1006 ? 'error' : 'close' })
      this.retry()
    })
    if (!this.ws) this.ws = ws
  }

  private retry(): void {
    if (this.closed) return
    this.lostData = true
    const ws = this.ws
    this.ws = undefined
    ws?.removeAllListeners('close')
    ws?.terminate()
    const cap = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 20)
    const delay = Math.random() * cap
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.open(), delay)
  }

  private rotate(): void {
    if (this.closed) return
    reconnects.inc({ reason: 'rotate' })
    this.open() // swaps in on 'open'
  }

  private checkStale(): void {
    if (this.closed || this.ws?.readyState !== WebSocket.OPEN) return
    const limit = Date.now() - this.o.staleMs
    for (const s of this.o.streams) {
      if ((this.lastSeen.get(s) ?? 0) < limit) {
        log.warn('stream stale, reconnecting', { stream: s })
        reconnects.inc({ reason: 'stale' })
        this.retry()
        return
      }
    }
  }

  close(): void {
    this.closed = true
    clearInterval(this.watchdog)
    clearTimeout(this.rotateTimer)
    clearTimeout(this.retryTimer)
    this.ws?.close(1000, 'shutdown')
    this.ws = undefined
  }
}
