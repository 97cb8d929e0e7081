import { createServer } from 'node:http'
import { listen } from '../common/listen.ts'
import { registry } from '../common/metrics.ts'

// The HTTP face of the roles that serve no API (ingest, sink): /health for readiness, /metrics for
// Prometheus and /api/v3/ping for liveness (the route every HTTP role answers, as the gateway does),
// on the role's port, so every role can be probed and scraped like the gateway.
// /health answers the gateway's shape: {status, dependencies: {name: {ok, detail}}}, 503 when one is down.

/** What a role server answers (the chart's probes are checked against it). */
export const ROLE_ROUTES = ['/health', '/metrics', '/api/v3/ping'] as const

export type RoleCheck = () => { ok: boolean; detail: string }

export interface RoleServer {
  url: string
  close(): Promise<void>
}

export async function startRoleServer(o: {
  role: string
  port: number
  host?: string
  checks: Record<string, RoleCheck>
}): Promise<RoleServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/health') {
      const dependencies = Object.fromEntries(Object.entries(o.checks).map(([k, f]) => [k, f()]))
      const ok = Object.values(dependencies).every((d) => d.ok)
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ status: ok ? 'ok' : 'down', role: o.role, dependencies }))
    }
    if (path === '/api/v3/ping') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('{}')
    }
    if (path === '/metrics')
      return void registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(e.message),
      )
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        error: 'NOT_FOUND',
        message: `no route ${path} (this ${o.role} role serves /health, /metrics and /api/v3/ping)`,
      }),
    )
  })
  const host = o.host ?? '0.0.0.0'
  const port = await listen(server, o.port, host, `${o.role} role server`, 'CS_GATEWAY_PORT')
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
