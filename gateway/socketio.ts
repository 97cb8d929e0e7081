import type { Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import { WebSocket } from 'ws'
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

/** An update as Socket.IO writes it: its packets, and the WebSocket frame of the one text packet. */
interface Encoded {
  packets: unknown[]
  frame?: Buffer[]
}

// Every client of a channel gets the same `update` payload (one object per feed event), encoded
// once, as Socket.IO's broadcasts do: a 1,000-client fan-out serialized each update 1,000 times.
const payloads = new WeakMap<object, { channel: string; payload: object }>()
const encodings = new WeakMap<object, Encoded>()
const EVENT = 2 // socket.io-parser PacketType.EVENT
const wsFrame = (WebSocket as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } }).Sender
  .frame

/** The shared payload of `data` on `channel` (one per feed event and channel). */
function sharedPayload(channel: string, meta: object, data: unknown): object {
  if (typeof data !== 'object' || data === null) return { ...meta, data }
  const p = payloads.get(data)
  if (p?.channel === channel) return p.payload
  const payload = { ...meta, data }
  payloads.set(data, { channel, payload })
  return payload
}

function encodeOnce(io: Server, payload: object): Encoded {
  let e = encodings.get(payload)
  if (!e) {
    const packets = io.encoder.encode({ type: EVENT, nsp: '/', data: ['update', payload] }) as unknown[]
    e = { packets }
    // "4": Engine.IO's message packet type (what Socket.IO's in-memory adapter pre-computes)
    if (packets.length === 1 && typeof packets[0] === 'string')
      e.frame = wsFrame(Buffer.from(`4${packets[0]}`), {
        readOnly: false,
        mask: false,
        rsv1: false,
        opcode: 1,
        fin: true,
      })
    encodings.set(payload, e)
  }
  return e
}

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
      send: (event, payload) => {
        if (event !== 'update' || !encodings.has(payload as object)) return void socket.emit(event, payload)
        if (socket.conn.readyState !== 'open') return
        const e = encodeOnce(io, payload as object)
        // what the adapter does for a broadcast: the encoded packets, the frame built once
        const client = socket.client as unknown as { writeToEngine(p: unknown[], o: object): void }
        client.writeToEngine(e.packets, {
          preEncoded: true,
          ...(e.frame ? { wsPreEncodedFrame: e.frame } : {}),
        })
      },
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
        update: (data) => {
          const payload = sharedPayload(channel, meta, data)
          encodeOnce(io, payload)
          return ['update', payload]
        },
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
