import { Injectable, signal } from '@angular/core'
import { io, type Socket } from 'socket.io-client'
import type { Prediction } from './model'

// One connection to the gateway: REST on the page's origin, one Socket.IO socket for every live
// stream. Reconnects itself with a visible countdown (the status badge) and re-subscribes, so each
// panel receives a fresh `initial` snapshot after an outage and never shows a gap silently.

export type Link = 'connecting' | 'live' | 'reconnecting'

export interface Subscription {
  stream: string
  symbol?: string
  interval?: string
  limit?: number
}

export interface StreamHandler<I, U> {
  initial(data: I): void
  update(data: U): void
}

export class HttpError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

const BACKOFF_MS = [1000, 2000, 3000, 5000]

interface Entry {
  sub: Subscription
  handler: StreamHandler<unknown, unknown>
}

@Injectable({ providedIn: 'root' })
export class Api {
  readonly origin = location.origin
  readonly link = signal<Link>('connecting')
  /** Seconds until the next reconnect attempt while reconnecting. */
  readonly retryIn = signal(0)
  readonly lastError = signal<string | null>(null)
  /** Live messages received (the e2e test reads it to report the update rate). */
  messages = 0

  private socket: Socket
  private readonly channels = new Map<string, Entry[]>()
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private countdown: ReturnType<typeof setInterval> | undefined

  constructor() {
    // reconnection by hand: the countdown shown is the real delay
    this.socket = io(this.origin, { path: '/socket.io', reconnection: false, transports: ['websocket'] })
    this.socket.on('connect', () => {
      this.attempt = 0
      this.clearRetry()
      this.link.set('live')
      this.lastError.set(null)
      for (const [, entries] of this.channels) if (entries.length > 0) this.emitSubscribe(entries[0].sub)
    })
    this.socket.on('disconnect', (reason) => {
      this.lastError.set(`gateway connection lost (${reason})`)
      this.scheduleRetry()
    })
    this.socket.on('connect_error', (e) => {
      this.lastError.set(`gateway unreachable at ${this.origin} (${e.message})`)
      this.scheduleRetry()
    })
    this.socket.on('initial', (m: { channel: string; data: unknown }) => {
      for (const e of this.channels.get(m.channel) ?? []) e.handler.initial(m.data)
    })
    ;(window as unknown as { csApi: Api }).csApi = this
    this.socket.on('update', (m: { channel: string; data: unknown }) => {
      this.messages++
      for (const e of this.channels.get(m.channel) ?? []) e.handler.update(m.data)
    })
  }

  /** Subscribes a live stream; returns the unsubscribe function. */
  subscribe<I, U>(sub: Subscription, handler: StreamHandler<I, U>): () => void {
    const key = channelOf(sub)
    const entry: Entry = { sub, handler: handler as StreamHandler<unknown, unknown> }
    const list = this.channels.get(key) ?? []
    list.push(entry)
    this.channels.set(key, list)
    if (this.socket.connected) this.emitSubscribe(sub)
    return () => {
      const l = this.channels.get(key) ?? []
      const i = l.indexOf(entry)
      if (i >= 0) l.splice(i, 1)
      if (l.length === 0) {
        this.channels.delete(key)
        if (this.socket.connected) this.socket.emit('unsubscribe', sub)
      }
    }
  }

  async get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
    const url = `${path}${q.size > 0 ? `?${q}` : ''}`
    let res: Response
    try {
      res = await fetch(url, { headers: { accept: 'application/json' } })
    } catch {
      throw new HttpError(0, 'UNREACHABLE', `gateway unreachable at ${this.origin}`)
    }
    const body = await res.json().catch(() => null)
    if (!res.ok) {
      const b = (body ?? {}) as { error?: string; message?: string; msg?: string }
      throw new HttpError(res.status, b.error ?? String(res.status), b.message ?? b.msg ?? res.statusText)
    }
    return body as T
  }

  private emitSubscribe(sub: Subscription): void {
    this.socket.emit('subscribe', sub, (ack: { ok: boolean; message?: string }) => {
      if (ack && !ack.ok) this.lastError.set(`subscription ${channelOf(sub)} refused: ${ack.message ?? ''}`)
    })
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return
    this.link.set('reconnecting')
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]
    this.attempt++
    const due = Date.now() + delay
    this.retryIn.set(Math.ceil(delay / 1000))
    this.countdown = setInterval(
      () => this.retryIn.set(Math.max(0, Math.ceil((due - Date.now()) / 1000))),
      250,
    )
    this.retryTimer = setTimeout(() => {
      this.clearRetry()
      this.socket.connect()
    }, delay)
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer)
    clearInterval(this.countdown)
    this.retryTimer = undefined
    this.countdown = undefined
    this.retryIn.set(0)
  }
}

/** The gateway's channel name for a subscription: `kline:BTCUSDT:1m`, `ranking`. */
export function channelOf(sub: Subscription): string {
  return [sub.stream, sub.symbol, sub.interval ?? (sub.stream === 'kline' ? '1m' : undefined)]
    .filter((x) => x !== undefined)
    .join(':')
}

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null
  const n = Number(v)
  return Number.isFinite(n) ? n : null
}

/** The prediction record as shown; tolerant of field naming since it is passed through as is. */
export function readPrediction(x: unknown): Prediction | null {
  if (!x || typeof x !== 'object') return null
  const r = x as Record<string, unknown>
  const score = (r.score ?? r.scores ?? r.live ?? {}) as Record<string, unknown>
  const pick = (...keys: string[]): unknown => {
    for (const k of keys) if (r[k] !== undefined) return r[k]
    for (const k of keys) if (score[k] !== undefined) return score[k]
    return undefined
  }
  const predictedReturn = num(pick('predictedReturn', 'predicted_return', 'return'))
  const direction = num(pick('direction')) ?? Math.sign(predictedReturn ?? 0)
  const dirRaw = pick('direction')
  const dir =
    typeof dirRaw === 'string'
      ? /up|long|buy|^1$/i.test(dirRaw)
        ? 1
        : /down|short|sell|-1/i.test(dirRaw)
          ? -1
          : 0
      : direction
  const horizon = num(pick('horizonMs', 'horizon'))
  const baseline = pick('baselineHitRate', 'baseline_hit_rate', 'baseline')
  return {
    symbol: String(r.symbol ?? ''),
    time: num(pick('time', 'timestamp', 'openTime')),
    horizonMs: horizon === null ? null : horizon < 1000 ? horizon * 60_000 : horizon,
    lastClose: num(pick('lastClose', 'close', 'last_close')),
    predictedPrice: num(pick('predictedPrice', 'predicted_price', 'price')),
    predictedReturn,
    direction: dir,
    confidence: num(pick('confidence', 'probability')),
    modelVersion:
      (pick('modelVersion', 'model_version', 'version') as string | undefined)?.toString() ?? null,
    hitRate: num(pick('hitRate', 'hit_rate')),
    baselineHitRate:
      baseline && typeof baseline === 'object'
        ? num((baseline as Record<string, unknown>).hitRate)
        : num(baseline),
    samples: num(pick('samples', 'scored', 'n')),
  }
}
