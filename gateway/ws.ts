import type { Server as HttpServer, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { z } from 'zod'
import { createLogger } from '../common/log.ts'
import type { GatewayContext } from './context.ts'
import { restInvalid } from './http.ts'
import { clients } from './metrics.ts'
import { type ClientLink, Outbox, type OutboxLimits } from './outbox.ts'
import { intParam, symbolParam } from './params.ts'
import { follow, type Hub, type Subscription } from './subscriptions.ts'

// The original design's plain WebSocket endpoints; messages are JSON {type, data}:
//   /ws/kline?symbol&limit      initial (1m klines), latest (newest 1m), update (1m kline)
//   /ws/orderbook?symbol        initial (book or null), update (book)
//   /ws/trades?symbol&limit     initial (trades, newest first), update (trade)
// A bad parameter answers the upgrade with 400 and the reason; an unknown path with 404.

const log = createLogger('gateway.ws')

export interface WsOptions extends OutboxLimits {
  /** Bytes queued in a socket before updates wait in its outbox (default 1 MiB). */
  maxBufferedBytes?: number
}

function endpoints(ctx: GatewayContext) {
  const symbol = symbolParam(ctx.symbols)
  return {
    '/ws/kline': z.strictObject({ symbol, limit: intParam(1, 1440, '1m klines (default 100)').optional() }),
    '/ws/orderbook': z.strictObject({ symbol }),
    '/ws/trades': z.strictObject({ symbol, limit: intParam(1, 1000, 'Trades (default 50)').optional() }),
  }
}

function refuse(socket: Duplex, status: number, body: unknown): void {
  const json = JSON.stringify(body)
  const reason = status === 400 ? 'Bad Request' : 'Not Found'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  )
}

export function attachWebSockets(
  http: HttpServer,
  ctx: GatewayContext,
  hub: Hub,
  o: WsOptions,
): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16_384 })
  const schemas = endpoints(ctx)
  const maxBytes = o.maxBufferedBytes ?? 1 << 20

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    if (url.pathname.startsWith('/socket.io')) return // Socket.IO's own
    const schema = schemas[url.pathname as keyof typeof schemas]
    if (!schema)
      return refuse(socket, 404, { error: 'NOT_FOUND', message: `no WebSocket endpoint ${url.pathname}` })
    const parsed = schema.safeParse(Object.fromEntries(url.searchParams))
    if (!parsed.success)
      return refuse(socket, 400, {
        error: 'INVALID_PARAMETER',
        message: restInvalid(parsed.error.issues).message,
      })
    const q = parsed.data as { symbol: string; limit?: number }
    wss.handleUpgrade(req, socket, head, (ws) => void serve(ws, url.pathname, q))
  })

  async function serve(ws: WebSocket, path: string, q: { symbol: string; limit?: number }) {
    clients.inc({ kind: 'ws' })
    const link: ClientLink = {
      kind: 'ws',
      writable: () => ws.bufferedAmount < maxBytes,
      send: (type, data) => ws.send(JSON.stringify({ type, data }), () => out.flush()),
    }
    const out = new Outbox(link, o)
    let off: (() => void) | undefined
    let closed = false
    ws.on('close', () => {
      closed = true
      clients.dec({ kind: 'ws' })
      off?.()
    })
    ws.on('error', () => {})
    const sub: Subscription =
      path === '/ws/kline'
        ? { stream: 'kline', symbol: q.symbol, interval: '1m', limit: q.limit ?? 100 }
        : path === '/ws/orderbook'
          ? { stream: 'orderbook', symbol: q.symbol }
          : { stream: 'trades', symbol: q.symbol, limit: q.limit ?? 50 }
    try {
      // `latest` is the newest 1m kline: the last of the snapshot, read in the same go
      const stop = await follow(ctx, hub, out, sub, {
        initial: (data) =>
          path === '/ws/kline'
            ? [
                ['initial', data],
                ['latest', (data as unknown[]).at(-1) ?? null],
              ]
            : [['initial', data]],
        update: (data) => ['update', data],
      })
      if (closed) stop()
      else off = stop
    } catch (e) {
      log.warn('WebSocket initial failed', { path, error: e })
      ws.close(1011, 'data source unavailable')
    }
  }
  return wss
}
