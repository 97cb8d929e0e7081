import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import cors from 'cors'
import express, { type ErrorRequestHandler, type Express } from 'express'
import helmet from 'helmet'
import { StreamsError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import type { GatewayContext } from './context.ts'
import { HttpError, type RouteSpec, register } from './http.ts'
import { httpDuration } from './metrics.ts'
import { docsRouter } from './openapi.ts'
import { analyticsRoutes } from './routes/analytics.ts'
import { BinanceError, binanceInvalid, binanceRoutes } from './routes/binance.ts'
import { marketRoutes } from './routes/market.ts'
import { ohlcRoutes } from './routes/ohlc.ts'
import { opsRoutes } from './routes/ops.ts'

// The Express application: security headers, CORS, body limits, request metrics, the route
// groups, OpenAPI + docs, the dashboard bundle, and one error handler that turns everything into
// JSON with a reason (Binance's {code, msg} under /api/v3) — never a stack trace.

const log = createLogger('gateway.http')

export interface AppOptions {
  /** Allowed browser origins; `['*']` for any. */
  corsOrigins: string[]
  /** Built dashboard (index.html + assets); `/` serves a JSON index when it does not exist. */
  dashboardDir: string
}

export function restSpecs(ctx: GatewayContext): RouteSpec[] {
  return [...ohlcRoutes(ctx), ...marketRoutes(ctx), ...analyticsRoutes(ctx), ...opsRoutes(ctx)]
}

export function createApp(ctx: GatewayContext, o: AppOptions): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          // the dashboard and Swagger UI load only their own scripts; Angular and Swagger set inline styles
          'script-src': ["'self'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'", 'ws:', 'wss:'],
          'upgrade-insecure-requests': null,
        },
      },
    }),
  )
  app.use(cors({ origin: o.corsOrigins.includes('*') ? '*' : o.corsOrigins }))
  app.use(express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }))
  app.use((req, res, next) => {
    const end = httpDuration.startTimer({ method: req.method })
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched'
      end({ route, status: String(res.statusCode) })
    })
    next()
  })

  const rest = restSpecs(ctx)
  const binance = binanceRoutes(ctx)
  const router = express.Router()
  register(router, rest)
  const binanceRouter = express.Router()
  register(binanceRouter, binance, binanceInvalid)
  app.use(router)
  app.use(binanceRouter)
  app.use(docsRouter([...rest, ...binance]))

  const index = resolve(join(o.dashboardDir, 'index.html'))
  if (existsSync(index)) {
    app.use(express.static(o.dashboardDir, { index: 'index.html', maxAge: '1h' }))
    // client-side routes of the single-page app: browsers navigating (Accept: text/html) get the app
    app.get(/^\/(?!api\/|ws\/|socket\.io\/).*/, (req, res, next) =>
      req.headers.accept?.includes('text/html') ? res.sendFile(index) : next(),
    )
  } else {
    app.get('/', (_req, res) => {
      res.json({
        name: 'crypto-streams gateway',
        docs: '/docs',
        openapi: '/openapi.json',
        routes: [...rest, ...binance].map((s) => s.path),
        socketio: '/socket.io',
        websocket: ['/ws/kline', '/ws/orderbook', '/ws/trades'],
      })
    })
  }

  app.use((req, _res, next) => {
    next(
      req.path.startsWith('/api/v3/')
        ? new BinanceError(-1000, `Unknown path ${req.path}.`, 404)
        : new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`),
    )
  })
  app.use(errorHandler)
  return app
}

const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const e = toHttpError(err)
  if (e.status >= 500) log.warn('request failed', { path: req.path, error: err })
  if (res.headersSent) return
  if (e instanceof BinanceError) res.status(e.status).json({ code: Number(e.code), msg: e.message })
  else if (req.path.startsWith('/api/v3/'))
    // Binance's "disconnected / unable to process" code for a data source away
    res.status(e.status).json({ code: -1001, msg: e.message })
  else res.status(e.status).json({ error: e.code, message: e.message })
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  const x = err as { type?: string; status?: number; message?: string; code?: string }
  // body-parser: too large, malformed JSON, bad charset
  if (x.type === 'entity.too.large') return new HttpError(413, 'PAYLOAD_TOO_LARGE', 'request body over 16 KB')
  if (typeof x.status === 'number' && x.status >= 400 && x.status < 500)
    return new HttpError(x.status, 'BAD_REQUEST', x.message ?? 'bad request')
  if (err instanceof StreamsError && err.code === 'ENGINE_STORE_NOT_READY')
    return new HttpError(503, 'NOT_READY', 'the engine is starting; retry shortly')
  // Redis or Mongo away: the reader fails fast, the client gets the reason and retries
  return new HttpError(503, 'UNAVAILABLE', `data source unavailable: ${x.message ?? 'unknown error'}`)
}
