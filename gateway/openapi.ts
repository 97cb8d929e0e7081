import { createRequire } from 'node:module'
import express, { type Router } from 'express'
import { z } from 'zod'
import type { RouteSpec } from './http.ts'

// The OpenAPI 3.1 document, generated from the same zod schemas that validate each route
// (z.toJSONSchema), and Swagger UI at /docs from swagger-ui-dist (no inline script: the
// initializer is a file, so the CSP can forbid inline scripts).

type JsonSchema = { properties?: Record<string, Record<string, unknown>>; required?: string[] }

function parameters(schema: z.ZodType | undefined, where: 'query' | 'path') {
  if (!schema) return []
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  return Object.entries(js.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s
    return {
      name,
      in: where,
      required: where === 'path' || (js.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    }
  })
}

function bodySchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' })
  return rest
}

export function openApiDocument(specs: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {}
  for (const s of specs) {
    const path = s.path.replace(/:(\w+)/g, '{$1}')
    const schema = s.response ? { schema: bodySchema(s.response) } : {}
    const responses: Record<string, unknown> = {
      200: { description: 'OK', content: { [s.produces ?? 'application/json']: schema } },
      400: { description: 'Invalid parameter: {error, message}' },
    }
    for (const [code, what] of Object.entries(s.responses ?? {})) responses[code] = { description: what }
    paths[path] = {
      get: {
        tags: [s.tag],
        summary: s.summary,
        parameters: [...parameters(s.query, 'query'), ...parameters(s.params, 'path')],
        responses,
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'crypto-streams gateway',
      version: '1',
      description:
        'Market data computed by crypto-streams: candles, order books, trades, rankings, indicators, ' +
        'predictions. Live updates over Socket.IO and WebSocket (see the gateway README).',
    },
    paths,
  }
}

const INITIALIZER = `window.onload = () => {
  window.ui = SwaggerUIBundle({ url: '../openapi.json', dom_id: '#swagger-ui', deepLinking: true })
}
`

export function docsRouter(specs: RouteSpec[]): Router {
  const router = express.Router()
  const doc = openApiDocument(specs)
  router.get('/openapi.json', (_req, res) => {
    res.json(doc)
  })
  router.get('/docs', (req, res, next) => {
    if (!req.path.endsWith('/') && req.originalUrl === '/docs') return res.redirect(301, '/docs/')
    next()
  })
  router.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(INITIALIZER)
  })
  // Only its folder: the package's index also loads the 1.5 MB browser bundle into the server
  // (~10 MB of heap for the whole run).
  const dir = (createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string)()
  router.use('/docs', express.static(dir, { index: 'index.html' }))
  return router
}
