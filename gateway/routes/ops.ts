import { z } from 'zod'
import { registry } from '../../common/metrics.ts'
import type { GatewayContext } from '../context.ts'
import { defineRoute, type RouteSpec } from '../http.ts'
import type { DependencyState } from '../reader.ts'
import { health, symbolInfo } from '../shapes.ts'

// Symbols with their precision, health of every dependency, Prometheus metrics.

export function opsRoutes(ctx: GatewayContext): RouteSpec[] {
  return [
    defineRoute({
      path: '/symbols',
      tag: 'ops',
      summary: 'Configured symbols with tick and step sizes (exchangeInfo filters)',
      response: z.strictObject({ symbols: z.array(symbolInfo) }),
      async handle() {
        return { symbols: await ctx.catalog.list() }
      },
    }),
    defineRoute({
      path: '/health',
      tag: 'ops',
      summary: 'State of each dependency; 503 when one is down',
      response: health,
      responses: { 503: 'a dependency is down (the body says which)' },
      async handle(_in, _req, res) {
        let deps: Record<string, DependencyState>
        try {
          deps = await ctx.reader.health()
        } catch (e) {
          deps = { [ctx.reader.kind]: { ok: false, detail: (e as Error).message } }
        }
        for (const [name, check] of Object.entries(ctx.checks)) deps[name] = check()
        const ok = Object.values(deps).every((d) => d.ok)
        res.status(ok ? 200 : 503)
        return { status: ok ? 'ok' : 'down', dependencies: deps }
      },
    }),
    defineRoute({
      path: '/metrics',
      tag: 'ops',
      summary: 'Prometheus metrics (text exposition format)',
      produces: 'text/plain',
      async handle(_in, _req, res) {
        res.type(registry.contentType).send(await registry.metrics())
      },
    }),
  ]
}
