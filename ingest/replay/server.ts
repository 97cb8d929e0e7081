import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { loadConfig } from '../../common/config.ts'
import { binanceDataDir } from '../../common/data.ts'
import { listen } from '../../common/listen.ts'
import { createLogger } from '../../common/log.ts'
import { type Speed, VirtualClock } from './clock.ts'
import { type FaultOptions, Faults, JUNK_KINDS, junkFrame } from './faults.ts'
import { Feed, type FrameSink, SLOT_MS } from './feed.ts'
import { History } from './history.ts'
import { DATA_START, Market, MINUTE } from './market.ts'
import { Recordings } from './recorded.ts'
import { handleRest } from './rest.ts'
import { envelope, microFrame, parseStream } from './streams.ts'
import { SYMBOLS, type SymbolSpec, specOf } from './symbols.ts'
import { tlsCertificate } from './tls.ts'
import { WeightLimiter } from './weights.ts'

// One HTTP server for both protocols: REST under /api/v3, WebSocket upgrades on /ws[/<stream>]
// (raw) and /stream?streams=a/b (combined). A timer advances the feed to the virtual clock;
// frames go only to the clients subscribed to their stream. Binance's connection rules:
// server pings (a client that does not pong in time is dropped), at most 1024 streams and
// `maxIncomingPerSec` incoming messages per second (pings, pongs and JSON requests count),
// connections cut after 24 h.

const log = createLogger('replay')
/** Wall time between clock ticks at a numeric speed. */
const TICK_MS = 10
/** A tick generates at most this many ticks' worth of market time (see the clock loop). */
export const TICK_CATCH_UP = 10

export interface ReplayOptions {
  host?: string
  /** 0 = an ephemeral port. */
  port?: number
  symbols?: string[]
  /** Virtual start instant (ISO string or epoch ms), at or after 2024-01-01. */
  from?: string | number
  speed?: Speed
  seed?: number
  dataDir?: string
  faults?: FaultOptions
  /** Server ping period (wall ms, Binance: 20 s) and how long a pong may take (Binance: 60 s). */
  pingMs?: number
  pongTimeoutMs?: number
  /** Trades sent per symbol and minute at most (the kline keeps the recorded n). 0 = no cap. */
  tradesPerMinute?: number
  /** Virtual ms between book steps / `@depth@100ms` diffs (100 like Binance; tests may raise it). */
  depthMs?: number
  bookLevels?: number
  /** Remember the top 20 of the last N update ids per symbol for `bookAt` (tests). */
  bookHistory?: number
  maxIncomingPerSec?: number
  maxStreams?: number
  /** A client whose unsent data exceeds this is dropped (numeric speeds), as a slow consumer. */
  maxBufferedBytes?: number
  /** With speed 'max': advance only while every client has less than this unsent. */
  highWaterBytes?: number
  connectionMs?: number
  /**
   * Request weight per IP and wall minute before 429. Default: Binance's 6000 × speed (a client
   * keeping pace with a market running `speed` times faster needs that much more); no limit at 'max'.
   */
  weightLimit?: number
  /** Serve https:// and wss:// with a self-signed certificate (made on first use) or the given one. */
  tls?: boolean | { cert: string; key: string }
  /** Where the generated certificate is kept (default: ~/.cache/crypto-streams/replay-tls). */
  tlsDir?: string
}

export interface ReplayStats {
  connections: number
  clients: number
  frames: number
  bytes: number
  restRequests: number
  pongTimeouts: number
  rateLimited: number
  slowConsumers: number
  drops: number
  junk: number
  gaps: number
  restErrors: number
}

export interface ReplayServer {
  wsUrl: string
  restUrl: string
  port: number
  /** With `tls`: the certificate (PEM) clients should trust, and its file when generated. */
  certificate?: { pem: string; path?: string }
  /** Virtual now (ms). */
  now(): number
  readonly stats: ReplayStats
  readonly symbols: string[]
  dropAll(): void
  injectGap(symbol: string, n?: number): void
  sendJunk(kind?: (typeof JUNK_KINDS)[number]): void
  failRest(status: number, n?: number): void
  /** Recorded and simulated days held parsed in memory. */
  daysInMemory(): number
  /** Top 20 per side at `updateId` (needs the `bookHistory` option). */
  bookAt(symbol: string, updateId: number): { bids: [string, string][]; asks: [string, string][] } | undefined
  close(): Promise<void>
}

