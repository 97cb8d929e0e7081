import type { Request, Response, Router } from 'express'
import { z } from 'zod'

// One declaration per route: its path, its input schemas (query and path), a summary and the
// handler. `register` mounts it with validation; openapi.ts turns the same list into the document.

export class HttpError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface RouteSpec<Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  /** Express path, e.g. `/prediction/:symbol`. */
  path: string
  summary: string
  tag: string
  query?: Q
  params?: P
  /** Status codes besides 200 and 400 the route may answer, with what they mean. */
  responses?: Record<number, string>
  /** Content type of the 200 body (default JSON). */
  produces?: string
  /** Shape of the 200 body (OpenAPI; the REST test parses every answer with it). */
  response?: z.ZodType
  handle(input: { query: z.output<Q>; params: z.output<P> }, req: Request, res: Response): Promise<unknown>
}

/** Declares a route with its types inferred from the schemas. */
export const defineRoute = <Q extends z.ZodType, P extends z.ZodType = z.ZodType>(spec: RouteSpec<Q, P>) =>
  spec as unknown as RouteSpec

/** How a route group reports invalid input (REST: `{error, message}`; /api/v3: Binance `{code, msg}`). */
export type InvalidInput = (issues: z.core.$ZodIssue[]) => HttpError

export const restInvalid: InvalidInput = (issues) => {
  const i = issues[0]!
  const where = i.path.length ? i.path.join('.') : 'query'
  const message =
    i.code === 'unrecognized_keys'
      ? `unknown parameter ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`
      : `${where}: ${i.message}`
  return new HttpError(400, 'INVALID_PARAMETER', message)
}

const NO_PARAMETERS = z.strictObject({})

export function register(router: Router, specs: RouteSpec[], invalid: InvalidInput = restInvalid): void {
  for (const spec of specs) {
    router.get(spec.path, async (req, res) => {
      const query = (spec.query ?? NO_PARAMETERS).safeParse(req.query)
      if (!query.success) throw invalid(query.error.issues)
      const params = spec.params ? spec.params.safeParse(req.params) : { success: true as const, data: {} }
      // a bad path segment names a resource that does not exist
      if (!params.success) throw new HttpError(404, 'NOT_FOUND', restInvalid(params.error.issues).message)
      const body = await spec.handle({ query: query.data, params: params.data }, req, res)
      if (!res.headersSent) res.json(body)
    })
  }
}
