import type { Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import { createLogger } from '../common/log.ts'
import type { GatewayContext } from './context.ts'
import { restInvalid } from './http.ts'
import { clients } from './metrics.ts'
import { type ClientLink, Outbox, type OutboxLimits } from './outbox.ts'
import { channelOfSubscription, follow, type Hub, subscriptionSchema } from './subscriptions.ts'

// Socket.IO: `subscribe` / `unsubscribe` {stream, symbol, interval?, limit?} with an ack, then
// `initial` and `update` events {channel, stream, symbol?, interval?, data} (gateway/README.md).

const log = createLogger('gateway.socketio')

export interface SocketOptions extends OutboxLimits {
  corsOrigins: string[]
  /** engine.io packets waiting in a client's write buffer before updates wait in its outbox (default 64). */
  maxBuffered?: number
  /** Channels per connection (default 100): each holds a bounded buffer while its snapshot is read. */
  maxSubscriptions?: number
}

type Ack = (reply: unknown) => void

export function attachSocketIo(http: HttpServer, ctx: GatewayContext, hub: Hub, o: SocketOptions): Server {
  const io = new Server(http, {
    // plain WebSocket endpoints share the server's upgrade event: leave other paths alone
    destroyUpgrade: false,
    cors: { origin: o.corsOrigins.includes('*') ? '*' : o.corsOrigins },
    maxHttpBufferSize: 16_384,
  })
  const schema = subscriptionSchema(ctx)
  const maxBuffered = o.maxBuffered ?? 64
  const maxSubscriptions = o.maxSubscriptions ?? 100
  /** The ack (a no-op without one) and the subscription, or undefined once refused as invalid. */
  const request = (req: unknown, ack?: Ack) => {
    const reply = typeof ack === 'function' ? ack : () => {}
    const parsed = schema.safeParse(req)
    if (!parsed.success)
      reply({ ok: false, error: 'INVALID_SUBSCRIPTION', message: restInvalid(parsed.error.issues).message })
    return { reply, s: parsed.data }
  }

  io.on('connection', (socket: Socket) => {
    clients.inc({ kind: 'socketio' })
    const link: ClientLink = {
      kind: 'socketio',
      // engine.io keeps packets it could not write yet in writeBuffer (not in its typings)
      writable: () => (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length < maxBuffered,
      send: (event, payload) => socket.emit(event, payload),
    }
    const out = new Outbox(link, o)
    socket.conn.on('drain', () => out.flush())
    const subs = new Map<string, Promise<() => void>>()

    socket.on('subscribe', async (req: unknown, ack?: Ack) => {
      const { reply, s } = request(req, ack)
      if (!s) return
      const channel = channelOfSubscription(s)
      if (subs.has(channel)) return reply({ ok: true, channel })
      if (subs.size >= maxSubscriptions)
        return reply({
          ok: false,
          error: 'TOO_MANY_SUBSCRIPTIONS',
          message: `at most ${maxSubscriptions} channels per connection`,
        })
      const meta = {
        channel,
        stream: s.stream,
        ...('symbol' in s ? { symbol: s.symbol } : {}),
        ...('interval' in s ? { interval: s.interval } : {}),
      }
      const started = follow(ctx, hub, out, s, {
        initial: (data) => [['initial', { ...meta, data }]],
        update: (data) => ['update', { ...meta, data }],
      })
      subs.set(channel, started)
      try {
        await started
        reply({ ok: true, channel })
      } catch (e) {
        subs.delete(channel)
        log.warn('subscribe failed', { channel, error: e })
        reply({ ok: false, error: 'UNAVAILABLE', message: (e as Error).message })
      }
    })

    socket.on('unsubscribe', async (req: unknown, ack?: Ack) => {
      const { reply, s } = request(req, ack)
      if (!s) return
      const channel = channelOfSubscription(s)
      const sub = subs.get(channel)
      subs.delete(channel)
      if (sub) (await sub.catch(() => () => {}))()
      reply({ ok: true, channel })
    })

    socket.on('disconnect', () => {
      clients.dec({ kind: 'socketio' })
      for (const sub of subs.values()) void sub.then((off) => off()).catch(() => {})
      subs.clear()
    })
  })
  return io
}