interface Client {
  ws: WebSocket
  combined: boolean
  /** `timeUnit=MICROSECOND` on the URL: event times in µs. */
  micro: boolean
  streams: Set<string>
  lastPong: number
  windowStart: number
  inWindow: number
}

const WS_ERR = (code: number, msg: string, id: unknown) =>
  JSON.stringify({ error: { code, msg }, id: id ?? null })

/** Recorded and simulated days the server keeps parsed (each), for `symbols` symbols. */
export const cachedDays = (symbols: number): number => 2 * symbols + 8

export function parseFrom(from: string | number | undefined): number {
  const ms = from === undefined ? Date.UTC(2024, 0, 2) : typeof from === 'number' ? from : Date.parse(from)
  if (!Number.isFinite(ms)) throw new Error(`replay: bad --from "${from}" (ISO instant or epoch ms)`)
  if (ms < DATA_START)
    throw new Error('replay: --from must be at or after 2024-01-01T00:00:00Z (no data before)')
  return ms
}

export async function startReplayServer(opts: ReplayOptions = {}): Promise<ReplayServer> {
  const names = (opts.symbols ?? loadConfig().symbols).map((s) => s.toUpperCase())
  const specs = new Map<string, SymbolSpec>()
  for (const n of names) {
    const spec = specOf(n)
    if (!spec)
      throw new Error(`replay: unknown symbol ${n} (served: ${SYMBOLS.map((s) => s.symbol).join(', ')})`)
    specs.set(n, spec)
  }
  const from = parseFrom(opts.from)
  const speed = opts.speed ?? 1
  const seed = opts.seed ?? 1
  const clock = new VirtualClock(from, speed)
  const faults = new Faults(opts.faults ?? {}, seed)
  // Days kept: the feed reads each symbol's current day (REST and tickers the one before), so a
  // few per symbol; the default caches (96 recorded + 64 simulated days, ~110 MB as row objects)
  // filled up over a multi-day replay.
  const keepDays = cachedDays(specs.size)
  const recordings = new Recordings(opts.dataDir ?? binanceDataDir(), keepDays)
  const market = new Market(recordings, seed, keepDays)
  const tradeCap = opts.tradesPerMinute === 0 ? Number.MAX_SAFE_INTEGER : (opts.tradesPerMinute ?? 100)
  const history = new History(market, seed, tradeCap, from)
  const feed = new Feed({
    specs: [...specs.values()],
    market,
    history,
    seed,
    from,
    tradeCap,
    depthMs: opts.depthMs ?? 100,
    bookLevels: opts.bookLevels ?? 100,
    bookHistory: opts.bookHistory ?? 0,
    faults,
  })
  clock.cursor = feed.cursor
  const symbolSet = new Set(specs.keys())
  const maxStreams = opts.maxStreams ?? 1024
  const maxIncoming = opts.maxIncomingPerSec ?? 5
  const stats: ReplayStats = {
    connections: 0,
    clients: 0,
    frames: 0,
    bytes: 0,
    restRequests: 0,
    pongTimeouts: 0,
    rateLimited: 0,
    slowConsumers: 0,
    drops: 0,
    junk: 0,
    gaps: 0,
    restErrors: 0,
  }
  const clients = new Set<Client>()
  const subs = new Map<string, Set<Client>>()

  const sink: FrameSink = {
    wants: (s) => (subs.get(s)?.size ?? 0) > 0,
    wantsType: (t) => (types.get(t) ?? 0) > 0,
    emit(stream, payload) {
      let wrapped: string | undefined
      let micro: string | undefined
      let microWrapped: string | undefined
      for (const c of subs.get(stream) ?? []) {
        let f = payload
        if (c.micro) {
          micro ??= microFrame(payload)
          f = micro
          if (c.combined) {
            microWrapped ??= envelope(stream, micro)
            f = microWrapped
          }
        } else if (c.combined) {
          wrapped ??= envelope(stream, payload)
          f = wrapped
        }
        c.ws.send(f)
        stats.frames++
        stats.bytes += f.length
      }
    },
  }

  /** Subscriptions per stream type (`kline_1h`, `ticker`, `!ticker@arr`…): whole families are skipped when unused. */
  const types = new Map<string, number>()
  const typeOf = (s: string) => (s.startsWith('!') ? s : s.slice(s.indexOf('@') + 1))
  const subscribe = (c: Client, streams: string[]) => {
    for (const s of streams) {
      if (!c.streams.has(s)) types.set(typeOf(s), (types.get(typeOf(s)) ?? 0) + 1)
      c.streams.add(s)
      let set = subs.get(s)
      if (!set) {
        set = new Set()
        subs.set(s, set)
      }
      set.add(c)
    }
  }
  const unsubscribe = (c: Client, streams: Iterable<string>) => {
    for (const s of [...streams]) {
      if (c.streams.has(s)) types.set(typeOf(s), (types.get(typeOf(s)) ?? 1) - 1)
      c.streams.delete(s)
      subs.get(s)?.delete(c)
    }
  }
  const invalid = (streams: string[]) => streams.find((s) => !parseStream(s, symbolSet))
  /** Path segments that are not stream names (ccxt's `/ws/0`, a listen key) are ignored. */
  const looksLikeStream = (s: string) => s.includes('@') || s.startsWith('!')

  const weights = new WeightLimiter(
    opts.weightLimit ?? (speed === 'max' ? Number.POSITIVE_INFINITY : Math.round(6000 * Math.max(1, speed))),
  )
  const restCtx = { feed, market, history, specs, faults, weights, now: () => feed.cursor }
  const rest = (req: IncomingMessage) => {
    stats.restRequests++
    const r = handleRest(restCtx, {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      ip: req.socket.remoteAddress ?? '',
    })
    return {
      ...r,
      body: req.method === 'HEAD' ? '' : JSON.stringify(r.body),
      headers: { 'content-type': 'application/json;charset=UTF-8', ...r.headers },
    }
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const r = rest(req)
    res.writeHead(r.status, r.headers)
    res.end(r.body)
  }
  const tls = opts.tls ? (opts.tls === true ? tlsCertificate(opts.tlsDir) : opts.tls) : undefined
  const http = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createServer(onRequest)
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })

  const reject = (socket: Duplex, status: string, msg: string) => {
    const body = JSON.stringify({ code: -1100, msg })
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      // e.g. Java's HttpClient offers `Upgrade: h2c` on plain REST calls: answer in HTTP/1.1
      const r = rest(req)
      const lines = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`)
      socket.end(
        `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\n${lines.join('')}content-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`,
      )
      return
    }
    const u = new URL(req.url ?? '/', 'http://replay')
    let streams: string[]
    let combined: boolean
    if (u.pathname === '/stream' || u.pathname.startsWith('/stream/')) {
      combined = true
      streams = (u.searchParams.get('streams') ?? '').split('/').filter(Boolean)
    } else if (u.pathname === '/ws' || u.pathname.startsWith('/ws/')) {
      combined = false
      streams = u.pathname.slice(4).split('/').filter(Boolean)
    } else return reject(socket, '404 Not Found', `Unknown path ${u.pathname}`)
    streams = streams.filter(looksLikeStream)
    const unit = (u.searchParams.get('timeUnit') ?? 'MILLISECOND').toUpperCase()
    if (unit !== 'MILLISECOND' && unit !== 'MICROSECOND')
      return reject(socket, '400 Bad Request', `Invalid timeUnit: ${unit.slice(0, 20)}`)
    const bad = invalid(streams)
    if (bad !== undefined)
      return reject(socket, '400 Bad Request', `Invalid stream name: ${bad.slice(0, 100)}`)
    if (streams.length > maxStreams)
      return reject(socket, '400 Bad Request', `Too many streams: ${streams.length} > ${maxStreams}`)
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, combined, streams, unit === 'MICROSECOND'))
  })

  const accept = (ws: WebSocket, combined: boolean, streams: string[], micro: boolean) => {
    const now = Date.now()
    const c: Client = {
      ws,
      combined,
      micro,
      streams: new Set(),
      lastPong: now,
      windowStart: now,
      inWindow: 0,
    }
    clients.add(c)
    stats.connections++
    stats.clients = clients.size
    subscribe(c, streams)
    let limited = false
    const count = () => {
      if (limited) return false
      const t = Date.now()
      if (t - c.windowStart >= 1000) {
        c.windowStart = t
        c.inWindow = 0
      }
      if (++c.inWindow > maxIncoming) {
        limited = true
        stats.rateLimited++
        ws.terminate()
        return false
      }
      return true
    }
    ws.on('pong', () => {
      c.lastPong = Date.now()
      count()
    })
    ws.on('ping', () => count())
    ws.on('message', (data, isBinary) => {
      if (!count()) return
      ws.send(control(c, isBinary ? '' : data.toString()))
    })
    ws.on('error', () => {})
    ws.on('close', () => {
      unsubscribe(c, c.streams)
      clients.delete(c)
      stats.clients = clients.size
    })
    const life = setTimeout(
      () => ws.close(1000, 'connection lifetime reached'),
      opts.connectionMs ?? 86_400_000,
    )
    life.unref()
    ws.on('close', () => clearTimeout(life))
  }

  /** SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY. */
  const control = (c: Client, text: string): string => {
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch (e) {
      return WS_ERR(3, `Invalid JSON: ${(e as Error).message}`, null)
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      return WS_ERR(2, 'Invalid request: expected an object', null)
    const { method, params, id } = msg as { method?: unknown; params?: unknown; id?: unknown }
    const idOk =
      id === null ||
      (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
      (typeof id === 'string' && id.length <= 36)
    if (!idOk) return WS_ERR(2, 'Invalid request: request ID must be an unsigned integer', null)
    if (method === undefined) return WS_ERR(2, 'Invalid request: missing field `method`', id)
    const list = Array.isArray(params) ? params : []
    switch (method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(params) || !params.every((p) => typeof p === 'string'))
          return WS_ERR(2, 'Invalid request: params must be an array of stream names', id)
        const bad = invalid(params)
        if (bad !== undefined)
          return WS_ERR(2, `Invalid request: invalid stream name ${bad.slice(0, 100)}`, id)
        if (method === 'UNSUBSCRIBE') unsubscribe(c, params)
        else {
          if (new Set([...c.streams, ...params]).size > maxStreams)
            return WS_ERR(2, `Invalid request: too many streams (max ${maxStreams})`, id)
          subscribe(c, params)
        }
        return JSON.stringify({ result: null, id })
      }
      case 'LIST_SUBSCRIPTIONS':
        return JSON.stringify({ result: [...c.streams], id })
      case 'SET_PROPERTY':
        if (list[0] !== 'combined') return WS_ERR(0, 'Unknown property', id)
        if (typeof list[1] !== 'boolean') return WS_ERR(1, 'Invalid value type: expected Boolean', id)
        c.combined = list[1]
        return JSON.stringify({ result: null, id })
      case 'GET_PROPERTY':
        if (list[0] !== 'combined') return WS_ERR(0, 'Unknown property', id)
        return JSON.stringify({ result: c.combined, id })
      default:
        return WS_ERR(
          2,
          `Invalid request: unknown variant \`${String(method).slice(0, 50)}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\``,
          id,
        )
    }
  }

  const dropAll = () => {
    stats.drops++
    for (const c of clients) c.ws.terminate()
  }
  const sendJunk = (kind?: (typeof JUNK_KINDS)[number]) => {
    stats.junk++
    for (const c of clients) {
      const k = kind ?? JUNK_KINDS[stats.junk % JUNK_KINDS.length]!
      const frame = junkFrame(k, c.streams.values().next().value ?? 'btcusdt@trade')
      c.ws.send(frame)
    }
  }

  // --- the clock loop ---
  let lastMinute = Math.floor(feed.cursor / MINUTE)
  const afterAdvance = () => {
    const m = Math.floor(feed.cursor / MINUTE)
    for (; lastMinute < m; lastMinute++) {
      const f = faults.minute()
      if (f.drop) dropAll()
      if (f.junk) sendJunk(f.junk)
    }
    Object.assign(stats, { gaps: faults.stats.gaps, restErrors: faults.stats.restErrors })
  }
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const maxBuffered = opts.maxBufferedBytes ?? 64 << 20
  const highWater = opts.highWaterBytes ?? 1 << 20
  if (speed === 'max') {
    const loop = () => {
      if (stopped) return
      let ready = clients.size > 0
      for (const c of clients) if (c.ws.bufferedAmount > highWater) ready = false
      if (!ready) {
        timer = setTimeout(loop, 2)
        return
      }
      feed.advance(feed.cursor + 1000, sink)
      clock.cursor = feed.cursor
      afterAdvance()
      setImmediate(loop)
    }
    setImmediate(loop)
  } else {
    // One tick generates at most TICK_CATCH_UP ticks' worth of market time. After the event loop
    // stood still (a loaded machine, a catch-up elsewhere in the process), generating all it
    // missed at once is one long synchronous burst that stalls the loop longer still, and the
    // next tick's burst is bigger (at 600×, 10 s stalled = 100 virtual minutes of frames): the
    // process never recovers. Capped, the feed falls behind `from + speed × elapsed` when the
    // machine cannot produce the speed, and catches up when it can.
    const maxStep = Math.max(SLOT_MS, speed * TICK_MS * TICK_CATCH_UP)
    timer = setInterval(() => {
      feed.advance(Math.min(clock.now(), feed.cursor + maxStep), sink)
      afterAdvance()
      for (const c of clients)
        if (c.ws.bufferedAmount > maxBuffered) {
          stats.slowConsumers++
          c.ws.terminate()
        }
    }, TICK_MS)
  }
  const pingMs = opts.pingMs ?? 20_000
  const pongTimeout = opts.pongTimeoutMs ?? 60_000
  const pinger = setInterval(() => {
    const now = Date.now()
    for (const c of clients) {
      if (now - c.lastPong > pongTimeout) {
        stats.pongTimeouts++
        c.ws.terminate()
      } else c.ws.ping()
    }
  }, pingMs)

  const host = opts.host ?? '127.0.0.1'
  const port = await listen(http, opts.port ?? 0, host, 'replay server', 'CS_REPLAY_PORT (or --port)').catch(
    (e: unknown) => {
      stopped = true
      clearInterval(timer)
      clearInterval(pinger)
      throw e
    },
  )
  const shown = host.includes(':') ? `[${host}]` : host
  log.debug('replay server listening', { port, from: new Date(from).toISOString(), speed })

  return {
    wsUrl: `${tls ? 'wss' : 'ws'}://${shown}:${port}`,
    restUrl: `${tls ? 'https' : 'http'}://${shown}:${port}`,
    port,
    certificate: tls ? { pem: tls.cert, path: 'path' in tls ? (tls.path as string) : undefined } : undefined,
    now: () => feed.cursor,
    stats,
    symbols: [...specs.keys()],
    dropAll,
    injectGap: (symbol, n) => faults.injectGap(symbol, n),
    sendJunk,
    failRest: (status, n) => faults.failRest(status, n),
    bookAt: (symbol, id) => feed.bookAt(symbol, id),
    daysInMemory: () => recordings.daysCached + market.simulatedDaysCached,
    async close() {
      stopped = true
      clearInterval(timer)
      clearTimeout(timer)
      clearInterval(pinger)
      for (const c of clients) c.ws.terminate()
      await new Promise((r) => wss.close(r))
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    },
  }
}
