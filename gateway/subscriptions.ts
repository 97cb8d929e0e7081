import { z } from 'zod'
import type { Interval } from '../common/records.ts'
import type { GatewayContext } from './context.ts'
import { channelOf, type FeedEvent, type LiveFeed } from './feed.ts'
import type { Outbox } from './outbox.ts'
import { CANDLE_INTERVALS, KLINE_INTERVALS } from './params.ts'

// What a client can subscribe to (Socket.IO and WebSocket share it): the request schema, the
// channel name, the initial snapshot from the reader, and the hub that fans feed events out to
// the subscribed clients' outboxes. A subscription holds its updates until the snapshot went
// out, so a client sees `initial` first and then every later update in feed order.

const symbol = (ctx: GatewayContext) =>
  z
    .string()
    .refine((s) => ctx.symbols.includes(s), { error: (iss) => `unknown symbol ${JSON.stringify(iss.input)}` })
const limit = (max: number) => z.number().int().min(1).max(max).optional()

export function subscriptionSchema(ctx: GatewayContext) {
  return z.discriminatedUnion('stream', [
    z.strictObject({
      stream: z.literal('kline'),
      symbol: symbol(ctx),
      interval: z.enum(KLINE_INTERVALS).default('1m'),
      limit: limit(1000),
    }),
    z.strictObject({ stream: z.literal('orderbook'), symbol: symbol(ctx) }),
    z.strictObject({ stream: z.literal('trades'), symbol: symbol(ctx), limit: limit(1000) }),
    z.strictObject({ stream: z.literal('ranking') }),
    z.strictObject({ stream: z.literal('prediction'), symbol: symbol(ctx) }),
    z.strictObject({
      stream: z.literal('indicators'),
      symbol: symbol(ctx),
      interval: z.enum(CANDLE_INTERVALS).default('1h'),
      limit: limit(1000),
    }),
  ])
}

export type Subscription = z.output<ReturnType<typeof subscriptionSchema>>

export function channelOfSubscription(s: Subscription): string {
  switch (s.stream) {
    case 'kline':
    case 'indicators':
      return `${s.stream}:${s.symbol}:${s.interval}`
    case 'ranking':
      return 'ranking'
    default:
      return `${s.stream}:${s.symbol}`
  }
}

/** The snapshot sent as `initial`. */
export async function initialOf(ctx: GatewayContext, s: Subscription): Promise<unknown> {
  const r = ctx.reader
  switch (s.stream) {
    case 'kline':
      return r.candles({ symbol: s.symbol, interval: s.interval as Interval, limit: s.limit ?? 200 })
    case 'orderbook':
      return (await r.orderbook(s.symbol)) ?? null
    case 'trades':
      return r.trades(s.symbol, s.limit ?? 50)
    case 'ranking':
      return (await r.ranking()) ?? null
    case 'prediction':
      return (await r.prediction(s.symbol)) ?? null
    case 'indicators':
      return r.indicators(s.symbol, s.interval, s.limit ?? 100)
  }
}

/** What a pending update is the latest state of (undefined: trades are never replaced). */
export function conflationKey(channel: string, e: FeedEvent): string | undefined {
  switch (e.stream) {
    case 'kline':
    case 'indicators':
      return `${channel}@${e.data.openTime}`
    case 'trades':
      return undefined
    default:
      return channel
  }
}

type Deliver = (e: FeedEvent, channel: string) => void

/** Channel → subscribers; one feed listener for all clients. */
export class Hub {
  private readonly subs = new Map<string, Set<Deliver>>()
  /** Subscriptions per `stream:symbol` (`ranking` alone): what the feed parses at all. */
  private readonly interest = new Map<string, number>()
  private readonly off: () => void

  constructor(feed: LiveFeed | undefined) {
    this.off = feed?.on((e) => this.publish(e)) ?? (() => {})
    if (feed)
      feed.interest = (stream, key) => this.interest.has(stream === 'ranking' ? stream : `${stream}:${key}`)
  }

  publish(e: FeedEvent): void {
    const channel = channelOf(e)
    const set = this.subs.get(channel)
    if (set) for (const d of set) d(e, channel)
  }

  add(channel: string, d: Deliver): () => void {
    const set = this.subs.get(channel) ?? new Set<Deliver>()
    this.subs.set(channel, set)
    set.add(d)
    // `kline:BTCUSDT:1m` → `kline:BTCUSDT`
    const topic = channel.split(':').slice(0, 2).join(':')
    this.interest.set(topic, (this.interest.get(topic) ?? 0) + 1)
    let removed = false
    return () => {
      if (removed) return
      removed = true
      set.delete(d)
      if (set.size === 0) this.subs.delete(channel)
      const n = (this.interest.get(topic) ?? 1) - 1
      if (n > 0) this.interest.set(topic, n)
      else this.interest.delete(topic)
    }
  }

  close(): void {
    this.off()
    this.subs.clear()
    this.interest.clear()
  }
}

/**
 * Subscribes `out` to a channel: updates wait (bounded) until the initial snapshot was queued.
 * `format` shapes an update's payload for the protocol. Returns the unsubscribe function.
 */
export async function follow(
  ctx: GatewayContext,
  hub: Hub,
  out: Outbox,
  s: Subscription,
  format: { initial: (data: unknown) => [string, unknown][]; update: (data: unknown) => [string, unknown] },
  maxHeld = 1000,
): Promise<() => void> {
  const channel = channelOfSubscription(s)
  let held: FeedEvent[] | undefined = []
  const send = (e: FeedEvent) => {
    const [event, payload] = format.update(e.data)
    out.push(event, s.stream, payload, conflationKey(channel, e))
  }
  const off = hub.add(channel, (e) => {
    if (!held) return send(e)
    if (held.length < maxHeld) held.push(e)
  })
  try {
    const data = await initialOf(ctx, s)
    for (const [event, payload] of format.initial(data)) out.push(event, s.stream, payload)
  } catch (e) {
    off()
    throw e
  }
  for (const e of held) send(e)
  held = undefined
  return off
}
