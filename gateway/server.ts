import { createServer, type Server as HttpServer } from 'node:http'
import type { Server as SocketIoServer } from 'socket.io'
import type { WebSocketServer } from 'ws'
import { type Config, isSet, loadConfig } from '../common/config.ts'
import { ConfigError } from '../common/errors.ts'
import { listen } from '../common/listen.ts'
import { createLogger } from '../common/log.ts'
import type { KafkaStreams, Transport } from '../engine/index.ts'
import { createApp, restSpecs } from './app.ts'
import type { GatewayContext } from './context.ts'
import { LiveFeed } from './feed.ts'
import type { RouteSpec } from './http.ts'
import type { DependencyState, MarketReader } from './reader.ts'
import { StoreReader } from './readers/stores.ts'
import { binanceRoutes } from './routes/binance.ts'
import { attachSocketIo } from './socketio.ts'
import { Hub } from './subscriptions.ts'
import { SymbolCatalog } from './symbols.ts'
import { attachWebSockets } from './ws.ts'

// The gateway: one HTTP server (REST, /api/v3, docs, dashboard) with Socket.IO and plain
// WebSocket on the same port, all reading through one MarketReader, live updates from a feed.

const log = createLogger('gateway')

export interface GatewayOptions {
  port: number
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 in a container). */
  host?: string
  symbols: string[]
  reader: MarketReader
  /** Transport the engine writes to: the live feed reads its output topics. None: no live updates. */
  transport?: Transport
  topicPrefix?: string
  /** Binance REST base with /api/v3/exchangeInfo (tick and step sizes for /symbols). */
  exchangeInfoUrl?: string
  corsOrigins?: string[]
  /** Built dashboard directory (default dashboard/dist/dashboard/browser). */
  dashboardDir?: string
  /** More /health entries, e.g. `{ ingest: () => ({ ok, detail }) }`. */
  checks?: Record<string, () => DependencyState>
  /** Per-client bounds: pending messages, engine.io packets, WebSocket bytes. */
  maxPending?: number
  maxBuffered?: number
  maxBufferedBytes?: number
  /** Socket.IO channels per connection (default 100). */
  maxSubscriptions?: number
  /** Close the reader when the gateway closes (default true). */
  ownsReader?: boolean
}

export interface Gateway {
  url: string
  port: number
  http: HttpServer
  io: SocketIoServer
  wss: WebSocketServer
  feed: LiveFeed | undefined
  /** The REST and /api/v3 routes as declared (paths, schemas). */
  routes: RouteSpec[]
  close(): Promise<void>
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  if (o.symbols.length === 0)
    throw new ConfigError('INVALID', 'the gateway needs at least one symbol (CS_SYMBOLS)')
  const feed = o.transport ? new LiveFeed({ transport: o.transport, topicPrefix: o.topicPrefix }) : undefined
  const ctx: GatewayContext = {
    reader: o.reader,
    symbols: o.symbols,
    catalog: new SymbolCatalog(o.symbols, o.exchangeInfoUrl),
    checks: { ...(feed ? { feed: () => feed.health() } : {}), ...o.checks },
  }
  const corsOrigins = o.corsOrigins ?? []
  const app = createApp(ctx, {
    corsOrigins,
    dashboardDir: o.dashboardDir ?? 'dashboard/dist/dashboard/browser',
  })
  const http = createServer({ maxHeaderSize: 16_384 }, app)
  // idle keep-alive connections outlive the clients' own idle timeouts (undici: 4 s), so a client
  // never reuses a connection the server is closing (ECONNRESET under load)
  http.keepAliveTimeout = 15_000
  http.headersTimeout = 20_000
  http.requestTimeout = 30_000
  const hub = new Hub(feed)
  const io = attachSocketIo(http, ctx, hub, {
    corsOrigins,
    maxPending: o.maxPending,
    maxBuffered: o.maxBuffered,
    maxSubscriptions: o.maxSubscriptions,
  })
  const wss = attachWebSockets(http, ctx, hub, {
    maxPending: o.maxPending,
    maxBufferedBytes: o.maxBufferedBytes,
  })
  await feed?.start()
  let port: number
  try {
    port = await listen(http, o.port, o.host ?? '127.0.0.1', 'gateway', 'CS_GATEWAY_PORT')
  } catch (e) {
    await feed?.close()
    throw e
  }
  const url = `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${port}`
  log.info('gateway listening', { url, reader: o.reader.kind, feed: feed !== undefined })
  return {
    url,
    port,
    http,
    io,
    wss,
    feed,
    routes: [...restSpecs(ctx), ...binanceRoutes(ctx)],
    async close() {
      hub.close()
      for (const c of wss.clients) c.terminate()
      wss.close()
      // io.close() disconnects the sockets and closes the HTTP server, which waits for open
      // connections: end them (keep-alive ones included) so closing never waits on a client
      const closed = new Promise<void>((r) => io.close(() => r()))
      http.closeAllConnections()
      await closed
      await feed?.close()
      if (o.ownsReader ?? true) await o.reader.close()
    },
  }
}

/**
 * The reader the configuration asks for: `stores` (the engine's state), `sinks` (MongoDB + Redis)
 * or `auto` — sinks when MONGO_URL and REDIS_URL (or their aliases) are both set in the environment.
 */
export async function openReader(
  streams: KafkaStreams | undefined,
  config: Config = loadConfig(),
  env: NodeJS.ProcessEnv = process.env,
  sinks: { keyPrefix?: string } = {},
): Promise<MarketReader> {
  const kind =
    config.gatewayReader === 'auto'
      ? isSet('mongoUrl', env) && isSet('redisUrl', env)
        ? 'sinks'
        : 'stores'
      : config.gatewayReader
  if (kind === 'sinks') {
    // loaded only here: the MongoDB and Redis clients are ~20 MB of a process that reads stores
    const { SinkReader } = await import('./readers/sinks.ts')
    return SinkReader.open({
      mongoUrl: config.mongoUrl,
      mongoDb: config.mongoDb,
      redisUrl: config.redisUrl,
      ...(sinks.keyPrefix ? { keyPrefix: sinks.keyPrefix } : {}),
    })
  }
  if (kind !== 'stores')
    throw new ConfigError('INVALID', `CS_GATEWAY_READER must be stores, sinks or auto, got "${kind}"`)
  if (!streams) throw new ConfigError('INVALID', 'CS_GATEWAY_READER=stores needs the engine in this process')
  return new StoreReader(streams)
}
